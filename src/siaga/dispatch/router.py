"""HTTP for recommendations, direct offers and agencies' dispatch settings."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal
from siaga.agencies.domain import UnitKind
from siaga.alerts import access, views
from siaga.alerts import service as alerts
from siaga.alerts.models import AlertOffer, AlertUnitState
from siaga.alerts.schemas import AlertRead
from siaga.audit.actor import ActorContext
from siaga.deps import Admin, ClientIP, CommandCentre, CurrentOfficer, CurrentStaff, RuntimeDep
from siaga.dispatch import backup, receipts
from siaga.dispatch import service as dispatch
from siaga.dispatch.recommend import recommend
from siaga.dispatch.schemas import (
    DispatchSettings,
    DispatchSettingsRead,
    OfferRead,
    RecommendationRead,
    UnitMoveIn,
    UnitRequestIn,
    UnitsIn,
)
from siaga.schemas import RowId, error_responses

router = APIRouter(tags=["dispatch"])


@router.get("/alerts/{alert_id}/recommendations", responses=error_responses(401, 403, 404))
async def recommendations(
    alert_id: uuid.UUID,
    principal: CommandCentre,
    runtime: RuntimeDep,
    count: Annotated[int, Query(ge=1, le=50)] = 5,
    unit_type: Annotated[list[UnitKind] | None, Query(description="Only units of these types (repeatable)")] = None,
) -> list[RecommendationRead]:
    """The nearest available units, nearest first, with distance and ETA: dispatch from this list (only fire engines,
    say, with ``unit_type=fire_engine``)."""
    async with runtime.read_sessions() as session:
        alert = await alerts.get_visible(session, principal, alert_id)
        scope = await access.staff_agency_scope(session, principal)
    # Only units the operator may dispatch (their agency and those below it).
    agencies = frozenset(scope) if scope is not None else None
    found = recommend(
        runtime.units.tracker,
        lat=alert.lat,
        lon=alert.lon,
        count=count,
        agencies=agencies,
        real_alert=not alert.is_exercise,
        kinds=frozenset(k.value for k in unit_type) if unit_type else None,
    )
    return [RecommendationRead.model_validate(r, from_attributes=True) for r in found]


@router.post("/alerts/{alert_id}/units", responses=error_responses(401, 403, 404, 409, 422))
async def add_units(
    alert_id: uuid.UUID, body: UnitsIn, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP
) -> AlertRead:
    """Add a backup to the alert: each unit listed is offered the place, and the first whose officer accepts takes
    it (the others' offers are taken). The responsible agency adds any unit it may dispatch; an agency the alert is
    informed to adds its own. A unit already on the alert, or busy, is a 409."""
    async with runtime.unit_of_work() as session:
        alert = await backup.add_units(
            session,
            principal=principal,
            alert_id=alert_id,
            unit_ids=body.unit_ids,
            drill_units_for_real=runtime.settings.exercise_units_answer_real_alerts,
            by=ActorContext.signed_in(principal, ip),
        )
        return await views.staff_view(session, principal, alert)


@router.post("/alerts/{alert_id}/units/{unit_id}/state", responses=error_responses(401, 403, 404, 409, 422))
async def move_unit(
    alert_id: uuid.UUID, unit_id: RowId, body: UnitMoveIn, principal: CurrentStaff, runtime: RuntimeDep, ip: ClientIP
) -> AlertRead:
    """A backup unit is en route, on scene, or leaves the alert (released), reported by its officer or by staff who
    may send it; staff releasing an offered unit withdraw its offer. The lead unit moves with the alert."""
    async with runtime.unit_of_work() as session:
        alert = await backup.move_unit(
            session,
            principal=principal,
            alert_id=alert_id,
            unit_id=unit_id,
            state=AlertUnitState(body.state),
            by=ActorContext.signed_in(principal, ip),
            where=(body.where.lat, body.where.lon) if body.where else None,
        )
        return await views.staff_view(session, principal, alert)


@router.post("/alerts/{alert_id}/unit-requests", responses=error_responses(401, 403, 404, 409, 422))
async def request_units(
    alert_id: uuid.UUID, body: UnitRequestIn, officer: CurrentOfficer, runtime: RuntimeDep, ip: ClientIP
) -> AlertRead:
    """An officer on the alert asks for backup (units of their unit's type) or an ambulance. It goes on the timeline
    and flags the alert on the consoles asked: the responsible agency's, the officer's own for backup, and for an
    ambulance the PSC 119 covering the place, which is informed of the alert and adds its ambulance."""
    principal = officer.principal
    async with runtime.unit_of_work() as session:
        alert = await backup.request_units(
            session,
            officer=officer,
            alert_id=alert_id,
            kind=backup.RequestKind(body.kind),
            locator=runtime.locator,
            settings=runtime.settings,
            by=ActorContext.signed_in(principal, ip),
            where=(body.where.lat, body.where.lon) if body.where else None,
        )
        return await views.staff_view(session, principal, alert)


@router.get("/offers", responses=error_responses(401, 403))
async def my_offers(officer: CurrentOfficer, runtime: RuntimeDep) -> list[OfferRead]:
    """Alerts offered to your unit, waiting for an answer."""
    async with runtime.read_sessions() as session:
        return [OfferRead.model_validate(o) for o in await dispatch.pending_offers(session, unit_id=officer.unit_id)]


async def _offered_alert(session: AsyncSession, principal: Principal, offer_id: int) -> uuid.UUID:
    alert_id = await session.scalar(
        select(AlertOffer.alert_id).where(AlertOffer.id == offer_id, AlertOffer.unit_id == principal.unit_id)
    )
    if alert_id is None:
        raise await dispatch.offer_not_visible(session, offer_id)
    return alert_id


@router.post("/offers/{offer_id}/accept", responses=error_responses(401, 403, 404, 409, 422))
async def accept_offer(
    offer_id: RowId, officer: CurrentOfficer, runtime: RuntimeDep, ip: ClientIP, key: receipts.ActionKey = None
) -> AlertRead:
    """Take the alert for your unit. The first officer to accept gets it; the others get a 409. Accepting an offer
    your unit already accepted (a retry) answers with the alert as it is now."""
    principal = officer.principal
    async with runtime.unit_of_work() as session:
        alert_id = await _offered_alert(session, principal, offer_id)
        if await receipts.done_before(session, principal=principal, alert_id=alert_id, key=key):
            return await views.staff_view(session, principal, await alerts.get_visible(session, principal, alert_id))
        after_id = await receipts.last_event_id(session, alert_id)
        try:
            answer = await dispatch.accept_offer(
                session, principal=principal, offer_id=offer_id, by=ActorContext.signed_in(principal, ip)
            )
        except dispatch.OfferAlreadyAccepted:
            return await views.staff_view(session, principal, await alerts.get_visible(session, principal, alert_id))
        await receipts.stamp(session, principal=principal, alert_id=alert_id, after_id=after_id, key=key)
        return await views.staff_view(session, principal, answer.alert)


@router.post("/offers/{offer_id}/decline", responses=error_responses(401, 403, 404, 409))
async def decline_offer(offer_id: RowId, officer: CurrentOfficer, runtime: RuntimeDep, ip: ClientIP) -> OfferRead:
    """Say no (the next unit is asked)."""
    principal = officer.principal
    async with runtime.unit_of_work() as session:
        answer = await dispatch.decline_offer(
            session, principal=principal, offer_id=offer_id, by=ActorContext.signed_in(principal, ip)
        )
        return OfferRead.model_validate(answer.offer)


@router.put("/agencies/{code}/dispatch-settings", responses=error_responses(401, 403, 404, 422))
async def set_dispatch_settings(
    code: str, body: DispatchSettings, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> DispatchSettingsRead:
    """Direct offers for an agency's alerts (on or off, how many units per ring, how long they have to answer, the
    first ring's radius; each further ring doubles it) and its escalation timers T1 and T2. New alerts use them."""
    async with runtime.unit_of_work() as session:
        await dispatch.set_dispatch_settings(
            session, agency_code=code, settings=body, by=ActorContext.signed_in(principal, ip)
        )
        return DispatchSettingsRead(agency_code=code, **body.model_dump())
