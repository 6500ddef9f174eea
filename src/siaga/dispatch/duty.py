"""Going on and off duty, and handing an alert back: a unit on an active alert never leaves it silently. Its last
officer on duty either hands the alert back (it returns to dispatch with a timeline event, a new round of offers and
T2, and escalates at once if no operator holds it) or is refused with a clear message."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Officer, Principal, Role
from siaga.accounts.models import Staff
from siaga.aftercommit import OffersDue, emit
from siaga.agencies.models import Agency
from siaga.alerts import domain
from siaga.alerts.domain import ACTIVE_STATES, DomainEvent
from siaga.alerts.models import Alert, AlertOffer, OfferState
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import utcnow
from siaga.dispatch import service as dispatch
from siaga.dispatch import unitstate
from siaga.errors import Conflict, Invalid
from siaga.responders import service as responders
from siaga.responders.domain import StillResponding, alerts_to_hand_back
from siaga.responders.live import LiveUnits
from siaga.responders.models import DutyMode, DutyPeriod, UnitStatus
from siaga.responders.schemas import PositionIn
from siaga.responders.service import PositionFix


async def go_on_duty(session: AsyncSession, *, principal: Principal, mode: DutyMode, by: ActorContext) -> UnitStatus:
    """Start (or change the mode of) the officer's duty period (audited): their unit becomes available."""
    officer = Officer.of(principal)
    unit_id = officer.unit_id
    current = await session.scalar(
        select(DutyPeriod).where(DutyPeriod.staff_id == officer.staff_id, DutyPeriod.ended_at.is_(None))
    )
    now = utcnow()
    if current is not None and current.mode != mode.value:
        current.ended_at = now
        current = None
    if current is None:
        session.add(DutyPeriod(staff_id=officer.staff_id, unit_id=unit_id, mode=mode.value, started_at=now))
        await session.flush()
    await unitstate.sync_units(session, [unit_id])
    await audit.record_for(
        session, by, action="officer.on_duty", target_type="unit", target_id=str(unit_id), detail={"mode": mode.value}
    )
    return await responders.status_row(session, unit_id)


async def hand_back(
    session: AsyncSession, *, settings: Settings, principal: Principal, alert_id: uuid.UUID, reason: str
) -> tuple[Alert, list[DomainEvent]]:
    """The assigned unit gives the alert back to the command centre. It is offered again at once where the agency
    uses direct offers, T2 runs again, and with no operator holding it the domain escalates it there and then."""
    alert, events = await dispatch.act(
        session, principal=principal, alert_id=alert_id, command=domain.HandBack(reason=reason)
    )
    agency = await session.get(Agency, alert.agency_id)
    now = utcnow()
    t2 = (agency.dispatch_timeout_seconds if agency else None) or settings.dispatch_timeout_seconds
    alert.dispatch_due_at = now + timedelta(seconds=t2)
    if agency is not None and agency.direct_offers:
        # A new round from the nearest ring. Units that lost an earlier round only because someone else took the
        # alert, or let it ring out, may be asked again (their offers stay on the timeline); those that declined,
        # and the unit that handed it back, are not.
        await session.execute(
            delete(AlertOffer).where(
                AlertOffer.alert_id == alert.id,
                AlertOffer.state.in_([OfferState.TAKEN.value, OfferState.EXPIRED.value]),
            )
        )
        alert.offer_ring = 0
        alert.offer_due_at = now
        emit(session, OffersDue())
    await session.flush()
    return alert, events


def as_officer(staff: Staff) -> Principal:
    """The officer as a principal of their own, for leaving duty on their behalf (their account is deactivated, or
    their drill ended). The change is audited as the administrator's."""
    return Principal(
        session_id=0,  # no session of theirs
        name=staff.name,
        staff_id=staff.id,
        role=Role.OFFICER,
        agency_id=staff.agency_id,
        unit_id=staff.unit_id,
    )


async def leave_duty(
    session: AsyncSession,
    *,
    settings: Settings,
    principal: Principal,
    hand_back_alerts: bool,
    by: ActorContext | None,
) -> list[uuid.UUID]:
    """The officer goes off duty: their pending offers are declined, and if they are the last of their unit on duty
    while it responds to an alert, the alert is handed back (``hand_back_alerts``) or they are refused (409
    ``officer.on_alert``). Returns the alerts handed back. Audited as ``officer.off_duty`` done ``by`` that actor;
    None when the leaving is one step of a larger change that its caller audits (a deactivation, a drill's end)."""
    unit_id = Officer.of(principal).unit_id
    # The officer's own duty period is locked first: a dispatch to the unit that counted on them (it locks the
    # unit's open periods) finishes before this reads the unit's alerts below, or sees them gone and is refused.
    await session.execute(
        select(DutyPeriod.id)
        .where(DutyPeriod.staff_id == principal.staff_id, DutyPeriod.ended_at.is_(None))
        .with_for_update()
    )
    # The unit's alerts are locked next, in the order every other use case locks an alert before its units: two
    # officers of one unit leaving at once queue here, and the second sees that the first has gone.
    responding = list(
        (
            await session.scalars(
                select(Alert.id)
                .where(Alert.unit_id == unit_id, Alert.state.in_([s.value for s in ACTIVE_STATES]))
                .order_by(Alert.id)
                .with_for_update()
            )
        ).all()
    )
    colleagues = await session.scalar(
        select(DutyPeriod.id)
        .where(DutyPeriod.unit_id == unit_id, DutyPeriod.ended_at.is_(None), DutyPeriod.staff_id != principal.staff_id)
        .limit(1)
    )
    try:
        handed = alerts_to_hand_back(responding, colleagues_on_duty=colleagues is not None, hand_back=hand_back_alerts)
    except StillResponding as refusal:
        raise Conflict(
            "your unit is responding to an SOS: resolve it, or hand it back to the command centre before going off"
            " duty",
            code="officer.on_alert",
            details={"alert_ids": [str(a) for a in refusal.alert_ids]},
        ) from refusal
    for alert_id in handed:
        await hand_back(session, settings=settings, principal=principal, alert_id=alert_id, reason="off_duty")
    await dispatch.withdraw_unit_offers(session, principal=principal, unit_id=unit_id)
    periods = await session.scalars(
        select(DutyPeriod).where(DutyPeriod.staff_id == principal.staff_id, DutyPeriod.ended_at.is_(None))
    )
    now = utcnow()
    for period in periods.all():
        period.ended_at = now
    await session.flush()
    await unitstate.sync_units(session, [unit_id])
    if by is not None:
        await audit.record_for(
            session,
            by,
            action="officer.off_duty",
            target_type="unit",
            target_id=str(unit_id),
            detail={"handed_back": [str(a) for a in handed]} if handed else None,
        )
    return handed


async def share_positions(live: LiveUnits, officer: Officer, points: Sequence[PositionIn], *, now: datetime) -> int:
    """An officer's phone positions while their unit is on duty, over HTTP or the officer stream alike: handed to
    the live units, which write them within a second. Off duty they are refused (422 ``officer.off_duty``)."""
    if not await live.on_duty(officer.unit_id):
        raise Invalid("go on duty before sharing your position", code="officer.off_duty")
    for point in points:
        live.submit(PositionFix.of(point, unit_id=officer.unit_id, staff_id=officer.staff_id, now=now))
    return len(points)
