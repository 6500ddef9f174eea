"""HTTP for alerts: the SOS press, the trail, and every action on an alert."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import service as accounts
from siaga.accounts.domain import Principal
from siaga.alerts import domain, incidents, priority, service, views
from siaga.alerts.domain import AlertState
from siaga.alerts.ingest import Raced
from siaga.alerts.models import Alert, AlertEvent, Incident
from siaga.alerts.raise_rules import Caller, CallerKind, Position, RaiseRequest
from siaga.alerts.schemas import (
    ActionIn,
    AlertCreate,
    AlertForIntegrator,
    AlertRead,
    CancelIn,
    ChatMessage,
    DispatchIn,
    EscalateIn,
    IncidentAlertsIn,
    IncidentCreate,
    IncidentRead,
    MessageIn,
    NoteIn,
    PriorityIn,
    ReplyIn,
    ResidentAlertRead,
    ResolveIn,
    TimelineEventRead,
    TrailAccepted,
    TrailIn,
    TrailPointRead,
    alert_for_integrator,
)
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.deps import (
    AlertReader,
    ClientIP,
    CommandCentre,
    CurrentStaff,
    RuntimeDep,
    SOSResident,
)
from siaga.dispatch import bulk, receipts, units
from siaga.dispatch import service as dispatching
from siaga.errors import Forbidden
from siaga.realtime.locations import AlertPosition
from siaga.schemas import Moment, error_responses

router = APIRouter(tags=["alerts"])


async def resident_alert_read(session: AsyncSession, alert: Alert) -> ResidentAlertRead:
    """What the resident's phone shows. After a duress PIN: "cancelled" and nothing about the response."""
    state = domain.resident_view_state(AlertState(alert.state), duress=alert.duress)
    if alert.duress:
        entered = await service.duress_entered(session, alert.id)
        return ResidentAlertRead(
            id=alert.id,
            state=state,
            category=domain.Category(alert.category),
            created_at=alert.created_at,
            acknowledged=False,
            unit_callsign=None,
            officer_names=[],
            closed_at=entered.at,
            chat=_chat(await service.chat(session, alert.id, before=entered.cursor)),
            replies_close_at=domain.replies_close_at(state, duress=True, closed_at=entered.at),
        )
    return ResidentAlertRead(
        id=alert.id,
        state=state,
        category=domain.Category(alert.category),
        created_at=alert.created_at,
        acknowledged=alert.acknowledged_at is not None,
        unit_callsign=alert.unit.callsign if alert.unit else None,
        officer_names=await service.officer_names(session, alert.unit_id),
        other_units=await units.others_coming(session, alert.id),
        closed_at=alert.closed_at,
        message=await _resident_message(session, alert),
        chat=_chat(await service.chat(session, alert.id)),
        replies_close_at=domain.replies_close_at(state, duress=False, closed_at=alert.closed_at),
    )


def _chat(lines: list[service.ChatLine]) -> list[ChatMessage]:
    return [ChatMessage(id=line.id, at=line.at, sender=line.sender, text=line.text) for line in lines]


async def _resident_message(session: AsyncSession, alert: Alert) -> str | None:
    """The command centre's latest message to the resident on this alert (an area message in a surge), if any."""
    data = await session.scalar(
        select(AlertEvent.data)
        .where(AlertEvent.alert_id == alert.id, AlertEvent.kind == domain.EventKind.RESIDENT_MESSAGED.value)
        .order_by(AlertEvent.id.desc())
        .limit(1)
    )
    return str(data["text"]) if data else None


AnyAlertView = AlertRead | ResidentAlertRead | AlertForIntegrator


async def _view(session: AsyncSession, principal: Principal, alert: Alert) -> AnyAlertView:
    """The view of an alert for who reads it: the resident's, an integrator's key's (nothing personal), or staff's."""
    if principal.resident_id is not None:
        return await resident_alert_read(session, alert)
    if principal.api_key_id is not None:
        return alert_for_integrator(alert)
    return await views.staff_view(session, principal, alert)


@router.post(
    "/alerts",
    status_code=status.HTTP_201_CREATED,
    response_model=ResidentAlertRead,
    responses={
        200: {"model": ResidentAlertRead, "description": "A retry of a press already stored"},
        **error_responses(400, 401, 403, 409, 413, 422),
    },
)
async def raise_alert(body: AlertCreate, principal: SOSResident, runtime: RuntimeDep, ip: ClientIP) -> Response:
    """Press SOS. Stored durably and placed in a jurisdiction before this answers 201. Sending the same id and body
    again answers 200 with the same alert; the same id with a different body is a 409."""
    resident_id = principal.resident_id
    assert resident_id is not None
    request = raise_request(body, principal, ip)
    try:
        # Stored with the presses arriving at the same moment, in one durable commit (see alerts.ingest).
        stored = await runtime.ingest.submit(request)
    except (IntegrityError, Raced):
        # Already stored: a retry, or the same press arriving twice at once. The stored one answers (200), unless
        # this is another press reusing the id (409).
        async with runtime.read_sessions() as session:
            resident = await accounts.get_resident(session, resident_id)
            alert = await service.stored_press(session, resident=resident, body=body)
            view = await resident_alert_read(session, alert)
        return _json(view, status.HTTP_200_OK)
    view = stored.view
    assert isinstance(view, ResidentAlertRead)
    return _json(view, status.HTTP_200_OK if stored.replay else status.HTTP_201_CREATED)


def raise_request(body: AlertCreate, principal: Principal, ip: str) -> RaiseRequest:
    """The app's press as the channel-agnostic request to raise an alert (``alerts.raising``), received now."""
    where = body.location
    return RaiseRequest(
        id=body.id,
        fingerprint=service.request_hash(body),
        caller=Caller(
            kind=CallerKind.RESIDENT,
            id=principal.subject,
            name=principal.name,
            resident_id=principal.resident_id,
            session_expired=principal.session_expired,
        ),
        category=body.category,
        received_at=utcnow(),
        channel="app",
        position=Position(where.lat, where.lon, where.accuracy_m, where.recorded_at) if where is not None else None,
        silent=body.silent,
        description=body.description,
        battery=body.battery,
        pressed_at=body.pressed_at,
        client_ip=ip,
    )


def _json(view: ResidentAlertRead, status_code: int) -> Response:
    """The view as the response, serialised once: the press is the hottest route, and FastAPI would validate the
    model it is given again before serialising it."""
    return Response(view.model_dump_json(), status_code=status_code, media_type="application/json")


@router.get("/alerts", responses=error_responses(401, 403, 429))
async def list_alerts(
    principal: AlertReader,
    runtime: RuntimeDep,
    ip: ClientIP,
    state: Annotated[list[AlertState] | None, Query()] = None,
    active: bool = False,
    before: Moment | None = None,
    resident_id: Annotated[uuid.UUID | None, Query(description="Only this resident's alerts (their history)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertRead] | list[ResidentAlertRead] | list[AlertForIntegrator]:
    """Alerts you may see, newest first: residents their own, officers their unit's, staff their agency's area. An
    integrator's API key with the scope alerts:read gets the alerts an operator of its agency sees, in a view without
    the resident (AlertForIntegrator), and no resident's history (resident_id: 403)."""
    if principal.api_key_id is not None and resident_id is not None:
        raise Forbidden(
            "a resident's history is personal data: an API key reads alerts, not the people who raised them",
            code="alert.resident_history_not_for_keys",
            details={"field": "resident_id"},
        )
    states = list(domain.ACTIVE_STATES) if active else state
    async with runtime.unit_of_work() as session:
        alerts = await service.read_alerts(
            session,
            principal,
            by=ActorContext.signed_in(principal, ip),
            states=states,
            limit=limit,
            before=before,
            resident_id=resident_id,
        )
        if principal.resident_id is not None:
            return [await resident_alert_read(session, a) for a in alerts]
        if principal.api_key_id is not None:
            return [alert_for_integrator(a) for a in alerts]
        return await views.staff_views(session, principal, alerts)


@router.get("/alerts/{alert_id}", responses=error_responses(401, 403, 404, 429))
async def read_alert(alert_id: uuid.UUID, principal: AlertReader, runtime: RuntimeDep, ip: ClientIP) -> AnyAlertView:
    """One alert (404 if it is not yours to see). An API key needs the scope alerts:read and gets the view without
    the resident (AlertForIntegrator)."""
    async with runtime.unit_of_work() as session:
        alert = await service.read_alert(session, principal, alert_id, by=ActorContext.signed_in(principal, ip))
        return await _view(session, principal, alert)


@router.get("/alerts/{alert_id}/timeline", responses=error_responses(401, 403, 404))
async def read_timeline(
    alert_id: uuid.UUID, principal: CurrentStaff, runtime: RuntimeDep, ip: ClientIP
) -> list[TimelineEventRead]:
    """Every change to the alert: who, what, when and where (audited: it names the resident and their positions)."""
    async with runtime.unit_of_work() as session:
        events = await service.read_timeline(session, principal, alert_id, by=ActorContext.signed_in(principal, ip))
        return [TimelineEventRead.model_validate(e) for e in events]


@router.get("/alerts/{alert_id}/trail", responses=error_responses(401, 403, 404))
async def read_trail(
    alert_id: uuid.UUID, principal: CurrentStaff, runtime: RuntimeDep, ip: ClientIP
) -> list[TrailPointRead]:
    """The resident's positions while the alert was active (audited)."""
    async with runtime.unit_of_work() as session:
        points = await service.read_trail(session, principal, alert_id, by=ActorContext.signed_in(principal, ip))
        return [TrailPointRead.model_validate(p) for p in points]


@router.post("/alerts/{alert_id}/locations", responses=error_responses(401, 403, 404, 409, 422))
async def send_locations(
    alert_id: uuid.UUID, body: TrailIn, principal: SOSResident, runtime: RuntimeDep
) -> TrailAccepted:
    """The phone's positions while the alert is active (up to 100 at once, e.g. after lost signal)."""
    async with runtime.unit_of_work() as session:
        stored = await service.append_trail(session, principal=principal, alert_id=alert_id, body=body)
        alert = await service.get_visible(session, principal, alert_id)
        position = AlertPosition.of(alert)
    await runtime.positions.publish(position)
    return TrailAccepted(stored=stored, active=True)


async def _act(
    runtime: RuntimeDep,
    principal: Principal,
    alert_id: uuid.UUID,
    command: domain.Command,
    body: ActionIn,
    ip: str,
    key: receipts.Receipt | None = None,
) -> AlertRead:
    """Apply one action (``bulk.act_audited``: the one path of every action on an alert)."""
    where = (body.where.lat, body.where.lon) if body.where else None
    caller = bulk.Caller(principal=principal, ip=ip)
    alert = await bulk.act_audited(runtime, caller, alert_id, command, where=where, key=key)
    async with runtime.read_sessions() as session:
        return await views.staff_view(session, principal, alert)


ACTION_ERRORS = error_responses(401, 403, 404, 409, 422)


@router.post("/alerts/bulk", responses=error_responses(401, 403, 422))
async def act_in_bulk(body: bulk.BulkIn, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP) -> bulk.BulkOut:
    """One action on a selection or a map cluster (at most 500 alerts): each alert takes it as it would alone, with
    its own timeline event and audit record; the answer says what happened to each. Input that is wrong for the
    whole request (an unknown unit or agency, a missing note) refuses it in full."""
    return await bulk.act_on_each(runtime, bulk.Caller(principal=principal, ip=ip), body)


@router.post("/areas/message", responses=error_responses(401, 403, 404, 422))
async def message_area(
    body: bulk.AreaMessageIn, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP
) -> bulk.AreaMessageOut:
    """Send one message from the command centre to the status screens of the residents with an open alert in a
    kecamatan (a surge area): recorded on each alert's timeline, audited once."""
    return await bulk.message_area(runtime, bulk.Caller(principal=principal, ip=ip), body)


@router.post("/alerts/{alert_id}/acknowledge", responses=ACTION_ERRORS)
async def acknowledge(
    alert_id: uuid.UUID,
    principal: CommandCentre,
    runtime: RuntimeDep,
    ip: ClientIP,
    body: ActionIn | None = None,
    key: receipts.ActionKey = None,
) -> AlertRead:
    """Take the alert. Exactly one operator wins; the other gets a 409 naming who holds it."""
    return await _act(runtime, principal, alert_id, domain.Acknowledge(), body or ActionIn(), ip, key)


@router.post("/alerts/{alert_id}/dispatch", responses=ACTION_ERRORS)
async def dispatch(
    alert_id: uuid.UUID,
    body: DispatchIn,
    principal: CurrentStaff,
    runtime: RuntimeDep,
    ip: ClientIP,
    key: receipts.ActionKey = None,
) -> AlertRead:
    """Assign a unit (or reassign to another). An officer may take an alert for their own unit. An alert one cannot
    see is a 404 whatever the unit; a unit of an agency one cannot see is a 422 exactly as a missing one."""
    # The unit's callsign is filled in once the alert is known to be visible (see alerts.service.act).
    return await _act(runtime, principal, alert_id, domain.Dispatch(body.unit_id, ""), body, ip, key)


@router.post("/alerts/{alert_id}/en-route", responses=ACTION_ERRORS)
async def en_route(
    alert_id: uuid.UUID,
    principal: CurrentStaff,
    runtime: RuntimeDep,
    ip: ClientIP,
    body: ActionIn | None = None,
    key: receipts.ActionKey = None,
) -> AlertRead:
    """The assigned unit is on its way."""
    return await _act(runtime, principal, alert_id, domain.MarkEnRoute(), body or ActionIn(), ip, key)


@router.post("/alerts/{alert_id}/on-scene", responses=ACTION_ERRORS)
async def on_scene(
    alert_id: uuid.UUID,
    principal: CurrentStaff,
    runtime: RuntimeDep,
    ip: ClientIP,
    body: ActionIn | None = None,
    key: receipts.ActionKey = None,
) -> AlertRead:
    """The assigned unit has arrived."""
    return await _act(runtime, principal, alert_id, domain.MarkOnScene(), body or ActionIn(), ip, key)


@router.post("/alerts/{alert_id}/notes", responses=ACTION_ERRORS)
async def add_note(
    alert_id: uuid.UUID,
    body: NoteIn,
    principal: CurrentStaff,
    runtime: RuntimeDep,
    ip: ClientIP,
    key: receipts.ActionKey = None,
) -> AlertRead:
    """Add a note to the timeline (also after the alert is closed)."""
    return await _act(runtime, principal, alert_id, domain.AddNote(body.text), body, ip, key)


@router.post("/alerts/{alert_id}/messages", responses=ACTION_ERRORS)
async def message_resident(
    alert_id: uuid.UUID,
    body: MessageIn,
    principal: CommandCentre,
    runtime: RuntimeDep,
    ip: ClientIP,
    key: receipts.ActionKey = None,
) -> AlertRead:
    """Write to the resident of an open alert: shown in the chat on their status screen, where they can answer
    (``POST /alerts/{id}/replies``). A closed alert is a 409; an alert cancelled with the duress PIN a 422
    alert.duress_silent (the phone must stay silent)."""
    return await _act(runtime, principal, alert_id, domain.MessageResident(body.text), body, ip, key)


@router.post("/alerts/{alert_id}/resolve", responses=ACTION_ERRORS)
async def resolve(
    alert_id: uuid.UUID,
    body: ResolveIn,
    principal: CurrentStaff,
    runtime: RuntimeDep,
    ip: ClientIP,
    key: receipts.ActionKey = None,
) -> AlertRead:
    """Close with an outcome and a short report of what happened (3 characters or more: a blank or shorter report is
    422 alert.report_required). A prank adds a strike to the resident."""
    return await _act(runtime, principal, alert_id, domain.Resolve(body.outcome, body.report), body, ip, key)


@router.post("/alerts/{alert_id}/escalate", responses=ACTION_ERRORS)
async def escalate(
    alert_id: uuid.UUID,
    body: EscalateIn,
    principal: CurrentStaff,
    runtime: RuntimeDep,
    ip: ClientIP,
    key: receipts.ActionKey = None,
) -> AlertRead:
    """Flag the alert for supervisors (command-centre staff)."""
    return await _act(runtime, principal, alert_id, domain.Escalate(body.reason), body, ip, key)


@router.post("/alerts/{alert_id}/cancel", responses=error_responses(401, 403, 404, 409, 422, 429))
async def cancel(
    alert_id: uuid.UUID, body: CancelIn, principal: SOSResident, runtime: RuntimeDep, ip: ClientIP
) -> ResidentAlertRead:
    """Cancel your alert with your PIN."""
    assert principal.resident_id is not None
    # The PIN is checked before the transaction: argon2 is slow on purpose and must not hold the database.
    entry = await accounts.read_pin_entry(runtime.read_sessions, principal.resident_id, body.pin)
    async with runtime.unit_of_work() as session:
        alert, check = await dispatching.cancel_with_pin(
            session,
            settings=runtime.settings,
            principal=principal,
            alert_id=alert_id,
            entry=entry,
            by=ActorContext.signed_in(principal, ip),
            follow_up=dispatching.FollowUp(runtime.locator, runtime.read_sessions),
        )
        view = await resident_alert_read(session, alert)
    if check.error is not None:
        raise check.error
    return view


@router.post("/alerts/{alert_id}/replies", responses=error_responses(401, 403, 404, 409, 422, 429))
async def reply(
    alert_id: uuid.UUID,
    body: ReplyIn,
    principal: SOSResident,
    runtime: RuntimeDep,
    ip: ClientIP,
    key: receipts.ActionKey = None,
) -> ResidentAlertRead:
    """Write to the command centre from your alert's chat (at most 500 characters): while the alert is open and for
    30 minutes after it was resolved, never on a cancelled one (409), at most 10 messages a minute (429). Shown at
    once on the consoles that see the alert. Sent again with the same Idempotency-Key, it is written once."""
    await bulk.act_audited(
        runtime, bulk.Caller(principal=principal, ip=ip), alert_id, domain.ReplyToCentre(body.text), key=key
    )
    async with runtime.read_sessions() as session:
        alert = await service.get_visible(session, principal, alert_id)
        return await resident_alert_read(session, alert)


# Priority and incidents (alerts.priority, alerts.incidents) ----------------------------------------------------


@router.post("/alerts/{alert_id}/priority", responses=error_responses(401, 403, 404, 409, 422))
async def set_priority(
    alert_id: uuid.UUID, body: PriorityIn, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP
) -> AlertRead:
    """Set how urgent the alert is (normal, high, critical) with a reason: a ``priority_changed`` event on the
    timeline, audited, shown live on the consoles. A closed alert is a 409, and so is lowering a duress alert (it
    stays critical); an empty reason a 422. Operators and supervisors of an agency that may act on the alert."""
    async with runtime.unit_of_work() as session:
        alert = await priority.set_priority(
            session,
            principal=principal,
            alert_id=alert_id,
            priority=body.priority,
            reason=body.reason,
            by=ActorContext.signed_in(principal, ip),
        )
        return await views.staff_view(session, principal, alert)


async def _incident_read(session: AsyncSession, principal: Principal, incident: Incident) -> IncidentRead:
    return await _incident_view(session, principal, incident, await incidents.alerts_of(session, principal, incident))


async def _incident_view(
    session: AsyncSession, principal: Principal, incident: Incident, shown: list[Alert]
) -> IncidentRead:
    return IncidentRead(
        id=incident.id,
        title=incident.title,
        created_at=incident.created_at,
        created_by_name=incident.created_by_name,
        alerts=await views.staff_views(session, principal, shown),
    )


@router.post("/incidents", status_code=status.HTTP_201_CREATED, responses=error_responses(401, 403, 404, 409, 422))
async def link_alerts(
    body: IncidentCreate, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP
) -> IncidentRead:
    """Link alerts about one event (at least two) into a new incident: each keeps its own state and timeline, and
    gets a ``linked`` event naming the others. Alerts of an agency one may not act on are a 403; a drill's alert with
    a real one a 422; an alert already in another incident a 409."""
    async with runtime.unit_of_work() as session:
        incident = await incidents.link(
            session,
            principal=principal,
            alert_ids=body.alert_ids,
            title=body.title,
            by=ActorContext.signed_in(principal, ip),
        )
        return await _incident_read(session, principal, incident)


@router.get("/incidents/{incident_id}", responses=error_responses(401, 403, 404))
async def read_incident(
    incident_id: uuid.UUID, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP
) -> IncidentRead:
    """An incident and those of its alerts you may see, oldest first (audited)."""
    async with runtime.unit_of_work() as session:
        incident, shown = await incidents.read_incident(
            session, principal, incident_id, by=ActorContext.signed_in(principal, ip)
        )
        return await _incident_view(session, principal, incident, shown)


@router.post("/incidents/{incident_id}/alerts", responses=error_responses(401, 403, 404, 409, 422))
async def add_to_incident(
    incident_id: uuid.UUID, body: IncidentAlertsIn, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP
) -> IncidentRead:
    """Link more alerts into an existing incident (as ``POST /incidents``); those already in it change nothing."""
    async with runtime.unit_of_work() as session:
        incident = await incidents.link(
            session,
            principal=principal,
            alert_ids=body.alert_ids,
            incident_id=incident_id,
            by=ActorContext.signed_in(principal, ip),
        )
        return await _incident_read(session, principal, incident)


@router.delete("/incidents/{incident_id}/alerts/{alert_id}", responses=error_responses(401, 403, 404, 409))
async def split_from_incident(
    incident_id: uuid.UUID, alert_id: uuid.UUID, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP
) -> IncidentRead:
    """Split an alert off its incident: it and the alerts that stay each get an ``unlinked`` event. An incident left
    with one alert is dissolved (that one is unlinked too)."""
    async with runtime.unit_of_work() as session:
        incident = await incidents.unlink(
            session,
            principal=principal,
            incident_id=incident_id,
            alert_id=alert_id,
            by=ActorContext.signed_in(principal, ip),
        )
        return await _incident_read(session, principal, incident)
