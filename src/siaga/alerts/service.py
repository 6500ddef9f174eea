"""Alert use cases: act on an alert, follow its trail, and read it back. Each runs in the caller's transaction.
Raising an alert is ``alerts.raising``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import service as accounts
from siaga.accounts.domain import SYSTEM, Actor, ActorKind, Principal, Role
from siaga.accounts.models import Resident, Staff
from siaga.alerts import access, domain, raise_rules, transfer
from siaga.alerts.domain import AlertSnapshot, AlertState, Command, DomainEvent, EventKind, Outcome, Priority
from siaga.alerts.models import WORKING_UNIT_STATES, Alert, AlertEvent, AlertLocation, AlertPress, AlertUnit, UnitRole
from siaga.alerts.schemas import AlertCreate, LocationIn, PressLocation, TrailIn
from siaga.alerts.timeline import append_event, lock_event_log
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import utcnow
from siaga.errors import Conflict, Forbidden, Invalid, NotFound
from siaga.notify.consent import AlarmSubject
from siaga.responders import service as responders
from siaga.responders.models import Unit


class AlertIdReused(Conflict):
    default_code = "alert.id_reused"


def request_hash(body: AlertCreate) -> str:
    """The fingerprint of an app's press: a retry sends the same body, a different press reusing the id does not."""
    return raise_rules.fingerprint(body.model_dump(mode="json"))


def _same_press(existing: Alert, resident: Resident, fingerprint: str) -> Alert:
    """The app's press whose id is stored: the same press (a retry, or its SMS copy that arrived first), or a 409."""
    if existing.resident_id != resident.id:
        # Someone else's id: say only that the id is taken, nothing about the alert.
        raise AlertIdReused("this alert id is already used; make a new id for a new press")
    if not raise_rules.same_press(
        stored_resident=existing.resident_id,
        stored_fingerprint=existing.request_hash,
        stored_channel=existing.channel,
        resident=resident.id,
        fingerprint=fingerprint,
        channel="app",
    ):
        raise AlertIdReused("this alert id was already used for a different press; make a new id for a new press")
    return existing


async def stored_press(session: AsyncSession, *, resident: Resident, body: AlertCreate) -> Alert:
    """After a lost insert race, or a press that joined the resident's active alert: the stored alert of the press
    with this id (same rules as a replay)."""
    existing = await session.get(Alert, body.id)
    if existing is not None:
        return _same_press(existing, resident, request_hash(body))
    joined = await session.get(AlertPress, body.id)
    alert = await session.get(Alert, joined.alert_id) if joined is not None else None
    if joined is None or alert is None:
        raise Conflict("the alert could not be stored; retry", code="alert.retry")
    if alert.resident_id != resident.id:
        raise AlertIdReused("this alert id is already used; make a new id for a new press")
    if joined.request_hash != request_hash(body):
        raise AlertIdReused("this alert id was already used for a different press; make a new id for a new press")
    return alert


def _trail_point(
    alert_id: uuid.UUID, location: LocationIn | PressLocation, battery: int | None, now: datetime
) -> AlertLocation:
    return AlertLocation(
        alert_id=alert_id,
        lat=location.lat,
        lon=location.lon,
        accuracy_m=location.accuracy_m,
        battery=battery,
        recorded_at=location.recorded_at or now,
        received_at=now,
    )


# Reading ------------------------------------------------------------------------------------------------------


async def get_visible(session: AsyncSession, principal: Principal, alert_id: uuid.UUID, *, lock: bool = False) -> Alert:
    """The alert if ``principal`` may see it. Otherwise 404, the same as a missing id, so ids leak nothing."""
    visible = await access.visibility(session, principal)
    if lock:
        # Lock the bare row first. A locking query that also joins the related rows would, on PostgreSQL, re-read
        # only the alert row after waiting for a concurrent change, leaving the joined holder stale.
        locked = await session.scalar(select(Alert.id).where(Alert.id == alert_id, visible).with_for_update())
        if locked is None:
            raise await access.not_visible(session, alert_id)
    query = select(Alert).where(Alert.id == alert_id, visible).execution_options(populate_existing=True)
    alert = await session.scalar(query)
    if alert is None:
        raise await access.not_visible(session, alert_id)
    return alert


async def list_visible(
    session: AsyncSession,
    principal: Principal,
    *,
    states: list[AlertState] | None,
    limit: int,
    before: datetime | None,
    resident_id: uuid.UUID | None = None,
) -> list[Alert]:
    query = (
        select(Alert)
        .where(await access.visibility(session, principal))
        .order_by(Alert.created_at.desc(), Alert.id)
        .limit(limit)
    )
    if states:
        query = query.where(Alert.state.in_([s.value for s in states]))
    if before is not None:
        query = query.where(Alert.created_at < before)
    if resident_id is not None:
        query = query.where(Alert.resident_id == resident_id)
    return list((await session.scalars(query)).unique().all())


async def timeline(session: AsyncSession, alert_id: uuid.UUID) -> list[AlertEvent]:
    rows = await session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id))
    return list(rows.all())


# Staff reading an alert is audited: it names the resident, and the timeline and trail their positions. A resident
# reading their own alerts is not.


async def read_alert(session: AsyncSession, principal: Principal, alert_id: uuid.UUID, *, by: ActorContext) -> Alert:
    """One alert ``principal`` may see (``get_visible``); staff reading it is audited."""
    alert = await get_visible(session, principal, alert_id)
    if principal.resident_id is None:
        await _record_read(session, by, "alert.read", alert, detail={"resident_id": str(alert.resident_id)})
    return alert


async def read_alerts(
    session: AsyncSession,
    principal: Principal,
    *,
    by: ActorContext,
    states: list[AlertState] | None,
    limit: int,
    before: datetime | None,
    resident_id: uuid.UUID | None = None,
) -> list[Alert]:
    """The alerts ``principal`` may see (``list_visible``); staff reading any is audited, naming the residents."""
    alerts = await list_visible(session, principal, states=states, limit=limit, before=before, resident_id=resident_id)
    if principal.resident_id is None and alerts:
        residents = sorted({str(a.resident_id) for a in alerts})
        detail = {"count": len(alerts), "residents": residents}
        await audit.record_for(session, by, action="alert.list", target_type="alert", detail=detail)
    return alerts


async def read_timeline(
    session: AsyncSession, principal: Principal, alert_id: uuid.UUID, *, by: ActorContext
) -> list[AlertEvent]:
    """Every change to an alert ``principal`` may see, oldest first (audited)."""
    alert = await get_visible(session, principal, alert_id)
    await _record_read(session, by, "alert.read_timeline", alert)
    return await timeline(session, alert.id)


async def read_trail(
    session: AsyncSession, principal: Principal, alert_id: uuid.UUID, *, by: ActorContext
) -> list[AlertLocation]:
    """The resident's positions on an alert ``principal`` may see (audited)."""
    alert = await get_visible(session, principal, alert_id)
    await _record_read(session, by, "alert.read_trail", alert)
    return await trail(session, alert.id)


async def _record_read(
    session: AsyncSession, by: ActorContext, action: str, alert: Alert, *, detail: dict[str, str] | None = None
) -> None:
    await audit.record_for(
        session,
        by,
        action=action,
        target_type="alert",
        target_id=str(alert.id),
        agency_id=alert.agency_id,
        detail=detail,
    )


@dataclass(frozen=True, slots=True)
class DuressEntered:
    """When the resident's phone was made to show a duress alert as cancelled, and the cursor of that moment."""

    at: datetime
    cursor: int


async def duress_entered(session: AsyncSession, alert_id: uuid.UUID) -> DuressEntered:
    """The moment the duress PIN was entered on ``alert_id`` (its first ``duress`` event): the resident's view of
    the alert is frozen there, so that nothing staff do afterwards (acknowledge, dispatch, a timer) shows on the
    phone. An alert without one counts from its creation (raised already under duress; today even the follow-up
    Siaga raises for a duress PIN on a closed alert records its own ``duress`` event)."""
    first = (
        await session.execute(
            select(AlertEvent.at, AlertEvent.id)
            .where(AlertEvent.alert_id == alert_id, AlertEvent.kind == EventKind.DURESS.value)
            .order_by(AlertEvent.id)
            .limit(1)
        )
    ).first()
    if first is not None:
        return DuressEntered(at=first.at, cursor=first.id)
    created_at = await session.scalar(select(Alert.created_at).where(Alert.id == alert_id))
    if created_at is None:
        raise NotFound("alert not found", code="alert.not_found")
    created = await session.scalar(select(func.min(AlertEvent.id)).where(AlertEvent.alert_id == alert_id))
    return DuressEntered(at=created_at, cursor=created or 0)


async def trail(session: AsyncSession, alert_id: uuid.UUID, *, limit: int = 1000) -> list[AlertLocation]:
    rows = await session.scalars(
        select(AlertLocation)
        .where(AlertLocation.alert_id == alert_id)
        .order_by(AlertLocation.recorded_at, AlertLocation.id)
        .limit(limit)
    )
    return list(rows.all())


async def officer_names(session: AsyncSession, unit_id: int | None) -> list[str]:
    if unit_id is None:
        return []
    rows = await session.scalars(
        select(Staff.name).where(Staff.unit_id == unit_id, Staff.role == Role.OFFICER.value, Staff.active.is_(True))
    )
    return sorted(rows.all())


# Acting --------------------------------------------------------------------------------------------------------


def snapshot_of(alert: Alert) -> AlertSnapshot:
    holder = None
    if alert.acknowledged_by is not None:
        staff = alert.acknowledged_by
        holder = Actor(kind=ActorKind(staff.role), id=str(staff.id), name=staff.name, unit_id=staff.unit_id)
    return AlertSnapshot(
        state=AlertState(alert.state),
        resident_id=str(alert.resident_id),
        acknowledged_by=holder,
        unit_id=alert.unit_id,
        duress=alert.duress,
        escalated=alert.escalated,
        priority=Priority(alert.priority),
        outcome=Outcome(alert.outcome) if alert.outcome else None,
        agency_id=alert.agency_id,
    )


# What anyone who sees an alert may do to it: a note on its timeline, a message to the resident. Every other
# command needs an agency that may act on it (``access.require_may_act``).
READ_ONLY_COMMANDS = (domain.AddNote, domain.MessageResident)


async def act(
    session: AsyncSession,
    *,
    principal: Principal,
    alert_id: uuid.UUID,
    command: Command,
    where: tuple[float, float] | None = None,
    drill_units_for_real: bool = False,
    settings: Settings | None = None,
) -> tuple[Alert, list[DomainEvent]]:
    """Apply one command to an alert the principal can see. The row is locked, so racing commands queue and the
    second sees the first's result (exactly one operator acknowledges; the other gets a 409 naming the holder).
    ``settings``: the process's, which a hand to another agency needs (the new agency's timers start by them)."""
    alert = await get_visible(session, principal, alert_id, lock=True)
    if not isinstance(command, READ_ONLY_COMMANDS):
        await access.require_may_act(session, principal, alert)
    actor = principal.actor()
    if isinstance(command, domain.ReplyToCentre) and alert.closed_at is not None:
        command = domain.ReplyToCentre(command.text, since_closed=utcnow() - alert.closed_at)
    if isinstance(command, domain.Dispatch):
        unit = await unit_to_send(session, principal, alert, command.unit_id, drill_units_for_real=drill_units_for_real)
        command = domain.Dispatch(unit.id, unit.callsign)
    if isinstance(command, domain.HandToAgency):
        if settings is None:
            raise TypeError("handing an alert to another agency needs the settings: its new timers start by them")
        command = await transfer.routed(session, alert, command)
    snapshot = snapshot_of(alert)
    if isinstance(command, domain.AddNote) and principal.unit_id is not None:
        snapshot = replace(snapshot, backup_unit_ids=await _working_backups(session, alert.id))
    events = domain.decide(snapshot, command, actor)
    await apply_events(session, alert, events, actor, where=where)
    if isinstance(command, domain.HandToAgency) and settings is not None:
        await transfer.settle(session, alert, settings)
    if isinstance(command, domain.Resolve) and command.outcome is Outcome.PRANK:
        await accounts.add_strike(
            session,
            resident_id=alert.resident_id,
            alert_id=alert.id,
            staff_id=principal.staff_id,
            reason=command.report or "prank SOS",
        )
    return alert, events


async def _working_backups(session: AsyncSession, alert_id: uuid.UUID) -> frozenset[int]:
    """The backups that have taken their place on the alert and not left it."""
    rows = await session.scalars(
        select(AlertUnit.unit_id).where(
            AlertUnit.alert_id == alert_id,
            AlertUnit.role == UnitRole.BACKUP.value,
            AlertUnit.state.in_(WORKING_UNIT_STATES),
        )
    )
    return frozenset(rows.all())


Sender = Literal["centre", "resident"]  # who wrote a chat message: the command centre, or the resident


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One message of the chat between the command centre and the resident on an alert."""

    id: int  # the timeline event's id: the order, and what a phone merges by
    at: datetime
    sender: Sender
    text: str


CHAT_KINDS: dict[str, Sender] = {
    EventKind.RESIDENT_MESSAGED.value: "centre",
    EventKind.RESIDENT_REPLIED.value: "resident",
}


def chat_line(kind: str, *, event_id: int, at: datetime, data: Mapping[str, Any]) -> ChatLine | None:
    """The chat message a timeline event (its kind, id, time and data) is, if it is one."""
    sender = CHAT_KINDS.get(kind)
    if sender is None:
        return None
    return ChatLine(id=event_id, at=at, sender=sender, text=str(data.get("text", "")))


async def chat(session: AsyncSession, alert_id: uuid.UUID, *, before: int | None = None) -> list[ChatLine]:
    """The chat of an alert, oldest first (``before``: only the events before that id, as a duress PIN froze it)."""
    query = select(AlertEvent).where(AlertEvent.alert_id == alert_id, AlertEvent.kind.in_(list(CHAT_KINDS)))
    if before is not None:
        query = query.where(AlertEvent.id < before)
    events = (await session.scalars(query.order_by(AlertEvent.id))).all()
    lines = (chat_line(e.kind, event_id=e.id, at=e.at, data=e.data) for e in events)
    return [line for line in lines if line is not None]


async def unit_to_send(
    session: AsyncSession, principal: Principal, alert: Alert, unit_id: int, *, drill_units_for_real: bool
) -> Unit:
    """The unit ``principal`` sends to ``alert`` (as its unit, or one more: ``dispatch.units``), if it may go: of
    an agency they may see, on duty (its duty periods held until the commit), and not a drill unit on a real SOS
    (unless this deployment lets drill units answer real alerts)."""
    unit = await unit_for_dispatch(session, unit_id, seen_by=principal)
    if unit.is_exercise and not alert.is_exercise and not drill_units_for_real:
        raise Conflict(f"{unit.callsign} is a drill unit: a real SOS needs real officers", code="unit.exercise_only")
    if not await responders.on_duty(session, unit.id, lock=True):
        raise Conflict(
            f"{unit.callsign} is off duty: send a unit with an officer on duty",
            code="unit.off_duty",
            details={"callsign": unit.callsign},
        )
    return unit


async def unit_for_dispatch(session: AsyncSession, unit_id: int, *, seen_by: Principal | None = None) -> Unit:
    """The unit, if it exists and (given ``seen_by``) belongs to an agency that staff member may see. A unit of
    another agency is answered exactly as a missing one, so unit ids tell nobody what other agencies have."""
    unit = await session.get(Unit, unit_id)
    if unit is not None and seen_by is not None:
        scope = await access.staff_agency_scope(session, seen_by)
        if scope is not None and unit.agency_id not in scope:
            unit = None
    if unit is None:
        raise Invalid(f"unit {unit_id} does not exist", code="unit.not_found", details={"field": "unit_id"})
    return unit


async def apply_events(
    session: AsyncSession,
    alert: Alert,
    events: list[DomainEvent],
    actor: Actor,
    *,
    where: tuple[float, float] | None = None,
) -> None:
    """Fold events into the alert's read model and append them to its timeline, in one flush."""
    await lock_event_log(session)
    snapshot = snapshot_of(alert)
    now = utcnow()
    lat, lon = where if where is not None else (None, None)
    for event in events:
        snapshot = domain.evolve(snapshot, event, actor)
        _project(alert, event, actor, now)
        alert.state = snapshot.state.value
        alert.duress = snapshot.duress
        alert.escalated = snapshot.escalated
        alert.priority = snapshot.priority.value
        append_event(session, alert, event, actor, snapshot, lat=lat, lon=lon)
    alert.version += 1
    alert.updated_at = now
    await session.flush()
    await session.refresh(alert)


def _project(alert: Alert, event: DomainEvent, actor: Actor, now: datetime) -> None:
    """The timestamps and columns each event sets (first time only, so timings measure the first response)."""
    match event.kind:
        case EventKind.ACKNOWLEDGED:
            alert.acknowledged_by_id = int(actor.id)
            alert.acknowledged_at = alert.acknowledged_at or now
        case EventKind.DISPATCHED:
            alert.unit_id = int(event.data["unit_id"])
            alert.dispatched_at = alert.dispatched_at or now
        case EventKind.HANDED_BACK:
            alert.unit_id = None
        case EventKind.EN_ROUTE:
            alert.en_route_at = alert.en_route_at or now
        case EventKind.ON_SCENE:
            alert.on_scene_at = alert.on_scene_at or now
        case EventKind.RESOLVED:
            alert.outcome = str(event.data["outcome"])
            alert.report = str(event.data.get("report", ""))
            alert.closed_at = now
        case EventKind.CANCELLED:
            alert.closed_at = now
        case EventKind.CATEGORY_CHANGED:
            alert.category = str(event.data["to"])
            alert.agency_id = int(event.data["agency_id"])
            alert.informed_agency_ids = [int(a) for a in event.data["informed_agency_ids"]]
        case EventKind.TRANSFERRED:
            alert.agency_id = int(event.data["agency_id"])
            alert.informed_agency_ids = [int(a) for a in event.data["informed_agency_ids"]]
        case EventKind.LINKED:
            alert.incident_id = uuid.UUID(str(event.data["incident_id"]))
        case EventKind.UNLINKED:
            if str(alert.id) in event.data["removed"]:
                alert.incident_id = None
        case _:
            pass


async def cancel_with_pin(
    session: AsyncSession, *, settings: Settings, principal: Principal, alert_id: uuid.UUID, entry: accounts.PinEntry
) -> tuple[Alert, accounts.PinCheck, list[DomainEvent]]:
    """The resident's cancel. The cancel PIN closes the alert; the duress PIN leaves it open, escalated and flagged
    (the phone shows "cancelled" either way); a wrong PIN is counted, and the console sees the attempt."""
    alert = await get_visible(session, principal, alert_id, lock=True)
    if principal.resident_id is None:
        raise Forbidden("only the resident who raised the alert can cancel it with a PIN", code="alert.not_yours")
    check = await accounts.settle_pin(
        session, resident_id=principal.resident_id, entry=entry, max_failures=settings.pin_max_attempts
    )
    if check.kind in {"wrong", "locked"}:
        if AlertState(alert.state) in domain.ACTIVE_STATES:
            flag = DomainEvent(EventKind.FLAGGED, {"reason": f"pin_{check.kind}", "failures": check.failures})
            await lock_event_log(session)
            append_event(session, alert, flag, SYSTEM, snapshot_of(alert))
            await session.flush()
        return alert, check, []
    command: Command = domain.DuressCancel() if check.kind == "duress" else domain.Cancel()
    if check.kind == "cancel" and AlertState(alert.state) in domain.CLOSED_STATES:
        return alert, check, []  # cancelling a closed alert again changes nothing and says so without an error
    actor = principal.actor()
    events = domain.decide(snapshot_of(alert), command, actor)
    latest = await session.scalar(
        select(AlertLocation).where(AlertLocation.alert_id == alert.id).order_by(AlertLocation.id.desc()).limit(1)
    )
    await apply_events(session, alert, events, actor, where=(latest.lat, latest.lon) if latest else None)
    return alert, check, events


async def append_trail(session: AsyncSession, *, principal: Principal, alert_id: uuid.UUID, body: TrailIn) -> int:
    """Add the phone's positions to an active alert's trail; a closed alert's trail takes no more points."""
    alert = await get_visible(session, principal, alert_id)
    if principal.resident_id is None or alert.resident_id != principal.resident_id:
        raise Forbidden("only the resident's phone sends the alert's location", code="alert.not_yours")
    if AlertState(alert.state) in domain.CLOSED_STATES:
        raise Conflict("the alert is closed; location is no longer shared", code="alert.closed")
    return await _extend_trail(session, alert, body)


async def follow_resident(session: AsyncSession, *, resident_id: uuid.UUID, body: TrailIn) -> Alert | None:
    """A channel's positions of a resident (a GPS tracker of theirs) on their active alert's trail, as the phone's
    are; the alert, or None if they have none open (their position is then nobody's business)."""
    alert = await session.scalar(
        select(Alert)
        .where(Alert.resident_id == resident_id, Alert.state.in_([s.value for s in domain.ACTIVE_STATES]))
        .order_by(Alert.created_at)
        .limit(1)
    )
    if alert is not None:
        await _extend_trail(session, alert, body)
    return alert


async def _extend_trail(session: AsyncSession, alert: Alert, body: TrailIn) -> int:
    now = utcnow()
    session.add_all(_trail_point(alert.id, point, body.battery, now) for point in body.points)
    newest = max(body.points, key=lambda p: p.recorded_at or now)
    newest_at = newest.recorded_at or now
    # A late batch (sent after lost signal) joins the trail but must not move the alert back to an older spot.
    if alert.located_at is None or newest_at >= alert.located_at:
        alert.lat, alert.lon, alert.accuracy_m, alert.located_at = newest.lat, newest.lon, newest.accuracy_m, newest_at
        if body.battery is not None:
            alert.battery = body.battery
    alert.updated_at = now
    await session.flush()
    return len(body.points)


async def alarm_subject(session: AsyncSession, alert_id: uuid.UUID) -> AlarmSubject | None:
    """Whose alarm a message to an emergency contact about ``alert_id`` is (``notify.consent`` decides it)."""
    alert = await session.get(Alert, alert_id)
    resident = await session.get(Resident, alert.resident_id) if alert is not None else None
    if alert is None or resident is None:
        return None
    return AlarmSubject(
        alert_id=alert.id, resident_id=resident.id, name=resident.name or resident.phone, agency_id=alert.agency_id
    )
