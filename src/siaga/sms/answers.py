"""What a handler of inbound SMS answers when the message concerned an alert: the reply, and the alert. The pipeline
(``siaga.sms.inbound``) puts the message received and the reply sent on that alert's timeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from siaga.alerts.models import Alert, AlertPress

if TYPE_CHECKING:
    from siaga.sms.inbound import Context


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply to the sender (``""`` for none) to a message about ``alert_id``."""

    reply: str
    alert_id: uuid.UUID | None


async def alert_of(context: Context, press_id: uuid.UUID) -> uuid.UUID | None:
    """The alert a press raised or joined (a press while the resident's alert was active joins it), None if the press
    is stored nowhere."""
    async with context.unit_of_work() as session:
        if await session.get(Alert, press_id) is not None:
            return press_id
        joined = await session.get(AlertPress, press_id)
        return joined.alert_id if joined is not None else None
