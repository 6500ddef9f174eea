"""Queue messages inside a use case's transaction; deliver them after the commit; record every attempt."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.db import utcnow
from siaga.notify.models import DeliveryAttempt, OutboundMessage
from siaga.notify.sms import DeliveryError, SMSSender

log = logging.getLogger("siaga.notify")

MAX_ATTEMPTS = 6
REDACTED_PURPOSES = frozenset({"otp"})  # bodies holding secrets are blanked once the provider has them


async def queue_sms(
    session: AsyncSession, *, to: str, body: str, purpose: str, adapter: str, alert_id: str | None = None
) -> OutboundMessage:
    """Record an SMS to send after the commit."""
    message = OutboundMessage(
        channel="sms", recipient=to, body=body, purpose=purpose, adapter=adapter, alert_id=alert_id
    )
    session.add(message)
    await session.flush()
    return message


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 5 s, 10 s, 20 s ... capped at 10 minutes."""
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))


async def deliver(sessions: async_sessionmaker[AsyncSession], sender: SMSSender, message_ids: Sequence[int]) -> None:
    """Try each message once now. Failures are recorded with the error and left for the retry loop."""
    for message_id in message_ids:
        await _attempt(sessions, sender, message_id)


async def retry_due(sessions: async_sessionmaker[AsyncSession], sender: SMSSender) -> int:
    """Retry every message whose backoff has passed. Returns how many were tried."""
    async with sessions() as session:
        ids = list(
            (
                await session.scalars(
                    select(OutboundMessage.id)
                    .where(OutboundMessage.status.in_(("pending", "failed")))
                    .where(OutboundMessage.attempts < MAX_ATTEMPTS)
                    .where(OutboundMessage.next_attempt_at <= utcnow())
                    .order_by(OutboundMessage.id)
                    .limit(100)
                )
            ).all()
        )
    await deliver(sessions, sender, ids)
    return len(ids)


async def _attempt(sessions: async_sessionmaker[AsyncSession], sender: SMSSender, message_id: int) -> None:
    async with sessions() as session, session.begin():
        message = await session.get(OutboundMessage, message_id, with_for_update=True)
        if message is None or message.status == "sent":
            return
        error = ""
        try:
            message.provider_id = await sender.send(to=message.recipient, body=message.body)
        except DeliveryError as exc:
            error = str(exc)
        message.attempts += 1
        session.add(DeliveryAttempt(message_id=message.id, ok=not error, error=error))
        if error:
            message.status = "failed"
            message.last_error = error
            message.next_attempt_at = utcnow() + backoff(message.attempts)
            log.warning("sms delivery failed", extra={"message_id": message.id, "error": error})
        else:
            message.status = "sent"
            message.sent_at = utcnow()
            message.last_error = ""
            if message.purpose in REDACTED_PURPOSES:
                message.body = "[redacted after delivery]"
