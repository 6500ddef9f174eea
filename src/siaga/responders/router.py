"""HTTP for officers (duty, position, push subscription) and the unit board."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy import select

from siaga.accounts.domain import Principal
from siaga.alerts import access
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.deps import ClientIP, CommandCentre, CurrentOfficer, CurrentPrincipal, CurrentStaff, RuntimeDep
from siaga.dispatch import duty
from siaga.dispatch import service as dispatch
from siaga.errors import Invalid
from siaga.notify.push import PushSubscription, application_server_key
from siaga.responders import service as responders
from siaga.responders.models import DutyPeriod, UnitStatus
from siaga.responders.schemas import (
    DutyIn,
    MyDutyRead,
    PositionAccepted,
    PositionIn,
    PushKeyRead,
    PushSubscriptionIn,
    UnitStatusRead,
)
from siaga.responders.tracker import UnitPoint
from siaga.schemas import error_responses

router = APIRouter(tags=["officers"])


def unit_read(point: UnitPoint) -> UnitStatusRead:
    return UnitStatusRead(
        unit_id=point.unit_id,
        callsign=point.callsign,
        agency_id=point.agency_id,
        kind=point.kind,
        state=point.state,
        duty_mode=point.duty_mode,
        lat=point.lat,
        lon=point.lon,
        at=point.at,
        is_exercise=point.is_exercise,
    )


async def _my_unit(runtime: RuntimeDep, unit_id: int) -> UnitStatusRead:
    """The unit after a duty change, taken into this process's tracker before the answer (so a position sent
    right after going off duty is refused, and one sent right after going on duty is taken)."""
    async with runtime.read_sessions() as session:
        points = await responders.unit_points(session, [unit_id])
    runtime.units.apply_local(points)
    return unit_read(points[0])


@router.get("/officers/me/duty", responses=error_responses(401, 403))
async def my_duty(officer: CurrentOfficer, runtime: RuntimeDep) -> MyDutyRead:
    """Your duty (on or off, the mode, since when) and your unit's state, as the server has them."""
    unit_id = officer.unit_id
    async with runtime.read_sessions() as session:
        period = await session.scalar(
            select(DutyPeriod).where(DutyPeriod.staff_id == officer.staff_id, DutyPeriod.ended_at.is_(None))
        )
        status_row = await session.get(UnitStatus, unit_id)
        points = await responders.unit_points(session, [unit_id])
    return MyDutyRead(
        on_duty=period is not None,
        mode=period.mode if period else None,
        since=period.started_at if period else None,
        alert_id=status_row.alert_id if status_row else None,
        unit=unit_read(points[0]),
    )


@router.put("/officers/me/duty", responses=error_responses(401, 403, 422))
async def go_on_duty(body: DutyIn, officer: CurrentOfficer, runtime: RuntimeDep, ip: ClientIP) -> UnitStatusRead:
    """Go on duty (at a post, on patrol or at home): your unit becomes available for alerts."""
    unit_id = officer.unit_id
    async with runtime.unit_of_work() as session:
        by = ActorContext.signed_in(officer.principal, ip)
        await duty.go_on_duty(session, principal=officer.principal, mode=body.mode, by=by)
    return await _my_unit(runtime, unit_id)


@router.delete("/officers/me/duty", responses=error_responses(401, 403, 409))
async def go_off_duty(
    officer: CurrentOfficer, runtime: RuntimeDep, ip: ClientIP, hand_back: bool = False
) -> UnitStatusRead:
    """Go off duty. Your position is no longer shared. If your unit is responding to an SOS and nobody else of it
    is on duty, this is refused (409 ``officer.on_alert``) unless ``hand_back=true``: the alert then goes back to the
    command centre (a timeline event, new offers, and an escalation if no operator holds it)."""
    unit_id = officer.unit_id
    async with runtime.unit_of_work() as session:
        await duty.leave_duty(
            session,
            settings=runtime.settings,
            principal=officer.principal,
            hand_back_alerts=hand_back,
            by=ActorContext.signed_in(officer.principal, ip),
        )
    return await _my_unit(runtime, unit_id)


@router.post(
    "/officers/me/location", status_code=status.HTTP_202_ACCEPTED, responses=error_responses(401, 403, 409, 422)
)
async def send_location(body: PositionIn, officer: CurrentOfficer, runtime: RuntimeDep) -> PositionAccepted:
    """Your phone's position while on duty (written within a second, in batches; consoles see it at once). A phone
    with the officer stream open can send its positions over the stream instead (see /api/v1/stream/officer)."""
    accepted = await duty.share_positions(runtime.units, officer, [body], now=utcnow())
    return PositionAccepted(accepted=accepted, unit_id=officer.unit_id)


@router.post(
    "/officers/me/push-subscription", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 403, 422)
)
async def subscribe_push(body: PushSubscriptionIn, officer: CurrentOfficer, runtime: RuntimeDep) -> Response:
    """Register this phone for Web Push (offers and assignments ring it)."""
    return await _subscribe(body, officer.principal, runtime)


@router.post(
    "/staff/me/push-subscription", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 403, 422)
)
async def subscribe_staff_push(body: PushSubscriptionIn, principal: CurrentStaff, runtime: RuntimeDep) -> Response:
    """Register this browser for Web Push, for any staff member: the console's supervisors and operators are told
    of an escalation (an SOS nobody took in time) even with the console closed or in a background tab."""
    return await _subscribe(body, principal, runtime)


async def _subscribe(body: PushSubscriptionIn, principal: Principal, runtime: RuntimeDep) -> Response:
    try:
        PushSubscription(endpoint=body.endpoint, p256dh=body.keys.p256dh, auth=body.keys.auth)
    except ValueError as exc:
        raise Invalid(f"invalid push subscription: {exc}", code="push.subscription") from exc
    assert principal.staff_id is not None
    async with runtime.unit_of_work() as session:
        await dispatch.subscribe_to_pushes(
            session, staff_id=principal.staff_id, endpoint=body.endpoint, p256dh=body.keys.p256dh, auth=body.keys.auth
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/push/public-key", responses=error_responses(401))
async def push_public_key(principal: CurrentPrincipal, runtime: RuntimeDep) -> PushKeyRead:
    """The application server key a browser subscribes with."""
    key = runtime.settings.vapid_private_key.get_secret_value()
    return PushKeyRead(application_server_key=application_server_key(key) if key else None)


@router.get("/units/board", responses=error_responses(401, 403))
async def unit_board(principal: CommandCentre, runtime: RuntimeDep) -> list[UnitStatusRead]:
    """Every unit of your agency and those below it, with its state and newest position."""
    async with runtime.read_sessions() as session:
        scope = await access.staff_agency_scope(session, principal)
        points = await responders.board(session, agencies=frozenset(scope) if scope is not None else None)
    return [unit_read(p) for p in points]
