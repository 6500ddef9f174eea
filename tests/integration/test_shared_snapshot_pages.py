"""Consoles that open at the same moment after a surge share one read of the open alerts: every console of one scope
gets every open alert with the true count, the database is read once for them, another scope gets its own picture,
and a console that opens after the next event gets a picture that has it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from benchmarks.population import insert_open_alerts

from siaga.accounts.domain import Principal, Role
from siaga.agencies import service as agencies
from siaga.realtime.feed import newest_event_id
from siaga.realtime.schemas import SNAPSHOT_PAGE
from siaga.realtime.streams import ConsoleStream, viewer_for
from siaga.runtime import Runtime
from tests.integration.test_console_snapshot import CONSOLE, FakeSocket

SURGE = 2 * SNAPSHOT_PAGE + 5  # three pages


def whole(messages: list[dict[str, Any]]) -> bool:
    return any(m["type"] in ("snapshot", "snapshot_page") and not m["more"] for m in messages)


def snapshot_of(socket: FakeSocket) -> tuple[int, list[str]]:
    """The true count the snapshot gave and the ids of every open alert in its pages."""
    messages = [m for m in socket.messages if m["type"] in ("snapshot", "snapshot_page")]
    return messages[0]["open_alerts"], [a["id"] for m in messages for a in m["alerts"]]


async def consoles(runtime: Runtime, principal: Principal, count: int) -> list[FakeSocket]:
    """``count`` consoles of ``principal`` opened together, each once its whole snapshot has arrived."""
    sockets = [FakeSocket() for _ in range(count)]
    viewer = await viewer_for(runtime, "console", principal)
    tasks = [
        asyncio.create_task(ConsoleStream(websocket=s, runtime=runtime, viewer=viewer).run(cursor=None))  # type: ignore[arg-type]
        for s in sockets
    ]
    for socket in sockets:
        await socket.until(whole)
        socket.gone.set()
    await asyncio.gather(*tasks)
    return sockets


async def fed(runtime: Runtime) -> None:
    """The feed has read every event written so far (as the server's feed does within moments)."""
    async with runtime.read_sessions() as session:
        runtime.feed.high_water = await newest_event_id(session)


async def test_consoles_opening_together_share_one_read_of_every_open_alert(db: Runtime) -> None:
    async with db.unit_of_work() as session:
        surge = {str(i) for i in await insert_open_alerts(session, SURGE)}
    await fed(db)
    pages = db.wire.snapshot_pages
    made = pages.made

    together = await consoles(db, CONSOLE, 4)
    assert pages.made == made + 1, "four consoles of one scope at one moment read the open alerts once"
    for socket in together:
        count, ids = snapshot_of(socket)
        assert count == len(ids) == SURGE, "the true count, and every alert behind it"
        assert set(ids) == surge
    first = together[0].texts
    assert all(socket.texts[1:] == first[1:] for socket in together), "the same pages, serialised once"
    assert json.loads(first[1])["more"] is True

    # Another Polsek's operator sees none of Coblong's surge: a scope of its own, read for itself.
    async with db.read_sessions() as session:
        sukajadi = await agencies.agency_by_code(session, "POLSEK-SUKAJADI")
    elsewhere = Principal(session_id=0, name="Operator Sukajadi", staff_id=2, role=Role.OPERATOR, agency_id=sukajadi.id)
    (other,) = await consoles(db, elsewhere, 1)
    assert snapshot_of(other) == (0, [])
    assert pages.made == made + 2

    # After the next event a console that opens gets a new picture, with the new alert in it.
    async with db.unit_of_work() as session:
        (later,) = await insert_open_alerts(session, 1)
    await fed(db)
    (after,) = await consoles(db, CONSOLE, 1)
    count, ids = snapshot_of(after)
    assert count == SURGE + 1
    assert set(ids) == surge | {str(later)}
    assert pages.made == made + 3
