"""API shapes for alerts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, ConfigDict, Field

from siaga.alerts.domain import ACTIVE_STATES, REPLY_MAX_CHARS, AlertState, Category, Outcome, Priority
from siaga.alerts.raise_rules import NO_LOCATION
from siaga.schemas import AccuracyM, Battery, Input, Latitude, Longitude, Model, ReadModel, RowId

if TYPE_CHECKING:
    from siaga.alerts.models import Alert, AlertUnit


def _battery_or_none(value: Any) -> int | None:
    """A battery level is a courtesy: an unusable one (-1 for "unknown", text) is dropped, never a reason to refuse
    an SOS."""
    if isinstance(value, bool):
        return None
    try:
        level = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return level if 0 <= level <= 100 and float(value) == level else None


def _time_or_none(value: Any) -> datetime | None:
    """The phone's clock is informative only (Siaga times everything from receipt): a time without a zone is read
    as UTC, and an unreadable one is dropped."""
    if value is None or isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment is not None:
        try:
            moment.astimezone(UTC)  # year 1 at +05:00 has no UTC time: a broken clock, dropped like any other
        except OverflowError:
            return None
    return moment


def _description(value: Any) -> str:
    """What the resident typed, at most 1,000 characters; a number is taken as its text, anything else as nothing."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        value = str(value)
    return value[:1000] if isinstance(value, str) else ""


def _accuracy_or_none(value: Any) -> float | None:
    """An accuracy is a courtesy too: an unusable one (negative, text, true) is dropped, the coordinates kept."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        metres = float(value)
    except (ValueError, OverflowError):
        return None
    return metres if 0 <= metres <= 100_000 else None  # NaN fails both comparisons


def _flag(value: Any) -> bool:
    """Silent mode as the phone meant it: JSON true, or text or a number that says so; anything else is off."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "ya"}
    return value is True or (isinstance(value, int | float) and value == 1)


LenientBattery = Annotated[int | None, BeforeValidator(_battery_or_none)]
LenientTime = Annotated[datetime | None, BeforeValidator(_time_or_none)]
LenientAccuracy = Annotated[float | None, BeforeValidator(_accuracy_or_none)]


class LocationIn(Model):
    lat: Latitude
    lon: Longitude
    accuracy_m: AccuracyM | None = None
    recorded_at: AwareDatetime | None = Field(
        default=None, description="When the phone measured it (ISO 8601 with zone)"
    )


class PressLocation(Input):
    """Where the phone was at the press. The coordinates must be real (the alert is routed by them); the rest is
    lenient."""

    model_config = ConfigDict(extra="ignore")  # a newer app may send more (altitude, heading): ignored, not refused

    lat: Latitude
    lon: Longitude
    accuracy_m: LenientAccuracy = Field(default=None, description="Accuracy radius in metres (0-100,000)")
    recorded_at: LenientTime = Field(default=None, description="When the phone measured it (ISO 8601)")


class AlertCreate(Input):
    """An SOS press. The phone makes the id (a UUID) so a retry of the same press is the same alert.

    Only a malformed id, coordinates or category can refuse a press. Everything else is taken if usable and dropped
    if not (an unknown field, a battery of -1, a clock without a zone, an overlong description is cut), because an
    SOS must not be lost to a detail. A phone with no fix at all sends no location: the alert goes to the default
    agency (the command centre), flagged ``no_location``, and takes the first point sent to its trail."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: uuid.UUID
    category: Category = Category.LAINNYA
    location: PressLocation | None = None
    battery: LenientBattery = None
    silent: Annotated[bool, BeforeValidator(_flag)] = False
    pressed_at: LenientTime = None
    description: Annotated[str, BeforeValidator(_description)] = ""


class TrailIn(Model):
    points: Annotated[list[LocationIn], Field(min_length=1, max_length=100)]
    battery: Battery | None = None


class TrailAccepted(ReadModel):
    stored: int
    active: bool = Field(description="False once the alert is closed: the phone should stop sending")


class Where(Model):
    lat: Latitude
    lon: Longitude


class ActionIn(Model):
    """A body for actions that need nothing else; the actor's position is optional."""

    where: Where | None = None


class DispatchIn(ActionIn):
    unit_id: RowId


class NoteIn(ActionIn):
    text: Annotated[str, Field(min_length=1, max_length=4000)]


class MessageIn(ActionIn):
    """The command centre's word to the resident of one alert, shown on their status screen."""

    text: Annotated[str, Field(min_length=1, max_length=1000)]


class ReplyIn(Model):
    """The resident's message to the command centre on their alert."""

    text: Annotated[str, Field(min_length=1, max_length=REPLY_MAX_CHARS)]


class CategoryIn(Model):
    """The alert's new category: the routing table re-routes the alert to the agencies it goes to."""

    category: Category


class PriorityIn(Model):
    """How urgent the alert is, and why (the reason goes on the timeline)."""

    priority: Priority
    reason: Annotated[str, Field(max_length=500)] = ""


class ResolveIn(ActionIn):
    outcome: Outcome
    report: Annotated[
        str, Field(max_length=4000, description="What happened, 3 characters or more (else 422 alert.report_required)")
    ] = ""


class CancelIn(Model):
    pin: Annotated[str, Field(pattern=r"^[0-9]{4,8}$")]


class EscalateIn(ActionIn):
    reason: Annotated[str, Field(min_length=3, max_length=1000)]


class Timings(ReadModel):
    """Seconds from the press (server receipt) to each step; null until it happens."""

    to_acknowledge_s: float | None
    to_dispatch_s: float | None
    to_en_route_s: float | None
    to_arrive_s: float | None
    to_close_s: float | None


class ResidentSummary(ReadModel):
    id: uuid.UUID
    name: str | None
    phone: str
    nik: str | None
    medical_notes: str | None
    strikes: int
    suspended: bool


class AlertUnitRead(ReadModel):
    """A unit on the alert, with its own state: the lead (the alert's ``unit_id``) or a backup."""

    unit_id: int
    callsign: str
    kind: str = Field(description="patrol_car, fire_engine, ambulance, ...")
    agency_id: int
    agency_code: str
    role: str = Field(description="lead (the alert's unit) or backup")
    state: str = Field(description="offered, assigned, en_route, on_scene or released")
    added_by: str
    added_at: datetime
    assigned_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    released_at: datetime | None


class UnitRequestRead(ReadModel):
    """An officer's open request for more units: the agencies asked see the alert flagged until they add one."""

    kind: Literal["backup", "ambulance"]
    unit_kind: str = Field(description="The unit type asked for: recommendations filter by it")
    agency_ids: list[int]
    agencies: list[str]
    by_unit_id: int
    by_unit: str
    at: datetime


class AlertRead(ReadModel):
    """The staff view of an alert."""

    id: uuid.UUID
    state: AlertState
    category: Category
    priority: Priority
    silent: bool
    duress: bool
    escalated: bool
    resident_suspended: bool
    follows_id: uuid.UUID | None = Field(
        default=None, description="The earlier alert this one was raised for (a duress PIN after it was closed)"
    )
    delivery_failed: bool = Field(
        default=False, description="A message about this alert (SMS to a contact, push to an officer) failed"
    )
    is_exercise: bool = Field(description="A drill's alert (or the demo city's): labelled, left out of reports")
    press_count: int = Field(default=1, description="The resident's presses on this alert (more: pressed again)")
    channel: str = Field(
        default="app",
        description="Where it came in: app, sms, device (a panic button over MQTT), gateway (a device gateway "
        "with an API key), tracker or partner",
    )
    agency_id: int = Field(description="The responsible agency: it acknowledges, its timers run, it is escalated from")
    agency_code: str
    agency_name: str = ""
    informed_agency_ids: list[int] = Field(
        default_factory=list, description="Agencies informed besides the responsible one (by the routing table)"
    )
    incident_id: uuid.UUID | None = Field(
        default=None, description="The incident staff linked it into with other alerts about the same event"
    )
    jurisdiction_code: str | None
    jurisdiction_name: str | None
    placement: str
    placement_distance_m: float
    lat: float
    lon: float
    accuracy_m: float | None
    battery: int | None
    description: str
    acknowledged_by: str | None
    unit_id: int | None
    unit_callsign: str | None
    units: list[AlertUnitRead] = Field(
        default_factory=list, description="Every unit on the alert (lead and backups, released ones too)"
    )
    unit_requests: list[UnitRequestRead] = Field(
        default_factory=list, description="Officers' open requests for backup or an ambulance"
    )
    outcome: Outcome | None
    report: str
    created_at: datetime
    pressed_at: datetime | None
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    closed_at: datetime | None
    ack_due_at: datetime | None = Field(
        default=None, description="When T1 escalates it if still unacknowledged (null once fired or not running)"
    )
    dispatch_due_at: datetime | None = Field(
        default=None, description="When T2 escalates it if still without a unit (null once fired or not running)"
    )
    timings: Timings
    version: int
    resident: ResidentSummary
    may_act: bool = Field(
        description="Whether your agency handles this alert: acknowledges, dispatches its lead unit, resolves, "
        "escalates, re-routes, prioritises, links and hands it over. False: another agency is responsible and yours "
        "is only informed (it reads the alert, adds notes, writes to the resident and adds its own units)"
    )


class ChatMessage(ReadModel):
    """One message between the command centre and the resident on an alert."""

    id: int = Field(description="The timeline event's id: messages are ordered by it")
    at: datetime
    sender: Literal["centre", "resident"]
    text: str


class ResidentAlertRead(ReadModel):
    """The resident's view: after a duress PIN it says cancelled and shows nothing about the response."""

    id: uuid.UUID
    state: AlertState
    category: Category
    created_at: datetime
    acknowledged: bool
    unit_callsign: str | None
    officer_names: list[str]
    other_units: int = Field(default=0, description="Units coming or there besides the lead one")
    closed_at: datetime | None
    message: str | None = Field(default=None, description="The command centre's latest word to the resident")
    chat: list[ChatMessage] = Field(
        default_factory=list, description="The messages between the command centre and the resident, oldest first"
    )
    replies_close_at: datetime | None = Field(
        default=None,
        description="Until when the command centre takes your replies (POST /alerts/{id}/replies): null while the "
        "alert is open; 30 minutes after it was resolved; a cancelled alert takes none",
    )
    reply_max_chars: int = Field(default=REPLY_MAX_CHARS, description="The longest reply taken")


class IntegratorPosition(ReadModel):
    lat: float
    lon: float
    accuracy_m: float | None


class AlertForIntegrator(ReadModel):
    """What an integrator's API key reads of an alert: what another system acts on, and nothing personal (no
    resident, no caller's words, no report). Fields are listed here one by one, so a field added to the staff view
    never reaches a key by default. The position only while the alert is active and located, as the brief shares a
    location; none once it is closed."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")  # never mistaken for another view

    id: uuid.UUID
    state: AlertState
    category: Category
    priority: Priority
    escalated: bool
    is_exercise: bool = Field(description="A drill's alert (or the demo city's): labelled, left out of reports")
    channel: str
    agency_id: int = Field(description="The responsible agency")
    agency_code: str
    agency_name: str
    informed_agency_ids: list[int]
    jurisdiction_code: str | None = Field(description="The kecamatan's code")
    jurisdiction_name: str | None = Field(description="The kecamatan's name")
    position: IntegratorPosition | None = Field(
        description="Where the resident is, while the alert is active and located; null once it is closed"
    )
    unit_callsign: str | None
    outcome: Outcome | None
    created_at: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    closed_at: datetime | None


class TimelineEventRead(ReadModel):
    id: int
    kind: str
    actor_kind: str
    actor_id: str
    actor_name: str
    at: datetime
    lat: float | None
    lon: float | None
    state_after: AlertState
    data: dict[str, Any]


class TrailPointRead(ReadModel):
    lat: float
    lon: float
    accuracy_m: float | None
    battery: int | None
    recorded_at: datetime


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if end is not None else None


def alert_read(alert: Alert, *, may_act: bool) -> AlertRead:
    """The staff view (``may_act``: whether the reader's agency handles it, ``alerts.views`` works it out). Callers
    audit it: it names the resident."""
    resident = alert.resident
    return AlertRead(
        id=alert.id,
        state=AlertState(alert.state),
        category=Category(alert.category),
        priority=Priority(alert.priority),
        silent=alert.silent,
        duress=alert.duress,
        escalated=alert.escalated,
        resident_suspended=alert.resident_suspended,
        is_exercise=alert.is_exercise,
        delivery_failed=alert.delivery_failed,
        press_count=alert.press_count,
        channel=alert.channel,
        follows_id=alert.follows_id,
        agency_id=alert.agency_id,
        agency_code=alert.agency.code,
        agency_name=alert.agency.name,
        informed_agency_ids=list(alert.informed_agency_ids or []),
        incident_id=alert.incident_id,
        jurisdiction_code=alert.jurisdiction.code if alert.jurisdiction else None,
        jurisdiction_name=alert.jurisdiction.name if alert.jurisdiction else None,
        placement=alert.placement,
        placement_distance_m=alert.placement_distance_m,
        lat=alert.lat,
        lon=alert.lon,
        accuracy_m=alert.accuracy_m,
        battery=alert.battery,
        description=alert.description,
        acknowledged_by=alert.acknowledged_by.name if alert.acknowledged_by else None,
        unit_id=alert.unit_id,
        unit_callsign=alert.unit.callsign if alert.unit else None,
        units=[unit_on_alert(row) for row in alert.units],
        unit_requests=[UnitRequestRead.model_validate(r) for r in alert.unit_requests or []],
        outcome=Outcome(alert.outcome) if alert.outcome else None,
        report=alert.report,
        created_at=alert.created_at,
        pressed_at=alert.pressed_at,
        acknowledged_at=alert.acknowledged_at,
        dispatched_at=alert.dispatched_at,
        en_route_at=alert.en_route_at,
        on_scene_at=alert.on_scene_at,
        closed_at=alert.closed_at,
        ack_due_at=alert.ack_due_at if alert.acknowledged_at is None else None,
        dispatch_due_at=alert.dispatch_due_at if alert.unit_id is None else None,  # runs again after a hand-back
        timings=Timings(
            to_acknowledge_s=_seconds(alert.created_at, alert.acknowledged_at),
            to_dispatch_s=_seconds(alert.created_at, alert.dispatched_at),
            to_en_route_s=_seconds(alert.created_at, alert.en_route_at),
            to_arrive_s=_seconds(alert.created_at, alert.on_scene_at),
            to_close_s=_seconds(alert.created_at, alert.closed_at),
        ),
        version=alert.version,
        may_act=may_act,
        resident=ResidentSummary.model_validate(resident),
    )


def unit_on_alert(row: AlertUnit) -> AlertUnitRead:
    return AlertUnitRead(
        unit_id=row.unit_id,
        callsign=row.unit.callsign,
        kind=row.unit.kind,
        agency_id=row.agency_id,
        agency_code=row.agency.code,
        role=row.role,
        state=row.state,
        added_by=row.added_by,
        added_at=row.added_at,
        assigned_at=row.assigned_at,
        en_route_at=row.en_route_at,
        on_scene_at=row.on_scene_at,
        released_at=row.released_at,
    )


def alert_for_integrator(alert: Alert) -> AlertForIntegrator:
    """The integrator's view (``AlertForIntegrator``): nothing that names or describes the resident."""
    located = alert.located_at is not None or alert.placement not in {NO_LOCATION, "kecamatan"}
    shown = AlertState(alert.state) in ACTIVE_STATES and located and alert.details_removed_at is None
    return AlertForIntegrator(
        id=alert.id,
        state=AlertState(alert.state),
        category=Category(alert.category),
        priority=Priority(alert.priority),
        escalated=alert.escalated,
        is_exercise=alert.is_exercise,
        channel=alert.channel,
        agency_id=alert.agency_id,
        agency_code=alert.agency.code,
        agency_name=alert.agency.name,
        informed_agency_ids=list(alert.informed_agency_ids or []),
        jurisdiction_code=alert.jurisdiction.code if alert.jurisdiction else None,
        jurisdiction_name=alert.jurisdiction.name if alert.jurisdiction else None,
        position=IntegratorPosition(lat=alert.lat, lon=alert.lon, accuracy_m=alert.accuracy_m) if shown else None,
        unit_callsign=alert.unit.callsign if alert.unit else None,
        outcome=Outcome(alert.outcome) if alert.outcome else None,
        created_at=alert.created_at,
        acknowledged_at=alert.acknowledged_at,
        dispatched_at=alert.dispatched_at,
        en_route_at=alert.en_route_at,
        on_scene_at=alert.on_scene_at,
        closed_at=alert.closed_at,
    )


INCIDENT_ALERTS_MAX = 50  # alerts linked in one request


class IncidentCreate(Model):
    """Link alerts about one event into a new incident."""

    alert_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=INCIDENT_ALERTS_MAX)]
    title: Annotated[str, Field(max_length=200)] = ""


class IncidentAlertsIn(Model):
    """Alerts to add to an existing incident."""

    alert_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=INCIDENT_ALERTS_MAX)]


class IncidentRead(ReadModel):
    """An incident and the alerts in it that the reader may see, oldest first."""

    id: uuid.UUID
    title: str
    created_at: datetime
    created_by_name: str
    alerts: list[AlertRead]
