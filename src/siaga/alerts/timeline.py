"""Appending to an alert's timeline: the one way events are written, in commit order."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import identity
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
    """A message about the alert did not get through (``failure``: channel, purpose, attempt, final, error; for an
    SMS also its message, direction and number, masked here): the console shows it. Given to notify's senders by the
    runtime."""
    await record_system_event(session, alert_id, DomainEvent(EventKind.DELIVERY_FAILED, _masked(failure)))


async def record_sms(session: AsyncSession, alert_id: uuid.UUID, sms: dict[str, Any]) -> None:
    """An SMS about the alert came in, went out or was held back (``sms``: message ``in:<id>`` or ``out:<id>``,
    direction, number in E.164, purpose, status, attempt, error): on the timeline, the number masked as staff
    lists show numbers. Given to notify's senders by the runtime (what went) and called by the SMS pipeline."""
    await record_system_event(session, alert_id, DomainEvent(EventKind.SMS, _masked(sms)))


def _masked(data: dict[str, Any]) -> dict[str, Any]:
    if "number" not in data:
        return data
    return {**data, "number": identity.mask_phone(str(data["number"]))}


async def record_system_event(session: AsyncSession, alert_id: uuid.UUID, event: DomainEvent) -> AlertEvent | None:
    """An event by Siaga itself that changes no state (an offer, a delivery failure). None if the alert is gone.

    The alert's row is locked before the event log, the order every use case takes them in (an event's row needs the
    alert's key share, which an operator's or officer's command holding the alert and waiting for the event log
    would otherwise never give: a deadlock on PostgreSQL). A delivery failure marks the alert, so it takes the row
    for update."""
    marks = event.kind is EventKind.DELIVERY_FAILED
    lock = select(Alert.id).where(Alert.id == alert_id)  # the row alone: the alert's joined relations are not locked
    await session.execute(lock.with_for_update() if marks else lock.with_for_update(read=True, key_share=True))
    alert = await session.scalar(select(Alert).where(Alert.id == alert_id))
    if alert is None:
        return None
    await lock_event_log(session)
    if marks:
        alert.delivery_failed = True
    row = append_event(session, alert, event, SYSTEM, AlertSnapshot(state=AlertState(alert.state)))
    await session.flush()
    return row
