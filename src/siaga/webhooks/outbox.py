"""Writing webhook deliveries inside the transaction of the change they tell (the outbox): a delivery exists only
if that change committed, and the delivery loop (``webhooks.delivery``) sends it after the commit.

Three doors, one rule (``domain.Audience.wants``):
- the alert timeline's writer (``alerts.timeline``): ``prepare`` once per transaction, where the writer takes the
  event log's lock, then ``tell_alert`` with each event appended (synchronous, like the append itself);
- the SOS writer's batch (``alerts.raising``, synchronous Core): ``write_created``;
- anything else (a panic button's trouble, an administrator's test event): ``record``.

With no subscription enabled a transaction pays one small read of an empty table; nothing is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.aftercommit import Event, emit
from siaga.webhooks.domain import Audience, Occurrence, alert_occurrence, new_message_id
from siaga.webhooks.models import WebhookDelivery, WebhookSubscription

_AUDIENCE = "siaga.webhook_audience"  # Session.info: the enabled subscriptions, read once per transaction
# The alert columns a payload is built from (read by name from the alert as the timeline writer has it).
ALERT_COLUMNS = (
    "id",
    "state",
    "category",
    "priority",
    "channel",
    "escalated",
    "is_exercise",
    "outcome",
    "agency_id",
    "informed_agency_ids",
    "jurisdiction_id",
    "lat",
    "lon",
    "accuracy_m",
    "details_removed_at",
    "created_at",
    "acknowledged_at",
    "dispatched_at",
    "en_route_at",
    "on_scene_at",
    "closed_at",
)


@dataclass(frozen=True, slots=True)
class DeliveriesQueued(Event):
    """Webhook deliveries were written: the delivery loop runs now (its own round finds them anyway)."""


_AUDIENCE_QUERY = select(
    WebhookSubscription.id,
    WebhookSubscription.events,
    WebhookSubscription.include_exercise,
    WebhookSubscription.agency_id,
).where(WebhookSubscription.enabled.is_(True), WebhookSubscription.deleted_at.is_(None))


def _audience(rows: Sequence[Any]) -> list[Audience]:
    return [
        Audience(id=i, events=frozenset(events or ()), include_exercise=bool(ex), agency_id=a)
        for i, events, ex, a in rows
    ]


def _rows(audience: Sequence[Audience], occurrences: Sequence[Occurrence]) -> list[dict[str, Any]]:
    return [
        {
            "subscription_id": subscriber.id,
            "message_id": new_message_id(),
            "event_type": occurrence.type.value,
            "occurred_at": occurrence.at,
            "data": occurrence.data,
            "body": None,
            "alert_id": occurrence.alert_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": occurrence.at,
            "last_status": None,
            "last_error": "",
            "delivered_at": None,
            "created_at": occurrence.at,
        }
        for occurrence in occurrences
        for subscriber in audience
        if subscriber.wants(occurrence)
    ]


async def prepare(session: AsyncSession) -> None:
    """Read the enabled subscriptions once for this transaction (``add`` and ``tell_alert`` match against them)."""
    if _AUDIENCE not in session.info:
        session.info[_AUDIENCE] = _audience((await session.execute(_AUDIENCE_QUERY)).all())


def add(session: AsyncSession, occurrence: Occurrence) -> int:
    """Write a delivery of ``occurrence`` for each enabled subscription that wants it, in ``session``'s transaction
    (``prepare`` first). Returns how many."""
    audience: list[Audience] | None = session.info.get(_AUDIENCE)
    if audience is None:
        raise RuntimeError("webhooks.outbox.prepare(session) first (alerts.timeline.lock_event_log does it)")
    rows = _rows(audience, [occurrence])
    session.add_all(WebhookDelivery(**row) for row in rows)
    if rows:
        emit(session, DeliveriesQueued())
    return len(rows)


def deliver_to(session: AsyncSession, subscription_id: int, occurrence: Occurrence) -> WebhookDelivery:
    """Write a delivery of ``occurrence`` for that subscription alone (an administrator's test event)."""
    [row] = _rows([Audience(subscription_id, frozenset({occurrence.type.value}), True, None)], [occurrence])
    delivery = WebhookDelivery(**row)
    session.add(delivery)
    emit(session, DeliveriesQueued())
    return delivery


def tell_alert(session: AsyncSession, kind: str, alert: object, *, state: str, at: datetime) -> None:
    """The alert timeline's hook: a timeline event of ``kind`` was appended to ``alert`` (now in ``state``)."""
    if not session.info.get(_AUDIENCE):
        return  # nobody subscribed: the common case costs nothing more
    # What the alert has loaded, read without loading more (an expired attribute would need I/O here).
    loaded = inspect(alert).dict
    columns = {name: loaded.get(name) for name in ALERT_COLUMNS}
    columns["state"] = state
    occurrence = alert_occurrence(kind, columns, at=at)
    if occurrence is not None:
        add(session, occurrence)


async def record(session: AsyncSession, occurrence: Occurrence) -> int:
    """Write ``occurrence``'s deliveries in ``session``'s transaction. Returns how many."""
    await prepare(session)
    return add(session, occurrence)


def write_created(connection: Connection, alerts: Sequence[dict[str, Any]], *, at: datetime) -> list[Event]:
    """The SOS writer's batch (synchronous Core): an ``alert.created`` delivery of each new alert (``alerts``: the
    rows inserted) for each enabled subscription that wants it. One read of the subscriptions; nothing more when
    none is enabled. Returns what to tell after the commit."""
    audience = _audience(connection.execute(_AUDIENCE_QUERY).all()) if alerts else []
    if not audience:
        return []
    return write(connection, [alert_created(alert, at=at) for alert in alerts], audience=audience)


def write(
    connection: Connection, occurrences: Sequence[Occurrence], *, audience: Sequence[Audience] | None = None
) -> list[Event]:
    """Write ``occurrences``' deliveries in a synchronous Core transaction (``audience``: the enabled subscriptions,
    read here if not given): one INSERT when any subscription wants one. Returns what to tell after the commit."""
    if audience is None:
        audience = _audience(connection.execute(_AUDIENCE_QUERY).all())
    rows = _rows(audience, occurrences)
    if not rows:
        return []
    table = WebhookDelivery.__table__
    assert isinstance(table, Table)
    connection.execute(insert(table), rows)
    return [DeliveriesQueued()]


def alert_created(alert: dict[str, Any], *, at: datetime) -> Occurrence:
    """A new alert's ``created`` occurrence, from the row the SOS writer inserts."""
    occurrence = alert_occurrence("created", alert, at=at)
    assert occurrence is not None
    return occurrence
