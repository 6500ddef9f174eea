"""The timer sweep: direct offers, escalation when nobody acknowledges (T1) or no officer is found (T2), and the
purge of old positions. Timers live in the alerts table; each firing locks the alert's row and clears the timer in
the same transaction, so with several processes sweeping, each timer fires exactly once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.agencies.models import Agency
from siaga.alerts import domain
from siaga.alerts import service as alerts
from siaga.alerts.models import Alert
from siaga.background import Loop
from siaga.db import utcnow
from siaga.dispatch import service as dispatch
from siaga.responders import service as responders
from siaga.responders.tracker import UnitTracker

log = logging.getLogger("siaga.timers")

UnitOfWork = Callable[[], Any]  # an async context manager giving a session that commits (Runtime.unit_of_work)


async def due_alerts(session: AsyncSession, column: Any, *, limit: int = 50) -> list[uuid.UUID]:
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


async def fire_ack(session: AsyncSession, alert_id: uuid.UUID) -> bool:
    """T1: escalate unless a person (an operator or an officer) has taken the alert."""
    alert = await _lock_due(session, alert_id, Alert.ack_due_at)
    if alert is None:
        return False
    alert.ack_due_at = None
    await dispatch.escalate(session, alert=alert, events=domain.on_ack_timeout(alerts.snapshot_of(alert)))
    return True


async def fire_dispatch(session: AsyncSession, alert_id: uuid.UUID) -> bool:
    """T2: escalate unless a unit has the alert, and widen the direct offers at once."""
    alert = await _lock_due(session, alert_id, Alert.dispatch_due_at)
    if alert is None:
        return False
    alert.dispatch_due_at = None
    events = domain.on_dispatch_timeout(alerts.snapshot_of(alert))
    if events:
        await dispatch.escalate(session, alert=alert, events=events)
        agency = await session.get(Agency, alert.agency_id)
        if agency is not None and agency.direct_offers:
            alert.offer_due_at = utcnow()  # widen now rather than at the end of the current ring
    return True


class TimerSweep:
    """Runs the sweep every ``interval`` seconds, and at once when woken (a new alert with offers due)."""

    def __init__(
        self,
        unit_of_work: Callable[[], Any],
        read_sessions: Callable[[], Any],
        tracker: UnitTracker,
        *,
        interval: float = 1.0,
        position_retention: timedelta = timedelta(hours=24),
    ) -> None:
        self._unit_of_work = unit_of_work
        self._read_sessions = read_sessions
        self._tracker = tracker
        self._interval = interval
        self._retention = position_retention
        self._loop = Loop("timer-sweep", self.sweep, interval=interval)
        self._last_purge = 0.0
        self.fired = 0

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
        for column, fire in (
            (Alert.offer_due_at, lambda s, i: fire_offer(s, i, self._tracker)),
            (Alert.ack_due_at, fire_ack),
            (Alert.dispatch_due_at, fire_dispatch),
        ):
            async with self._read_sessions() as session:
                ids = await due_alerts(session, column)
            for alert_id in ids:
                fired += await self._fire_one(fire, alert_id)
        loop_time = asyncio.get_running_loop().time()
        if loop_time - self._last_purge > 300:
            self._last_purge = loop_time
            async with self._unit_of_work() as session:
                await responders.purge_positions(session, older_than=self._retention)
        self.fired += fired
        return fired

    async def _fire_one(self, fire: Callable[[AsyncSession, uuid.UUID], Awaitable[bool]], alert_id: uuid.UUID) -> int:
        try:
            async with self._unit_of_work() as session:
                return int(await fire(session, alert_id))
        except Exception:  # one bad alert must not stop the others; it stays due and is retried next round
            log.exception("timer failed", extra={"alert_id": str(alert_id)})
            return 0
