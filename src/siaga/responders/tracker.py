"""Where every on-duty unit is, in memory, in a grid: finding the nearest units is a few dictionary lookups.

Each process keeps one, loaded from the database at start and updated from the units channel of the hub (which
carries this process's own updates too), so every process recommends from the same picture.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from siaga.agencies.geo import haversine_m

# About 280 m: small enough that a city with 100,000 units on duty has a few dozen per cell (the nearest five are
# found in the first rings), large enough that a few hundred units are found within a few rings.
CELL_DEG = 0.0025
MAX_RING = 1600  # about 440 km: beyond this the search gives up (no unit is that far in one city)


@dataclass(frozen=True, slots=True)
class UnitPoint:
    unit_id: int
    callsign: str
    agency_id: int
    kind: str
    state: str
    lat: float | None
    lon: float | None
    at: datetime | None
    duty_mode: str | None = None
    is_exercise: bool = False  # a drill's unit


@dataclass(frozen=True, slots=True)
class Nearby:
    unit: UnitPoint
    distance_m: float


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return (math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG))


class UnitTracker:
    """Units by id, and those with a position by grid cell."""

    def __init__(self, *, exercise_units_answer_real_alerts: bool = False) -> None:
        self.exercise_units_answer_real_alerts = exercise_units_answer_real_alerts
        self._units: dict[int, UnitPoint] = {}
        self._id_sum = 0  # of the units held: see census()
        # Bumped on every change: a board built at one version is still the board while the version is the same.
        self.version = 0
        self._cells: dict[tuple[int, int], dict[int, UnitPoint]] = {}
        # How many occupied cells each grid row and column has: their extremes bound the search.
        self._rows: Counter[int] = Counter()
        self._cols: Counter[int] = Counter()
        # How many units with a position are in each state: a search for a state nobody is in ends at once (in a
        # surge every unit is soon offered or assigned, and each new alert's offer asked for an available one by
        # walking every unit of the city, ring after ring).
        self._placed: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._units)

    def get(self, unit_id: int) -> UnitPoint | None:
        return self._units.get(unit_id)

    def all(self) -> list[UnitPoint]:
        return list(self._units.values())

    def board(self, agencies: frozenset[int] | None = None) -> list[UnitPoint]:
        """The unit board as ``responders.board`` reads it from the database, from memory: every unit (of
        ``agencies``, if given) by id, a drill's units only while on duty."""
        return sorted(
            (
                p
                for p in self._units.values()
                if (agencies is None or p.agency_id in agencies) and (not p.is_exercise or p.state != "off_duty")
            ),
            key=_unit_id,
        )

    def census(self) -> tuple[int, int]:
        """How many units are held, and the sum of their ids. Units are never deleted, so when the units table
        gives the same two numbers the tracker holds every unit; a unit created since the tracker loaded (and not
        on duty since) makes them differ."""
        return len(self._units), self._id_sum

    def missing(self, unit_ids: Iterable[int]) -> set[int]:
        """Those of ``unit_ids`` the tracker does not hold."""
        return {u for u in unit_ids if u not in self._units}

    def adopt(self, points: Iterable[UnitPoint]) -> None:
        """Take units read from the database that the tracker did not hold; one it has heard of meanwhile keeps
        the tracker's point, which is at least as new."""
        for point in points:
            if point.unit_id not in self._units:
                self.update(point)

    def update(self, point: UnitPoint) -> None:
        """Insert or replace a unit (a newer position or state)."""
        previous = self._units.get(point.unit_id)
        self._uncell(previous)
        if previous is None:
            self._id_sum += point.unit_id
        self._units[point.unit_id] = point
        self.version += 1
        if point.lat is not None and point.lon is not None:
            key = _cell(point.lat, point.lon)
            cell = self._cells.get(key)
            if cell is None:
                cell = self._cells[key] = {}
                self._rows[key[0]] += 1
                self._cols[key[1]] += 1
            cell[point.unit_id] = point
            self._placed[point.state] += 1

    def clear(self) -> None:
        self._units.clear()
        self._id_sum = 0
        self.version += 1
        self._cells.clear()
        self._rows.clear()
        self._cols.clear()
        self._placed.clear()

    def remove(self, unit_id: int) -> None:
        point = self._units.pop(unit_id, None)
        if point is not None:
            self._id_sum -= unit_id
            self.version += 1
        self._uncell(point)

    def _uncell(self, point: UnitPoint | None) -> None:
        if point is None or point.lat is None or point.lon is None:
            return
        key = _cell(point.lat, point.lon)
        cell = self._cells.get(key)
        held = cell.pop(point.unit_id, None) if cell is not None else None
        if cell is not None and held is not None:
            self._placed[held.state] -= 1
            if self._placed[held.state] <= 0:
                del self._placed[held.state]
            if not cell:
                del self._cells[key]
                for counter, index in ((self._rows, key[0]), (self._cols, key[1])):
                    counter[index] -= 1
                    if counter[index] <= 0:
                        del counter[index]

    def nearest(
        self,
        lat: float,
        lon: float,
        *,
        count: int,
        states: Iterable[str],
        agencies: frozenset[int] | None = None,
        exclude: frozenset[int] = frozenset(),
        max_distance_m: float = math.inf,
        real_alert: bool = False,
        kinds: frozenset[str] | None = None,
    ) -> list[Nearby]:
        """The ``count`` nearest units in one of ``states`` (and ``agencies`` and unit ``kinds``, if given), by
        great-circle distance.
        For a ``real_alert``, drill units are left out (unless this deployment lets them answer, as the demo does).

        Searches rings of cells outwards and stops once no unfound unit can be nearer than the ``count``-th found:
        a ring ``k`` cells out is at least ``(k - 1) * cell`` away in latitude, and at least that times cos(lat)
        in longitude, whichever is smaller.
        """
        wanted = frozenset(states)
        skip_drill_units = real_alert and not self.exercise_units_answer_real_alerts
        centre_row, centre_col = _cell(lat, lon)
        found: list[Nearby] = []
        if not self._cells or count <= 0 or not any(self._placed[state] for state in wanted):
            return found
        # No occupied cell lies beyond this many rings: stop there rather than scan empty country.
        last_ring = max(
            abs(min(self._rows) - centre_row),
            abs(max(self._rows) - centre_row),
            abs(min(self._cols) - centre_col),
            abs(max(self._cols) - centre_col),
        )
        # Once the rings walked so far hold more cells than the tracker has occupied cells, visit the occupied cells of
        # each ring instead of every cell of it: the same cells give units, and a query far from a few units costs
        # their count, not the square of the distance (a query 280 km out spent 1.7 s walking empty cells; a surge's
        # offer searches among 200 officers, few of them free, spent a third of their time on empty cells).
        by_ring: dict[int, list[tuple[int, int]]] | None = None
        for ring in range(min(last_ring, MAX_RING) + 1):
            # Meridians converge: a cell of the ring nearer the pole is narrower, so measure longitude at the
            # ring's most poleward latitude, and keep a small margin for the sphere's curvature.
            poleward = min(89.9, abs(lat) + (ring + 1) * CELL_DEG)
            metres_per_cell = 111_195 * CELL_DEG * min(1.0, math.cos(math.radians(poleward)))
            nearest_possible = max(0.0, (ring - 1) * metres_per_cell * 0.999 - 1.0)
            if nearest_possible > max_distance_m:
                break
            if len(found) >= count and nearest_possible > found[count - 1].distance_m:
                break
            if by_ring is None and (2 * ring + 1) ** 2 > len(self._cells):
                by_ring = {}
                for row, col in self._cells:
                    by_ring.setdefault(max(abs(row - centre_row), abs(col - centre_col)), []).append((row, col))
            cells = _ring(centre_row, centre_col, ring) if by_ring is None else by_ring.get(ring, ())
            for row, col in cells:
                for point in self._cells.get((row, col), {}).values():
                    if point.state not in wanted or point.unit_id in exclude:
                        continue
                    if skip_drill_units and point.is_exercise:
                        continue
                    if agencies is not None and point.agency_id not in agencies:
                        continue
                    if kinds is not None and point.kind not in kinds:
                        continue
                    distance = haversine_m(lat, lon, point.lat or 0.0, point.lon or 0.0)
                    if distance <= max_distance_m:
                        found.append(Nearby(point, distance))
            found.sort(key=lambda n: (n.distance_m, n.unit.unit_id))
        return found[:count]


def _unit_id(point: UnitPoint) -> int:
    return point.unit_id


def _ring(row: int, col: int, k: int) -> Iterable[tuple[int, int]]:
    """The cells exactly ``k`` steps (Chebyshev) from (row, col)."""
    if k == 0:
        yield (row, col)
        return
    for c in range(col - k, col + k + 1):
        yield (row - k, c)
        yield (row + k, c)
    for r in range(row - k + 1, row + k):
        yield (r, col - k)
        yield (r, col + k)
