"""The staff view of alerts as one person reads them: ``schemas.alert_read`` with whether their agency handles each
(``access.may_act_on``), so the console offers an informed agency's operator no action the server would refuse."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal
from siaga.alerts import access
from siaga.alerts.models import Alert
from siaga.alerts.schemas import AlertRead, alert_read


async def staff_view(session: AsyncSession, principal: Principal, alert: Alert) -> AlertRead:
    """``alert`` as ``principal`` (staff) reads it."""
    [view] = await staff_views(session, principal, [alert])
    return view


async def staff_views(session: AsyncSession, principal: Principal, alerts: Sequence[Alert]) -> list[AlertRead]:
    """``alerts`` as ``principal`` (staff) reads them, in their order."""
    acting = await access.may_act_on(session, principal, alerts)
    return [alert_read(alert, may_act=alert.id in acting) for alert in alerts]
