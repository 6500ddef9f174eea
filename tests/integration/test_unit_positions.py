"""Officers' positions written in batches: every position is kept in the history, but a unit never moves back to an
older position than the one it has, on the board or in the tracker that recommends units; and a unit off duty shows
no position at all."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.db import utcnow
from siaga.responders.models import PositionRecord, UnitStatus
from siaga.responders.service import PositionFix
from siaga.responders.tracker import UnitPoint
from tests.conftest import Api, Person

COBLONG = (-6.8915, 107.6107)


async def on_duty(api: Api, callsign: str) -> tuple[Person, int]:
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign=callsign)
    answer = await api.http.put("/api/v1/officers/me/duty", json={"mode": "patrol"}, headers=officer.headers)
    assert answer.status_code == 200, answer.text
    assert officer.unit_id is not None
    return officer, officer.unit_id


def fix(unit_id: int, staff_id: str, lat: float, minutes_ago: float) -> PositionFix:
    return PositionFix(
        unit_id=unit_id,
        staff_id=int(staff_id),
        lat=lat,
        lon=COBLONG[1],
        accuracy_m=8.0,
        speed_mps=None,
        battery=None,
        recorded_at=utcnow() - timedelta(minutes=minutes_ago),
    )


async def stored(api: Api, unit_id: int) -> tuple[list[float], UnitStatus]:
    async with api.runtime.read_sessions() as session:
        history = (
            await session.scalars(
                select(PositionRecord.lat).where(PositionRecord.unit_id == unit_id).order_by(PositionRecord.id)
            )
        ).all()
        status = await session.get(UnitStatus, unit_id)
    assert status is not None
    return list(history), status


def tracked(api: Api, unit_id: int) -> UnitPoint:
    point = api.runtime.units.tracker.get(unit_id)
    assert point is not None
    return point


async def test_a_late_older_position_is_kept_in_the_history_but_does_not_move_the_unit_back(api: Api) -> None:
    officer, unit_id = await on_duty(api, "COBLONG-POS-1")
    units = api.runtime.units
    await units.flush()
    units.submit(fix(unit_id, officer.id, -6.8900, minutes_ago=1))
    units.submit(fix(unit_id, officer.id, -6.8910, minutes_ago=3))  # sent later, taken earlier (it waited offline)
    assert await units.flush() == 2
    units.submit(fix(unit_id, officer.id, -6.8920, minutes_ago=5))  # older still, in a batch of its own
    assert await units.flush() == 1

    history, status = await stored(api, unit_id)
    assert history == [-6.8900, -6.8910, -6.8920]
    assert status.lat == -6.8900
    assert tracked(api, unit_id).lat == -6.8900

    board = await api.get(await api.staff(Role.OPERATOR, "POLSEK-COBLONG"), "/units/board")
    mine = next(u for u in board.json() if u["unit_id"] == unit_id)
    assert mine["lat"] == -6.8900


async def test_a_state_read_before_the_newest_position_keeps_the_newest_position(api: Api) -> None:
    officer, unit_id = await on_duty(api, "COBLONG-POS-2")
    units = api.runtime.units
    units.submit(fix(unit_id, officer.id, -6.8930, minutes_ago=0))
    await units.flush()
    newest = tracked(api, unit_id)
    assert newest.lat == -6.8930
    assert newest.at is not None

    # A state change whose unit was read from the database before that position was written (another process).
    stale = replace(newest, state="offered", lat=-6.8800, at=newest.at - timedelta(minutes=2))
    units.apply_local([stale])
    now = tracked(api, unit_id)
    assert (now.state, now.lat, now.at) == ("offered", -6.8930, newest.at)


async def test_a_unit_off_duty_shows_no_position_even_when_one_arrives_late(api: Api) -> None:
    officer, unit_id = await on_duty(api, "COBLONG-POS-3")
    units = api.runtime.units
    units.submit(fix(unit_id, officer.id, -6.8940, minutes_ago=0))
    off = await api.http.delete("/api/v1/officers/me/duty", headers=officer.headers)
    assert off.status_code == 200, off.text
    await units.publish_units([unit_id])  # the state change, as every process hears it after the commit
    await units.flush()

    history, _ = await stored(api, unit_id)
    assert history[-1] == -6.8940  # written (the officer sent it while on duty) ...
    point = tracked(api, unit_id)
    assert (point.state, point.lat, point.lon) == ("off_duty", None, None)  # ... but shown to nobody
