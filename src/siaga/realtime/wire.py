"""Messages serialised once and shared by every stream of one runtime: each unit's ``unit_update``, the consoles'
unit boards, and the pages of open alerts of consoles that open together (``snapshots.SnapshotPages``). The runtime
owns one ``WireCache``; every part of it is bounded, and two runtimes never share one."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from siaga.realtime.schemas import AlertSummary, Snapshot, UnitUpdate
from siaga.realtime.snapshots import SnapshotPages
from siaga.responders.tracker import UnitPoint, UnitTracker

UNIT_MESSAGES_MAX = 20_000  # units whose last message is kept (a city's fleet; the least recently used go first)
AGENCY_SETS_MAX = 256  # agency sets whose board is kept for one tracker version

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A mapping that holds at most ``bound`` entries, forgetting the least recently used first."""

    def __init__(self, bound: int) -> None:
        if bound < 1:
            raise ValueError("an LRU holds at least one entry")
        self.bound = bound
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.bound:
            self._entries.popitem(last=False)


def unit_update(point: UnitPoint) -> UnitUpdate:
    return UnitUpdate(
        unit_id=point.unit_id,
        callsign=point.callsign,
        agency_id=point.agency_id,
        state=point.state,
        lat=point.lat,
        lon=point.lon,
        at=point.at,
        is_exercise=point.is_exercise,
    )


@dataclass
class _BoardWire:
    """Unit boards serialised for one version of one tracker, per agency set: consoles that connect together (and
    see the same agencies) share one copy of what may be thousands of units, and of their whole snapshot."""

    tracker: UnitTracker
    version: int
    bound: int
    units: Lru[frozenset[int] | None, str] = field(init=False)  # the units array's contents
    snapshots: Lru[frozenset[int] | None, tuple[str, str]] = field(init=False)  # (head, whole message)

    def __post_init__(self) -> None:
        self.units = Lru(self.bound)
        self.snapshots = Lru(self.bound)


class WireCache:
    """What one runtime's streams serialise once: the last ``unit_update`` of each unit (kept with the point it was
    made from: every console gets the same point object from the tracker's fan-out, so the message is serialised
    once, not once per console) and the consoles' unit boards of the tracker's current version."""

    def __init__(self, *, units_max: int = UNIT_MESSAGES_MAX, agency_sets_max: int = AGENCY_SETS_MAX) -> None:
        self.units: Lru[int, tuple[UnitPoint, str]] = Lru(units_max)
        self.agency_sets_max = agency_sets_max
        self.board: _BoardWire | None = None  # one tracker version's boards: an older version's are dropped
        self.snapshot_pages = SnapshotPages()  # consoles of one scope opening together share their open alerts' pages

    def unit_message(self, point: UnitPoint) -> str:
        cached = self.units.get(point.unit_id)
        if cached is not None and cached[0] is point:
            return cached[1]
        text = unit_update(point).model_dump_json()
        self.units.put(point.unit_id, (point, text))
        return text

    def console_snapshot(
        self,
        tracker: UnitTracker,
        agencies: frozenset[int] | None,
        *,
        cursor: int,
        alerts: list[AlertSummary],
        open_alerts: int | None = None,
        more: bool = False,
    ) -> str:
        """The ``snapshot`` message of a console that sees ``agencies``, its unit board from ``tracker`` as it is
        now: the same text as ``Snapshot(...).model_dump_json()``, built from each unit's cached message and shared
        with every console that asks at the same tracker version with the same alerts and cursor. ``alerts`` is the
        first page of ``open_alerts`` (all of them unless ``more``)."""
        wire = self.board
        if wire is None or wire.tracker is not tracker or wire.version != tracker.version:
            wire = self.board = _BoardWire(tracker=tracker, version=tracker.version, bound=self.agency_sets_max)
        units = wire.units.get(agencies)
        if units is None:
            units = ",".join(self.unit_message(p) for p in tracker.board(agencies))
            wire.units.put(agencies, units)
        total = len(alerts) if open_alerts is None else open_alerts
        head = Snapshot(cursor=cursor, alerts=alerts, units=[], open_alerts=total, more=more).model_dump_json()
        shared = wire.snapshots.get(agencies)
        if shared is not None and shared[0] == head:
            return shared[1]
        empty = '"units":[]}'
        assert head.endswith(empty), "the units array must stay Snapshot's last field"
        text = f'{head[: -len(empty)]}"units":[{units}]}}'
        wire.snapshots.put(agencies, (head, text))
        return text
