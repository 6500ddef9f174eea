"""Direct offers when nobody is free: an alert whose every ring came up empty waits without a timer, writing
nothing, however many wait; the moment a unit becomes available near it, the alert that has waited longest is
offered to it, and a unit that declines is offered the next. Against the app's own runtime and its sweep."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from siaga.alerts.models import Alert, AlertEvent
from siaga.dispatch.service import MAX_RINGS
from tests.conftest import Api
from tests.integration import test_dispatch as dispatch
from tests.integration.test_dispatch import COBLONG, eventually, moved, offers, offers_reach, officer, unit

city = dispatch.city  # the app on a freshly seeded database, its tracker holding only this database's units
FAR = moved(COBLONG, north_m=1500)  # still in Coblong, beyond the widest ring (800 m) of 100 m rings from the unit


async def waiting_for_a_unit(api: Api, alert_ids: list[str]) -> bool:
    """Every one of these alerts tried its widest ring, found nobody and has no offer timer left."""
    async with api.runtime.read_sessions() as session:
        rows = (
            await session.execute(
                select(Alert.offer_ring, Alert.offer_due_at).where(Alert.id.in_([uuid.UUID(a) for a in alert_ids]))
            )
        ).all()
    return len(rows) == len(alert_ids) and all(ring == MAX_RINGS and due is None for ring, due in rows)


async def events_written(api: Api) -> int:
    async with api.runtime.read_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AlertEvent)) or 0)


async def test_alerts_nobody_can_be_offered_wait_for_a_unit_and_the_first_one_free_takes_the_oldest(
    city: Api,
) -> None:
    api = city
    await dispatch.enable_direct_offers(api, size=1, radius_m=100, timeout_s=600)
    pressed = [await api.press(await api.resident(), lat=lat, lon=lon) for lat, lon in [COBLONG, COBLONG, FAR]]
    oldest, second, far = (a["id"] for a in pressed)

    async def all_waiting() -> bool:
        return await waiting_for_a_unit(api, [oldest, second, far])

    await eventually(all_waiting, "every alert to wait for a unit, with no offer timer")
    written = await events_written(api)
    for _ in range(3):
        await api.runtime.timers.sweep()
    assert await events_written(api) == written, "alerts waiting for nobody write nothing to the timeline"

    # A unit comes on duty near two of them: the one that has waited longest rings on its phone at once, no timer.
    first = await officer(api, "COBLONG-61")
    await dispatch.on_duty_at(api, first, moved(COBLONG, north_m=300))
    await offers_reach(api.runtime, oldest, {unit(first): "pending"})
    assert await offers(api.runtime, second) == {}
    assert await offers(api.runtime, far) == {}, "an alert beyond the agency's widest ring is not offered"

    # The officer declines: the unit is free again and is offered the next alert waiting near it.
    offer = await dispatch.my_offer(api, first, oldest)
    declined = await api.post(first, f"/offers/{offer['id']}/decline")
    assert declined.status_code == 200, declined.text
    await offers_reach(api.runtime, second, {unit(first): "pending"})

    async def oldest_waits_again() -> bool:
        return await waiting_for_a_unit(api, [oldest])

    await eventually(oldest_waits_again, "the declined alert to wait for another unit")
    assert await offers(api.runtime, far) == {}


async def test_a_due_offer_that_finds_nobody_takes_no_event_log_lock(city: Api) -> None:
    """Retrying an empty ring writes no event, so it must not take the event-log lock (on PostgreSQL an advisory lock
    every writer of events queues on): thousands of alerts waiting for nobody would otherwise hold up the presses."""
    from sqlalchemy import event, update

    from siaga.accounts.domain import Role
    from siaga.db import utcnow

    api = city
    await dispatch.enable_direct_offers(api, size=1, radius_m=100, timeout_s=600)
    pressed = [(await api.press(await api.resident()))["id"] for _ in range(3)]

    async def all_waiting() -> bool:
        return await waiting_for_a_unit(api, pressed)

    await eventually(all_waiting, "every alert to wait for a unit, with no offer timer")
    written = await events_written(api)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    engine = api.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        async with api.runtime.unit_of_work() as session:  # their offers fall due again, as a retry would
            ids = [uuid.UUID(a) for a in pressed]
            await session.execute(update(Alert).where(Alert.id.in_(ids)).values(offer_due_at=utcnow()))
        fired = await api.runtime.timers.sweep()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert fired >= 3
    assert await all_waiting(), "each retried its ring, found nobody and waits again without a timer"
    assert await events_written(api) == written
    assert not [s for s in statements if "pg_advisory" in s], "no event written, so no event-log lock taken"
    assert any("FOR UPDATE" in s for s in statements) or api.runtime.settings.is_sqlite, "each alert's row was locked"

    # The listener does see the lock where an event is written: an operator acknowledging one of them.
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert (await api.post(operator, f"/alerts/{pressed[0]}/acknowledge")).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert api.runtime.settings.is_sqlite or [s for s in statements if "pg_advisory" in s]


async def test_an_alert_made_due_anew_while_the_sweep_decides_it_finds_nobody_keeps_its_new_timer(city: Api) -> None:
    """A round reads the due offers whose ring finds nobody, then settles them together. An alert whose offer timer
    changed in between (a unit came free near it, another process fired it) is left with its new timer, to be rung
    by the next round; the others wait for a unit with no timer, as each would alone."""
    from sqlalchemy import update

    from siaga.db import utcnow
    from siaga.dispatch.service import due_offers, wait_for_units

    api = city
    await dispatch.enable_direct_offers(api, size=1, radius_m=100, timeout_s=600)
    pressed = [(await api.press(await api.resident()))["id"] for _ in range(3)]

    async def all_waiting() -> bool:
        return await waiting_for_a_unit(api, pressed)

    await eventually(all_waiting, "every alert to wait for a unit, with no offer timer")
    ids = [uuid.UUID(a) for a in pressed]
    await api.runtime.timers.stop()  # this test plays the sweep's round itself, one step at a time
    try:
        async with api.runtime.unit_of_work() as session:  # their offers fall due again, as a retry would
            await session.execute(update(Alert).where(Alert.id.in_(ids)).values(offer_due_at=utcnow()))
        async with api.runtime.read_sessions() as session:
            due = await due_offers(session, api.runtime.units.tracker, limit=50)
        assert set(due.nobody) == set(ids), "nobody is on duty near any of them"
        assert due.ringing == []

        made_due_anew = utcnow()  # meanwhile a unit comes free near the first (``wake_offers_near``)
        async with api.runtime.unit_of_work() as session:
            await session.execute(update(Alert).where(Alert.id == ids[0]).values(offer_due_at=made_due_anew))
        async with api.runtime.unit_of_work() as session:
            assert await wait_for_units(session, due.nobody) == 2

        assert await waiting_for_a_unit(api, pressed[1:])
        async with api.runtime.read_sessions() as session:
            due_at = await session.scalar(select(Alert.offer_due_at).where(Alert.id == ids[0]))
        assert due_at == made_due_anew, "the first keeps the timer it was given meanwhile"
    finally:
        await api.runtime.timers.start()
    await eventually(all_waiting, "the next round to ring the first, find nobody, and leave it waiting too")
