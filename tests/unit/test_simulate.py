"""The simulator's pure parts: places, movement, rates, shares and the fleet plan (no server)."""

from __future__ import annotations

import asyncio
import gc
import json
import random
import statistics
import warnings
from importlib import resources

import pytest
from shapely.geometry import Point, Polygon

from siaga.simulate.client import Crew
from siaga.simulate.geometry import (
    Area,
    areas_by_agency,
    distance_m,
    kecamatan_areas,
    offset,
    pick_area,
    random_point,
    step_toward,
)
from siaga.simulate.scenario import (
    FLEET_MIX,
    Nature,
    Pace,
    Shares,
    fleet_requests,
    next_press_in,
    pick_category,
    pick_nature,
    plan_fleet,
    report_for,
)

BANDUNG = json.loads(resources.files("siaga.demo").joinpath("data", "bandung_kecamatan.geojson").read_text("utf-8"))
# An L-shaped area: its bounding box is mostly outside it, so a sloppy sampler would be caught.
L_SHAPE = Area("L", Polygon([(107.60, -6.90), (107.62, -6.90), (107.62, -6.899), (107.601, -6.899), (107.601, -6.88),
                             (107.60, -6.88)]))  # fmt: skip


def _bandung() -> dict[str, Area]:
    features = [
        {"geometry": f["geometry"], "properties": {"code": f["properties"]["kode"], "name": f["properties"]["nama"]}}
        for f in BANDUNG["features"]
    ]
    return kecamatan_areas({"features": features})


def test_random_points_fall_inside_the_area_even_when_it_fills_little_of_its_bounds() -> None:
    rng = random.Random(7)
    for _ in range(300):
        lat, lon = random_point(L_SHAPE, rng)
        assert L_SHAPE.geometry.contains(Point(lon, lat))


def test_random_points_fall_inside_every_bandung_kecamatan() -> None:
    areas = _bandung()
    assert len(areas) == 30
    rng = random.Random(1)
    for area in areas.values():
        for _ in range(20):
            lat, lon = random_point(area, rng)
            assert area.geometry.contains(Point(lon, lat)), area.name


def test_presses_spread_over_kecamatan_by_size() -> None:
    areas = list(_bandung().values())
    rng = random.Random(3)
    picks = [pick_area(areas, rng).name for _ in range(6000)]
    largest = max(areas, key=lambda a: a.size)
    smallest = min(areas, key=lambda a: a.size)
    assert picks.count(largest.name) > picks.count(smallest.name)
    assert len(set(picks)) == 30


def test_an_agency_area_is_the_kecamatan_it_is_primary_for() -> None:
    areas = _bandung()
    codes = sorted(areas)
    served = areas_by_agency(areas, [(codes[0], "A"), (codes[1], "A"), (codes[2], "B"), ("32.73.99", "C")])
    assert set(served) == {"A", "B"}  # an unknown kecamatan is skipped
    assert served["A"].size == pytest.approx(areas[codes[0]].size + areas[codes[1]].size, rel=1e-6)


def test_a_step_moves_the_given_distance_toward_the_target_and_stops_there() -> None:
    start, target = (-6.90, 107.60), (-6.91, 107.61)
    total = distance_m(start, target)
    moved, arrived = step_toward(start, target, 500)
    assert not arrived
    assert distance_m(start, moved) == pytest.approx(500, rel=0.01)
    assert distance_m(moved, target) == pytest.approx(total - 500, rel=0.01)
    final, arrived = step_toward(moved, target, total)
    assert arrived
    assert final == target


def test_driving_at_street_speed_reaches_the_scene_in_the_expected_number_of_steps() -> None:
    position, target = (-6.90, 107.60), offset((-6.90, 107.60), north_m=1200, east_m=1600)  # 2 km away
    steps, arrived = 0, False
    while not arrived:
        position, arrived = step_toward(position, target, 10.0 * 5)  # 10 m/s, a fix every 5 s
        steps += 1
    assert steps in {40, 41}  # 2 km at 50 m a step (give or take the flat approximation)


def test_offset_moves_by_metres() -> None:
    here = (-6.9, 107.6)
    assert distance_m(here, offset(here, north_m=100, east_m=0)) == pytest.approx(100, rel=0.01)
    assert distance_m(here, offset(here, north_m=0, east_m=-250)) == pytest.approx(250, rel=0.01)


def test_presses_arrive_at_the_configured_rate_on_average() -> None:
    rng = random.Random(11)
    gaps = [next_press_in(rng, 12.0) for _ in range(20000)]
    assert statistics.mean(gaps) == pytest.approx(5.0, rel=0.05)  # 12 a minute: one every 5 s
    assert min(gaps) >= 0
    with pytest.raises(ValueError, match="positive"):
        next_press_in(rng, 0)


def test_accidental_presses_and_pranks_have_their_share() -> None:
    rng = random.Random(5)
    shares = Shares(accidental=0.3, prank=0.15)
    natures = [pick_nature(rng, shares) for _ in range(20000)]
    assert natures.count(Nature.ACCIDENTAL) / len(natures) == pytest.approx(0.3, abs=0.02)
    assert natures.count(Nature.PRANK) / len(natures) == pytest.approx(0.15, abs=0.02)
    assert {pick_nature(rng, Shares(accidental=0, prank=0)) for _ in range(100)} == {Nature.GENUINE}
    with pytest.raises(ValueError, match="add up"):
        Shares(accidental=0.8, prank=0.3)


def test_categories_are_the_ones_the_api_knows() -> None:
    from siaga.alerts.domain import Category

    rng = random.Random(2)
    assert {pick_category(rng) for _ in range(2000)} == {c.value for c in Category}


def test_the_fleet_is_spread_evenly_over_the_agencies_with_the_planned_mix() -> None:
    agencies = [(i, f"POLSEK-{i}") for i in range(1, 29)]
    plans = plan_fleet(agencies, 200, random.Random(9))
    per_agency = [sum(1 for p in plans if p.agency_id == a) for a, _ in agencies]
    assert max(per_agency) - min(per_agency) <= 1
    assert {(p.kind, p.mode) for p in plans} <= {(kind, mode) for kind, mode, _ in FLEET_MIX}
    modes = [p.mode for p in plans]
    assert modes.count("patrol") > modes.count("post") > 0
    assert modes.count("home") > 0
    requests = fleet_requests(plans)
    assert sum(n for _, _, n in requests) == 200
    assert len(requests) == len({(a, k) for a, k, _ in requests})


def test_the_same_seed_plans_the_same_fleet() -> None:
    agencies = [(1, "A"), (2, "B"), (3, "C")]
    assert plan_fleet(agencies, 50, random.Random(42)) == plan_fleet(agencies, 50, random.Random(42))
    assert plan_fleet(agencies, 50, random.Random(42)) != plan_fleet(agencies, 50, random.Random(43))


def test_pace_shortens_human_delays_by_the_time_scale() -> None:
    assert Pace(10).wall(30) == 3
    assert 0.3 <= Pace(10).human(random.Random(1), 3, 15) <= 1.5
    with pytest.raises(ValueError, match="positive"):
        Pace(0)


def test_officers_report_the_outcome_staff_would_find() -> None:
    rng = random.Random(4)
    assert report_for(Nature.PRANK, "kriminalitas", rng)[0] == "prank"
    assert report_for(Nature.ACCIDENTAL, "kecelakaan", rng)[0] == "false_alarm"
    outcome, report = report_for(Nature.GENUINE, "kebakaran", rng)
    assert outcome == "genuine"
    assert report


async def test_a_drill_stopped_before_its_people_began_leaves_no_coroutine_unawaited() -> None:
    """Ctrl-C just after an officer took an alert: the drill ends without Python's "never awaited" warning."""
    crew = Crew()
    crew.spawn(asyncio.sleep(10), name="response")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await crew.stop()
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []
