"""Every kind of agency has its units: the unit types Siaga knows are the ones the recommendation times, the demo
city seeds and the simulator sends to the fires, injuries and disasters routed beside the police."""

from __future__ import annotations

import csv
import io
from importlib import resources

from siaga.agencies.domain import KIND_SERVICE, Service, UnitKind
from siaga.demo.seed import DEMO_ACCOUNTS, DEMO_UNITS
from siaga.dispatch.recommend import SPEED_MPS, eta_seconds
from siaga.simulate.scenario import (
    RESPONSE_SPEED_MPS,
    SERVICE_UNITS,
    UNIT_FOR_CATEGORY,
    plan_service_fleet,
)


def _demo(name: str) -> list[dict[str, str]]:
    text = resources.files("siaga.demo").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_every_unit_type_has_a_speed_for_its_eta_and_a_fire_engine_is_slower_than_an_ambulance() -> None:
    assert set(SPEED_MPS) == {kind.value for kind in UnitKind}
    assert eta_seconds(3000, kind="fire_engine", duty_mode="post") > eta_seconds(
        3000, kind="ambulance", duty_mode="post"
    )


def test_the_demo_city_has_a_damkar_with_sectors_a_psc119_and_a_bpbd_each_with_units_and_an_operator() -> None:
    agencies = {row["code"]: row for row in _demo("bandung_agencies.csv")}
    services = {code: KIND_SERVICE.get(row["kind"]) for code, row in agencies.items()}
    sectors = [code for code, row in agencies.items() if row["parent_code"] == "DAMKAR-BDG"]
    assert len(sectors) == 3
    units = {kind for _, _, kind in DEMO_UNITS}
    assert {"fire_engine", "ambulance", "rescue_team"} <= units
    assert units <= {kind.value for kind in UnitKind}
    operators = {a.agency_code for a in DEMO_ACCOUNTS if a.role.value == "operator"}
    assert {"DAMKAR-BDG", "PSC119-BDG", "BPBD-BDG"} <= operators
    # Every Damkar sector, PSC 119 and BPBD serves kecamatan of its own; every kecamatan has exactly one sector.
    areas = _demo("bandung_service_areas.csv")
    covered: dict[str, set[str]] = {}
    for row in areas:
        covered.setdefault(row["agency_code"], set()).add(row["jurisdiction_code"])
    assert set(covered) == {*sectors, "PSC119-BDG", "BPBD-BDG"}
    assert all(services[code] not in (None, Service.POLICE) for code in covered)
    by_sector = [covered[code] for code in sectors]
    assert sum(len(k) for k in by_sector) == len(set().union(*by_sector)) == 30
    assert covered["PSC119-BDG"] == covered["BPBD-BDG"] == set().union(*by_sector)


def test_the_simulator_spreads_crews_over_the_agencies_beside_the_police_with_their_own_units() -> None:
    agencies = [(41, "DAMKAR-SEKTOR-UTARA", "damkar"), (52, "PSC119-BDG", "psc119"), (63, "BPBD-BDG", "bpbd")]
    plans = plan_service_fleet(agencies, 7)
    assert [p.agency_code for p in plans].count("DAMKAR-SEKTOR-UTARA") == 3
    assert {(p.agency_code, p.kind) for p in plans} == {
        ("DAMKAR-SEKTOR-UTARA", "fire_engine"),
        ("PSC119-BDG", "ambulance"),
        ("BPBD-BDG", "rescue_team"),
    }
    assert plan_service_fleet([], 5) == []
    assert {unit for unit, _ in SERVICE_UNITS.values()} == set(UNIT_FOR_CATEGORY.values())
    assert set(UNIT_FOR_CATEGORY.values()) <= set(RESPONSE_SPEED_MPS)
