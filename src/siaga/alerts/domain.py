"""The alert state machine: pure rules, no I/O.

``decide(alert, command, actor)`` returns the events a command produces or raises ``TransitionError``;
``evolve(alert, event)`` applies one event. The state of an alert is the fold of its events. The rules for a new
alert are in ``alerts.raise_rules``, who answers for an open one in ``alerts.standing`` (pure too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from siaga.accounts.domain import Actor, ActorKind
from siaga.errors import Conflict, Forbidden, SiagaError


class AlertState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


ACTIVE_STATES = frozenset(
    {AlertState.NEW, AlertState.ACKNOWLEDGED, AlertState.DISPATCHED, AlertState.EN_ROUTE, AlertState.ON_SCENE}
)
CLOSED_STATES = frozenset({AlertState.RESOLVED, AlertState.CANCELLED})


class Category(StrEnum):
    """Categories after Bandung 112."""

    KRIMINALITAS = "kriminalitas"
    KECELAKAAN = "kecelakaan"
    KEBAKARAN = "kebakaran"
    KESEHATAN = "kesehatan"
    KDRT = "kdrt"  # KDRT / violence against children and women
    BENCANA_ALAM = "bencana_alam"
    KERUSUHAN = "kerusuhan"
    LAINNYA = "lainnya"


class Outcome(StrEnum):
    GENUINE = "genuine"
    FALSE_ALARM = "false_alarm"
    PRANK = "prank"
    TEST = "test"
    DUPLICATE = "duplicate"


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


COMMAND_CENTRE_ROLES = frozenset({ActorKind.OPERATOR, ActorKind.SUPERVISOR, ActorKind.ADMIN})


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    """What the rules need to know about an alert."""

    state: AlertState = AlertState.NEW
    resident_id: str = ""
    acknowledged_by: Actor | None = None
    unit_id: int | None = None
    duress: bool = False
    escalated: bool = False
    priority: Priority = Priority.NORMAL
    outcome: Outcome | None = None
    # The backups working on it (assigned, en route, on scene): their officers add notes too.
    backup_unit_ids: frozenset[int] = frozenset()
    agency_id: int | None = None  # the agency responsible for it


# Commands --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Acknowledge:
    pass


@dataclass(frozen=True, slots=True)
class Dispatch:
    unit_id: int
    unit_name: str


@dataclass(frozen=True, slots=True)
class MarkEnRoute:
    pass


@dataclass(frozen=True, slots=True)
class MarkOnScene:
    pass


@dataclass(frozen=True, slots=True)
class Resolve:
    outcome: Outcome
    report: str = ""


@dataclass(frozen=True, slots=True)
class Cancel:
    """The resident's cancel, after the service checked the cancel PIN."""


@dataclass(frozen=True, slots=True)
class DuressCancel:
    """The resident entered the duress PIN: looks like a cancel to them, escalates for staff."""


@dataclass(frozen=True, slots=True)
class AddNote:
    text: str


@dataclass(frozen=True, slots=True)
class Escalate:
    reason: str


@dataclass(frozen=True, slots=True)
class AckTimeout:
    """T1 ran out (Siaga's own timer): the alert escalates unless a person has taken it."""


@dataclass(frozen=True, slots=True)
class DispatchTimeout:
    """T2 ran out (Siaga's own timer): the alert escalates unless a unit has it."""


@dataclass(frozen=True, slots=True)
class HandBack:
    """The assigned unit gives the alert back to the command centre (its officer goes off duty, say): the alert
    returns to dispatch and, if no operator holds it, escalates at once."""

    reason: str = "off_duty"


@dataclass(frozen=True, slots=True)
class MessageResident:
    """The command centre's word to the resident on their status screen (sent to every open alert of an area in a
    surge: "officers are on their way; stay somewhere safe")."""

    text: str


@dataclass(frozen=True, slots=True)
class ReplyToCentre:
    """The resident's word back to the command centre, from the chat on their status screen. ``since_closed``: how
    long ago the alert closed, if it did (the service fills it in from the alert; the rules carry no clock)."""

    text: str
    since_closed: timedelta | None = None


@dataclass(frozen=True, slots=True)
class ChangeCategory:
    """Staff put the alert in another category (a "kriminalitas" that turns out to be a fire). The routing table
    re-routes it: ``routing`` is who gets it now (responsible and informed agencies, worked out by the service)."""

    category: Category
    previous: Category
    routing: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HandToAgency:
    """Staff hand the alert to another agency, which becomes responsible for it (a surge's disaster alerts to BPBD),
    saying why; the agencies that had it stay informed. ``routing`` is who gets it now and who had it, as a category
    change names them (the service fills it in)."""

    agency_id: int
    reason: str
    routing: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SetPriority:
    """Staff set how urgent the alert is, saying why. A duress alert stays critical: the person may be coerced, and
    no one at the console may make that look less urgent (an operator can raise any alert, never lower that one)."""

    priority: Priority
    reason: str


@dataclass(frozen=True, slots=True)
class Link:
    """The alert joins an incident with other alerts about the same event (or is told that others joined it)."""

    incident_id: str
    added: tuple[str, ...]
    alert_ids: tuple[str, ...]  # the incident's alerts after the change
    title: str = ""


@dataclass(frozen=True, slots=True)
class Unlink:
    """Alerts leave an incident (split off): the ones that left and the ones that stay are each told."""

    incident_id: str
    removed: tuple[str, ...]
    alert_ids: tuple[str, ...]  # the incident's alerts after the change


Command = (
    Acknowledge
    | Dispatch
    | MarkEnRoute
    | MarkOnScene
    | Resolve
    | Cancel
    | DuressCancel
    | AddNote
    | Escalate
    | AckTimeout
    | DispatchTimeout
    | HandBack
    | MessageResident
    | ReplyToCentre
    | ChangeCategory
    | HandToAgency
    | SetPriority
    | Link
    | Unlink
)


class EscalationReason(StrEnum):
    """Why Siaga itself escalated an alert: codes the console translates (an operator's manual escalation carries
    their own words instead)."""

    NOT_ACKNOWLEDGED = "not_acknowledged"  # T1: no human took the alert in time
    NO_OFFICER = "no_officer"  # T2: no unit took the alert in time
    DURESS = "duress"  # the resident entered the duress PIN
    HANDED_BACK = "handed_back"  # the unit gave the alert back and no operator holds it


class EventKind(StrEnum):
    CREATED = "created"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    CANCEL_IGNORED = "cancel_ignored"
    DURESS = "duress"
    NOTE = "note"
    ESCALATED = "escalated"
    FLAGGED = "flagged"
    OFFERED = "offered"  # Siaga asked units directly (data: unit ids, ring)
    OFFER_DECLINED = "offer_declined"
    OFFER_EXPIRED = "offer_expired"
    OFFERS_WITHDRAWN = "offers_withdrawn"  # someone took the alert (or it closed): the other offered units are told
    HANDED_BACK = "handed_back"  # the assigned unit gave the alert back to dispatch (data: unit_id, reason)
    # Several units on one alert (``dispatch.units``), each naming the unit (data: unit_id, unit_name, agency, role)
    UNIT_ADDED = "unit_added"  # staff asked a unit (or the first of several) to join the alert
    UNIT_ACCEPTED = "unit_accepted"  # the unit's officer took its place on the alert
    UNIT_EN_ROUTE = "unit_en_route"
    UNIT_ON_SCENE = "unit_on_scene"
    UNIT_RELEASED = "unit_released"  # the unit left the alert (declined, withdrawn, done, or the alert closed)
    UNITS_REQUESTED = "units_requested"  # an officer asked for backup or an ambulance (data: unit_kind, agencies)
    DELIVERY_FAILED = "delivery_failed"  # an SMS or push about this alert could not be delivered (yet)
    # An SMS about this alert came in, went out, or was held back by a limit (data: message "in:<id>" or "out:<id>",
    # direction, number masked, purpose, status received | sent | delivered | not_sent, attempt, error)
    SMS = "sms"
    RESIDENT_MESSAGED = "resident_messaged"  # the command centre's word shown on the resident's screen (data: text)
    RESIDENT_REPLIED = "resident_replied"  # the resident's word back, from the chat on their phone (data: text)
    # Staff changed the category and the routing table re-routed the alert (data: from, to, the agencies before and
    # after: agency_id responsible, informed_agency_ids, previous_agency_ids)
    CATEGORY_CHANGED = "category_changed"
    # Staff handed the alert to another agency, now responsible (data: reason, and the agencies as category_changed
    # names them: agency_id responsible, informed_agency_ids, previous_agency_ids)
    TRANSFERRED = "transferred"
    HANDOVER = "handover"  # handed over to a partner centre (data: partner, status: requested, acknowledged, failed)
    PARTNER_UPDATED = "partner_updated"  # the partner that handed the alert over sent an update (data: partner, notes)
    PRIORITY_CHANGED = "priority_changed"  # staff set the priority (data: from, to, reason)
    # Staff linked alerts about one event into an incident, or split one off (data: incident_id, title, the alerts
    # added or removed, and alert_ids: the incident's alerts after the change); each alert keeps its own history
    LINKED = "linked"
    UNLINKED = "unlinked"


@dataclass(frozen=True, slots=True)
class DomainEvent:
    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)


class TransitionError(SiagaError):
    """A command that the alert's state or the actor's role does not allow. Raised as such it is a misuse (the
    client should not have offered it); ``TransitionConflict`` and ``NotAllowed`` are the two other kinds."""

    def __init__(self, code: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        # ``details``: what the client needs to say this in the reader's language (e.g. who holds the alert).
        super().__init__(message, code=code, details=details)

    @property
    def conflict(self) -> bool:
        """A race or a clash with another person's action, not a misuse."""
        return isinstance(self, Conflict)


class TransitionConflict(Conflict, TransitionError):
    """The alert moved on, or another person's action came first (already acknowledged, taken, closed)."""


class NotAllowed(Forbidden, TransitionError):
    """The actor may not do this to this alert (not their alert, not their unit)."""


class ActorNotAllowed(NotAllowed):
    """The actor's role may never do this."""

    def __init__(self, actor: Actor, what: str) -> None:
        article = "an" if actor.kind.value[0] in "aeiou" else "a"
        super().__init__("alert.actor_not_allowed", f"{article} {actor.kind.value} cannot {what}")


# A resolved alert says what happened: the outcome and a few words of report (an officer's "Pelaku diamankan", an
# operator's "Ditelepon balik, tidak sengaja"). Blank or a stray character is no record.
REPORT_MIN_CHARS = 3


def checked_report(report: str) -> str:
    """``report`` trimmed, or ``TransitionError`` alert.report_required if it is shorter than REPORT_MIN_CHARS."""
    text = report.strip()
    if len(text) < REPORT_MIN_CHARS:
        raise TransitionError(
            "alert.report_required",
            f"say in a short report what happened ({REPORT_MIN_CHARS} characters or more) to resolve the alert",
            details={"field": "report", "min": REPORT_MIN_CHARS},
        )
    return text


def _require_active(alert: AlertSnapshot, what: str) -> None:
    if alert.state in CLOSED_STATES:
        raise TransitionConflict("alert.closed", f"cannot {what}: the alert is already {alert.state.value}")


def _require_staff(actor: Actor, what: str) -> None:
    if actor.kind not in COMMAND_CENTRE_ROLES:
        raise ActorNotAllowed(actor, what)


def _require_responder(alert: AlertSnapshot, actor: Actor, what: str) -> None:
    """The assigned unit's officer, or command-centre staff acting for them."""
    if actor.kind in COMMAND_CENTRE_ROLES:
        return
    if actor.kind is ActorKind.OFFICER:
        if alert.unit_id is None or actor.unit_id != alert.unit_id:
            raise TransitionError("alert.not_assigned_to_you", f"cannot {what}: the alert is not assigned to your unit")
        return
    raise ActorNotAllowed(actor, what)


def decide(alert: AlertSnapshot, command: Command, actor: Actor) -> list[DomainEvent]:
    """The events ``command`` by ``actor`` produces on ``alert``, or ``TransitionError``."""
    match command:
        case Acknowledge():
            _require_staff(actor, "acknowledge an alert")
            _require_active(alert, "acknowledge")
            if alert.acknowledged_by is not None:
                holder = alert.acknowledged_by
                raise TransitionConflict(
                    "alert.already_acknowledged",
                    f"already acknowledged by {holder.name} ({holder.kind.value})",
                    details={"holder": holder.name, "holder_role": holder.kind.value},
                )
            return [DomainEvent(EventKind.ACKNOWLEDGED)]
        case Dispatch(unit_id=unit_id, unit_name=unit_name):
            if actor.kind is ActorKind.OFFICER:
                # An officer takes an alert only for their own unit (accepting an offer).
                if actor.unit_id != unit_id:
                    raise NotAllowed("alert.not_your_unit", "an officer can only accept for their own unit")
            else:
                _require_staff(actor, "dispatch a unit")
            _require_active(alert, "dispatch")
            if alert.state is AlertState.ON_SCENE:
                raise TransitionConflict(
                    "alert.unit_on_scene",
                    "a unit is already on scene; resolve or add a note instead",
                )
            if alert.unit_id == unit_id:
                raise TransitionConflict(
                    "alert.already_assigned",
                    f"unit {unit_name} is already assigned to this alert",
                    details={"unit": unit_name},
                )
            if actor.kind is ActorKind.OFFICER and alert.unit_id is not None:
                raise TransitionConflict("alert.taken", "another unit has already taken this alert")
            dispatched = DomainEvent(
                EventKind.DISPATCHED, {"unit_id": unit_id, "unit_name": unit_name, "previous_unit_id": alert.unit_id}
            )
            if alert.acknowledged_by is None and actor.kind in COMMAND_CENTRE_ROLES:
                # Staff who dispatch have looked at the alert: they hold it (no second operator can acknowledge it
                # later), and the time to acknowledge is recorded.
                return [DomainEvent(EventKind.ACKNOWLEDGED), dispatched]
            return [dispatched]
        case MarkEnRoute():
            _require_responder(alert, actor, "report en route")
            _require_active(alert, "report en route")
            if alert.state is AlertState.EN_ROUTE:
                raise TransitionConflict("alert.already_en_route", "the unit is already reported en route")
            if alert.state is not AlertState.DISPATCHED:
                raise TransitionError(
                    "alert.invalid_transition",
                    f"en route is only possible after dispatch (the alert is {alert.state.value})",
                )
            return [DomainEvent(EventKind.EN_ROUTE, {"unit_id": alert.unit_id})]
        case MarkOnScene():
            _require_responder(alert, actor, "report on scene")
            _require_active(alert, "report on scene")
            if alert.state is AlertState.ON_SCENE:
                raise TransitionConflict("alert.already_on_scene", "the unit is already reported on scene")
            if alert.state not in (AlertState.DISPATCHED, AlertState.EN_ROUTE):
                raise TransitionError(
                    "alert.invalid_transition",
                    f"on scene is only possible after dispatch (the alert is {alert.state.value})",
                )
            return [DomainEvent(EventKind.ON_SCENE, {"unit_id": alert.unit_id})]
        case Resolve(outcome=outcome, report=report):
            _require_responder(alert, actor, "resolve an alert")
            _require_active(alert, "resolve")
            if alert.state is AlertState.NEW:
                raise TransitionError(
                    "alert.not_acknowledged",
                    "acknowledge the alert before resolving it (someone must look at it)",
                )
            return [DomainEvent(EventKind.RESOLVED, {"outcome": outcome.value, "report": checked_report(report)})]
        case Cancel():
            _require_resident(alert, actor, "cancel")
            _require_active(alert, "cancel")
            if alert.duress:
                # After a duress PIN the alert must stay open whatever the phone is made to do next.
                return [DomainEvent(EventKind.CANCEL_IGNORED, {"reason": "duress"})]
            return [DomainEvent(EventKind.CANCELLED)]
        case DuressCancel():
            # Accepted even on a closed alert: someone coerced into "cancelling" after staff closed it is still in
            # danger, and the escalation must reach the command centre.
            _require_resident(alert, actor, "cancel")
            return [
                DomainEvent(EventKind.DURESS),
                DomainEvent(EventKind.ESCALATED, {"reason": EscalationReason.DURESS.value}),
            ]
        case AddNote(text=text):
            if actor.kind is ActorKind.OFFICER:
                # The officers of any unit working on the alert: the lead's, or a backup's.
                if actor.unit_id is None or actor.unit_id not in alert.backup_unit_ids:
                    _require_responder(alert, actor, "add a note")
            else:
                _require_staff(actor, "add a note")
            if not text.strip():
                raise TransitionError("alert.empty_note", "a note needs some text")
            return [DomainEvent(EventKind.NOTE, {"text": text.strip()})]
        case Escalate(reason=reason):
            if actor.kind not in (ActorKind.SYSTEM, ActorKind.OPERATOR, ActorKind.SUPERVISOR, ActorKind.ADMIN):
                raise ActorNotAllowed(actor, "escalate an alert")
            _require_active(alert, "escalate")
            return [DomainEvent(EventKind.ESCALATED, {"reason": reason})]
        case AckTimeout():
            _require_system(actor, "run out an alert's timer")
            return on_ack_timeout(alert)
        case DispatchTimeout():
            _require_system(actor, "run out an alert's timer")
            return on_dispatch_timeout(alert)
        case HandBack(reason=reason):
            _require_responder(alert, actor, "hand the alert back")
            _require_active(alert, "hand the alert back")
            if alert.unit_id is None:
                raise TransitionError("alert.no_unit", "no unit holds this alert, so there is nothing to hand back")
            handed = DomainEvent(EventKind.HANDED_BACK, {"unit_id": alert.unit_id, "reason": reason})
            if alert.acknowledged_by is None:
                # Nobody else holds it now: it must not wait for a timer to be noticed.
                return [handed, DomainEvent(EventKind.ESCALATED, {"reason": EscalationReason.HANDED_BACK.value})]
            return [handed]
        case MessageResident(text=text):
            _require_staff(actor, "message the resident")
            _require_active(alert, "message the resident")
            if alert.duress:
                # The phone shows "cancelled" after a duress PIN: a word from the command centre would betray it.
                raise TransitionError(
                    "alert.duress_silent", "the resident entered the duress PIN: their phone stays silent"
                )
            if not text.strip():
                raise TransitionError("alert.empty_message", "a message needs some text")
            return [DomainEvent(EventKind.RESIDENT_MESSAGED, {"text": text.strip()})]
        case ReplyToCentre(text=text, since_closed=since_closed):
            _require_resident(alert, actor, "reply on")
            _require_reply_window(alert, since_closed)
            if not text.strip():
                raise TransitionError("alert.empty_message", "a message needs some text")
            return [DomainEvent(EventKind.RESIDENT_REPLIED, {"text": text.strip()})]
        case ChangeCategory(category=category, previous=previous, routing=routing):
            _require_staff(actor, "change an alert's category")
            _require_active(alert, "change the category")
            if category is previous:
                return []  # already so (a retry): nothing happens
            return [DomainEvent(EventKind.CATEGORY_CHANGED, {"from": previous.value, "to": category.value, **routing})]
        case HandToAgency(agency_id=agency_id, reason=reason, routing=routing):
            _require_staff(actor, "hand an alert to another agency")
            _require_active(alert, "hand the alert to another agency")
            if agency_id == alert.agency_id:
                raise TransitionConflict(
                    "alert.already_with_agency",
                    "the alert is already with that agency",
                    details={"agency": str(routing.get("agency", agency_id))},
                )
            return [DomainEvent(EventKind.TRANSFERRED, {**routing, "reason": reason.strip()})]
        case SetPriority(priority=priority, reason=reason):
            return _set_priority(alert, actor, priority, reason)
        case Link(incident_id=incident_id, added=added, alert_ids=alert_ids, title=title):
            _require_staff(actor, "link alerts")
            data = {"incident_id": incident_id, "title": title, "added": list(added), "alert_ids": list(alert_ids)}
            return [DomainEvent(EventKind.LINKED, data)]
        case Unlink(incident_id=incident_id, removed=removed, alert_ids=alert_ids):
            _require_staff(actor, "unlink alerts")
            data = {"incident_id": incident_id, "removed": list(removed), "alert_ids": list(alert_ids)}
            return [DomainEvent(EventKind.UNLINKED, data)]
    raise TypeError(f"unknown command {command!r}")  # pragma: no cover - exhaustiveness guard


PRIORITY_RANK = {Priority.NORMAL: 0, Priority.HIGH: 1, Priority.CRITICAL: 2}
PRIORITY_REASON_MAX = 500


def _set_priority(alert: AlertSnapshot, actor: Actor, priority: Priority, reason: str) -> list[DomainEvent]:
    _require_staff(actor, "set an alert's priority")
    _require_active(alert, "change the priority")
    if not reason.strip():
        raise TransitionError("alert.priority_reason_required", "say why the priority changes")
    if alert.duress and PRIORITY_RANK[priority] < PRIORITY_RANK[Priority.CRITICAL]:
        raise TransitionConflict(
            "alert.duress_stays_critical", "the resident entered the duress PIN: the alert stays critical"
        )
    if priority is alert.priority:
        return []  # already so (a retry): nothing happens
    data = {"from": alert.priority.value, "to": priority.value, "reason": reason.strip()}
    return [DomainEvent(EventKind.PRIORITY_CHANGED, data)]


def mixes_exercise_and_real(exercise_flags: Sequence[bool]) -> bool:
    """Whether alerts with these ``is_exercise`` flags would put a drill and a real SOS in one incident: never
    allowed, so that closing a drill's incident can never close a real person's alert."""
    return len(set(exercise_flags)) > 1


# The resident's chat with the command centre: open while the alert is, and for a while after it was resolved (a
# "thank you", or "he came back": pressing SOS again is then the way). Replies are counted per resident.
REPLY_MAX_CHARS = 500
REPLY_AFTER_RESOLVED = timedelta(minutes=30)
REPLIES_PER_MINUTE = 10


def replies_close_at(state: AlertState, *, duress: bool, closed_at: datetime | None) -> datetime | None:
    """Until when the resident's replies are taken: None while the alert is open (no end yet); once it is resolved,
    ``REPLY_AFTER_RESOLVED`` later; a cancelled alert takes none (it closed at ``closed_at``). After a duress PIN the
    alert is cancelled as far as the phone knows: pass the moment of the PIN as ``closed_at``."""
    shown = resident_view_state(state, duress=duress)
    if shown in ACTIVE_STATES:
        return None
    if shown is AlertState.RESOLVED and closed_at is not None:
        return closed_at + REPLY_AFTER_RESOLVED
    return closed_at or datetime.min.replace(tzinfo=UTC)


def _require_reply_window(alert: AlertSnapshot, since_closed: timedelta | None) -> None:
    """A reply is taken while the alert is open and shortly after it was resolved. A cancelled alert takes none, and
    neither does one with a duress PIN: it looks cancelled to the phone, and is refused exactly as a cancelled one."""
    if alert.duress or alert.state is AlertState.CANCELLED:
        raise TransitionConflict("alert.closed", "cannot reply: the alert is already cancelled")
    if alert.state in CLOSED_STATES and (since_closed is None or since_closed >= REPLY_AFTER_RESOLVED):
        minutes = int(REPLY_AFTER_RESOLVED.total_seconds() // 60)
        raise TransitionConflict(
            "alert.reply_window_over",
            f"the alert was resolved more than {minutes} minutes ago: press SOS again if you need help",
            details={"minutes": minutes},
        )


def reply_wait_s(arrivals: Sequence[datetime], now: datetime) -> int | None:
    """Seconds a resident must wait before their next reply, given when their latest replies arrived (newest first,
    at least the last ``REPLIES_PER_MINUTE``), or None if they may reply now."""
    if len(arrivals) < REPLIES_PER_MINUTE:
        return None
    oldest = sorted(arrivals, reverse=True)[REPLIES_PER_MINUTE - 1]
    free_at = oldest + timedelta(minutes=1)
    if free_at <= now:
        return None
    return max(1, int((free_at - now).total_seconds() + 0.999))


def _require_system(actor: Actor, what: str) -> None:
    if actor.kind is not ActorKind.SYSTEM:
        raise ActorNotAllowed(actor, what)


def _require_resident(alert: AlertSnapshot, actor: Actor, what: str) -> None:
    if actor.kind is not ActorKind.RESIDENT:
        raise ActorNotAllowed(actor, f"{what} a resident's alert")
    if actor.id != alert.resident_id:
        raise NotAllowed("alert.not_yours", f"only the resident who raised the alert can {what} it")


def evolve(alert: AlertSnapshot, event: DomainEvent, actor: Actor) -> AlertSnapshot:
    """The alert after ``event`` by ``actor``."""
    data = event.data
    match event.kind:
        case EventKind.CREATED:
            return replace(alert, state=AlertState.NEW)
        case EventKind.ACKNOWLEDGED:
            state = AlertState.ACKNOWLEDGED if alert.state is AlertState.NEW else alert.state
            return replace(alert, state=state, acknowledged_by=actor)
        case EventKind.DISPATCHED:
            return replace(alert, state=AlertState.DISPATCHED, unit_id=int(data["unit_id"]))
        case EventKind.EN_ROUTE:
            return replace(alert, state=AlertState.EN_ROUTE)
        case EventKind.ON_SCENE:
            return replace(alert, state=AlertState.ON_SCENE)
        case EventKind.RESOLVED:
            return replace(alert, state=AlertState.RESOLVED, outcome=Outcome(data["outcome"]))
        case EventKind.CANCELLED:
            return replace(alert, state=AlertState.CANCELLED)
        case EventKind.DURESS:
            return replace(alert, duress=True, priority=Priority.CRITICAL)
        case EventKind.ESCALATED:
            return replace(alert, escalated=True)
        case EventKind.PRIORITY_CHANGED:
            return replace(alert, priority=Priority(data["to"]))
        case EventKind.TRANSFERRED:
            return replace(alert, agency_id=int(data["agency_id"]))
        case EventKind.HANDED_BACK:
            back = AlertState.ACKNOWLEDGED if alert.acknowledged_by is not None else AlertState.NEW
            return replace(alert, state=back, unit_id=None)
        case (
            EventKind.NOTE
            | EventKind.FLAGGED
            | EventKind.CANCEL_IGNORED
            | EventKind.OFFERED
            | EventKind.OFFER_DECLINED
            | EventKind.OFFER_EXPIRED
            | EventKind.OFFERS_WITHDRAWN
            | EventKind.UNIT_ADDED
            | EventKind.UNIT_ACCEPTED
            | EventKind.UNIT_EN_ROUTE
            | EventKind.UNIT_ON_SCENE
            | EventKind.UNIT_RELEASED
            | EventKind.UNITS_REQUESTED
            | EventKind.DELIVERY_FAILED
            | EventKind.SMS
            | EventKind.RESIDENT_MESSAGED
            | EventKind.RESIDENT_REPLIED
            | EventKind.CATEGORY_CHANGED
            | EventKind.LINKED
            | EventKind.UNLINKED
        ):
            return alert
    raise TypeError(f"unknown event {event.kind!r}")  # pragma: no cover


# What the timers do about an alert: escalate only if nobody has taken it ------------------------------------------


def taken_by_a_person(alert: AlertSnapshot) -> bool:
    """A human has taken the alert: an operator acknowledged it, or an officer accepted it for their unit."""
    return alert.acknowledged_by is not None or alert.unit_id is not None


def on_ack_timeout(alert: AlertSnapshot) -> list[DomainEvent]:
    """T1 ran out: escalate only if no human has taken the alert (neither an operator nor an officer)."""
    if alert.state not in ACTIVE_STATES or taken_by_a_person(alert):
        return []
    return [DomainEvent(EventKind.ESCALATED, {"reason": EscalationReason.NOT_ACKNOWLEDGED.value})]


def on_dispatch_timeout(alert: AlertSnapshot) -> list[DomainEvent]:
    """T2 ran out: escalate only if no unit has the alert."""
    if alert.state not in ACTIVE_STATES or alert.unit_id is not None:
        return []
    return [DomainEvent(EventKind.ESCALATED, {"reason": EscalationReason.NO_OFFICER.value})]


def resident_view_state(state: AlertState, *, duress: bool) -> AlertState:
    """The state a resident's phone shows: after a duress PIN the alert looks cancelled, whatever staff do."""
    return AlertState.CANCELLED if duress else state
