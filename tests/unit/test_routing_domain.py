"""Routing by what happened, as pure rules (``agencies.domain.route``, the routing table's defaults, and the alert
domain's category change): who is responsible for an alert and who is informed, without a database."""

from __future__ import annotations

import pytest

from siaga.accounts.domain import Actor, ActorKind
from siaga.agencies.domain import DEFAULT_ROUTES, KIND_SERVICE, Route, Service, route
from siaga.agencies.models import AgencyKind
from siaga.alerts import domain
from siaga.alerts.domain import AlertSnapshot, AlertState, Category, ChangeCategory, EventKind, TransitionError

DAMKAR_SECTOR, POLSEK, PSC119, BPBD = 41, 7, 52, 63
OPERATOR = Actor(ActorKind.OPERATOR, "5", "Operator Budi")
OFFICER = Actor(ActorKind.OFFICER, "9", "Bripka Asep", unit_id=3)
RESIDENT = Actor(ActorKind.RESIDENT, "r", "Sari")


def test_every_category_of_the_brief_has_a_default_route_and_every_kind_but_the_command_centre_a_service() -> None:
    assert set(DEFAULT_ROUTES) == {c.value for c in Category}
    assert all(DEFAULT_ROUTES[c.value] for c in Category)
    assert {kind.value for kind in AgencyKind} - set(KIND_SERVICE) == {"command_centre"}


@pytest.mark.parametrize(
    ("category", "responsible", "informed"),
    [
        ("kebakaran", DAMKAR_SECTOR, (POLSEK,)),  # fire and rescue first, the police told
        ("kesehatan", PSC119, ()),
        ("bencana_alam", BPBD, (POLSEK,)),
        ("kecelakaan", POLSEK, (PSC119,)),
        ("kriminalitas", POLSEK, ()),
        ("kdrt", POLSEK, ()),
        ("lainnya", POLSEK, ()),
    ],
)
def test_the_default_table_routes_each_category_where_every_service_covers_the_place(
    category: str, responsible: int, informed: tuple[int, ...]
) -> None:
    everywhere = {
        Service.POLICE: (POLSEK,),
        Service.DAMKAR: (DAMKAR_SECTOR, 42),
        Service.PSC119: (PSC119,),
        Service.BPBD: (BPBD,),
    }
    assert route(DEFAULT_ROUTES[category], everywhere) == Route(responsible, informed)


def test_a_service_that_covers_nothing_there_is_skipped_and_the_next_is_responsible() -> None:
    # A fire outside every Damkar sector: the police take it.
    assert route((Service.DAMKAR, Service.POLICE), {Service.POLICE: (POLSEK,)}) == Route(POLSEK)


def test_nobody_covering_the_place_leaves_the_alert_to_the_default_agency() -> None:
    assert route((Service.PSC119,), {Service.POLICE: (POLSEK,)}) == Route(None)
    assert route((Service.DAMKAR, Service.POLICE), {}) == Route(None)


def test_one_agency_named_by_two_services_is_responsible_once_and_not_informed_of_its_own_alert() -> None:
    both = {Service.DAMKAR: (POLSEK,), Service.POLICE: (POLSEK,)}
    assert route((Service.DAMKAR, Service.POLICE), both) == Route(POLSEK)


def test_each_service_informs_only_its_first_agency_and_the_order_of_the_row_decides() -> None:
    covering = {Service.POLICE: (POLSEK, 8), Service.PSC119: (PSC119, 53)}
    assert route((Service.PSC119, Service.POLICE), covering) == Route(PSC119, (POLSEK,))
    assert route((Service.POLICE, Service.PSC119), covering) == Route(POLSEK, (PSC119,))


ROUTING = {"agency": "DAMKAR-SEKTOR-1", "agency_id": DAMKAR_SECTOR, "previous_agency_ids": [POLSEK]}


def test_staff_change_an_open_alerts_category_as_one_event_with_both_categories_and_the_new_agencies() -> None:
    alert = AlertSnapshot(state=AlertState.ACKNOWLEDGED, acknowledged_by=OPERATOR)
    command = ChangeCategory(Category.KEBAKARAN, Category.KRIMINALITAS, ROUTING)
    [event] = domain.decide(alert, command, OPERATOR)
    assert event.kind is EventKind.CATEGORY_CHANGED
    assert event.data == {"from": "kriminalitas", "to": "kebakaran", **ROUTING}
    assert domain.evolve(alert, event, OPERATOR) == alert  # who holds it and its state stay


def test_the_same_category_again_changes_nothing() -> None:
    command = ChangeCategory(Category.KESEHATAN, Category.KESEHATAN, ROUTING)
    assert domain.decide(AlertSnapshot(), command, OPERATOR) == []


@pytest.mark.parametrize("actor", [OFFICER, RESIDENT])
def test_only_command_centre_staff_change_a_category(actor: Actor) -> None:
    command = ChangeCategory(Category.KEBAKARAN, Category.KRIMINALITAS, ROUTING)
    with pytest.raises(TransitionError) as refused:
        domain.decide(AlertSnapshot(resident_id="r", unit_id=3), command, actor)
    assert refused.value.code == "alert.actor_not_allowed"


@pytest.mark.parametrize("state", [AlertState.RESOLVED, AlertState.CANCELLED])
def test_a_closed_alerts_category_stays(state: AlertState) -> None:
    command = ChangeCategory(Category.KEBAKARAN, Category.KRIMINALITAS, ROUTING)
    with pytest.raises(TransitionError) as refused:
        domain.decide(AlertSnapshot(state=state), command, OPERATOR)
    assert refused.value.code == "alert.closed"
