"""Queue messages inside a use case's transaction; deliver them after the commit; record every attempt.

A delivery never holds a database transaction open while it talks to a provider (on SQLite that would stop every
other write, SOS presses included): a short transaction claims the message, the send happens outside, and another
short transaction records the outcome. A claim is a lease: if the process dies mid-send, the message becomes due
again when the lease runs out.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from siaga import metrics
from siaga.aftercommit import MessagesQueued, emit
from siaga.db import UnitOfWork, utcnow
from siaga.notify import consent
from siaga.notify.models import DeliveryAttempt, OutboundMessage, PushSubscriptionRecord
from siaga.notify.push import PushSender, PushSubscription, SubscriptionGone
from siaga.notify.sms import DeliveryError, SMSSender

log = logging.getLogger("siaga.notify")

DeliveryFailed = Callable[[AsyncSession, uuid.UUID, dict[str, Any]], Awaitable[object]]

MAX_ATTEMPTS = 6
LEASE = timedelta(seconds=60)
REDACTED_PURPOSES = frozenset({"otp"})  # bodies holding secrets are blanked once the provider has them


@dataclass(frozen=True, slots=True)
class Senders:
    sms: SMSSender
    push: PushSender | None = None
    contacts: consent.ContactRules = field(default_factory=consent.ContactRules)
    # Whose alarm an emergency contact's message is (the runtime gives ``alerts.service.alarm_subject``).
    alarms: consent.AlarmSubjectOf | None = None
    # Tells an alert that a message about it did not get through, in the transaction recording the failure (the
    # runtime gives the alert timeline's ``record_delivery_failure``; notify knows nothing of alerts' timelines).
    failed: DeliveryFailed | None = None
    # Tells an alert that an SMS about it went (its gateway took it), in the transaction recording that (the runtime
    # gives the timeline's ``record_sms``): every SMS about an alert is on its timeline.
    sms_sent: DeliveryFailed | None = None


async def queue(
    session: AsyncSession,
    *,
    channel: str,
    to: str,
    body: str,
    purpose: str,
    adapter: str,
    alert_id: str | None = None,
    inline: bool = False,
    not_before: datetime | None = None,
) -> OutboundMessage:
    """Record a message (``sms`` to a number, ``push`` to ``push:<subscription id>``) to send after the commit:
    by the unit of work in the background, or (``inline``) by the caller itself; not before ``not_before``."""
    message = OutboundMessage(
        channel=channel,
        recipient=to,
        body=body,
        purpose=purpose,
        adapter=adapter,
        alert_id=alert_id,
        next_attempt_at=not_before or utcnow(),
    )
    session.add(message)
    await session.flush()
    if not inline:
        emit(session, MessagesQueued((message.id,)))
    return message


async def queue_sms(
    session: AsyncSession,
    *,
    to: str,
    body: str,
    purpose: str,
    adapter: str,
    alert_id: str | None = None,
    inline: bool = False,
) -> OutboundMessage:
    """Record an SMS to send after the commit."""
    return await queue(
        session, channel="sms", to=to, body=body, purpose=purpose, adapter=adapter, alert_id=alert_id, inline=inline
    )


def sms_facts(message: OutboundMessage) -> dict[str, Any]:
    """What an alert's timeline says of an SMS Siaga sent about it (the number is masked there)."""
    return {"message": f"out:{message.id}", "direction": "out", "number": message.recipient, "purpose": message.purpose}


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 5 s, 10 s, 20 s ... capped at 10 minutes."""
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))


async def deliver(work: UnitOfWork, senders: Senders | SMSSender, message_ids: Sequence[int]) -> None:
    """Try each message once now. Failures are recorded with the error and left for the retry loop."""
    chosen = senders if isinstance(senders, Senders) else Senders(sms=senders)
    for message_id in message_ids:
        await _attempt(work, chosen, message_id)


async def retry_due(work: UnitOfWork, senders: Senders | SMSSender) -> int:
    """Retry every message whose backoff (or lease) has passed. Returns how many were tried."""
    async with work() as session:
        ids = list(
            (
                await session.scalars(
                    select(OutboundMessage.id)
                    .where(OutboundMessage.status.in_(("pending", "failed", "sending")))
                    .where(OutboundMessage.attempts < MAX_ATTEMPTS)
                    .where(OutboundMessage.next_attempt_at <= utcnow())
                    .order_by(OutboundMessage.id)
                    .limit(100)
                )
            ).all()
        )
    await deliver(work, senders, ids)
    return len(ids)


async def _claim(work: UnitOfWork, message_id: int) -> OutboundMessage | None:
    """Take the message for one attempt, unless another process has it or it is done."""
    now = utcnow()
    async with work() as session:
        claimed = await session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.attempts < MAX_ATTEMPTS,
                # A pending message may be held (an emergency contact's alarm waits for a cancel by mistake).
                OutboundMessage.status.in_(("pending", "failed", "sending")),
                OutboundMessage.next_attempt_at <= now,
            )
            .values(status="sending", attempts=OutboundMessage.attempts + 1, next_attempt_at=now + LEASE)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            return None
        return await session.get(OutboundMessage, message_id)


async def _attempt(work: UnitOfWork, senders: Senders, message_id: int) -> None:
    message = await _claim(work, message_id)
    if message is None:
        return
    if message.purpose == consent.ALARM and message.attempts == 1:
        # An emergency contact's alarm: sent only with their consent (or once before they answer), capped a day.
        body = await consent.screen_alarm(work, senders.contacts, senders.alarms, message)
        if body is None:
            return
        message.body = body
    error, gone, provider_id = "", False, ""
    try:
        provider_id = await _send(work, senders, message)
    except SubscriptionGone as exc:
        error, gone = str(exc), True
    except DeliveryError as exc:
        error = str(exc)
    metrics.DELIVERIES.labels(message.channel, "gone" if gone else "failed" if error else "sent").inc()
    async with work() as session:
        row = await session.get(OutboundMessage, message_id)
        assert row is not None
        session.add(DeliveryAttempt(message_id=message_id, ok=not error, error=error))
        if not error:
            row.status, row.sent_at, row.last_error, row.provider_id = "sent", utcnow(), "", provider_id
            if row.purpose in REDACTED_PURPOSES:
                row.body = "[redacted after delivery]"
            if senders.sms_sent and row.alert_id and row.channel == "sms":
                sent = {**sms_facts(row), "status": "sent", "attempt": row.attempts}
                await senders.sms_sent(session, uuid.UUID(row.alert_id), sent)
            return
        row.last_error = error
        row.status = "gone" if gone else "failed"
        if row.purpose in REDACTED_PURPOSES and (gone or row.attempts >= MAX_ATTEMPTS):
            row.body = "[redacted: never delivered]"
        row.next_attempt_at = utcnow() + backoff(row.attempts)
        log.warning("delivery failed", extra={"message_id": message_id, "channel": row.channel, "error": error})
        if gone:
            await _forget_subscription(session, row.recipient)
        # The console must see that a message about this alert did not get through (first and last failure).
        if senders.failed and row.alert_id and (row.attempts == 1 or gone or row.attempts >= MAX_ATTEMPTS):
            failure = {
                **(sms_facts(row) if row.channel == "sms" else {}),
                "channel": row.channel,
                "purpose": row.purpose,
                "attempt": row.attempts,
                "final": gone or row.attempts >= MAX_ATTEMPTS,
                "error": error[:200],
            }
            await senders.failed(session, uuid.UUID(row.alert_id), failure)


async def _send(work: UnitOfWork, senders: Senders, message: OutboundMessage) -> str:
    if message.channel == "sms":
        return await senders.sms.send(to=message.recipient, body=message.body)
    if message.channel == "push":
        if senders.push is None:
            raise DeliveryError("Web Push is not configured (SIAGA_VAPID_PRIVATE_KEY)")
        async with work() as session:
            record = await session.get(PushSubscriptionRecord, int(message.recipient.removeprefix("push:")))
        if record is None:
            raise SubscriptionGone("the officer's phone unsubscribed")
        subscription = PushSubscription(endpoint=record.endpoint, p256dh=record.p256dh, auth=record.auth)
        return await senders.push.send(subscription=subscription, payload=json.loads(message.body))
    raise DeliveryError(f"unknown channel {message.channel!r}")


async def _forget_subscription(session: AsyncSession, recipient: str) -> None:
    if recipient.startswith("push:"):
        await session.execute(
            delete(PushSubscriptionRecord).where(PushSubscriptionRecord.id == int(recipient.removeprefix("push:")))
        )
