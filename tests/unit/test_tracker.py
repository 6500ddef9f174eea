"""The unit tracker's nearest-unit search against a brute-force reference, and the ETA estimate."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.agencies.geo import haversine_m
from siaga.dispatch.recommend import eta_seconds
from siaga.responders.models import DutyMode, UnitState
from siaga.responders.tracker import CELL_DEG, Nearby, UnitPoint, UnitTracker

BANDUNG = (-6.9147, 107.6098)
# The search looks at every cell (about 280 m wide) of each ring outwards, so a query costs the square of the distance
# to the farthest unit it must consider: the generated cities are a few kilometres across and "far" is a few
# kilometres beyond their edge, tens of rings rather than hundreds, which keeps each example cheap.
OUTSKIRTS = (BANDUNG[0] - 0.06, BANDUNG[1] + 0.05)  # about 9 km south-east of the centre
GARUT = (-7.2167, 107.9000)  # about 45 km away
TASIKMALAYA = (-7.3274, 108.2207)  # about 80 km away, 37 km beyond Garut
STATES = [s.value for s in UnitState]
AGENCIES = [1, 2, 3, 4]
KINDS = ["patrol_car", "motorbike", "foot", "post"]


def point(
    unit_id: int,
    lat: float | None,
    lon: float | None,
    *,
    state: str = "available",
    agency_id: int = 1,
    kind: str = "patrol_car",
) -> UnitPoint:
    return UnitPoint(
        unit_id=unit_id,
        callsign=f"U-{unit_id}",
        agency_id=agency_id,
        kind=kind,
        state=state,
        lat=lat,
        lon=lon,
        at=None,
        duty_mode=DutyMode.PATROL.value,
    )


@dataclass(frozen=True)
class Query:
    lat: float
    lon: float
    count: int
    states: frozenset[str]
    agencies: frozenset[int] | None
    exclude: frozenset[int]
    max_distance_m: float


def brute_force(units: list[UnitPoint], query: Query) -> list[tuple[int, float]]:
    """Every unit that qualifies, by great-circle distance then id, the first ``count``."""
    found: list[tuple[float, int]] = []
    for unit in units:
        if unit.lat is None or unit.lon is None:
            continue
        if unit.state not in query.states or unit.unit_id in query.exclude:
            continue
        if query.agencies is not None and unit.agency_id not in query.agencies:
            continue
        distance = haversine_m(query.lat, query.lon, unit.lat, unit.lon)
        if distance <= query.max_distance_m:
            found.append((distance, unit.unit_id))
    found.sort()
    return [(unit_id, distance) for distance, unit_id in found[: query.count]]


def ask(tracker: UnitTracker, query: Query) -> list[tuple[int, float]]:
    result: list[Nearby] = tracker.nearest(
        query.lat,
        query.lon,
        count=query.count,
        states=query.states,
        agencies=query.agencies,
        exclude=query.exclude,
        max_distance_m=query.max_distance_m,
    )
    return [(n.unit.unit_id, n.distance_m) for n in result]


def everything(lat: float, lon: float, *, count: int = 100, max_distance_m: float = math.inf) -> Query:
    return Query(lat, lon, count, frozenset(STATES), None, frozenset(), max_distance_m)


# Strategies ------------------------------------------------------------------------------------------------------


def around(centre: tuple[float, float], spread_deg: float) -> st.SearchStrategy[tuple[float, float]]:
    return st.tuples(
        st.floats(centre[0] - spread_deg, centre[0] + spread_deg, allow_nan=False),
        st.floats(centre[1] - spread_deg, centre[1] + spread_deg, allow_nan=False),
    )


# Cell corners and edges: where an off-by-one in the ring search would show.
on_grid = st.tuples(
    st.integers(round(-6.96 / CELL_DEG), round(-6.87 / CELL_DEG)),
    st.integers(round(107.57 / CELL_DEG), round(107.65 / CELL_DEG)),
).map(lambda rc: (rc[0] * CELL_DEG, rc[1] * CELL_DEG))
positions = st.one_of(
    around(BANDUNG, 0.04),  # the city
    around(BANDUNG, 0.004),  # a crowd in a few cells
    on_grid,
    around(OUTSKIRTS, 0.015),  # beyond the city's edge
    st.just((BANDUNG[0] + 0.0123, BANDUNG[1] - 0.0077)),  # several units at one spot: ties broken by id
    st.none(),  # never shared a position
)


# One strategy for every unit's fields, built once: a fresh strategy per unit costs Hypothesis more than the search.
unit_fields = st.tuples(positions, st.sampled_from(STATES), st.sampled_from(AGENCIES), st.sampled_from(KINDS))


def unit_point(unit_id: int, fields: tuple[tuple[float, float] | None, str, int, str]) -> UnitPoint:
    where, state, agency_id, kind = fields
    return point(
        unit_id,
        where[0] if where else None,
        where[1] if where else None,
        state=state,
        agency_id=agency_id,
        kind=kind,
    )


@st.composite
def fleets(draw: st.DrawFn) -> tuple[UnitTracker, list[UnitPoint]]:
    """A tracker built by a history of updates (units move, change state, lose their position, go) and the units it
    should hold at the end."""
    size = draw(st.integers(0, 20))
    tracker = UnitTracker()
    current: dict[int, UnitPoint] = {}
    for unit_id in range(1, size + 1):
        first = unit_point(unit_id, draw(unit_fields))
        tracker.update(first)
        current[unit_id] = first
    for _ in range(draw(st.integers(0, 10))):
        if not current:
            break
        unit_id = draw(st.sampled_from(sorted(current)))
        if draw(st.booleans()):
            moved = unit_point(unit_id, draw(unit_fields))
            tracker.update(moved)
            current[unit_id] = moved
        else:
            tracker.remove(unit_id)
            del current[unit_id]
    return tracker, list(current.values())


@st.composite
def query_points(draw: st.DrawFn) -> Query:
    lat, lon = draw(st.one_of(around(BANDUNG, 0.05), on_grid, around(OUTSKIRTS, 0.015)))
    return Query(
        lat,
        lon,
        count=draw(st.integers(1, 12)),
        states=draw(st.frozensets(st.sampled_from(STATES), min_size=1)),
        agencies=draw(st.none() | st.frozensets(st.sampled_from(AGENCIES), min_size=1)),
        exclude=draw(st.frozensets(st.integers(1, 20), max_size=6)),
        max_distance_m=draw(st.just(math.inf) | st.floats(0, 15_000, allow_nan=False)),
    )


# The search against the reference --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, database=None)
@given(fleet=fleets(), query=query_points())
def test_nearest_equals_the_brute_force_top_n(fleet: tuple[UnitTracker, list[UnitPoint]], query: Query) -> None:
    tracker, units = fleet
    assert len(tracker) == len(units)
    assert ask(tracker, query) == brute_force(units, query)


@settings(max_examples=50, deadline=None, database=None)
@given(fleet=fleets(), query=query_points())
def test_the_first_n_of_a_longer_answer_are_the_shorter_answer(
    fleet: tuple[UnitTracker, list[UnitPoint]], query: Query
) -> None:
    tracker, _ = fleet
    longer = Query(
        query.lat, query.lon, query.count + 5, query.states, query.agencies, query.exclude, query.max_distance_m
    )
    assert ask(tracker, longer)[: query.count] == ask(tracker, query)


def test_an_empty_tracker_finds_nothing() -> None:
    tracker = UnitTracker()
    assert len(tracker) == 0
    assert tracker.all() == []
    assert tracker.get(1) is None
    assert ask(tracker, everything(*BANDUNG)) == []


def test_units_without_a_position_are_held_but_never_found() -> None:
    tracker = UnitTracker()
    tracker.update(point(1, None, None))
    assert len(tracker) == 1
    assert tracker.get(1) == point(1, None, None)
    assert ask(tracker, everything(*BANDUNG)) == []


def test_an_update_moves_a_unit_from_one_cell_to_another() -> None:
    tracker = UnitTracker()
    start = (BANDUNG[0], BANDUNG[1])
    moved = (BANDUNG[0] + 0.05, BANDUNG[1] + 0.05)  # five cells away in each direction
    tracker.update(point(1, *start))
    tracker.update(point(2, BANDUNG[0] + 0.02, BANDUNG[1]))
    tracker.update(point(1, *moved))
    assert len(tracker) == 2
    assert tracker.get(1) == point(1, *moved)
    # Nothing is left behind in the old cell...
    assert ask(tracker, everything(*start, max_distance_m=100)) == []
    # ...and the unit is found where it is now, at its new distance.
    assert ask(tracker, everything(*moved, max_distance_m=100)) == [(1, 0.0)]
    assert [u for u, _ in ask(tracker, everything(*start))] == [2, 1]
    # Losing the position takes it off the map but not out of the tracker; a new position puts it back.
    tracker.update(point(1, None, None))
    assert ask(tracker, everything(*moved, max_distance_m=100)) == []
    assert tracker.get(1) is not None
    tracker.update(point(1, *start))
    assert ask(tracker, everything(*start, max_distance_m=100)) == [(1, 0.0)]


def test_a_state_change_in_place_is_seen_at_once() -> None:
    tracker = UnitTracker()
    tracker.update(point(1, *BANDUNG, state="available"))
    available = Query(*BANDUNG, 5, frozenset({"available"}), None, frozenset(), math.inf)
    assert [u for u, _ in ask(tracker, available)] == [1]
    tracker.update(point(1, *BANDUNG, state="assigned"))
    assert ask(tracker, available) == []
    assert len(tracker) == 1
    # Available again (in a surge, after every unit had been offered or assigned): found again at once.
    tracker.update(point(1, BANDUNG[0] + 0.01, BANDUNG[1], state="available"))
    assert [u for u, _ in ask(tracker, available)] == [1]


def test_remove_takes_a_unit_out_and_forgets_unknown_ids_quietly() -> None:
    tracker = UnitTracker()
    tracker.update(point(1, *BANDUNG))
    tracker.update(point(2, BANDUNG[0] + 0.001, BANDUNG[1]))
    tracker.update(point(3, None, None))
    tracker.remove(1)
    tracker.remove(3)
    tracker.remove(99)
    assert len(tracker) == 1
    assert tracker.get(1) is None
    assert [u for u, _ in ask(tracker, everything(*BANDUNG))] == [2]
    tracker.remove(2)
    assert ask(tracker, everything(*BANDUNG)) == []
    assert len(tracker) == 0


def test_a_query_far_outside_every_unit_still_finds_the_nearest() -> None:
    tracker = UnitTracker()
    units = [
        point(1, BANDUNG[0], BANDUNG[1]),
        point(2, BANDUNG[0] + 0.03, BANDUNG[1] - 0.04),
        point(3, BANDUNG[0] - 0.05, BANDUNG[1] + 0.02, state="assigned"),
        point(4, GARUT[0], GARUT[1]),
    ]
    for unit in units:
        tracker.update(unit)
    for count in (1, 2, 4):
        query = Query(*TASIKMALAYA, count, frozenset({"available"}), None, frozenset(), math.inf)
        assert ask(tracker, query) == brute_force(units, query)
    assert [u for u, _ in ask(tracker, everything(*TASIKMALAYA))] == [4, 3, 1, 2]
    # A limit nearer than every unit: nothing, rather than the nearest one beyond it.
    assert ask(tracker, everything(*TASIKMALAYA, max_distance_m=30_000)) == []


def test_a_nearer_unit_a_couple_of_hundred_km_east_is_not_missed() -> None:
    """Regression: the ring search stops once a ring's nearest possible distance exceeds the count-th found. That
    bound takes cos(latitude) at the query's latitude, but a unit a little poleward of it is nearer than the bound
    says (meridians converge), so a unit about 220 km due east was skipped for one 0.2 m farther due south."""
    query_lat, query_lon = -6.905, 107.62 - 1e-9  # at the east edge of its cell
    east = point(2, query_lat - 0.004, 107.62 + 1.99 + 1e-7)
    east_distance = haversine_m(query_lat, query_lon, east.lat or 0.0, east.lon or 0.0)
    south_lat = query_lat - (east_distance + 0.2) / (6_371_008.8 * math.pi / 180)
    south = point(1, south_lat, query_lon)
    tracker = UnitTracker()
    tracker.update(east)
    tracker.update(south)
    query = Query(query_lat, query_lon, 1, frozenset({"available"}), None, frozenset(), math.inf)
    assert brute_force([east, south], query)[0][0] == 2
    assert ask(tracker, query) == brute_force([east, south], query)


# ETA --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [*KINDS, "hovercraft"])
@pytest.mark.parametrize("mode", [*(m.value for m in DutyMode), None])
def test_eta_grows_with_distance(kind: str, mode: str | None) -> None:
    etas = [eta_seconds(d, kind=kind, duty_mode=mode) for d in (0, 50, 500, 1_000, 5_000, 20_000)]
    assert etas[0] > 0  # getting going takes time even next door
    assert etas == sorted(etas)
    assert len(set(etas)) == len(etas)


@settings(max_examples=200, deadline=None, database=None)
@given(
    near=st.floats(0, 50_000, allow_nan=False),
    extra=st.floats(50, 50_000, allow_nan=False),
    kind=st.sampled_from(KINDS),
)
def test_eta_is_longer_farther_away_and_from_home_than_on_patrol(near: float, extra: float, kind: str) -> None:
    for mode in [m.value for m in DutyMode]:
        assert eta_seconds(near + extra, kind=kind, duty_mode=mode) > eta_seconds(near, kind=kind, duty_mode=mode)
    assert eta_seconds(near, kind=kind, duty_mode="home") > eta_seconds(near, kind=kind, duty_mode="patrol")
