"""Who may see which alerts: residents their own, officers their unit's, staff their agency's area, admins all."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal, Role
from siaga.agencies import service as agencies
from siaga.alerts.models import Alert, AlertAgency, AlertEscalation, AlertOffer, AlertUnit, OfferState
from siaga.db import utcnow
from siaga.errors import Forbidden, NotFound, NotVisible

OFFICER_GRACE = timedelta(hours=2)


async def visibility(
    session: AsyncSession, principal: Principal, *, scope: StaffScope | None = None
) -> ColumnElement[bool]:
    """A SQL condition selecting the alerts ``principal`` may see (``scope``: a staff member's, if already known)."""
    if principal.resident_id is not None:
        # Not the alerts Siaga raised on its own (a duress follow-up): the phone must look as if nothing happened.
        return and_(Alert.resident_id == principal.resident_id, Alert.follows_id.is_(None))
    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.OFFICER:
        if principal.unit_id is None:
            return false()
        offered = select(AlertOffer.alert_id).where(
            AlertOffer.unit_id == principal.unit_id, AlertOffer.state == OfferState.PENDING.value
        )
        # An officer keeps an alert while it is open and for a short while after (to finish the report), not for
        # ever: whoever joins the unit later must not read its old callers' details.
        recent = or_(Alert.closed_at.is_(None), Alert.closed_at >= utcnow() - OFFICER_GRACE)
        # A unit added to the alert (a backup) sees it while on it, and for the same short while after it left.
        added = select(AlertUnit.alert_id).where(
            AlertUnit.unit_id == principal.unit_id,
            or_(AlertUnit.released_at.is_(None), AlertUnit.released_at >= utcnow() - OFFICER_GRACE),
        )
        return or_(and_(Alert.unit_id == principal.unit_id, recent), Alert.id.in_(offered), Alert.id.in_(added))
    if principal.agency_id is None:
        return false()
    if scope is None:
        scope = await staff_scope(session, principal.agency_id)
    condition: ColumnElement[bool] = Alert.agency_id.in_(scope.agencies)
    if scope.jurisdictions:
        condition = or_(condition, Alert.jurisdiction_id.in_(scope.jurisdictions))
    escalated = select(AlertEscalation.alert_id).where(AlertEscalation.agency_id.in_(scope.agencies))
    # Agencies the routing table informed (a kebakaran's police beside the Damkar responsible for it).
    informed = select(AlertAgency.alert_id).where(AlertAgency.agency_id.in_(scope.agencies))
    return or_(condition, Alert.id.in_(escalated), Alert.id.in_(informed))


async def not_visible(session: AsyncSession, alert_id: uuid.UUID) -> NotFound:
    """The error for an alert id the caller may not see. Both kinds answer the same 404; one that exists (another
    resident's or another agency's alert) is a ``NotVisible``, which the audit log records as a denied request."""
    found = (await session.execute(select(Alert.agency_id).where(Alert.id == alert_id))).first()
    if found is None:
        return NotFound("alert not found", code="alert.not_found")
    return NotVisible(
        "alert not found", code="alert.not_found", target_type="alert", target_id=str(alert_id), agency_id=found[0]
    )


@dataclass(frozen=True, slots=True)
class StaffScope:
    """What a staff member of an agency sees: alerts of these agencies or in these kecamatan (plus escalations to
    these agencies)."""

    agencies: frozenset[int]
    jurisdictions: frozenset[int]


async def staff_scope(session: AsyncSession, agency_id: int) -> StaffScope:
    subtree = await agencies.agency_subtree(session, agency_id)
    served = await agencies.jurisdictions_served_by(session, subtree)
    return StaffScope(agencies=frozenset(subtree), jurisdictions=frozenset(served))


async def require_may_act(session: AsyncSession, principal: Principal, alert: Alert) -> None:
    """Refuse (403) a staff member who sees ``alert`` but whose agency may not change how it is handled. The one
    responsible agency (or one above it) acts on an alert, and so do the agencies it was escalated to; an
    administrator acts on any. The agencies the routing table only informed (the police of a kebakaran Damkar is
    responsible for) and those that see it because it lies in their kecamatan read it, add notes and write to the
    resident, but do not acknowledge it (that would stop the responsible agency's T1), send its lead unit (informed
    agencies add their own units beside it: ``require_may_send_units``), close it, re-route it, hand it over,
    prioritise or link it. Officers act on the alerts of their own unit, which they see for that reason alone."""
    if alert.id not in await may_act_on(session, principal, [alert]):
        raise Forbidden(
            "your agency may see this alert but not act on it: another agency is responsible for it",
            code="alert.other_agency",
            details={"alert": str(alert.id)},
        )


async def may_act_on(session: AsyncSession, principal: Principal, alerts: Sequence[Alert]) -> set[uuid.UUID]:
    """The ids of those of ``alerts`` (which ``principal`` sees) that its agency may act on, as ``require_may_act``
    says: the console shows an informed agency no button it would be refused. Two queries at most, however many."""
    if principal.role in (Role.ADMIN, Role.OFFICER) or principal.resident_id is not None:
        return {alert.id for alert in alerts}
    agencies_in_scope = set(await staff_agency_scope(session, principal) or [])
    acting = {alert.id for alert in alerts if alert.agency_id in agencies_in_scope}
    others = [alert.id for alert in alerts if alert.id not in acting]
    if others:
        escalated = await session.scalars(
            select(AlertEscalation.alert_id).where(
                AlertEscalation.alert_id.in_(others), AlertEscalation.agency_id.in_(agencies_in_scope)
            )
        )
        acting.update(escalated)
    return acting


async def require_may_send_units(session: AsyncSession, principal: Principal, alert: Alert) -> None:
    """Refuse (403) a staff member whose agency may not add units to ``alert``: those that may act on it
    (``require_may_act``) add any unit they may dispatch, and an agency the alert is informed to (by the routing
    table, or asked for an ambulance by an officer on scene) adds its own units. Which units are its own is
    ``alerts.service.unit_for_dispatch``'s rule: those of the agencies a staff member sees."""
    try:
        await require_may_act(session, principal, alert)
    except Forbidden:
        scope = set(await staff_agency_scope(session, principal) or [])
        if not scope & set(alert.informed_agency_ids or []):
            raise


async def staff_agency_scope(session: AsyncSession, principal: Principal) -> list[int] | None:
    """Agencies whose records a staff member may list (None: all, for admins)."""
    if principal.role is Role.ADMIN:
        return None
    if principal.agency_id is None:
        return []
    return await agencies.agency_subtree(session, principal.agency_id)
