"""A process that missed unit messages on the hub reloads its units from the database: the streams listening hear
of every unit that changed meanwhile, as the lost messages would have told them, and of no other; and a newer
position the tracker already holds is not moved back by the reload."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from siaga.agencies import service as agencies
from siaga.db import utcnow
from siaga.hub import MemoryHub
from siaga.responders.live import UNITS_CHANNEL, LiveUnits
from siaga.responders.models import Unit, UnitState, UnitStatus
from siaga.responders.tracker import UnitPoint
from siaga.runtime import Runtime

COBLONG = (-6.8915, 107.6107)
DEADLINE = 15.0  # generous: the tests wait for the reload, they never judge how fast


class Heard:
    """A stream's unit listener: every unit it was handed, in order."""

    def __init__(self) -> None:
        self.points: list[UnitPoint] = []
        self.arrived = asyncio.Event()

    def __call__(self, points: Sequence[UnitPoint]) -> None:
        self.points += points
        if points:
            self.arrived.set()

    async def first(self) -> dict[int, UnitPoint]:
        """The units of the first non-empty call, by id."""
        async with asyncio.timeout(DEADLINE):
            await self.arrived.wait()
        return {p.unit_id: p for p in self.points}


@pytest.fixture
async def hub() -> AsyncIterator[MemoryHub]:
    hub = MemoryHub(max_queue=1)  # a subscriber lags as soon as two messages wait for it
    await hub.start()
    yield hub
    await hub.stop()


@asynccontextmanager
async def following(db: Runtime, hub: MemoryHub) -> AsyncIterator[LiveUnits]:
    """A process's live units of its own (the runtime's are not started here), loaded and following ``hub``."""
    live = LiveUnits(db.sessions, db.read_sessions, hub)
    await live.start()
    try:
        for _ in range(round(DEADLINE / 0.01)):
            if hub.subscriber_count == 2:  # the units and the positions channels
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the units never subscribed to the hub")
        yield live
    finally:
        await live.stop()


async def add_unit(db: Runtime, callsign: str, *, lat: float, exercise: bool = False) -> int:
    """An available unit of Polsek Coblong with a position a minute old."""
    async with db.unit_of_work() as session:
        agency = await agencies.agency_by_code(session, "POLSEK-COBLONG")
        unit_id: int = (
            await session.execute(
                insert(Unit)
                .values(agency_id=agency.id, callsign=callsign, kind="patrol_car", is_exercise=exercise)
                .returning(Unit.id)
            )
        ).scalar_one()
        await session.execute(
            insert(UnitStatus).values(
                unit_id=unit_id,
                state=UnitState.AVAILABLE.value,
                duty_mode="patrol",
                lat=lat,
                lon=COBLONG[1],
                position_at=utcnow() - timedelta(minutes=1),
            )
        )
    return unit_id


async def behind_its_back(db: Runtime, unit_id: int, **values: object) -> None:
    """Change a unit's status as another process would, whose hub message this one then misses."""
    async with db.sessions() as session, session.begin():
        await session.execute(update(UnitStatus).where(UnitStatus.unit_id == unit_id).values(**values))


async def miss_messages(hub: MemoryHub) -> None:
    """Publish a burst that lands before the units' subscription reads any of it: it lags, as under load."""
    await asyncio.gather(*(hub.publish(UNITS_CHANNEL, "[]") for _ in range(3)))


async def test_after_missed_messages_the_listeners_hear_of_every_changed_unit_and_of_no_other(
    db: Runtime, hub: MemoryHub
) -> None:
    steady = await add_unit(db, "RELOAD-STEADY", lat=COBLONG[0])
    moving = await add_unit(db, "RELOAD-MOVING", lat=COBLONG[0] + 0.001)
    leaving = await add_unit(db, "RELOAD-LEAVING", lat=COBLONG[0] + 0.002)
    drill = await add_unit(db, "RELOAD-DRILL", lat=COBLONG[0] + 0.003, exercise=True)
    async with following(db, hub) as live:
        assert {live.tracker.get(u) is not None for u in (steady, moving, leaving, drill)} == {True}
        heard = Heard()
        live.register(heard)

        moved_at = utcnow()
        await behind_its_back(db, moving, state=UnitState.EN_ROUTE.value, lat=-6.9000, position_at=moved_at)
        await behind_its_back(db, leaving, state=UnitState.OFF_DUTY.value, duty_mode=None)
        await behind_its_back(db, drill, state=UnitState.OFF_DUTY.value, duty_mode=None)  # leaves the board
        await miss_messages(hub)

        told = await heard.first()
        assert set(told) == {moving, leaving, drill}
        assert (told[moving].state, told[moving].lat, told[moving].at) == ("en_route", -6.9000, moved_at)
        assert (told[leaving].state, told[leaving].lat, told[leaving].lon) == ("off_duty", None, None)
        assert (told[drill].state, told[drill].lat, told[drill].lon) == ("off_duty", None, None)
        for unit_id, point in told.items():
            assert live.tracker.get(unit_id) == point  # the tracker recommends from the same picture


async def test_a_newer_position_the_tracker_holds_is_not_moved_back_by_a_reload(db: Runtime, hub: MemoryHub) -> None:
    ahead = await add_unit(db, "RELOAD-AHEAD", lat=COBLONG[0])
    other = await add_unit(db, "RELOAD-OTHER", lat=COBLONG[0] + 0.001)
    async with following(db, hub) as live:
        held = live.tracker.get(ahead)
        assert held is not None
        # A position heard from another process, which it has not written yet.
        newer = replace(held, lat=-6.8800, at=utcnow())
        live.apply_local([newer])
        heard = Heard()
        live.register(heard)

        await behind_its_back(db, other, state=UnitState.OFFERED.value)  # so the reload has something to tell
        await miss_messages(hub)

        told = await heard.first()
        assert set(told) == {other}
        assert told[other].state == "offered"
        assert live.tracker.get(ahead) == newer
