"""Who may see which alerts: residents their own, officers their unit's, staff their agency's area, admins all."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal
from siaga.accounts.models import Role
from siaga.agencies import service as agencies
from siaga.alerts.models import Alert


async def visibility(session: AsyncSession, principal: Principal) -> ColumnElement[bool]:
    """A SQL condition selecting the alerts ``principal`` may see."""
    if principal.resident_id is not None:
        return Alert.resident_id == principal.resident_id
    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.OFFICER:
        return Alert.unit_id == principal.unit_id if principal.unit_id is not None else false()
    if principal.agency_id is None:
        return false()
    subtree = await agencies.agency_subtree(session, principal.agency_id)
    served = await agencies.jurisdictions_served_by(session, subtree)
    condition: ColumnElement[bool] = Alert.agency_id.in_(subtree)
    if served:
        condition = or_(condition, Alert.jurisdiction_id.in_(served))
    return condition


async def staff_agency_scope(session: AsyncSession, principal: Principal) -> list[int] | None:
    """Agencies whose records a staff member may list (None: all, for admins)."""
    if principal.role is Role.ADMIN:
        return None
    if principal.agency_id is None:
        return []
    return await agencies.agency_subtree(session, principal.agency_id)
