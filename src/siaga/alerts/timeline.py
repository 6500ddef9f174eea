"""Appending to an alert's timeline: the one way events are written, in commit order."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import SYSTEM, Actor
from siaga.aftercommit import TimelineWritten, emit
from siaga.alerts.domain import AlertSnapshot, AlertState, DomainEvent, EventKind
from siaga.alerts.models import Alert, AlertEvent
from siaga.db import utcnow
from siaga.webhooks import outbox as webhooks

EVENT_LOG_LOCK = 7_473_611  # a fixed PostgreSQL advisory lock key ("siaga events")
_LOCKED = "siaga.event_log_locked"


async def lock_event_log(session: AsyncSession) -> None:
    """Make timeline events commit in id order, so a stream that has read up to id N never later finds a
    smaller id committed (its cursor is then exact). Held from here to the commit; taken as late as possible.
    SQLite's write transactions are already serial. Also reads, once per transaction, the webhook subscriptions the
    events are matched against (``append_event`` writes their deliveries)."""
    await webhooks.prepare(session)
    if session.info.get(_LOCKED) or session.get_bind().dialect.name != "postgresql":
        return
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_LOG_LOCK})
    session.info[_LOCKED] = True


def append_event(
    session: AsyncSession,
    alert: Alert,
    event: DomainEvent,
    actor: Actor,
    snapshot: AlertSnapshot,
    *,
    lat: float | None = None,
    lon: float | None = None,
) -> AlertEvent:
    """Add one event (the caller has taken ``lock_event_log``), and the webhook deliveries it makes."""
    emit(session, TimelineWritten())
    row = AlertEvent(
        alert_id=alert.id,
        agency_id=alert.agency_id,
        kind=event.kind.value,
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_name=actor.name,
        at=utcnow(),
        lat=lat,
        lon=lon,
        state_after=snapshot.state.value,
        data=event.data,
    )
    session.add(row)
    webhooks.tell_alert(session, row.kind, alert, state=row.state_after, at=row.at)
    return row


async def record_delivery_failure(session: AsyncSession, alert_id: uuid.UUID, failure: dict[str, Any]) -> None:
    """A message about the alert did not get through (``failure``: channel, purpose, attempt, final, error): the
    console shows it. Given to notify's senders by the runtime."""
    await record_system_event(session, alert_id, DomainEvent(EventKind.DELIVERY_FAILED, failure))


async def record_system_event(session: AsyncSession, alert_id: uuid.UUID, event: DomainEvent) -> AlertEvent | None:
    """An event by Siaga itself that changes no state (an offer, a delivery failure). None if the alert is gone."""
    alert = await session.scalar(select(Alert).where(Alert.id == alert_id))
    if alert is None:
        return None
    await lock_event_log(session)
    if event.kind is EventKind.DELIVERY_FAILED:
        alert.delivery_failed = True
    row = append_event(session, alert, event, SYSTEM, AlertSnapshot(state=AlertState(alert.state)))
    await session.flush()
    return row
