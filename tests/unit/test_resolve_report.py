"""A resolved alert says what happened (issue 12): resolving needs an outcome and a short report. A blank, whitespace
or one- or two-character report is refused (alert.report_required, a 422 for the reader), the report is kept trimmed,
and an officer's SMS "4 <code>" with no words is recorded as resolved by SMS rather than refused (pure: no database)."""

from __future__ import annotations

import pytest

from siaga.accounts.domain import Actor, ActorKind
from siaga.alerts.domain import (
    REPORT_MIN_CHARS,
    AlertSnapshot,
    AlertState,
    DomainEvent,
    EventKind,
    Outcome,
    Resolve,
    TransitionError,
    decide,
)
from siaga.app import http_status
from siaga.sms.officers import SMS_REPORT, Reply

OPERATOR = Actor(kind=ActorKind.OPERATOR, id="102", name="Operator Dewi")
OFFICER = Actor(kind=ActorKind.OFFICER, id="201", name="Bripka Eko", unit_id=7)
ON_SCENE = AlertSnapshot(state=AlertState.ON_SCENE, resident_id="r1", acknowledged_by=OPERATOR, unit_id=7)


@pytest.mark.parametrize("report", ["", "   ", "\n\t", "ok", " x  "])
@pytest.mark.parametrize("actor", [OPERATOR, OFFICER], ids=["operator", "officer"])
def test_a_resolve_without_a_real_report_is_refused_as_bad_input(report: str, actor: Actor) -> None:
    with pytest.raises(TransitionError) as caught:
        decide(ON_SCENE, Resolve(Outcome.GENUINE, report), actor)
    assert caught.value.code == "alert.report_required"
    assert caught.value.details == {"field": "report", "min": REPORT_MIN_CHARS}
    assert http_status(caught.value) == 422


def test_a_short_report_resolves_and_is_kept_trimmed() -> None:
    events = decide(ON_SCENE, Resolve(Outcome.PRANK, "  iseng \n"), OPERATOR)
    assert events == [DomainEvent(EventKind.RESOLVED, {"outcome": "prank", "report": "iseng"})]


def test_the_other_refusals_come_before_the_report() -> None:
    """An alert nobody acknowledged, or a closed one, is refused for that, whatever the report says."""
    new = AlertSnapshot(state=AlertState.NEW, resident_id="r1")
    with pytest.raises(TransitionError) as caught:
        decide(new, Resolve(Outcome.GENUINE, ""), OPERATOR)
    assert caught.value.code == "alert.not_acknowledged"
    closed = AlertSnapshot(state=AlertState.RESOLVED, resident_id="r1", acknowledged_by=OPERATOR)
    with pytest.raises(TransitionError) as caught:
        decide(closed, Resolve(Outcome.GENUINE, ""), OPERATOR)
    assert caught.value.code == "alert.closed"


@pytest.mark.parametrize(
    ("words", "report"),
    [
        ("", SMS_REPORT),
        ("ok", f"{SMS_REPORT}: ok"),
        ("pelaku kabur, korban aman", "pelaku kabur, korban aman"),
    ],
)
def test_an_officers_sms_resolve_always_carries_a_report(words: str, report: str) -> None:
    command = Reply(4, "4821", words).command()
    assert command == Resolve(Outcome.GENUINE, report)
    assert decide(ON_SCENE, command, OFFICER)[0].data["report"] == report
