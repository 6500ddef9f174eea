"""The priority and incident rules of siaga.alerts.domain, alone: who may set an alert's priority and when, that a
duress alert stays critical, and that a drill and a real SOS are never one incident."""

from __future__ import annotations

from dataclasses import replace

import pytest

from siaga.accounts.domain import SYSTEM, Actor, ActorKind
from siaga.alerts.domain import (
    AlertSnapshot,
    AlertState,
    DomainEvent,
    EventKind,
    Link,
    Priority,
    SetPriority,
    TransitionError,
    Unlink,
    decide,
    evolve,
    mixes_exercise_and_real,
)

OPERATOR = Actor(ActorKind.OPERATOR, "7", "Operator Ani")
OFFICER = Actor(ActorKind.OFFICER, "8", "Bripda Budi", unit_id=3)
RESIDENT = Actor(ActorKind.RESIDENT, "r1", "Siti")
OPEN = AlertSnapshot(state=AlertState.ACKNOWLEDGED, resident_id="r1")


def test_staff_raise_the_priority_with_their_reason_and_the_alert_folds_into_it() -> None:
    events = decide(OPEN, SetPriority(Priority.HIGH, "  suara tembakan "), OPERATOR)
    assert events == [
        DomainEvent(EventKind.PRIORITY_CHANGED, {"from": "normal", "to": "high", "reason": "suara tembakan"})
    ]
    after = evolve(OPEN, events[0], OPERATOR)
    assert (after.priority, after.state) == (Priority.HIGH, AlertState.ACKNOWLEDGED)
    assert decide(after, SetPriority(Priority.HIGH, "lagi"), OPERATOR) == []  # a retry changes nothing


@pytest.mark.parametrize("state", [AlertState.RESOLVED, AlertState.CANCELLED])
def test_a_closed_alert_keeps_its_priority(state: AlertState) -> None:
    with pytest.raises(TransitionError) as refused:
        decide(replace(OPEN, state=state), SetPriority(Priority.CRITICAL, "terlambat"), OPERATOR)
    assert (refused.value.code, refused.value.conflict) == ("alert.closed", True)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_priority_change_needs_a_reason(reason: str) -> None:
    with pytest.raises(TransitionError) as refused:
        decide(OPEN, SetPriority(Priority.HIGH, reason), OPERATOR)
    assert (refused.value.code, refused.value.conflict) == ("alert.priority_reason_required", False)


@pytest.mark.parametrize("actor", [OFFICER, RESIDENT, SYSTEM])
def test_only_command_centre_staff_set_the_priority(actor: Actor) -> None:
    with pytest.raises(TransitionError) as refused:
        decide(OPEN, SetPriority(Priority.HIGH, "alasan"), actor)
    assert refused.value.code == "alert.actor_not_allowed"


def test_a_duress_alert_stays_critical_and_may_only_be_set_critical_again() -> None:
    duress = evolve(OPEN, DomainEvent(EventKind.DURESS), RESIDENT)
    assert duress.priority is Priority.CRITICAL
    for lower in (Priority.HIGH, Priority.NORMAL):
        with pytest.raises(TransitionError) as refused:
            decide(duress, SetPriority(lower, "mungkin tidak sengaja"), OPERATOR)
        assert (refused.value.code, refused.value.conflict) == ("alert.duress_stays_critical", True)
    assert decide(duress, SetPriority(Priority.CRITICAL, "tetap"), OPERATOR) == []


@pytest.mark.parametrize("state", list(AlertState))
def test_linking_and_splitting_leave_every_alert_as_it_was(state: AlertState) -> None:
    alert = replace(OPEN, state=state, priority=Priority.HIGH)
    linked = decide(alert, Link("i1", ("a", "b"), ("a", "b", "c"), "Perkelahian"), OPERATOR)
    assert linked == [
        DomainEvent(
            EventKind.LINKED,
            {"incident_id": "i1", "title": "Perkelahian", "added": ["a", "b"], "alert_ids": ["a", "b", "c"]},
        )
    ]
    unlinked = decide(alert, Unlink("i1", ("c",), ("a", "b")), OPERATOR)
    assert unlinked == [
        DomainEvent(EventKind.UNLINKED, {"incident_id": "i1", "removed": ["c"], "alert_ids": ["a", "b"]})
    ]
    assert evolve(evolve(alert, linked[0], OPERATOR), unlinked[0], OPERATOR) == alert
    with pytest.raises(TransitionError):
        decide(alert, Link("i1", ("a",), ("a", "b")), OFFICER)


def test_a_drill_and_a_real_sos_are_never_one_incident() -> None:
    assert mixes_exercise_and_real([True, False, True])
    assert not mixes_exercise_and_real([False, False])
    assert not mixes_exercise_and_real([True, True])
    assert not mixes_exercise_and_real([])
