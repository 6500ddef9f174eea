"""Staff setting an alert's priority, with a reason.

An operator or supervisor of an agency that may act on the alert (``access.require_may_act``) sets it to normal,
high or critical. The change is a ``priority_changed`` timeline event (from, to, reason, who), audited, and the
consoles hear of it on their streams like any other change (the alert's summary carries its priority). The rules are
``domain.SetPriority``'s: a reason is required, a closed alert keeps the priority it closed with, and a duress alert
stays critical. The same priority again changes nothing (a retry).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal
from siaga.alerts import access, domain
from siaga.alerts import service as alerts
from siaga.alerts.domain import Priority
from siaga.alerts.models import Alert
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext


async def set_priority(
    session: AsyncSession,
    *,
    principal: Principal,
    alert_id: uuid.UUID,
    priority: Priority,
    reason: str,
    by: ActorContext,
) -> Alert:
    """Set the priority of an alert the principal sees and may act on (see the module). Returns the alert now."""
    alert = await alerts.get_visible(session, principal, alert_id, lock=True)
    await access.require_may_act(session, principal, alert)
    actor = principal.actor()
    events = domain.decide(alerts.snapshot_of(alert), domain.SetPriority(priority, reason), actor)
    if not events:
        return alert
    await alerts.apply_events(session, alert, events, actor)
    await audit.record_for(
        session,
        by,
        action="alert.priority_change",
        target_type="alert",
        target_id=str(alert.id),
        agency_id=alert.agency_id,
        detail=dict(events[0].data),
    )
    return alert
