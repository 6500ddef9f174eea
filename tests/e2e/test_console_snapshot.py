"""Console snapshots over real WebSockets: consoles that connect together get the same unit board, the one the
database holds for what each of them may see, and every unit change after it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy import update

from siaga.accounts.domain import Role
from siaga.responders.models import Unit
from tests.conftest import Api, Person
from tests.e2e import test_streams as streams
from tests.e2e.test_streams import COBLONG, Client, Live

live = streams.live  # Siaga served on a real port
SUKAJADI = (-6.8871, 107.5855)
FIELDS = ("unit_id", "callsign", "agency_id", "state", "lat", "lon", "at")


def board_of(units: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(u[f] for f in FIELDS) for u in units]


async def database_board(api: Api, who: Person) -> list[tuple[Any, ...]]:
    """The unit board as the database has it for ``who`` (the HTTP board reads it there)."""
    answer = await api.get(who, "/units/board")
    assert answer.status_code == 200, answer.text
    return board_of(answer.json())


async def drill_unit(api: Api, callsign: str) -> Person:
    """An exercise officer of Polsek Coblong, in a unit of their own."""
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign=callsign)
    async with api.runtime.unit_of_work() as session:
        await session.execute(update(Unit).where(Unit.id == officer.unit_id).values(is_exercise=True))
    return officer


async def test_consoles_connecting_together_get_the_board_each_may_see(live: Live) -> None:
    api = live.api
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    near = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-7")
    elsewhere = await api.staff(Role.OFFICER, "POLSEK-SUKAJADI", unit_callsign="SUKAJADI-7")
    # Created after the server loaded its units and never on duty: the process's tracker has not heard of it.
    idle = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-IDLE")
    drilling, drill_over = await drill_unit(api, "LAT-COBLONG-1"), await drill_unit(api, "LAT-COBLONG-2")
    await streams.on_duty_near(live, near, COBLONG[0] + 0.004, COBLONG[1])
    await streams.on_duty_near(live, elsewhere, *SUKAJADI)
    await streams.on_duty_near(live, drilling, COBLONG[0], COBLONG[1] + 0.004)
    viewers = [operator, operator, operator, admin, admin]

    async with contextlib.AsyncExitStack() as stack:
        consoles: list[Client] = list(
            await asyncio.gather(*(stack.enter_async_context(streams.stream(live, "console", v)) for v in viewers))
        )
        for viewer, console in zip(viewers, consoles, strict=True):
            board = board_of(console.seen[1]["units"])
            assert board == await database_board(api, viewer)
            ids = [row[0] for row in board]
            assert ids == sorted(ids)
            assert {near.unit_id, idle.unit_id, drilling.unit_id} <= set(ids)
            assert drill_over.unit_id not in ids, "an off-duty drill unit is not on the board"
            assert (elsewhere.unit_id in ids) is (viewer is admin), "a Polsek sees its own units only"

        # A move after the snapshots reaches every console, whichever snapshot it shared.
        moved = await api.post(near, "/officers/me/location", {"lat": COBLONG[0] + 0.006, "lon": COBLONG[1]})
        assert moved.status_code == 202, moved.text
        for console in consoles:
            update_message = await console.until(lambda m: m["type"] == "unit" and m["unit_id"] == near.unit_id)
            assert update_message["lat"] == COBLONG[0] + 0.006
            assert update_message["state"] == "available"
