"""The alert state machine: pure rules, no I/O.

``decide(alert, command, actor)`` returns the events a command produces or raises ``TransitionError``;
``evolve(alert, event)`` applies one event. The state of an alert is the fold of its events.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from siaga.accounts.domain import Actor, ActorKind
from siaga.agencies.domain import AgencyTerms
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


# Who holds an alert, and what the timers do about it ---------------------------------------------------------------


def taken_by_a_person(alert: AlertSnapshot) -> bool:
    """A human has taken the alert: an operator acknowledged it, or an officer accepted it for their unit."""
    return alert.acknowledged_by is not None or alert.unit_id is not None


def awaits_operator(state: AlertState, *, acknowledged: bool, has_unit: bool) -> bool:
    """An officer has the alert but no operator has looked at it yet: the console marks it quietly ("not yet seen
    by an operator"); it does not escalate."""
    return state in ACTIVE_STATES and not acknowledged and has_unit


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


class Responsible(StrEnum):
    """Who answers for an open alert right now."""

    UNIT = "unit"  # the assigned unit's officers
    OPERATOR = "operator"  # the operator who acknowledged it
    ESCALATION = "escalation"  # nobody took it: the escalation chain (supervisors, parent, neighbours) has it
    AGENCY = "agency"  # just raised: every console of its agency, with T1 running


def responsible(alert: AlertSnapshot, *, ack_timer_running: bool) -> Responsible | None:
    """Who is responsible for an open alert. None means nobody: never true of an open alert (the invariant the
    timers, hand-back and escalation keep)."""
    if alert.unit_id is not None:
        return Responsible.UNIT
    if alert.acknowledged_by is not None:
        return Responsible.OPERATOR
    if alert.escalated:
        return Responsible.ESCALATION
    if ack_timer_running:
        return Responsible.AGENCY
    return None


def resident_view_state(state: AlertState, *, duress: bool) -> AlertState:
    """The state a resident's phone shows: after a duress PIN the alert looks cancelled, whatever staff do."""
    return AlertState.CANCELLED if duress else state


def repeated_press_milestone(before: int, after: int) -> int | None:
    """When a resident's presses on one active alert go from ``before`` to ``after``, the largest count on the
    1-2-5 scale (2, 5, 10, 20, 50, ...) passed on the way, if any: the console is told at those counts, so a
    thousand presses make a handful of flags, not a thousand events."""
    crossed: int | None = None
    scale = 1
    while scale * 2 <= after:
        for step in (2, 5, 10):
            milestone = scale * step
            if before < milestone <= after:
                crossed = milestone
        scale *= 10
    return crossed


# Raising an alert -------------------------------------------------------------------------------------------------
# The one set of rules for a new alert, whatever channel it came through: the batched writer
# (``alerts.raising.store``) applies them to every alert it opens, a batch of one included.


class CallerKind(StrEnum):
    """Who raises an alert. Today a resident (the app's press, and the follow-up Siaga raises for a duress PIN);
    fixed panic devices, GPS trackers and other command centres are the next kinds (issue 16)."""

    RESIDENT = "resident"
    SITE = "site"  # a fixed panic button's site (siaga.devices): raised by the site's own caller row
    PARTNER = "partner"  # another command centre handing an incident over (siaga.partners): its own caller row
    UNIT = "unit"  # an officers' unit whose tracker sent an SOS: an officer in danger (siaga.trackers), its caller row


@dataclass(frozen=True, slots=True)
class Caller:
    """Who raised the alert, as the audit and the timeline name them."""

    kind: CallerKind
    id: str  # a stable id (a resident's UUID)
    name: str
    resident_id: uuid.UUID | None = None  # the resident the alert is for
    session_expired: bool = False  # raised on a sign-in that had lapsed: stored, and flagged for the console
    unregistered: bool = False  # an SMS from a number with no account (Siaga made a bare one): flagged
    unverified: bool = False  # a structured SOS SMS whose signature did not verify: flagged, never refused


@dataclass(frozen=True, slots=True)
class Position:
    lat: float
    lon: float
    accuracy_m: float | None = None
    recorded_at: datetime | None = None  # the sender's clock: informative only


@dataclass(frozen=True, slots=True)
class RaiseRequest:
    """One request to raise an alert, from any channel. ``id`` is the sender's (a retry sends it again) and
    ``fingerprint`` the hash of what it sent (the same id with another fingerprint is another press)."""

    id: uuid.UUID
    fingerprint: str
    caller: Caller
    category: Category
    received_at: datetime  # the alert's created_at: its timers count from the server's receipt
    channel: str = "app"
    position: Position | None = None
    silent: bool = False
    description: str = ""
    battery: int | None = None
    pressed_at: datetime | None = None  # the sender's clock: informative only
    client_ip: str = ""
    follows_id: uuid.UUID | None = None  # the alert this one follows (a duress PIN after staff closed it)
    place_hint: str | None = None  # a kecamatan code that places a request without a position (a feature phone's
    # SOS goes to its resident's NIK kecamatan); a position always wins
    agency_id: int | None = None  # the agency the channel names responsible (an officer's SOS goes to their unit's
    # agency); the routing table's agencies for the place are informed

    @property
    def officer_emergency(self) -> bool:
        """An officer in danger (their unit's tracker sent an SOS): critical from the start, flagged for the console."""
        return self.caller.kind is CallerKind.UNIT

    @property
    def may_join(self) -> bool:
        """A press while the resident's alert is active joins that alert; a follow-up is always an alert of its
        own (the person is in danger now, whatever else is open). A partner's incidents are each an alert of their
        own: one caller row stands for every incident the partner hands over."""
        return self.follows_id is None and self.caller.kind is not CallerKind.PARTNER


CHANNELS = ("app", "sms", "device", "gateway", "tracker", "partner")  # where an alert came in (``alerts.channel``)


def same_press(
    *,
    stored_resident: uuid.UUID,
    stored_fingerprint: str,
    stored_channel: str,
    resident: uuid.UUID | None,
    fingerprint: str,
    channel: str,
) -> bool:
    """Whether a request whose id is already stored is that press again (answered from it) rather than another
    press reusing its id (refused). A retry sends the same content; the same resident's id from another channel is
    the same press too: the app's SMS copy of a press and the press itself, whichever came first, are one alert."""
    if stored_resident != resident:
        return False
    return stored_fingerprint == fingerprint or stored_channel != channel


def fingerprint(payload: dict[str, Any]) -> str:
    """A request's fingerprint: a retry sends the same content, a different request reusing the id does not."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Raiser:
    """The resident an alert is raised for, as the rules need them."""

    id: uuid.UUID
    phone: str
    name: str | None
    nik: str | None
    strikes: int
    suspended: bool
    suspended_reason: str | None
    is_exercise: bool  # a drill account: its alerts are exercises
    contacts: list[str] = field(default_factory=list)  # emergency contacts' numbers, in the order they were added

    @property
    def shown_name(self) -> str:
        """The caller's name as the console shows it (the number if unnamed)."""
        return self.name or self.phone

    def actor(self) -> Actor:
        return Actor(kind=ActorKind.RESIDENT, id=str(self.id), name=self.shown_name)


NO_LOCATION = "no_location"  # the placement of an alert raised without a position


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a new alert falls: its kecamatan (None outside every one, or without a position) and how."""

    jurisdiction_id: int | None
    jurisdiction_code: str | None
    method: str  # inside | overlap | nearest | default | no_location
    distance_m: float


UNPLACED = Placed(None, None, NO_LOCATION, 0.0)


@dataclass(frozen=True, slots=True)
class Deadlines:
    ack_due_at: datetime  # T1: escalates unless someone takes it
    dispatch_due_at: datetime  # T2: escalates unless a unit is sent
    offer_due_at: datetime | None  # direct offers to the nearest units, where the agency makes them


def deadlines(
    created_at: datetime, agency: AgencyTerms, *, ack_default_s: int, dispatch_default_s: int, now: datetime
) -> Deadlines:
    """A new alert's timers, counted from the server's receipt of the press as the console counts them: the
    agency's T1 and T2 (else the process defaults), T2 never before T1, and direct offers at once where the agency
    makes them."""
    t1 = agency.ack_timeout_s or ack_default_s
    t2 = agency.dispatch_timeout_s or dispatch_default_s
    return Deadlines(
        ack_due_at=created_at + timedelta(seconds=t1),
        dispatch_due_at=created_at + timedelta(seconds=max(t2, t1)),
        offer_due_at=now if agency.direct_offers else None,
    )


def raise_flags(request: RaiseRequest, raiser: Raiser) -> list[dict[str, Any]]:
    """What the console is told about a new alert beside it (``flagged`` events by Siaga): never reasons to
    refuse an SOS."""
    flags: list[dict[str, Any]] = []
    if request.officer_emergency:
        flags.append({"reason": "officer_emergency"})
    if request.position is None:
        flags.append({"reason": "no_location"})
    if raiser.suspended:
        flags.append({"reason": "resident_suspended", "strikes": raiser.strikes, "note": raiser.suspended_reason or ""})
    if request.caller.session_expired:
        flags.append({"reason": "session_expired"})
    if request.caller.unregistered:
        flags.append({"reason": "unregistered_number"})
    if request.caller.unverified:
        flags.append({"reason": "unverified_sms"})
    return flags


def created_data(
    request: RaiseRequest,
    raiser: Raiser,
    agency: AgencyTerms,
    where: Placed,
    *,
    informed: Sequence[AgencyTerms] = (),
) -> dict[str, Any]:
    """The ``created`` event's data: ``agency`` is responsible, ``informed`` the agencies told besides it."""
    return {
        "category": request.category.value,
        "placement": where.method,
        "jurisdiction": where.jurisdiction_code,
        "agency": agency.code,
        "informed": [other.code for other in informed],
        "silent": request.silent,
        "identity_complete": bool(raiser.name and raiser.nik),
        "channel": request.channel,
    }


def new_alert(
    request: RaiseRequest,
    raiser: Raiser,
    agency: AgencyTerms,
    where: Placed,
    due: Deadlines,
    *,
    map_centre: tuple[float, float],
    informed: Sequence[AgencyTerms] = (),
) -> dict[str, Any]:
    """The new alert's row (column: value): ``agency`` is responsible, ``informed`` told besides it."""
    position = request.position
    return {
        "id": request.id,
        "request_hash": request.fingerprint,
        "channel": request.channel,
        "resident_id": raiser.id,
        "follows_id": request.follows_id,
        "agency_id": agency.id,
        "informed_agency_ids": [other.id for other in informed],
        "jurisdiction_id": where.jurisdiction_id,
        "placement": where.method,
        "placement_distance_m": where.distance_m,
        "state": AlertState.NEW.value,
        "category": request.category.value,
        "priority": (Priority.CRITICAL if request.officer_emergency else Priority.NORMAL).value,
        "silent": request.silent,
        "duress": False,
        "escalated": False,
        "resident_suspended": raiser.suspended,
        "is_exercise": raiser.is_exercise,
        "delivery_failed": False,
        # Without a fix the map shows the alert at its kecamatan's centre (placed by a hint), or else the city's,
        # until the phone sends its first point.
        "lat": position.lat if position else map_centre[0],
        "lon": position.lon if position else map_centre[1],
        "accuracy_m": position.accuracy_m if position else None,
        "located_at": position.recorded_at if position else None,
        "battery": request.battery,
        "pressed_at": request.pressed_at,
        "description": request.description,
        "report": "",
        "created_at": request.received_at,
        "updated_at": request.received_at,
        "version": 1,
        "ack_due_at": due.ack_due_at,
        "dispatch_due_at": due.dispatch_due_at,
        "offer_due_at": due.offer_due_at,
        "offer_ring": 0,
        "press_count": 1,
    }
