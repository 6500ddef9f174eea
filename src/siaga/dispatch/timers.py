"""The timer sweep: direct offers, backups' offers running out, and escalation when nobody acknowledges (T1) or no
officer is found (T2).
Timers live in the alerts table; each firing locks the alert's row and clears the timer in
the same transaction, so with several processes sweeping, each timer fires exactly once. Due offers whose ring finds
nobody (a surge, every unit busy) end together in one statement, each only if its timer is still the one read
(``dispatch.wait_for_units``): one write a round instead of one a press."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.agencies.geo import haversine_m
from siaga.agencies.models import Agency
from siaga.alerts import domain
from siaga.alerts.models import Alert
from siaga.background import Loop
from siaga.db import utcnow
from siaga.dispatch import backup
from siaga.dispatch import service as dispatch
from siaga.responders.models import UnitState
from siaga.responders.tracker import UnitPoint, UnitTracker

log = logging.getLogger("siaga.timers")

UnitOfWork = Callable[[], Any]  # an async context manager giving a session that commits (Runtime.unit_of_work)


DUE_BATCH = 50  # timers read per column and round
# A round woken (new alerts with offers due, a unit available) this soon after the last one waits out the rest: in a
# surge every batch of presses wakes the sweep, and a round for each batch read the same timers many times a second.
WOKEN_GAP_S = 0.2


async def due_alerts(session: AsyncSession, column: Any, *, limit: int = DUE_BATCH) -> list[uuid.UUID]:
    rows = await session.scalars(select(Alert.id).where(column <= utcnow()).order_by(column).limit(limit))
    return list(rows.all())


async def _lock_due(session: AsyncSession, alert_id: uuid.UUID, column: Any) -> Alert | None:
    """The alert if its timer is still due and no other process is firing it right now."""
    return await session.scalar(
        select(Alert)
        .where(Alert.id == alert_id, column <= utcnow())
        .with_for_update(skip_locked=True, of=Alert)
        .execution_options(populate_existing=True)
    )


async def fire_offer(session: AsyncSession, alert_id: uuid.UUID, tracker: UnitTracker) -> bool:
    alert = await _lock_due(session, alert_id, Alert.offer_due_at)
    if alert is None:
        return False
    agency = await session.get(Agency, alert.agency_id)
    if alert.state not in dispatch.OPEN_FOR_OFFERS or alert.unit_id is not None or agency is None:
        alert.offer_due_at = None
        return True
    await dispatch.offer_next_ring(session, alert=alert, agency=agency, tracker=tracker)
    return True


async def fire_backup(session: AsyncSession, alert_id: uuid.UUID) -> bool:
    """A backup's offer ran out unanswered: its place is left unanswered (``backup.expire_offers``)."""
    alert = await _lock_due(session, alert_id, Alert.backup_due_at)
    if alert is None:
        return False
    await backup.expire_offers(session, alert)
    return True


async def fire_ack(session: AsyncSession, alert_id: uuid.UUID) -> bool:
    """T1: escalate unless a person (an operator or an officer) has taken the alert."""
    alert = await _lock_due(session, alert_id, Alert.ack_due_at)
    if alert is None:
        return False
    alert.ack_due_at = None
    await dispatch.escalate(session, alert=alert, timer=domain.AckTimeout())
    return True


async def fire_dispatch(session: AsyncSession, alert_id: uuid.UUID) -> bool:
    """T2: escalate unless a unit has the alert, and widen the direct offers at once."""
    alert = await _lock_due(session, alert_id, Alert.dispatch_due_at)
    if alert is None:
        return False
    alert.dispatch_due_at = None
    if await dispatch.escalate(session, alert=alert, timer=domain.DispatchTimeout()):
        agency = await session.get(Agency, alert.agency_id)
        if agency is not None and agency.direct_offers:
            alert.offer_due_at = utcnow()  # widen now rather than at the end of the current ring
    return True


# The timers besides direct offers, each with how it fires.
OTHER_TIMERS: tuple[tuple[Any, Callable[[AsyncSession, uuid.UUID], Awaitable[bool]]], ...] = (
    (Alert.backup_due_at, fire_backup),
    (Alert.ack_due_at, fire_ack),
    (Alert.dispatch_due_at, fire_dispatch),
)

MOVED_M = 1000.0  # an available unit that moved this far may have come within reach of alerts waiting for one
RECHECK_S = 300.0  # and one that stayed available this long is offered around again, should any change be missed


class TimerSweep:
    """Runs the sweep every ``interval`` seconds, and at once when woken (a new alert with offers due, a unit that
    became available). Each round reads the due timers from their indexes: its work follows what changes, not how
    many alerts are open. Alerts whose offers found nobody wait without a timer; ``on_units`` hears of units that
    become available (or move) and the next round offers each of them to one such alert nearby."""

    def __init__(
        self,
        unit_of_work: Callable[[], Any],
        read_sessions: Callable[[], Any],
        tracker: UnitTracker,
        *,
        interval: float = 1.0,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._read_sessions = read_sessions
        self._tracker = tracker
        self._interval = interval
        self._loop = Loop("timer-sweep", self.sweep, interval=interval, woken_gap=min(WOKEN_GAP_S, interval))
        self.fired = 0
        self._available: dict[int, tuple[float, float, float]] = {}  # unit -> where and when last offered around
        self._arrived: dict[int, UnitPoint] = {}  # units to offer to an alert waiting nearby, next round

    def on_units(self, points: Sequence[UnitPoint]) -> None:
        """The unit feed's listener (never blocks): note units that became available, or moved far while available,
        and wake the sweep for them."""
        for point in points:
            if point.state != UnitState.AVAILABLE.value or point.lat is None or point.lon is None:
                self._available.pop(point.unit_id, None)
                continue
            last = self._available.get(point.unit_id)
            now = time.monotonic()
            if (
                last is None
                or haversine_m(last[0], last[1], point.lat, point.lon) > MOVED_M
                or now - last[2] > RECHECK_S
            ):
                self._available[point.unit_id] = (point.lat, point.lon, now)
                self._arrived[point.unit_id] = point
        if self._arrived:
            self._loop.wake()

    async def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    def wake(self) -> None:
        self._loop.wake()

    @property
    def loop(self) -> Loop:
        """The sweep's loop: whether it runs, and when its last round finished (for readiness and metrics)."""
        return self._loop

    async def sweep(self) -> int:
        """One round. Returns how many timers fired."""
        fired = 0
        if self._arrived:
            await self._offer_arrived()
        # What is due, in one read: the offers sorted by whether their next ring can find anyone (``due_offers``).
        async with self._read_sessions() as session:
            offers = await dispatch.due_offers(session, self._tracker, limit=DUE_BATCH)
            due = [(fire, await due_alerts(session, column)) for column, fire in OTHER_TIMERS]
        if offers.nobody:
            fired += await self._wait_for_units(offers.nobody)
        for alert_id in offers.ringing:
            fired += await self._fire_one(lambda s, i: fire_offer(s, i, self._tracker), alert_id)
        for fire, ids in due:
            for alert_id in ids:
                fired += await self._fire_one(fire, alert_id)
        if len(offers) == DUE_BATCH or any(len(ids) == DUE_BATCH for _, ids in due):
            self._loop.wake(at_once=True)  # more are due (a surge): the next round follows at once
        self.fired += fired
        return fired

    async def _wait_for_units(self, nobody: dict[uuid.UUID, tuple[datetime, int]]) -> int:
        """The due offers whose rings find nobody end together, in one short transaction (``wait_for_units``): a
        surge's presses, nobody free to offer them to, cost one write a round rather than one each."""
        try:
            async with self._unit_of_work() as session:
                return await dispatch.wait_for_units(session, nobody)
        except Exception:  # they stay due and are read again next round
            log.exception("settling offers that find nobody failed")
            return 0

    async def _offer_arrived(self) -> None:
        arrived, self._arrived = list(self._arrived.values()), {}
        try:
            async with self._read_sessions() as session:
                if not await dispatch.any_waiting_for_units(session):
                    return  # nothing to offer them: no write transaction (on SQLite, no write lock)
            async with self._unit_of_work() as session:
                for point in arrived:
                    await dispatch.wake_offers_near(session, unit=point, tracker=self._tracker)
        except Exception:  # tried again next round
            log.exception("offering newly available units failed")
            self._arrived = {p.unit_id: p for p in arrived} | self._arrived

    async def _fire_one(self, fire: Callable[[AsyncSession, uuid.UUID], Awaitable[bool]], alert_id: uuid.UUID) -> int:
        try:
            async with self._unit_of_work() as session:
                return int(await fire(session, alert_id))
        except Exception:  # one bad alert must not stop the others; it stays due and is retried next round
            log.exception("timer failed", extra={"alert_id": str(alert_id)})
            return 0
