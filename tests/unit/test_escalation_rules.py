"""Unit tests for who holds an alert and what the timers and a hand-back do about it (issue 12): pure rules in
siaga.alerts.domain and siaga.responders.domain, no database."""

from __future__ import annotations

import json
import uuid
from itertools import product
from pathlib import Path

import pytest

from siaga.accounts.domain import Actor, ActorKind
from siaga.alerts.domain import (
    ACTIVE_STATES,
    CLOSED_STATES,
    AlertSnapshot,
    AlertState,
    DomainEvent,
    EscalationReason,
    EventKind,
    HandBack,
    TransitionError,
    decide,
    evolve,
    on_ack_timeout,
    on_dispatch_timeout,
)
from siaga.alerts.standing import Responsible, awaits_operator, responsible
from siaga.responders.domain import StillResponding, alerts_to_hand_back

I18N = Path(__file__).resolve().parents[2] / "src" / "siaga" / "web" / "static" / "i18n"
UNIT = 7
OPERATOR = Actor(kind=ActorKind.OPERATOR, id="11", name="Operator Budi")
OFFICER = Actor(kind=ActorKind.OFFICER, id="21", name="Bripka Asep", unit_id=UNIT)
STRANGER = Actor(kind=ActorKind.OFFICER, id="22", name="Briptu Dodi", unit_id=UNIT + 1)
RESIDENT = Actor(kind=ActorKind.RESIDENT, id="r-1", name="Siti")
RESPONDING = (AlertState.DISPATCHED, AlertState.EN_ROUTE, AlertState.ON_SCENE)


def alert(state: AlertState, *, operator: bool, unit: bool, escalated: bool = False) -> AlertSnapshot:
    return AlertSnapshot(
        state=state,
        resident_id=RESIDENT.id,
        acknowledged_by=OPERATOR if operator else None,
        unit_id=UNIT if unit else None,
        escalated=escalated,
    )


def fold(snapshot: AlertSnapshot, events: list[DomainEvent], actor: Actor) -> AlertSnapshot:
    for event in events:
        snapshot = evolve(snapshot, event, actor)
    return snapshot


# T1 and T2 ----------------------------------------------------------------------------------------------------------


def test_t1_escalates_an_alert_nobody_took() -> None:
    events = on_ack_timeout(alert(AlertState.NEW, operator=False, unit=False))
    assert [(e.kind, e.data) for e in events] == [(EventKind.ESCALATED, {"reason": "not_acknowledged"})]


@pytest.mark.parametrize(("state", "operator"), [(s, o) for s in RESPONDING for o in (False, True)])
def test_t1_does_not_escalate_an_alert_an_officer_accepted_whether_or_not_an_operator_saw_it(
    state: AlertState, operator: bool
) -> None:
    assert on_ack_timeout(alert(state, operator=operator, unit=True)) == []


def test_t1_does_not_escalate_an_acknowledged_alert() -> None:
    assert on_ack_timeout(alert(AlertState.ACKNOWLEDGED, operator=True, unit=False)) == []


@pytest.mark.parametrize("state", sorted(CLOSED_STATES))
def test_no_timer_escalates_a_closed_alert(state: AlertState) -> None:
    assert on_ack_timeout(alert(state, operator=False, unit=False)) == []
    assert on_dispatch_timeout(alert(state, operator=True, unit=False)) == []


def test_t2_escalates_an_acknowledged_alert_without_a_unit_but_not_one_with_a_unit() -> None:
    events = on_dispatch_timeout(alert(AlertState.ACKNOWLEDGED, operator=True, unit=False))
    assert [(e.kind, e.data["reason"]) for e in events] == [(EventKind.ESCALATED, "no_officer")]
    assert on_dispatch_timeout(alert(AlertState.DISPATCHED, operator=False, unit=True)) == []


# Not yet seen by an operator ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "acknowledged", "has_unit"), list(product(AlertState, (False, True), (False, True))))
def test_only_an_open_alert_an_officer_holds_and_no_operator_acknowledged_awaits_an_operator(
    state: AlertState, acknowledged: bool, has_unit: bool
) -> None:
    expected = state in ACTIVE_STATES and has_unit and not acknowledged
    assert awaits_operator(state, acknowledged=acknowledged, has_unit=has_unit) is expected


# Hand-back ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", RESPONDING)
def test_a_unit_handing_back_an_alert_no_operator_holds_returns_it_to_new_and_escalates_it(state: AlertState) -> None:
    before = alert(state, operator=False, unit=True)
    events = decide(before, HandBack(reason="off_duty"), OFFICER)
    assert [(e.kind, e.data) for e in events] == [
        (EventKind.HANDED_BACK, {"unit_id": UNIT, "reason": "off_duty"}),
        (EventKind.ESCALATED, {"reason": "handed_back"}),
    ]
    after = fold(before, events, OFFICER)
    assert (after.state, after.unit_id, after.escalated) == (AlertState.NEW, None, True)
    assert responsible(after, ack_timer_running=False) is Responsible.ESCALATION


@pytest.mark.parametrize("state", RESPONDING)
def test_a_unit_handing_back_an_alert_an_operator_holds_returns_it_to_that_operator(state: AlertState) -> None:
    before = alert(state, operator=True, unit=True)
    events = decide(before, HandBack(reason="off_duty"), OFFICER)
    assert [e.kind for e in events] == [EventKind.HANDED_BACK]
    after = fold(before, events, OFFICER)
    assert (after.state, after.unit_id, after.acknowledged_by) == (AlertState.ACKNOWLEDGED, None, OPERATOR)
    assert responsible(after, ack_timer_running=False) is Responsible.OPERATOR


def test_only_the_assigned_units_officer_or_staff_can_hand_an_alert_back() -> None:
    held = alert(AlertState.DISPATCHED, operator=True, unit=True)
    with pytest.raises(TransitionError) as caught:
        decide(held, HandBack(), STRANGER)
    assert caught.value.code == "alert.not_assigned_to_you"
    with pytest.raises(TransitionError) as caught:
        decide(held, HandBack(), RESIDENT)
    assert caught.value.code == "alert.actor_not_allowed"
    assert [e.kind for e in decide(held, HandBack(reason="unit_broke_down"), OPERATOR)] == [EventKind.HANDED_BACK]


def test_nothing_to_hand_back_without_a_unit_or_on_a_closed_alert() -> None:
    with pytest.raises(TransitionError) as caught:
        decide(alert(AlertState.ACKNOWLEDGED, operator=True, unit=False), HandBack(), OPERATOR)
    assert caught.value.code == "alert.no_unit"
    with pytest.raises(TransitionError) as caught:
        decide(alert(AlertState.RESOLVED, operator=True, unit=True), HandBack(), OFFICER)
    assert caught.value.code == "alert.closed"


# Somebody is always responsible ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snapshot", "timer", "expected"),
    [
        (alert(AlertState.NEW, operator=False, unit=False), True, Responsible.AGENCY),
        (alert(AlertState.NEW, operator=False, unit=False, escalated=True), False, Responsible.ESCALATION),
        (alert(AlertState.ACKNOWLEDGED, operator=True, unit=False), False, Responsible.OPERATOR),
        (alert(AlertState.DISPATCHED, operator=False, unit=True), False, Responsible.UNIT),
        (alert(AlertState.NEW, operator=False, unit=False), False, None),  # what the rules above never leave
    ],
)
def test_who_is_responsible_for_an_open_alert(
    snapshot: AlertSnapshot, timer: bool, expected: Responsible | None
) -> None:
    assert responsible(snapshot, ack_timer_running=timer) is expected


def test_t1_running_out_on_an_alert_nobody_took_leaves_the_escalation_responsible() -> None:
    before = alert(AlertState.NEW, operator=False, unit=False)
    after = fold(before, on_ack_timeout(before), OPERATOR)
    assert responsible(after, ack_timer_running=False) is Responsible.ESCALATION


# Leaving duty ---------------------------------------------------------------------------------------------------------

ALERTS = [uuid.uuid4(), uuid.uuid4()]


def test_the_last_officer_of_a_responding_unit_is_refused_without_a_hand_back() -> None:
    with pytest.raises(StillResponding) as caught:
        alerts_to_hand_back(ALERTS, colleagues_on_duty=False, hand_back=False)
    assert caught.value.alert_ids == ALERTS


def test_the_last_officer_of_a_responding_unit_hands_back_every_alert_when_asked() -> None:
    assert alerts_to_hand_back(ALERTS, colleagues_on_duty=False, hand_back=True) == ALERTS


@pytest.mark.parametrize("hand_back", [False, True])
def test_an_officer_whose_colleague_stays_on_duty_or_whose_unit_is_free_just_leaves(hand_back: bool) -> None:
    assert alerts_to_hand_back(ALERTS, colleagues_on_duty=True, hand_back=hand_back) == []
    assert alerts_to_hand_back([], colleagues_on_duty=False, hand_back=hand_back) == []


# Every reason Siaga escalates for is in the operator's language ------------------------------------------------------


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_escalation_reason_has_words_in_the_console_catalogue(lang: str) -> None:
    catalogue = json.loads((I18N / f"console.{lang}.json").read_text(encoding="utf-8"))
    missing = [r.value for r in EscalationReason if f"console.reason.{r.value}" not in catalogue]
    assert missing == []
    known = (I18N.parent / "console" / "timeline.js").read_text(encoding="utf-8")
    assert all(f'"{r.value}"' in known for r in EscalationReason), "the console shows a reason code untranslated"
