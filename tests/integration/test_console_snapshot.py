"""A console stream's snapshot against the unit tracker and the database: a unit change that lands between the
stream starting to listen and its snapshot is not lost, a unit the tracker never heard of is on the board, and
consoles that connect at the same moment share one serialised snapshot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import insert

from siaga.accounts.domain import Principal, Role
from siaga.agencies import service as agencies
from siaga.realtime.schemas import unbatch
from siaga.realtime.streams import ConsoleStream, viewer_for
from siaga.responders.models import Unit, UnitState, UnitStatus
from siaga.runtime import Runtime

COBLONG = (-6.8915, 107.6107)
CONSOLE = Principal(session_id=0, name="Admin Uji", staff_id=1, role=Role.ADMIN)


class FakeSocket:
    """The server side of a console's WebSocket: records what is sent; ``on_accept`` runs as the stream opens,
    after it has started listening and before its snapshot."""

    def __init__(self, on_accept: Callable[[], None] = lambda: None) -> None:
        self.on_accept = on_accept
        self.texts: list[str] = []
        self.arrived = asyncio.Event()
        self.gone = asyncio.Event()

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [message for t in self.texts for message in unbatch(json.loads(t))]

    async def accept(self) -> None:
        self.on_accept()

    async def send_text(self, text: str) -> None:
        self.texts.append(text)
        self.arrived.set()

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "websocket.disconnect"}

    async def close(self, code: int = 1000) -> None:
        self.gone.set()

    async def until(self, wanted: Callable[[list[dict[str, Any]]], bool]) -> None:
        async with asyncio.timeout(15):
            while not wanted(self.messages):
                self.arrived.clear()
                await self.arrived.wait()


async def add_units(runtime: Runtime, *, on_duty: int, idle: int) -> list[int]:
    """Units of Polsek Coblong: ``on_duty`` available with a position, then ``idle`` ones never on duty."""
    async with runtime.unit_of_work() as session:
        agency = await agencies.agency_by_code(session, "POLSEK-COBLONG")
        ids = []
        for number in range(on_duty + idle):
            callsign = f"SNAP-{number}-{len(runtime.units.tracker)}"
            unit_id = (
                await session.execute(
                    insert(Unit).values(agency_id=agency.id, callsign=callsign, kind="patrol_car").returning(Unit.id)
                )
            ).scalar_one()
            if number < on_duty:
                await session.execute(
                    insert(UnitStatus).values(
                        unit_id=unit_id,
                        state=UnitState.AVAILABLE.value,
                        duty_mode="patrol",
                        lat=COBLONG[0] + number * 0.001,
                        lon=COBLONG[1],
                    )
                )
            ids.append(unit_id)
    return ids


def final_board(messages: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """What a console shows once it has applied its snapshot and every unit message after it."""
    snapshot = next(m for m in messages if m["type"] == "snapshot")
    board = {u["unit_id"]: u for u in snapshot["units"]}
    for message in messages[messages.index(snapshot) + 1 :]:
        if message["type"] == "unit":
            board[message["unit_id"]] = message
    return board


async def run_console(runtime: Runtime, socket: FakeSocket) -> asyncio.Task[None]:
    viewer = await viewer_for(runtime, "console", CONSOLE)
    stream = ConsoleStream(websocket=socket, runtime=runtime, viewer=viewer)  # type: ignore[arg-type]  # a fake socket
    return asyncio.create_task(stream.run(cursor=None))


async def test_a_move_between_listening_and_the_snapshot_is_not_lost(db: Runtime) -> None:
    moving, _ = await add_units(db, on_duty=2, idle=0)
    await db.units.reload()
    (idle,) = await add_units(db, on_duty=0, idle=1)  # in the database only: the tracker has not heard of it
    before = db.units.tracker.get(moving)
    assert before is not None
    assert db.units.tracker.get(idle) is None
    moved = replace(before, lat=COBLONG[0] + 0.01)

    socket = FakeSocket(on_accept=lambda: db.units.apply_local([moved]))
    task = await run_console(db, socket)
    await socket.until(lambda ms: any(m["type"] == "unit" and m["unit_id"] == moving for m in ms))
    board = final_board(socket.messages)
    assert board[moving]["lat"] == COBLONG[0] + 0.01
    assert idle in board, "a unit the tracker had not heard of is missing from the snapshot"
    assert board[idle]["state"] == "off_duty"
    assert board[idle]["lat"] is None
    assert db.units.tracker.get(idle) is not None, "the tracker now holds the unit it had missed"

    # A second console at the same moment shares the first one's serialised snapshot.
    second = FakeSocket()
    other = await run_console(db, second)
    await second.until(lambda ms: any(m["type"] == "snapshot" for m in ms))
    assert second.texts[1] is socket.texts[1]

    # And a change after both snapshots reaches both.
    db.units.apply_local([replace(moved, lat=COBLONG[0] + 0.02)])
    for client in (socket, second):
        await client.until(lambda ms: final_board(ms)[moving]["lat"] == COBLONG[0] + 0.02)
        client.gone.set()
    await asyncio.gather(task, other)
