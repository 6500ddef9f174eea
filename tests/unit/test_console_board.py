"""The unit board from the tracker, as the database would give it, and the console snapshot serialised once from it:
the same JSON as the Snapshot schema's own, for every agency set."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from siaga.config import Settings
from siaga.realtime.schemas import Snapshot
from siaga.realtime.wire import WireCache, unit_update
from siaga.responders.tracker import UnitPoint, UnitTracker
from siaga.runtime import Runtime

AT = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def unit(unit_id: int, *, agency_id: int = 1, state: str = "available", drill: bool = False) -> UnitPoint:
    on_duty = state != "off_duty"
    return UnitPoint(
        unit_id=unit_id,
        callsign=f"U-{unit_id}",
        agency_id=agency_id,
        kind="patrol_car",
        state=state,
        lat=-6.9 + unit_id / 1000 if on_duty else None,
        lon=107.6 if on_duty else None,
        at=AT,
        is_exercise=drill,
    )


def city() -> UnitTracker:
    tracker = UnitTracker()
    for point in (
        unit(5, agency_id=2),
        unit(3),
        unit(9, state="off_duty"),
        unit(4, drill=True),
        unit(7, drill=True, state="off_duty"),
        unit(1, agency_id=3, state="on_scene"),
    ):
        tracker.update(point)
    return tracker


def test_the_board_is_every_unit_by_id_and_drill_units_only_on_duty() -> None:
    tracker = city()
    assert [p.unit_id for p in tracker.board()] == [1, 3, 4, 5, 9]
    assert [p.unit_id for p in tracker.board(frozenset({1, 2}))] == [3, 4, 5, 9]
    assert tracker.board(frozenset()) == []


def test_the_census_counts_every_unit_held_and_adopting_never_replaces_a_newer_point() -> None:
    tracker = city()
    assert tracker.census() == (6, 5 + 3 + 9 + 4 + 7 + 1)
    newer = replace(unit(3), state="assigned")
    tracker.update(newer)
    assert tracker.census() == (6, 29)
    assert tracker.missing([1, 2, 3, 11]) == {2, 11}
    version = tracker.version
    tracker.adopt([unit(3), unit(11, state="off_duty")])
    assert tracker.get(3) is newer
    assert tracker.census() == (7, 40)
    assert tracker.version > version
    tracker.remove(11)
    assert tracker.census() == (6, 29)
    tracker.clear()
    assert tracker.census() == (0, 0)


def test_the_console_snapshot_is_the_schema_json_and_shared_until_a_unit_changes() -> None:
    tracker = city()
    console_snapshot = WireCache().console_snapshot
    for agencies in (None, frozenset({1}), frozenset({2, 3}), frozenset()):
        text = console_snapshot(tracker, agencies, cursor=41, alerts=[])
        expected = Snapshot(cursor=41, alerts=[], units=[unit_update(p) for p in tracker.board(agencies)])
        assert text == expected.model_dump_json()
        assert Snapshot.model_validate_json(text) == expected
        assert console_snapshot(tracker, agencies, cursor=41, alerts=[]) is text  # serialised once

    shared = console_snapshot(tracker, None, cursor=41, alerts=[])
    assert console_snapshot(tracker, None, cursor=42, alerts=[]) != shared  # another moment, another cursor
    tracker.update(replace(unit(5, agency_id=2), lat=-6.8))
    after = Snapshot.model_validate_json(console_snapshot(tracker, None, cursor=42, alerts=[]))
    assert [u.lat for u in after.units if u.unit_id == 5] == [-6.8]


def test_the_wire_cache_never_holds_more_than_its_bounds_and_still_answers_right() -> None:
    wire = WireCache(units_max=3, agency_sets_max=2)
    tracker = UnitTracker()
    for unit_id in range(1, 11):
        point = unit(unit_id, agency_id=unit_id % 4)
        tracker.update(point)
        assert wire.unit_message(point) == unit_update(point).model_dump_json()
        assert len(wire.units) <= 3
    for agencies in (None, frozenset({1}), frozenset({2}), frozenset({3}), frozenset({1, 2})):
        text = wire.console_snapshot(tracker, agencies, cursor=7, alerts=[])
        expected = Snapshot(cursor=7, alerts=[], units=[unit_update(p) for p in tracker.board(agencies)])
        assert text == expected.model_dump_json()
        assert wire.board is not None
        assert len(wire.board.units) <= 2
        assert len(wire.board.snapshots) <= 2
        assert len(wire.units) <= 3


def test_two_wire_caches_do_not_see_each_others_entries() -> None:
    first, second = WireCache(), WireCache()
    point = unit(5)
    first.unit_message(point)
    assert 5 in first.units
    assert 5 not in second.units
    tracker = city()
    first.console_snapshot(tracker, None, cursor=1, alerts=[])
    assert first.board is not None
    assert second.board is None


def test_two_runtimes_in_one_process_each_own_their_wire_cache() -> None:
    first, second = (Runtime.build(Settings(_env_file=None, dev_mode=True)) for _ in range(2))  # type: ignore[call-arg]
    point = unit(5)
    first.wire.unit_message(point)
    assert 5 in first.wire.units
    assert 5 not in second.wire.units
