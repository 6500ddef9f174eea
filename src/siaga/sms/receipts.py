"""What a gateway says became of a message Siaga sent: delivered, or failed.

The HTTP provider's delivery receipts (its signed webhook) and Gammu SMSD's error folder both end here. A message
about an alert has the receipt on its timeline: delivered, or failed as every failed delivery shows on the console. A
failure marks the message's record failed with the gateway's words and counts as an attempt; the retry loop then
sends it again, with backoff, until its attempts run out.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from siaga.alerts import timeline
from siaga.db import utcnow
from siaga.notify import service as notify
from siaga.notify.models import DeliveryAttempt, OutboundMessage
from siaga.sms.inbound import Context

DELIVERED = "delivered"


async def delivery_report(
    context: Context, *, adapter: str, provider_id: str, delivered: bool, error: str = ""
) -> bool:
    """Record the gateway's report on the message it knows as ``provider_id``. False if Siaga sent no such message
    (a report for another system, or one older than the records); a report heard again, or after the delivery,
    changes nothing."""
    if not provider_id:
        return False
    async with context.unit_of_work() as session:
        row = await session.scalar(
            select(OutboundMessage)
            .where(OutboundMessage.adapter == adapter, OutboundMessage.provider_id == provider_id)
            .order_by(OutboundMessage.id.desc())
            .limit(1)
            .with_for_update()
        )
        if row is None:
            return False
        if delivered:
            if row.status == "sent":
                row.status = DELIVERED
                if row.alert_id and row.channel == "sms":
                    receipt = {**notify.sms_facts(row), "status": DELIVERED, "attempt": row.attempts}
                    await timeline.record_sms(session, uuid.UUID(row.alert_id), receipt)
            return True
        if row.status != "sent":
            # Failed or sent again already, or delivered (a failure heard after the delivery is out of order: the
            # message reached the phone and is not sent again): the report is old news.
            return True
        error = (error or "the gateway could not deliver it")[:500]
        row.status, row.last_error = "failed", error
        row.next_attempt_at = utcnow() + notify.backoff(row.attempts)
        session.add(DeliveryAttempt(message_id=row.id, ok=False, error=error))
        if row.alert_id:
            final = row.attempts >= notify.MAX_ATTEMPTS
            failure = {
                **notify.sms_facts(row),
                "channel": row.channel,
                "purpose": row.purpose,
                "attempt": row.attempts,
                "final": final,
            }
            await timeline.record_delivery_failure(session, uuid.UUID(row.alert_id), {**failure, "error": error[:200]})
    return True
