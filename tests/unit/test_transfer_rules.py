"""Handing an alert to another agency, as pure rules (``alerts.domain.HandToAgency``): staff hand an open alert to an
agency that does not have it yet, as one ``transferred`` event naming the agencies and the reason."""

from __future__ import annotations

import pytest

from siaga.accounts.domain import SYSTEM, Actor, ActorKind
from siaga.alerts import domain
from siaga.alerts.domain import AlertSnapshot, AlertState, EventKind, HandToAgency, TransitionError

POLSEK, BPBD = 7, 63
OPERATOR = Actor(ActorKind.OPERATOR, "5", "Operator Budi")
ROUTING = {"agency": "BPBD-BDG", "agency_id": BPBD, "informed_agency_ids": [POLSEK], "previous_agency_ids": [POLSEK]}
HAND = HandToAgency(BPBD, "  Banjir: ditangani BPBD ", ROUTING)


def test_staff_hand_an_open_alert_to_another_agency_which_then_has_it() -> None:
    alert = AlertSnapshot(state=AlertState.ACKNOWLEDGED, acknowledged_by=OPERATOR, agency_id=POLSEK)
    [event] = domain.decide(alert, HAND, OPERATOR)
    assert event.kind is EventKind.TRANSFERRED
    assert event.data == {**ROUTING, "reason": "Banjir: ditangani BPBD"}
    after = domain.evolve(alert, event, OPERATOR)
    assert after.agency_id == BPBD
    assert (after.state, after.acknowledged_by) == (alert.state, OPERATOR)  # who holds it and its state stay
    with pytest.raises(TransitionError) as again:  # a second hand to the same agency (a retry) is refused
        domain.decide(after, HAND, OPERATOR)
    assert (again.value.code, again.value.conflict, again.value.details) == (
        "alert.already_with_agency",
        True,
        {"agency": "BPBD-BDG"},
    )


@pytest.mark.parametrize(
    "actor",
    [
        Actor(ActorKind.OFFICER, "9", "Bripka Asep", unit_id=3),
        Actor(ActorKind.RESIDENT, "r", "Sari"),
        SYSTEM,
    ],
)
def test_only_command_centre_staff_hand_an_alert_over(actor: Actor) -> None:
    with pytest.raises(TransitionError) as refused:
        domain.decide(AlertSnapshot(resident_id="r", unit_id=3, agency_id=POLSEK), HAND, actor)
    assert refused.value.code == "alert.actor_not_allowed"


@pytest.mark.parametrize("state", [AlertState.RESOLVED, AlertState.CANCELLED])
def test_a_closed_alert_stays_where_it_was(state: AlertState) -> None:
    with pytest.raises(TransitionError) as refused:
        domain.decide(AlertSnapshot(state=state, agency_id=POLSEK), HAND, OPERATOR)
    assert refused.value.code == "alert.closed"
