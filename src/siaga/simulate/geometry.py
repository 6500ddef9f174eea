"""Where simulated people are and how they move: pure functions over kecamatan polygons, no I/O.

Positions are ``(lat, lon)`` in degrees; shapely works in ``(lon, lat)`` as GeoJSON does. Distances are short (a
city), so moving a few hundred metres uses a local flat approximation, which is exact enough at street scale.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from siaga.agencies.geo import haversine_m

__all__ = [
    "Area",
    "LatLon",
    "areas_by_agency",
    "city_area",
    "distance_m",
    "kecamatan_areas",
    "offset",
    "pick_area",
    "random_point",
    "step_toward",
]

LatLon = tuple[float, float]
_METRES_PER_DEGREE = 111_195.0
_MAX_TRIES = 1000


@dataclass(frozen=True, slots=True)
class Area:
    """A region people are placed in: one kecamatan, or the kecamatan an agency serves."""

    name: str
    geometry: BaseGeometry

    @property
    def size(self) -> float:
        """Planar size in square degrees: good enough to weight kecamatan of one city against each other."""
        return float(self.geometry.area)


def distance_m(a: LatLon, b: LatLon) -> float:
    """Great-circle distance in metres."""
    return haversine_m(a[0], a[1], b[0], b[1])


def offset(position: LatLon, *, north_m: float, east_m: float) -> LatLon:
    """The point ``north_m`` north and ``east_m`` east of ``position``."""
    lat, lon = position
    return (
        lat + north_m / _METRES_PER_DEGREE,
        lon + east_m / (_METRES_PER_DEGREE * math.cos(math.radians(lat))),
    )


def step_toward(position: LatLon, target: LatLon, metres: float) -> tuple[LatLon, bool]:
    """Move up to ``metres`` in a straight line toward ``target``. Returns the new position and whether it got
    there."""
    remaining = distance_m(position, target)
    if remaining <= metres or remaining == 0:
        return target, True
    fraction = metres / remaining
    return (
        position[0] + (target[0] - position[0]) * fraction,
        position[1] + (target[1] - position[1]) * fraction,
    ), False


def random_point(area: Area, rng: random.Random) -> LatLon:
    """A uniformly random point inside the area (rejection sampling in its bounding box)."""
    min_lon, min_lat, max_lon, max_lat = area.geometry.bounds
    for _ in range(_MAX_TRIES):
        lon, lat = rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)
        if area.geometry.contains(Point(lon, lat)):
            return lat, lon
    # A sliver of a polygon: its representative point is inside by construction.
    point = area.geometry.representative_point()
    return float(point.y), float(point.x)


def pick_area(areas: Sequence[Area], rng: random.Random) -> Area:
    """An area chosen with probability proportional to its size (presses spread over the city like people)."""
    return rng.choices(list(areas), weights=[a.size for a in areas], k=1)[0]


def kecamatan_areas(geojson: Mapping[str, Any]) -> dict[str, Area]:
    """Kecamatan code -> area, from ``GET /jurisdictions.geojson``."""
    found: dict[str, Area] = {}
    for feature in geojson.get("features", []):
        properties = feature.get("properties") or {}
        geometry = shape(feature["geometry"])
        if not geometry.is_valid:
            geometry = geometry.buffer(0)
        found[str(properties["code"])] = Area(name=str(properties.get("name", properties["code"])), geometry=geometry)
    return found


def find_kecamatan(kecamatan: Mapping[str, Area], wanted: str) -> Area | None:
    """The kecamatan whose code or name is ``wanted`` (names in any case, with or without "Kecamatan")."""
    if wanted in kecamatan:
        return kecamatan[wanted]
    name = wanted.strip().lower().removeprefix("kecamatan ").strip()
    return next((a for a in kecamatan.values() if a.name.lower().removeprefix("kecamatan ").strip() == name), None)


def areas_by_agency(kecamatan: Mapping[str, Area], primary: Iterable[tuple[str, str]]) -> dict[str, Area]:
    """Agency code -> the union of the kecamatan it is primary for. ``primary`` is (kecamatan code, agency code)."""
    parts: dict[str, list[BaseGeometry]] = {}
    names: dict[str, list[str]] = {}
    for code, agency in primary:
        if code in kecamatan:
            parts.setdefault(agency, []).append(kecamatan[code].geometry)
            names.setdefault(agency, []).append(kecamatan[code].name)
    return {
        agency: Area(name=", ".join(names[agency]), geometry=unary_union(shapes)) for agency, shapes in parts.items()
    }


def city_area(kecamatan: Mapping[str, Area]) -> Area:
    """Every kecamatan together."""
    return Area(name="city", geometry=unary_union([a.geometry for a in kecamatan.values()]))
