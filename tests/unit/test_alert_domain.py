"""Unit tests for siaga.alerts.domain: the alert state machine as pure rules (decide, evolve, resident_view_state).

The big table below is written from the brief ("The main flows", "States and words", "What must always hold"), not
from the code: every alert state x every command x every kind of actor gives either the exact events and the alert
they fold into, or the exact refusal code and whether it is a conflict (a race with another person: HTTP 409).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import product

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from siaga.accounts.domain import SYSTEM, Actor, ActorKind
from siaga.alerts.domain import (
    ACTIVE_STATES,
    CLOSED_STATES,
    REPLIES_PER_MINUTE,
    REPLY_AFTER_RESOLVED,
    Acknowledge,
    AckTimeout,
    ActorNotAllowed,
    AddNote,
    AlertSnapshot,
    AlertState,
    Cancel,
    Command,
    Dispatch,
    DispatchTimeout,
    DomainEvent,
    DuressCancel,
    Escalate,
    EventKind,
    MarkEnRoute,
    MarkOnScene,
    MessageResident,
    Outcome,
    Priority,
    ReplyToCentre,
    Resolve,
    TransitionError,
    decide,
    evolve,
    on_ack_timeout,
    on_dispatch_timeout,
    replies_close_at,
    reply_wait_s,
    resident_view_state,
)

S = AlertState
E = EventKind

# --- The cast ---------------------------------------------------------------------------------------------------

RESIDENT_ID = "resident-ani"
UNIT_A = 11  # the unit assigned in the dispatched / en_route / on_scene / resolved alerts below
UNIT_B = 22  # another unit of the same agency
UNIT_NAMES = {UNIT_A: "Patroli Coblong 1", UNIT_B: "Patroli Sukajadi 2"}

# The operator who acknowledged the alerts below (not one of the acting actors, so a second acknowledge races them).
HOLDER = Actor(kind=ActorKind.OPERATOR, id="101", name="Operator Sari")

ACTORS: dict[str, Actor] = {
    "resident_owner": Actor(kind=ActorKind.RESIDENT, id=RESIDENT_ID, name="Ani"),
    "resident_other": Actor(kind=ActorKind.RESIDENT, id="resident-budi", name="Budi"),
    "operator": Actor(kind=ActorKind.OPERATOR, id="102", name="Operator Dewi"),
    "officer_unit_a": Actor(kind=ActorKind.OFFICER, id="201", name="Bripka Eko", unit_id=UNIT_A),
    "officer_unit_b": Actor(kind=ActorKind.OFFICER, id="202", name="Briptu Fajar", unit_id=UNIT_B),
    "officer_no_unit": Actor(kind=ActorKind.OFFICER, id="203", name="Aipda Gita", unit_id=None),
    "supervisor": Actor(kind=ActorKind.SUPERVISOR, id="301", name="Supervisor Hadi"),
    "admin": Actor(kind=ActorKind.ADMIN, id="401", name="Admin Indah"),
    "system": SYSTEM,
}
COMMAND_CENTRE = {"operator", "supervisor", "admin"}
OFFICERS = {"officer_unit_a", "officer_unit_b", "officer_no_unit"}
RESIDENTS = {"resident_owner", "resident_other"}

# Dispatch to unit A / unit B covers all four dispatch cases: for staff, the assigned unit and another unit; for an
# officer of unit A, their own unit (which holds the alert from dispatched on) and someone else's; for an officer of
# unit B, their own unit while unit A already holds the alert, and someone else's.
RESOLVES: dict[str, Outcome] = {f"resolve_{outcome.value}": outcome for outcome in Outcome}
COMMANDS: dict[str, Command] = {
    "acknowledge": Acknowledge(),
    "dispatch_unit_a": Dispatch(unit_id=UNIT_A, unit_name=UNIT_NAMES[UNIT_A]),
    "dispatch_unit_b": Dispatch(unit_id=UNIT_B, unit_name=UNIT_NAMES[UNIT_B]),
    "en_route": MarkEnRoute(),
    "on_scene": MarkOnScene(),
    **{key: Resolve(outcome=outcome, report="Checked on site.") for key, outcome in RESOLVES.items()},
    "cancel": Cancel(),
    "duress_cancel": DuressCancel(),
    "note": AddNote(text="  Called back, resident is safe at the kiosk.  "),
    "blank_note": AddNote(text=" \t\n "),
    "escalate": Escalate(reason="not acknowledged in time"),
}

# One alert in each state, as the natural path there leaves it.
SNAPSHOTS: dict[AlertState, AlertSnapshot] = {
    S.NEW: AlertSnapshot(state=S.NEW, resident_id=RESIDENT_ID),
    S.ACKNOWLEDGED: AlertSnapshot(state=S.ACKNOWLEDGED, resident_id=RESIDENT_ID, acknowledged_by=HOLDER),
    S.DISPATCHED: AlertSnapshot(state=S.DISPATCHED, resident_id=RESIDENT_ID, acknowledged_by=HOLDER, unit_id=UNIT_A),
    S.EN_ROUTE: AlertSnapshot(state=S.EN_ROUTE, resident_id=RESIDENT_ID, acknowledged_by=HOLDER, unit_id=UNIT_A),
    S.ON_SCENE: AlertSnapshot(state=S.ON_SCENE, resident_id=RESIDENT_ID, acknowledged_by=HOLDER, unit_id=UNIT_A),
    S.RESOLVED: AlertSnapshot(
        state=S.RESOLVED, resident_id=RESIDENT_ID, acknowledged_by=HOLDER, unit_id=UNIT_A, outcome=Outcome.GENUINE
    ),
    S.CANCELLED: AlertSnapshot(state=S.CANCELLED, resident_id=RESIDENT_ID),
}


def fold(alert: AlertSnapshot, events: list[DomainEvent], actor: Actor) -> AlertSnapshot:
    for event in events:
        alert = evolve(alert, event, actor)
    return alert


def refusal(alert: AlertSnapshot, command: Command, actor: Actor) -> TransitionError:
    with pytest.raises(TransitionError) as caught:
        decide(alert, command, actor)
    return caught.value


# --- The expected table, from the brief --------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowed:
    events: tuple[EventKind, ...]
    after: AlertSnapshot


@dataclass(frozen=True)
class Refused:
    code: str
    conflict: bool = False


Expected = Allowed | Refused

NOT_ALLOWED = Refused("alert.actor_not_allowed")  # the role may never do this (HTTP 403)
NOT_YOURS = Refused("alert.not_yours")  # a resident acting on another resident's alert
NOT_YOUR_UNIT = Refused("alert.not_your_unit")  # an officer accepting for a unit that is not theirs
NOT_ASSIGNED = Refused("alert.not_assigned_to_you")  # an officer acting on an alert their unit does not hold
INVALID = Refused("alert.invalid_transition")
CLOSED = Refused("alert.closed", conflict=True)  # someone else closed it first

# Where each step of the response may come from (flows 4 and 5).
EN_ROUTE_FROM = {S.DISPATCHED}
ON_SCENE_FROM = {S.DISPATCHED, S.EN_ROUTE}
ESCALATORS = {"operator", "supervisor", "admin", "system"}  # flow 7: timers (Siaga) and command-centre staff


def expected_outcome(state: AlertState, command_key: str, actor_key: str) -> Expected:
    """What the brief says ``command_key`` by ``actor_key`` does to the alert in ``state``.

    Order of refusals: who you are first (a role or person that may never do this), then whether the alert is still
    open, then whether the state allows the step.
    """
    alert = SNAPSHOTS[state]
    actor = ACTORS[actor_key]
    closed = state in CLOSED_STATES

    def responder_refusal() -> Refused | None:
        """Steps of the response: the assigned unit's officer, or command-centre staff acting for them."""
        if actor_key in COMMAND_CENTRE:
            return None
        if actor_key in OFFICERS:
            return None if alert.unit_id is not None and actor.unit_id == alert.unit_id else NOT_ASSIGNED
        return NOT_ALLOWED

    if command_key == "acknowledge":
        # Flow 4: one operator (or supervisor/admin) acknowledges, exactly one wins.
        if actor_key not in COMMAND_CENTRE:
            return NOT_ALLOWED
        if closed:
            return CLOSED
        if alert.acknowledged_by is not None:
            return Refused("alert.already_acknowledged", conflict=True)
        return Allowed((E.ACKNOWLEDGED,), replace(alert, state=S.ACKNOWLEDGED, acknowledged_by=actor))

    if command_key in {"dispatch_unit_a", "dispatch_unit_b"}:
        unit = UNIT_A if command_key == "dispatch_unit_a" else UNIT_B
        if actor_key in OFFICERS:
            # An officer only accepts an offer for their own unit.
            if actor.unit_id != unit:
                return NOT_YOUR_UNIT
        elif actor_key not in COMMAND_CENTRE:
            return NOT_ALLOWED
        if closed:
            return CLOSED
        if state is S.ON_SCENE:
            return Refused("alert.unit_on_scene", conflict=True)
        if alert.unit_id == unit:
            return Refused("alert.already_assigned", conflict=True)
        if actor_key in OFFICERS and alert.unit_id is not None:
            return Refused("alert.taken", conflict=True)  # two officers racing: the first to accept has it
        dispatched = replace(alert, state=S.DISPATCHED, unit_id=unit)
        if alert.acknowledged_by is None and actor_key in COMMAND_CENTRE:
            # Staff who dispatch a new alert have looked at it: they hold it, so no second operator can acknowledge
            # it afterwards, and the time to acknowledge is recorded.
            return Allowed((E.ACKNOWLEDGED, E.DISPATCHED), replace(dispatched, acknowledged_by=actor))
        return Allowed((E.DISPATCHED,), dispatched)

    if command_key in {"en_route", "on_scene"}:
        refused = responder_refusal()
        if refused is not None:
            return refused
        if closed:
            return CLOSED
        if command_key == "en_route":
            if state is S.EN_ROUTE:
                return Refused("alert.already_en_route", conflict=True)  # e.g. two officers in one car
            return Allowed((E.EN_ROUTE,), replace(alert, state=S.EN_ROUTE)) if state in EN_ROUTE_FROM else INVALID
        if state is S.ON_SCENE:
            return Refused("alert.already_on_scene", conflict=True)
        return Allowed((E.ON_SCENE,), replace(alert, state=S.ON_SCENE)) if state in ON_SCENE_FROM else INVALID

    if command_key in RESOLVES:
        refused = responder_refusal()
        if refused is not None:
            return refused
        if closed:
            return CLOSED
        if state is S.NEW:
            return Refused("alert.not_acknowledged")  # someone must look at an alert before closing it
        outcome = RESOLVES[command_key]
        return Allowed((E.RESOLVED,), replace(alert, state=S.RESOLVED, outcome=outcome))

    if command_key in {"cancel", "duress_cancel"}:
        # Flow 8: only the resident who pressed, with a PIN the service has checked.
        if actor_key not in RESIDENTS:
            return NOT_ALLOWED
        if actor_key != "resident_owner":
            return NOT_YOURS
        if command_key == "cancel":
            if closed:
                return CLOSED
            return Allowed((E.CANCELLED,), replace(alert, state=S.CANCELLED))
        # A duress PIN is heard even after the alert was closed: the person may still be in danger.
        return Allowed((E.DURESS, E.ESCALATED), replace(alert, duress=True, priority=Priority.CRITICAL, escalated=True))

    if command_key in {"note", "blank_note"}:
        # Notes are the record: allowed on closed alerts too, for staff and the assigned unit's officer.
        refused = responder_refusal()
        if refused is not None:
            return refused
        if command_key == "blank_note":
            return Refused("alert.empty_note")
        return Allowed((E.NOTE,), alert)

    if command_key == "escalate":
        if actor_key not in ESCALATORS:
            return NOT_ALLOWED
        if closed:
            return CLOSED
        return Allowed((E.ESCALATED,), replace(alert, escalated=True))

    raise AssertionError(f"no rule for {command_key}")


TABLE = list(product(SNAPSHOTS, COMMANDS, ACTORS))


@pytest.mark.parametrize(
    ("state", "command_key", "actor_key"),
    TABLE,
    ids=[f"{state.value}-{command}-by-{actor}" for state, command, actor in TABLE],
)
def test_every_command_by_every_actor_in_every_state_does_what_the_brief_says(
    state: AlertState, command_key: str, actor_key: str
) -> None:
    alert, command, actor = SNAPSHOTS[state], COMMANDS[command_key], ACTORS[actor_key]
    expected = expected_outcome(state, command_key, actor_key)
    if isinstance(expected, Refused):
        error = refusal(alert, command, actor)
        assert (error.code, error.conflict) == (expected.code, expected.conflict), error.message
        assert error.message
        # A role that may never do this is a 403 at the API; everything else is not.
        assert isinstance(error, ActorNotAllowed) == (expected.code == "alert.actor_not_allowed")
        return
    events = decide(alert, command, actor)
    assert tuple(event.kind for event in events) == expected.events
    assert fold(alert, events, actor) == expected.after


def test_the_table_covers_every_state_and_outcome() -> None:
    assert set(SNAPSHOTS) == set(AlertState)
    assert set(RESOLVES.values()) == set(Outcome)
    assert {actor.kind for actor in ACTORS.values()} == set(ActorKind)
    assert len(TABLE) == 7 * 15 * 9


# --- Acknowledge: exactly one wins --------------------------------------------------------------------------------


def test_first_operator_to_acknowledge_holds_the_alert() -> None:
    operator = ACTORS["operator"]
    events = decide(SNAPSHOTS[S.NEW], Acknowledge(), operator)
    after = fold(SNAPSHOTS[S.NEW], events, operator)
    assert after.state is S.ACKNOWLEDGED
    assert after.acknowledged_by == operator


def test_second_acknowledge_is_a_conflict_that_names_who_holds_the_alert() -> None:
    first = ACTORS["operator"]
    held = fold(SNAPSHOTS[S.NEW], decide(SNAPSHOTS[S.NEW], Acknowledge(), first), first)
    error = refusal(held, Acknowledge(), ACTORS["supervisor"])
    assert error.code == "alert.already_acknowledged"
    assert error.conflict
    assert "Operator Dewi" in error.message


def test_acknowledging_an_alert_an_officer_already_accepted_records_the_operator_and_keeps_it_dispatched() -> None:
    officer = ACTORS["officer_unit_a"]
    accepted = fold(SNAPSHOTS[S.NEW], decide(SNAPSHOTS[S.NEW], COMMANDS["dispatch_unit_a"], officer), officer)
    assert accepted.acknowledged_by is None
    operator = ACTORS["operator"]
    after = fold(accepted, decide(accepted, Acknowledge(), operator), operator)
    assert (after.state, after.unit_id, after.acknowledged_by) == (S.DISPATCHED, UNIT_A, operator)


# --- Dispatch, offers and reassignment ----------------------------------------------------------------------------


@pytest.mark.parametrize("state", [S.NEW, S.ACKNOWLEDGED])
def test_officer_accepting_an_unassigned_alert_gets_it_for_their_own_unit(state: AlertState) -> None:
    officer = ACTORS["officer_unit_b"]
    events = decide(SNAPSHOTS[state], COMMANDS["dispatch_unit_b"], officer)
    assert [event.kind for event in events] == [E.DISPATCHED]
    assert events[0].data == {"unit_id": UNIT_B, "unit_name": UNIT_NAMES[UNIT_B], "previous_unit_id": None}
    after = fold(SNAPSHOTS[state], events, officer)
    assert (after.state, after.unit_id) == (S.DISPATCHED, UNIT_B)
    assert after.acknowledged_by == SNAPSHOTS[state].acknowledged_by  # accepting is not acknowledging


@pytest.mark.parametrize("state", [S.DISPATCHED, S.EN_ROUTE])
def test_officer_cannot_take_an_alert_another_unit_already_has(state: AlertState) -> None:
    error = refusal(SNAPSHOTS[state], COMMANDS["dispatch_unit_b"], ACTORS["officer_unit_b"])
    assert (error.code, error.conflict) == ("alert.taken", True)


def test_two_officers_racing_for_one_offer_exactly_one_wins() -> None:
    eko, fajar = ACTORS["officer_unit_a"], ACTORS["officer_unit_b"]
    alert = SNAPSHOTS[S.NEW]
    alert = fold(alert, decide(alert, COMMANDS["dispatch_unit_a"], eko), eko)
    error = refusal(alert, COMMANDS["dispatch_unit_b"], fajar)
    assert (error.code, error.conflict) == ("alert.taken", True)
    assert alert.unit_id == UNIT_A


def test_second_officer_of_the_same_unit_accepting_is_told_the_unit_already_has_it() -> None:
    partner = Actor(kind=ActorKind.OFFICER, id="204", name="Bripda Joko", unit_id=UNIT_A)
    error = refusal(SNAPSHOTS[S.DISPATCHED], COMMANDS["dispatch_unit_a"], partner)
    assert (error.code, error.conflict) == ("alert.already_assigned", True)
    assert UNIT_NAMES[UNIT_A] in error.message


@pytest.mark.parametrize("officer_key", ["officer_unit_a", "officer_no_unit"])
def test_officer_cannot_accept_on_behalf_of_a_unit_that_is_not_theirs(officer_key: str) -> None:
    error = refusal(SNAPSHOTS[S.NEW], COMMANDS["dispatch_unit_b"], ACTORS[officer_key])
    assert (error.code, error.conflict) == ("alert.not_your_unit", False)


@pytest.mark.parametrize("state", [S.DISPATCHED, S.EN_ROUTE])
def test_reassigning_to_another_unit_sends_the_alert_back_to_dispatched(state: AlertState) -> None:
    operator = ACTORS["operator"]
    events = decide(SNAPSHOTS[state], COMMANDS["dispatch_unit_b"], operator)
    assert [event.kind for event in events] == [E.DISPATCHED]
    assert events[0].data["previous_unit_id"] == UNIT_A
    after = fold(SNAPSHOTS[state], events, operator)
    assert (after.state, after.unit_id, after.acknowledged_by) == (S.DISPATCHED, UNIT_B, HOLDER)


@pytest.mark.parametrize("state", [S.DISPATCHED, S.EN_ROUTE])
def test_dispatching_the_unit_already_assigned_is_a_conflict_not_a_second_dispatch(state: AlertState) -> None:
    error = refusal(SNAPSHOTS[state], COMMANDS["dispatch_unit_a"], ACTORS["operator"])
    assert (error.code, error.conflict) == ("alert.already_assigned", True)


@pytest.mark.parametrize(
    ("command_key", "actor_key"),
    [("dispatch_unit_a", "operator"), ("dispatch_unit_b", "operator"), ("dispatch_unit_b", "officer_unit_b")],
)
def test_no_dispatch_once_a_unit_is_on_scene(command_key: str, actor_key: str) -> None:
    error = refusal(SNAPSHOTS[S.ON_SCENE], COMMANDS[command_key], ACTORS[actor_key])
    assert (error.code, error.conflict) == ("alert.unit_on_scene", True)


def test_operator_dispatching_a_new_alert_also_acknowledges_it_so_no_second_operator_can_claim_it() -> None:
    """Flow 4 and "exactly one wins": an operator who dispatches straight from the queue is handling the alert.

    Without an ACKNOWLEDGED event, a second operator can still acknowledge the alert afterwards and become its holder,
    the report has no time to acknowledge for the fastest-handled alerts, and a "not acknowledged in time" timer
    would escalate an alert that already has a unit on the way.
    """
    first, second = ACTORS["operator"], ACTORS["supervisor"]
    alert = SNAPSHOTS[S.NEW]
    events = decide(alert, COMMANDS["dispatch_unit_a"], first)
    alert = fold(alert, events, first)
    assert [event.kind for event in events] == [E.ACKNOWLEDGED, E.DISPATCHED]
    assert (alert.state, alert.unit_id, alert.acknowledged_by) == (S.DISPATCHED, UNIT_A, first)
    error = refusal(alert, Acknowledge(), second)
    assert (error.code, error.conflict) == ("alert.already_acknowledged", True)


# --- Response steps ---------------------------------------------------------------------------------------------


def test_assigned_officer_walks_the_alert_from_dispatched_to_resolved() -> None:
    officer = ACTORS["officer_unit_a"]
    alert = SNAPSHOTS[S.DISPATCHED]
    seen = []
    for command in (MarkEnRoute(), MarkOnScene(), Resolve(outcome=Outcome.GENUINE, report="Pelaku diamankan.")):
        alert = fold(alert, decide(alert, command, officer), officer)
        seen.append(alert.state)
    assert seen == [S.EN_ROUTE, S.ON_SCENE, S.RESOLVED]
    assert alert.outcome is Outcome.GENUINE


def test_officer_may_go_straight_to_on_scene_when_already_nearby() -> None:
    officer = ACTORS["officer_unit_a"]
    alert = fold(SNAPSHOTS[S.DISPATCHED], decide(SNAPSHOTS[S.DISPATCHED], MarkOnScene(), officer), officer)
    assert alert.state is S.ON_SCENE


@pytest.mark.parametrize("command", [MarkEnRoute(), MarkOnScene(), Resolve(outcome=Outcome.GENUINE)])
def test_officer_of_another_unit_cannot_report_on_an_alert_they_do_not_hold(command: Command) -> None:
    error = refusal(SNAPSHOTS[S.DISPATCHED], command, ACTORS["officer_unit_b"])
    assert (error.code, error.conflict) == ("alert.not_assigned_to_you", False)


@pytest.mark.parametrize("actor_key", sorted(COMMAND_CENTRE | {"officer_unit_a"}))
def test_an_unacknowledged_alert_cannot_be_resolved(actor_key: str) -> None:
    error = refusal(SNAPSHOTS[S.NEW], Resolve(outcome=Outcome.FALSE_ALARM), ACTORS[actor_key])
    expected_code = "alert.not_acknowledged" if actor_key in COMMAND_CENTRE else "alert.not_assigned_to_you"
    assert (error.code, error.conflict) == (expected_code, False)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_an_acknowledged_alert_closes_with_any_outcome_and_keeps_the_report(outcome: Outcome) -> None:
    operator = ACTORS["operator"]
    events = decide(SNAPSHOTS[S.ACKNOWLEDGED], Resolve(outcome=outcome, report="Ditelepon balik."), operator)
    assert [(event.kind, event.data) for event in events] == [
        (E.RESOLVED, {"outcome": outcome.value, "report": "Ditelepon balik."})
    ]
    after = fold(SNAPSHOTS[S.ACKNOWLEDGED], events, operator)
    assert (after.state, after.outcome) == (S.RESOLVED, outcome)


# --- Cancel and duress ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [Cancel(), DuressCancel()])
def test_a_resident_cannot_cancel_another_residents_alert(command: Command) -> None:
    error = refusal(SNAPSHOTS[S.DISPATCHED], command, ACTORS["resident_other"])
    assert (error.code, error.conflict) == ("alert.not_yours", False)


@pytest.mark.parametrize("command", [Acknowledge(), Resolve(outcome=Outcome.PRANK), AddNote(text="halo")])
def test_a_resident_cannot_act_as_staff_even_on_their_own_alert(command: Command) -> None:
    error = refusal(SNAPSHOTS[S.NEW], command, ACTORS["resident_owner"])
    assert isinstance(error, ActorNotAllowed)
    assert error.code == "alert.actor_not_allowed"


@pytest.mark.parametrize("state", sorted(ACTIVE_STATES))
def test_cancel_with_the_pin_closes_the_alert(state: AlertState) -> None:
    owner = ACTORS["resident_owner"]
    events = decide(SNAPSHOTS[state], Cancel(), owner)
    assert [event.kind for event in events] == [E.CANCELLED]
    after = fold(SNAPSHOTS[state], events, owner)
    assert after.state is S.CANCELLED
    assert after.outcome is None


@pytest.mark.parametrize("state", sorted(ACTIVE_STATES))
def test_duress_pin_keeps_the_alert_open_and_raises_it_to_critical_and_escalated(state: AlertState) -> None:
    owner = ACTORS["resident_owner"]
    events = decide(SNAPSHOTS[state], DuressCancel(), owner)
    assert [event.kind for event in events] == [E.DURESS, E.ESCALATED]
    assert events[1].data == {"reason": "duress"}
    after = fold(SNAPSHOTS[state], events, owner)
    assert after == replace(SNAPSHOTS[state], duress=True, priority=Priority.CRITICAL, escalated=True)


def _under_duress(state: AlertState) -> AlertSnapshot:
    owner = ACTORS["resident_owner"]
    return fold(SNAPSHOTS[state], decide(SNAPSHOTS[state], DuressCancel(), owner), owner)


@pytest.mark.parametrize("state", sorted(ACTIVE_STATES))
def test_cancel_after_duress_is_recorded_as_ignored_and_the_alert_stays_open(state: AlertState) -> None:
    owner = ACTORS["resident_owner"]
    alert = _under_duress(state)
    events = decide(alert, Cancel(), owner)
    assert [(event.kind, event.data) for event in events] == [(E.CANCEL_IGNORED, {"reason": "duress"})]
    after = fold(alert, events, owner)
    assert after == alert
    assert after.state is state


def test_a_duress_alert_can_still_be_handled_by_staff_to_the_end() -> None:
    operator, officer = ACTORS["operator"], ACTORS["officer_unit_a"]
    alert = _under_duress(S.NEW)
    alert = fold(alert, decide(alert, Acknowledge(), operator), operator)
    alert = fold(alert, decide(alert, COMMANDS["dispatch_unit_a"], operator), operator)
    alert = fold(alert, decide(alert, MarkOnScene(), officer), officer)
    alert = fold(alert, decide(alert, Resolve(outcome=Outcome.GENUINE, report="Korban aman."), officer), officer)
    assert (alert.state, alert.duress, alert.priority) == (S.RESOLVED, True, Priority.CRITICAL)


@pytest.mark.parametrize("state", list(AlertState))
def test_resident_sees_cancelled_after_a_duress_pin_whatever_the_real_state(state: AlertState) -> None:
    assert resident_view_state(state, duress=True) is S.CANCELLED


@pytest.mark.parametrize("state", list(AlertState))
def test_resident_sees_the_real_state_without_duress(state: AlertState) -> None:
    assert resident_view_state(state, duress=False) is state


# --- Timers ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(AlertState))
def test_a_timer_running_out_escalates_by_the_timer_rules(state: AlertState) -> None:
    alert = SNAPSHOTS[state]
    assert decide(alert, AckTimeout(), SYSTEM) == on_ack_timeout(alert)
    assert decide(alert, DispatchTimeout(), SYSTEM) == on_dispatch_timeout(alert)


@pytest.mark.parametrize("timer", [AckTimeout(), DispatchTimeout()])
@pytest.mark.parametrize("actor_key", sorted(set(ACTORS) - {"system"}))
def test_only_siaga_runs_out_an_alerts_timers(timer: Command, actor_key: str) -> None:
    with pytest.raises(ActorNotAllowed):
        decide(SNAPSHOTS[S.NEW], timer, ACTORS[actor_key])


# --- Closed alerts ------------------------------------------------------------------------------------------------

# Who could do each command on an open alert, so the refusal on a closed one is about it being closed.
ENTITLED: dict[str, str] = {
    "acknowledge": "operator",
    "dispatch_unit_a": "officer_unit_a",
    "dispatch_unit_b": "operator",
    "en_route": "operator",
    "on_scene": "admin",
    **dict.fromkeys(RESOLVES, "supervisor"),
    "cancel": "resident_owner",
    "escalate": "system",
}


@pytest.mark.parametrize(
    ("state", "command_key"),
    [(state, key) for state in sorted(CLOSED_STATES) for key in ENTITLED],
)
def test_closed_alerts_refuse_everything_but_notes_and_duress(state: AlertState, command_key: str) -> None:
    error = refusal(SNAPSHOTS[state], COMMANDS[command_key], ACTORS[ENTITLED[command_key]])
    assert (error.code, error.conflict) == ("alert.closed", True)


def test_every_command_except_notes_and_duress_is_checked_on_closed_alerts() -> None:
    assert set(ENTITLED) == set(COMMANDS) - {"note", "blank_note", "duress_cancel"}


@pytest.mark.parametrize("state", sorted(CLOSED_STATES))
def test_a_duress_pin_on_a_closed_alert_still_escalates_it(state: AlertState) -> None:
    events = decide(SNAPSHOTS[state], DuressCancel(), ACTORS["resident_owner"])
    assert [event.kind for event in events] == [E.DURESS, E.ESCALATED]


@pytest.mark.parametrize("state", sorted(CLOSED_STATES))
@pytest.mark.parametrize("actor_key", ["operator", "supervisor", "admin"])
def test_staff_can_add_notes_to_closed_alerts(state: AlertState, actor_key: str) -> None:
    actor = ACTORS[actor_key]
    events = decide(SNAPSHOTS[state], AddNote(text="Follow-up: resident visited next day."), actor)
    assert [(event.kind, event.data) for event in events] == [
        (E.NOTE, {"text": "Follow-up: resident visited next day."})
    ]
    assert fold(SNAPSHOTS[state], events, actor) == SNAPSHOTS[state]


def test_assigned_officer_can_add_a_note_after_resolving() -> None:
    events = decide(SNAPSHOTS[S.RESOLVED], AddNote(text="Laporan lengkap menyusul."), ACTORS["officer_unit_a"])
    assert [event.kind for event in events] == [E.NOTE]


def test_note_text_is_stored_without_surrounding_whitespace() -> None:
    events = decide(SNAPSHOTS[S.ON_SCENE], COMMANDS["note"], ACTORS["operator"])
    assert events == [DomainEvent(E.NOTE, {"text": "Called back, resident is safe at the kiosk."})]


def test_blank_note_is_refused_with_a_clear_reason() -> None:
    error = refusal(SNAPSHOTS[S.ON_SCENE], COMMANDS["blank_note"], ACTORS["operator"])
    assert (error.code, error.conflict) == ("alert.empty_note", False)


# --- Event sourcing: the state is the fold of the events, and time is not in the rules -------------------------


def test_a_new_alert_starts_in_new_and_the_created_event_puts_it_there() -> None:
    assert AlertSnapshot().state is S.NEW
    created = evolve(AlertSnapshot(resident_id=RESIDENT_ID), DomainEvent(E.CREATED), ACTORS["resident_owner"])
    assert created == SNAPSHOTS[S.NEW]


def test_flag_and_note_events_change_nothing_the_rules_look_at() -> None:
    for state, alert in SNAPSHOTS.items():
        for kind in (E.FLAGGED, E.NOTE, E.CANCEL_IGNORED):
            assert evolve(alert, DomainEvent(kind), SYSTEM) == alert, (state, kind)


def _contains_time(value: object) -> bool:
    if isinstance(value, datetime | date | time | timedelta):
        return True
    if isinstance(value, dict):
        return any(_contains_time(item) for item in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_contains_time(item) for item in value)
    return False


ALLOWED_CASES = [case for case in TABLE if isinstance(expected_outcome(*case), Allowed)]


@pytest.mark.parametrize(
    ("state", "command_key", "actor_key"),
    ALLOWED_CASES,
    ids=[f"{state.value}-{command}-by-{actor}" for state, command, actor in ALLOWED_CASES],
)
def test_the_rules_carry_no_clock_so_the_same_command_always_gives_the_same_events(
    state: AlertState, command_key: str, actor_key: str
) -> None:
    alert, command, actor = SNAPSHOTS[state], COMMANDS[command_key], ACTORS[actor_key]
    first, second = decide(alert, command, actor), decide(alert, command, actor)
    assert first == second
    assert not any(_contains_time(event.data) for event in first)


def test_the_alert_snapshot_has_no_timestamps() -> None:
    hints = typing.get_type_hints(AlertSnapshot)
    timed = [f.name for f in fields(AlertSnapshot) if "datetime" in str(hints[f.name]) or f.name.endswith("_at")]
    assert timed == []


# --- Random sequences never reach an impossible alert -------------------------------------------------------------

EXTRA_UNIT = 33
RANDOM_ACTORS: list[Actor] = [
    *ACTORS.values(),
    Actor(kind=ActorKind.OFFICER, id="205", name="Bripda Joko", unit_id=UNIT_A),
    Actor(kind=ActorKind.OFFICER, id="206", name="Brigpol Kiki", unit_id=EXTRA_UNIT),
]
RANDOM_COMMANDS: list[Command] = [
    *COMMANDS.values(),
    Dispatch(unit_id=EXTRA_UNIT, unit_name="Patroli Cibeunying 3"),
    Escalate(reason="supervisor asked"),
]
CONFLICT_CODES = {
    "alert.closed",
    "alert.already_acknowledged",
    "alert.unit_on_scene",
    "alert.already_assigned",
    "alert.taken",
    "alert.already_en_route",
    "alert.already_on_scene",
}
REFUSAL_CODES = CONFLICT_CODES | {
    "alert.actor_not_allowed",
    "alert.not_yours",
    "alert.not_your_unit",
    "alert.not_assigned_to_you",
    "alert.invalid_transition",
    "alert.not_acknowledged",
    "alert.empty_note",
}
# Every state change the brief allows (staying in the same state is always allowed for an open alert).
STATE_CHANGES = {
    (S.NEW, S.ACKNOWLEDGED),
    (S.NEW, S.DISPATCHED),
    (S.NEW, S.CANCELLED),
    (S.ACKNOWLEDGED, S.DISPATCHED),
    (S.ACKNOWLEDGED, S.RESOLVED),
    (S.ACKNOWLEDGED, S.CANCELLED),
    (S.DISPATCHED, S.EN_ROUTE),
    (S.DISPATCHED, S.ON_SCENE),
    (S.DISPATCHED, S.RESOLVED),
    (S.DISPATCHED, S.CANCELLED),
    (S.EN_ROUTE, S.DISPATCHED),
    (S.EN_ROUTE, S.ON_SCENE),
    (S.EN_ROUTE, S.RESOLVED),
    (S.EN_ROUTE, S.CANCELLED),
    (S.ON_SCENE, S.RESOLVED),
    (S.ON_SCENE, S.CANCELLED),
}


class AlertLifecycle(RuleBasedStateMachine):
    """Anyone does anything to one alert, in any order; the alert never becomes something the brief forbids."""

    def __init__(self) -> None:
        super().__init__()
        self.alert = SNAPSHOTS[S.NEW]

    @rule(command=st.sampled_from(RANDOM_COMMANDS), actor=st.sampled_from(RANDOM_ACTORS))
    def act(self, command: Command, actor: Actor) -> None:
        before = self.alert
        refused: TransitionError | None = None
        try:
            events = decide(before, command, actor)
        except TransitionError as error:
            refused = error
        if refused is not None:
            assert refused.code in REFUSAL_CODES
            assert refused.conflict == (refused.code in CONFLICT_CODES)
            return
        assert events
        after = fold(before, events, actor)
        if before.state in CLOSED_STATES:
            # Only a duress PIN still marks a closed alert (flagged and escalated); nothing reopens it.
            marked = replace(before, duress=True, priority=Priority.CRITICAL, escalated=True)
            assert after in (before, marked), "a closed alert changed"
        assert after.state == before.state or (before.state, after.state) in STATE_CHANGES
        if before.acknowledged_by is not None:
            assert after.acknowledged_by == before.acknowledged_by, "the acknowledging operator changed"
        if before.duress:
            assert after.duress
            # A duress PIN may mark an alert the resident had already cancelled; nothing cancels one under duress.
            assert after.state is not S.CANCELLED or before.state is S.CANCELLED, "an alert under duress was cancelled"
        assert after.escalated or not before.escalated
        assert after.resident_id == before.resident_id
        self.alert = after

    @invariant()
    def a_unit_is_assigned_exactly_while_one_is_responding(self) -> None:
        if self.alert.state in {S.DISPATCHED, S.EN_ROUTE, S.ON_SCENE}:
            assert self.alert.unit_id is not None
        if self.alert.state in {S.NEW, S.ACKNOWLEDGED}:
            assert self.alert.unit_id is None

    @invariant()
    def an_outcome_is_set_exactly_when_resolved(self) -> None:
        assert (self.alert.outcome is not None) == (self.alert.state is S.RESOLVED)

    @invariant()
    def an_acknowledged_alert_names_who_acknowledged_it(self) -> None:
        if self.alert.state is S.ACKNOWLEDGED:
            assert self.alert.acknowledged_by is not None
            assert self.alert.acknowledged_by.kind in {ActorKind.OPERATOR, ActorKind.SUPERVISOR, ActorKind.ADMIN}

    @invariant()
    def duress_means_critical_escalated_and_cancelled_on_the_phone(self) -> None:
        if self.alert.duress:
            assert self.alert.priority is Priority.CRITICAL
            assert self.alert.escalated
            assert resident_view_state(self.alert.state, duress=True) is S.CANCELLED


# A handful of states and commands: 120 runs of 30 steps each visit every state many times over.
AlertLifecycle.TestCase.settings = settings(max_examples=120, stateful_step_count=30, deadline=None, database=None)
TestRandomCommandSequencesNeverBreakTheAlertRules = AlertLifecycle.TestCase


def test_the_command_centre_messages_a_resident_on_an_open_alert_but_never_after_a_duress_pin() -> None:
    text = "  Petugas menuju wilayah Anda; tetap di tempat aman  "
    for state in ACTIVE_STATES:
        events = decide(SNAPSHOTS[state], MessageResident(text), ACTORS["operator"])
        assert events == [DomainEvent(E.RESIDENT_MESSAGED, {"text": text.strip()})]
        assert evolve(SNAPSHOTS[state], events[0], ACTORS["operator"]) == SNAPSHOTS[state]  # nothing else changes
    for state in CLOSED_STATES:
        assert refusal(SNAPSHOTS[state], MessageResident(text), ACTORS["supervisor"]).code == "alert.closed"
    coerced = replace(SNAPSHOTS[S.ACKNOWLEDGED], duress=True)
    assert refusal(coerced, MessageResident(text), ACTORS["operator"]).code == "alert.duress_silent"
    assert refusal(SNAPSHOTS[S.NEW], MessageResident(" "), ACTORS["operator"]).code == "alert.empty_message"
    for who in ("resident_owner", "officer_unit_a"):
        assert isinstance(refusal(SNAPSHOTS[S.NEW], MessageResident(text), ACTORS[who]), ActorNotAllowed)


def test_the_resident_replies_while_the_alert_is_open_and_for_a_while_after_it_was_resolved() -> None:
    text = "  Saya di lantai 2, pintu terkunci  "
    owner = ACTORS["resident_owner"]
    for state in ACTIVE_STATES:
        events = decide(SNAPSHOTS[state], ReplyToCentre(text), owner)
        assert events == [DomainEvent(E.RESIDENT_REPLIED, {"text": text.strip()})]
        assert evolve(SNAPSHOTS[state], events[0], owner) == SNAPSHOTS[state]  # nothing else changes
        assert replies_close_at(state, duress=False, closed_at=None) is None
    just_before = REPLY_AFTER_RESOLVED - timedelta(seconds=1)
    resolved = SNAPSHOTS[S.RESOLVED]
    assert decide(resolved, ReplyToCentre(text, just_before), owner)[0].kind is E.RESIDENT_REPLIED
    late = refusal(resolved, ReplyToCentre(text, REPLY_AFTER_RESOLVED), owner)
    assert (late.code, late.details) == ("alert.reply_window_over", {"minutes": 30})
    closed_at = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    assert replies_close_at(S.RESOLVED, duress=False, closed_at=closed_at) == closed_at + REPLY_AFTER_RESOLVED
    # A cancelled alert takes none; one with a duress PIN is refused in the very same words, whatever staff do.
    plain = refusal(SNAPSHOTS[S.CANCELLED], ReplyToCentre(text, timedelta(seconds=5)), owner)
    assert plain.code == "alert.closed"
    assert replies_close_at(S.CANCELLED, duress=False, closed_at=closed_at) == closed_at
    for state in ACTIVE_STATES | {S.RESOLVED}:
        coerced = replace(SNAPSHOTS[state], duress=True)
        disguised = refusal(coerced, ReplyToCentre(text, None if state in ACTIVE_STATES else just_before), owner)
        assert (type(disguised), disguised.code, disguised.message) == (type(plain), plain.code, plain.message)
        assert replies_close_at(state, duress=True, closed_at=closed_at) == closed_at
    assert refusal(SNAPSHOTS[S.NEW], ReplyToCentre(" "), owner).code == "alert.empty_message"
    assert refusal(SNAPSHOTS[S.NEW], ReplyToCentre(text), ACTORS["resident_other"]).code == "alert.not_yours"
    for who in ("operator", "officer_unit_a"):
        assert isinstance(refusal(SNAPSHOTS[S.NEW], ReplyToCentre(text), ACTORS[who]), ActorNotAllowed)


def test_a_resident_may_send_a_few_replies_a_minute_counted_by_arrival() -> None:
    now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    assert reply_wait_s([], now) is None
    recent = [now - timedelta(seconds=s) for s in range(REPLIES_PER_MINUTE - 1)]
    assert reply_wait_s(recent, now) is None
    full = [*recent, now - timedelta(seconds=50)]
    assert reply_wait_s(full, now) == 10  # the oldest of the last ten leaves the minute in 10 s
    assert reply_wait_s([*recent, now - timedelta(seconds=61)], now) is None
