"""Jurisdiction geometry: validate uploaded kecamatan GeoJSON and place an SOS location in a polygon.

Everything here is pure (no database, no network), so placing an alert on the SOS hot path is a few
microseconds of in-memory work. Positions follow GeoJSON: ``[lon, lat]`` in WGS 84 degrees. Polygons that
cross the antimeridian are not supported (no Indonesian jurisdiction does).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import shapely
from shapely import affinity
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from siaga.text import clean_text, cleaned

__all__ = [
    "PROBLEMS",
    "GeoJSONError",
    "GeoProblem",
    "JurisdictionIndex",
    "KecamatanFeature",
    "Placement",
    "haversine_m",
    "parse_area",
    "parse_feature_collection",
]

log = logging.getLogger(__name__)

#: IUGG mean Earth radius; one degree of latitude is then about 111.195 km.
EARTH_RADIUS_M = 6_371_008.8

# An upload with hundreds of broken features should still produce a readable message.
_MAX_PROBLEMS_SHOWN = 10
# Property names listed when a required property is missing, to hint at a wrong `code_property`.
_MAX_NAMES_SHOWN = 12
_NIK_PREFIX_PROPERTY = "kode_nik"


# Every problem an uploaded GeoJSON can have: its code, and its English sentence (for the command line and the logs)
# with the parameters it names. The apps word each code in the reader's language from their catalogues
# (common.problem.<code>, with the same parameters); tests/unit/test_geojson_problems.py checks every code has both.
# ``where`` names the feature: its index in the "features" array (0-based) and, once read, its code.
PROBLEMS: dict[str, str] = {
    "geojson.not_utf8": "not JSON: the file is not UTF-8 text (byte {byte}: {reason})",
    "geojson.not_text": "not JSON: expected text, bytes or a mapping, got {type}",
    "geojson.empty_document": "not JSON: the document is empty",
    "geojson.not_json": "not JSON: {error} at line {line} column {column}",
    "geojson.unreadable_json": "not JSON: {error}",
    "geojson.top_not_object": "not a FeatureCollection: the top level is a JSON {type}, not an object",
    "geojson.not_feature_collection": 'not a FeatureCollection: top-level "type" is {type}',
    "geojson.wrap_in_collection": 'not a FeatureCollection: top-level "type" is {type} '
    "(wrap it in a FeatureCollection)",
    "geojson.crs_not_wgs84": '"crs" is {crs}: coordinates must be WGS 84 longitude/latitude (EPSG:4326); reproject the '
    "file, e.g. with ogr2ogr -t_srs EPSG:4326",
    "geojson.features_not_array": 'the FeatureCollection\'s "features" is a {type}, not an array',
    "geojson.no_features": "the FeatureCollection is empty: it has no features",
    "geojson.not_a_feature": "{where} is not a Feature object",
    "geojson.feature_not_object": "{where} is a {type}, not a Feature object",
    "geojson.feature_type": '{where}: "type" is {type}, expected "Feature"',
    "geojson.properties_not_object": '{where}: "properties" is a {type}, not an object',
    "geojson.property_missing": "{where}: property {property} is missing (it has: {names})",
    "geojson.property_missing_no_properties": "{where}: property {property} is missing (it has no properties)",
    "geojson.property_null": "{where}: property {property} is null (it has: {names})",
    "geojson.property_not_text": "{where}: property {property} must be a string, got {type} {value}",
    "geojson.property_empty": "{where}: property {property} is empty",
    "geojson.nik_prefix": "{where}: property {property} must be 6 digits, got {value}",
    "geojson.duplicate_code": "{where}: duplicate {property} {code} (already used by {first})",
    "geojson.geometry_null": "{where}: geometry is null (every kecamatan needs a Polygon or MultiPolygon)",
    "geojson.geometry_not_object": "{where}: geometry is a {type}, not an object",
    "geojson.geometry_type": "{where}: geometry is a {type}, only Polygon and MultiPolygon are accepted",
    "geojson.coordinates_not_array": "{where}: geometry.coordinates is a {type}, not an array",
    "geojson.multipolygon_empty": "{where}: the MultiPolygon is empty (geometry.coordinates is [])",
    "geojson.zero_area": "{where}: the polygon has zero area (its positions lie on a line or a point)",
    "geojson.polygon_not_array": "{where}: {path} is a {type}, not an array of rings",
    "geojson.polygon_no_rings": "{where}: the polygon is empty ({path} has no rings)",
    "geojson.ring_not_array": "{where}: {path} is a {type}, not an array of positions",
    "geojson.ring_empty": "{where}: the polygon is empty ({path} has no positions)",
    "geojson.ring_too_few": "{where}: {path} has {count} distinct position(s); a ring needs 3",
    "geojson.position_invalid": "{where}: {path} is {value}, not a [lon, lat] position",
    "geojson.position_not_numbers": "{where}: {path} is {value}; longitude and latitude must be numbers",
    "geojson.position_not_finite": "{where}: {path} is {value}; coordinates must be finite (no NaN or Infinity)",
    "geojson.coordinates_swapped": "{where}: coordinates look swapped: {path} is [{x}, {y}] and every first value is "
    "within ±90, so the positions appear to be [lat, lon]; GeoJSON requires [lon, lat]",
    "geojson.coordinates_out_of_range": "{where}: {path} [{x}, {y}] is out of range (longitude must be within ±180, "
    "latitude within ±90)",
}

Param = str | int | float


@dataclass(frozen=True, slots=True)
class GeoProblem:
    """One thing wrong with an uploaded GeoJSON: a code (``PROBLEMS``), what it names, and its English sentence."""

    code: str
    params: dict[str, Param] = field(default_factory=dict, hash=False)

    @property
    def text(self) -> str:
        return PROBLEMS[self.code].format(**self.params)

    def as_json(self) -> dict[str, Any]:
        """As an API refusal lists it: the code and parameters the apps word, and the English sentence."""
        return {"code": self.code, "params": dict(self.params), "problem": self.text}


class GeoJSONError(ValueError):
    """Raised with what is wrong with an uploaded GeoJSON, each problem a ``GeoProblem``.

    Each names the feature (``features[3]``, 0-based, as in the JSON array) and the property or coordinate at
    fault. When several features are broken, ``problems`` holds every one and the message (English, for the
    command line and logs) shows the first few, so an operator can fix a file in one round trip, not one error at
    a time.
    """

    def __init__(self, problems: GeoProblem | Sequence[GeoProblem]) -> None:
        items = (problems,) if isinstance(problems, GeoProblem) else tuple(problems)
        self.problems: tuple[GeoProblem, ...] = items
        shown = [problem.text for problem in items[:_MAX_PROBLEMS_SHOWN]]
        if len(items) > _MAX_PROBLEMS_SHOWN:
            shown.append(f"... and {len(items) - _MAX_PROBLEMS_SHOWN} more problem(s)")
        super().__init__("; ".join(shown))


def _refused(code: str, **params: Param) -> GeoJSONError:
    """The error for one problem ``code`` (a key of ``PROBLEMS``) naming ``params``."""
    return GeoJSONError(GeoProblem(code, params))


@dataclass(frozen=True, slots=True)
class KecamatanFeature:
    """One validated jurisdiction polygon from an uploaded FeatureCollection."""

    code: str
    name: str
    nik_prefix: str | None
    geometry: BaseGeometry
    # Excluded from the hash so that features stay hashable although a dict is not.
    properties: dict[str, Any] = field(hash=False)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a location falls: the chosen jurisdiction code and how it was chosen."""

    code: str | None
    method: Literal["inside", "overlap", "nearest", "none"]
    distance_m: float
    candidates: tuple[str, ...]


# ----------------------------------------------------------------------------------------------------------
# Parsing and validation


def parse_feature_collection(
    doc: Mapping[str, Any] | str | bytes,
    *,
    code_property: str = "kode",
    name_property: str = "nama",
) -> list[KecamatanFeature]:
    """Validate a GeoJSON FeatureCollection of (Multi)Polygons and return one feature per jurisdiction.

    ``doc`` is the parsed document or its JSON text (UTF-8 bytes or str). Raises ``GeoJSONError`` with a
    message naming the feature index and the property or coordinate at fault for: text that is not JSON, a
    document that is not a FeatureCollection or has no features, a non-WGS 84 ``crs``, a geometry that is not
    a Polygon or MultiPolygon, a missing or empty code or name property, a malformed ``kode_nik``, duplicate
    codes, malformed, non-finite or out-of-range coordinates (with a hint when they look like ``[lat, lon]``
    instead of ``[lon, lat]``), and empty or zero-area polygons. Self-intersecting polygons are repaired with
    ``shapely.make_valid`` keeping only the polygonal parts; unclosed rings are closed.
    """
    data = _load_json(doc)
    features = _feature_list(data)
    problems: list[GeoProblem] = []
    parsed: list[tuple[int, KecamatanFeature]] = []
    for index, feature in enumerate(features):
        try:
            parsed.append((index, _parse_feature(index, feature, code_property, name_property)))
        except GeoJSONError as exc:
            problems.extend(exc.problems)
    first_index: dict[str, int] = {}
    for index, feature in parsed:
        if feature.code in first_index:
            first = first_index[feature.code]
            problems.append(
                GeoProblem(
                    "geojson.duplicate_code",
                    {
                        "where": f"features[{index}]",
                        "property": code_property,
                        "code": repr(feature.code),
                        "first": f"features[{first}]",
                    },
                )
            )
        else:
            first_index[feature.code] = index
    if problems:
        raise GeoJSONError(problems)
    return [feature for _, feature in parsed]


def parse_area(doc: Mapping[str, Any] | str | bytes) -> BaseGeometry:
    """Validate a service area (a Damkar sector, a hospital catchment): a GeoJSON FeatureCollection of
    (Multi)Polygons, by the same rules as kecamatan but with no properties required, merged into one shape.
    Raises ``GeoJSONError`` naming the feature and coordinate at fault."""
    features = _feature_list(_load_json(doc))
    problems: list[GeoProblem] = []
    shapes: list[BaseGeometry] = []
    for index, feature in enumerate(features):
        where = f"features[{index}]"
        try:
            if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
                raise _refused("geojson.not_a_feature", where=where)
            shapes.append(_parse_geometry(feature.get("geometry"), where))
        except GeoJSONError as exc:
            problems.extend(exc.problems)
    if problems:
        raise GeoJSONError(problems)
    merged: BaseGeometry = shapes[0] if len(shapes) == 1 else _polygonal_part(shapely.union_all(shapes))
    return merged


def _load_json(doc: Mapping[str, Any] | str | bytes) -> Any:
    if isinstance(doc, Mapping):
        return doc
    if isinstance(doc, bytes | bytearray | memoryview):
        try:
            # RFC 8259 and 7946 require UTF-8; "-sig" tolerates the BOM that some desktop GIS tools write.
            text = bytes(doc).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _refused("geojson.not_utf8", byte=exc.start, reason=exc.reason) from None
    elif isinstance(doc, str):
        text = doc.removeprefix("\ufeff")
    else:
        raise _refused("geojson.not_text", type=type(doc).__name__)
    if not text.strip():
        raise _refused("geojson.empty_document")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _refused("geojson.not_json", error=exc.msg, line=exc.lineno, column=exc.colno) from None
    except (ValueError, RecursionError) as exc:
        # e.g. an integer with more digits than Python allows, or absurd nesting.
        raise _refused("geojson.unreadable_json", error=str(exc)) from None


def _feature_list(data: Any) -> Sequence[Any]:
    if not isinstance(data, Mapping):
        raise _refused("geojson.top_not_object", type=_json_type(data))
    kind = data.get("type")
    if kind != "FeatureCollection":
        wrap = kind in {"Feature", "Polygon", "MultiPolygon"}
        raise _refused("geojson.wrap_in_collection" if wrap else "geojson.not_feature_collection", type=repr(kind))
    _check_crs(data.get("crs"))
    features = data.get("features")
    if not isinstance(features, list):
        raise _refused("geojson.features_not_array", type=_json_type(features))
    if not features:
        raise _refused("geojson.no_features")
    return features


def _check_crs(crs: Any) -> None:
    # RFC 7946 dropped "crs", but files exported from older tools still carry it; a projected CRS (e.g. UTM in
    # metres) would otherwise only surface as a confusing "out of range" error.
    if crs is None:
        return
    name = crs.get("properties", {}).get("name") if isinstance(crs, Mapping) else None
    if isinstance(name, str) and ("CRS84" in name.upper() or name.rstrip(":").endswith("4326")):
        return
    raise _refused("geojson.crs_not_wgs84", crs=repr(name or crs))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _parse_feature(index: int, feature: Any, code_property: str, name_property: str) -> KecamatanFeature:
    where = f"features[{index}]"
    if not isinstance(feature, Mapping):
        raise _refused("geojson.feature_not_object", where=where, type=_json_type(feature))
    if feature.get("type") != "Feature":
        raise _refused("geojson.feature_type", where=where, type=repr(feature.get("type")))
    props = feature.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, Mapping):
        raise _refused("geojson.properties_not_object", where=where, type=_json_type(props))
    code = _text_property(props, code_property, where, allow_number=True)
    where = f"{where} ({code_property} {code!r})"
    name = _text_property(props, name_property, where, allow_number=False)
    nik_prefix = _nik_prefix(props.get(_NIK_PREFIX_PROPERTY), where)
    geometry = _parse_geometry(feature.get("geometry"), where)
    properties = cleaned(dict(props))  # stored as JSON: a NUL in any property would not go into PostgreSQL
    return KecamatanFeature(code=code, name=name, nik_prefix=nik_prefix, geometry=geometry, properties=properties)


def _text_property(props: Mapping[str, Any], key: str, where: str, *, allow_number: bool) -> str:
    if key not in props or props[key] is None:
        names = sorted(str(k) for k in props)
        if not names:
            raise _refused("geojson.property_missing_no_properties", where=where, property=repr(key))
        more = ", ..." if len(names) > _MAX_NAMES_SHOWN else ""
        present = f"{', '.join(names[:_MAX_NAMES_SHOWN])}{more}"
        raise _refused(
            "geojson.property_missing" if key not in props else "geojson.property_null",
            where=where,
            property=repr(key),
            names=present,
        )
    value = props[key]
    # Some exports write numeric codes as JSON numbers; a whole number is unambiguous, anything else is not.
    if allow_number and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _refused(
            "geojson.property_not_text", where=where, property=repr(key), type=_json_type(value), value=repr(value)
        )
    value = clean_text(value).strip()
    if not value:
        raise _refused("geojson.property_empty", where=where, property=repr(key))
    return value


def _nik_prefix(raw: Any, where: str) -> str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, int) and not isinstance(raw, bool) and 100_000 <= raw <= 999_999:
        return str(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) == 6 and text.isascii() and text.isdigit():
            return text
    raise _refused("geojson.nik_prefix", where=where, property=repr(_NIK_PREFIX_PROPERTY), value=repr(raw))


def _parse_geometry(geometry: Any, where: str) -> BaseGeometry:
    if geometry is None:
        raise _refused("geojson.geometry_null", where=where)
    if not isinstance(geometry, Mapping):
        raise _refused("geojson.geometry_not_object", where=where, type=_json_type(geometry))
    kind = geometry.get("type")
    if kind not in {"Polygon", "MultiPolygon"}:
        raise _refused("geojson.geometry_type", where=where, type=str(kind))
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list):
        raise _refused("geojson.coordinates_not_array", where=where, type=_json_type(coordinates))
    if kind == "Polygon":
        polygons = [("geometry.coordinates", coordinates)]
    else:
        if not coordinates:
            raise _refused("geojson.multipolygon_empty", where=where)
        polygons = [(f"geometry.coordinates[{k}]", part) for k, part in enumerate(coordinates)]

    rings_per_polygon = [_parse_polygon_rings(part, path, where) for path, part in polygons]
    _check_ranges(rings_per_polygon, where)

    shapes = [Polygon(rings[0], rings[1:]) for _, rings in rings_per_polygon]
    shape: BaseGeometry = shapes[0] if len(shapes) == 1 else MultiPolygon(shapes)
    if not shape.is_valid:
        reason = shapely.is_valid_reason(shape)
        shape = _polygonal_part(shapely.make_valid(shape))
        # Logged rather than raised: hand-drawn boundary files often have a tiny bow-tie that is safe to fix.
        log.warning("%s: invalid geometry (%s) repaired with make_valid", where, reason)
    if shape.is_empty or shape.area == 0:
        raise _refused("geojson.zero_area", where=where)
    return shape


Ring = list[tuple[float, float]]


def _parse_polygon_rings(polygon: Any, path: str, where: str) -> tuple[str, list[Ring]]:
    if not isinstance(polygon, list):
        raise _refused("geojson.polygon_not_array", where=where, path=path, type=_json_type(polygon))
    if not polygon:
        raise _refused("geojson.polygon_no_rings", where=where, path=path)
    rings: list[Ring] = []
    for r, ring in enumerate(polygon):
        ring_path = f"{path}[{r}]"
        if not isinstance(ring, list):
            raise _refused("geojson.ring_not_array", where=where, path=ring_path, type=_json_type(ring))
        positions: Ring = [_position(pos, f"{ring_path}[{p}]", where) for p, pos in enumerate(ring)]
        if not positions:
            raise _refused("geojson.ring_empty", where=where, path=ring_path)
        # RFC 7946 requires closed rings; closing one ourselves is harmless and saves a round trip.
        if positions[0] != positions[-1]:
            positions.append(positions[0])
        if len(positions) < 4:
            raise _refused("geojson.ring_too_few", where=where, path=ring_path, count=len(set(positions)))
        rings.append(positions)
    return path, rings


def _position(pos: Any, path: str, where: str) -> tuple[float, float]:
    if not isinstance(pos, list | tuple) or len(pos) < 2:
        raise _refused("geojson.position_invalid", where=where, path=path, value=repr(pos))
    lon, lat = pos[0], pos[1]
    for value in (lon, lat):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _refused("geojson.position_not_numbers", where=where, path=path, value=repr(pos))
        if not math.isfinite(value):
            raise _refused("geojson.position_not_finite", where=where, path=path, value=repr(pos))
    return float(lon), float(lat)


def _check_ranges(polygons: list[tuple[str, list[Ring]]], where: str) -> None:
    bad: tuple[str, tuple[float, float]] | None = None
    firsts_within_lat = True
    seconds_within_lon = True
    for path, rings in polygons:
        for r, ring in enumerate(rings):
            for p, (x, y) in enumerate(ring):
                firsts_within_lat = firsts_within_lat and abs(x) <= 90.0
                seconds_within_lon = seconds_within_lon and abs(y) <= 180.0
                if bad is None and (abs(x) > 180.0 or abs(y) > 90.0):
                    bad = (f"{path}[{r}][{p}]", (x, y))
    if bad is None:
        return
    bad_path, (x, y) = bad
    if firsts_within_lat and seconds_within_lon:
        # Every first value could be a latitude and some second value can only be a longitude: the classic
        # [lat, lon] mix-up (for Indonesia, lat -11..6 and lon 95..141 make it unmistakable).
        raise _refused("geojson.coordinates_swapped", where=where, path=bad_path, x=x, y=y)
    raise _refused("geojson.coordinates_out_of_range", where=where, path=bad_path, x=x, y=y)


def _polygonal_part(geometry: BaseGeometry) -> BaseGeometry:
    """Keep only the (Multi)Polygon pieces of a make_valid result, which may hold collapsed lines/points."""
    if isinstance(geometry, Polygon | MultiPolygon):
        return geometry
    parts = [part for part in shapely.get_parts(geometry) if isinstance(part, Polygon | MultiPolygon)]
    if not parts:
        return Polygon()
    merged: BaseGeometry = shapely.union_all(parts)
    return merged


# ----------------------------------------------------------------------------------------------------------
# Placement


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS 84 points given in degrees (spherical Earth model)."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2.0) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2.0) ** 2
    # Rounding can push `a` a hair outside [0, 1] for antipodal or identical points.
    a = min(1.0, max(0.0, a))
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def _check_lat_lon(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError(f"latitude and longitude must be finite numbers, got lat={lat!r}, lon={lon!r}")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat!r} is out of range (must be within ±90)")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon!r} is out of range (must be within ±180)")


def _degree_window(lat: float, radius_m: float) -> tuple[float, float]:
    """Half-height and half-width in degrees of a box that surely contains every point within radius_m.

    Exact on the sphere: the latitude extent of a spherical cap is its angular radius, and its longitude
    extent is asin(sin(radius) / cos(lat)) unless the cap reaches a pole. A little slack absorbs rounding.
    """
    angle = radius_m / EARTH_RADIUS_M
    dlat = math.degrees(angle)
    if abs(lat) + dlat >= 90.0 or angle >= math.pi / 2.0:
        dlon = 360.0
    else:
        dlon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(lat)))))
    return dlat * 1.0001 + 1e-9, dlon * 1.0001 + 1e-9


class JurisdictionIndex:
    """Point-in-polygon placement over a fixed set of jurisdiction polygons, built once and queried per alert.

    Containment is tested on the original geometries (prepared, found through an STRtree on their boxes).
    Distances use a second copy whose longitudes are scaled by cos(mid-latitude of the data), so that degree
    space is locally isotropic: the nearest point found there is the true nearest point to well under a metre
    within a city, and the reported distance is the haversine to that point (never an underestimate).
    """

    __slots__ = ("_boundaries", "_bounds", "_codes", "_geoms", "_kx", "_scaled", "_scaled_tree", "_tree")

    def __init__(self, shapes: Iterable[tuple[str, BaseGeometry]]) -> None:
        """Index ``(code, geometry)`` pairs: (Multi)Polygons in [lon, lat] degrees, codes unique."""
        codes: list[str] = []
        geoms: list[BaseGeometry] = []
        seen: set[str] = set()
        for code, geometry in shapes:
            if not isinstance(code, str) or not code:
                raise ValueError(f"jurisdiction code must be a non-empty string, got {code!r}")
            if code in seen:
                raise ValueError(f"duplicate jurisdiction code {code!r}; merge its polygons into one MultiPolygon")
            if not isinstance(geometry, Polygon | MultiPolygon) or geometry.is_empty:
                raise ValueError(f"jurisdiction {code!r} needs a non-empty Polygon or MultiPolygon")
            seen.add(code)
            codes.append(code)
            geoms.append(geometry)
        self._codes: tuple[str, ...] = tuple(codes)
        self._tree = shapely.STRtree(geoms)
        self._geoms = self._tree.geometries
        # Preparing builds each polygon's edge index once; covers() on a point is then sublinear. GEOS builds
        # that index lazily on first use, so one warm-up query here leaves locate() read-only (safe to share
        # between threads).
        shapely.prepare(self._geoms)
        if geoms:
            first_vertices = shapely.get_point(shapely.get_exterior_ring(shapely.get_geometry(self._geoms, 0)), 0)
            shapely.covers(self._geoms, first_vertices)
            minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(self._geoms))
            self._bounds: tuple[float, float, float, float] | None = (minx, miny, maxx, maxy)
            self._kx = math.cos(math.radians((miny + maxy) / 2.0))
        else:
            self._bounds = None
            self._kx = 1.0
        scaled = [affinity.scale(g, xfact=self._kx, yfact=1.0, origin=(0.0, 0.0)) for g in geoms]
        self._scaled_tree = shapely.STRtree(scaled)
        self._scaled = self._scaled_tree.geometries
        self._boundaries = shapely.boundary(self._scaled)

    def __len__(self) -> int:
        """Number of jurisdictions indexed."""
        return len(self._codes)

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """(min lon, min lat, max lon, max lat) of all polygons, None when the index is empty."""
        return self._bounds

    def locate(self, lat: float, lon: float, *, buffer_m: float) -> Placement:
        """Place a WGS 84 location in a jurisdiction.

        Inside exactly one polygon (its boundary included): ``inside``. Inside several overlapping ones:
        ``overlap``, choosing the polygon the point lies deepest in (ties by code), with every containing code
        in ``candidates``, chosen first. In none: the polygon at the smallest great-circle distance,
        ``nearest`` if that is within ``buffer_m`` metres, else ``none`` with code None and that distance (inf
        when the index is empty). A point exactly on a border shared by two polygons is inside both, so it is
        reported as an ``overlap`` (equally deep in both: the lower code wins). Raises ValueError for a
        non-finite or out-of-range position or a negative buffer.
        """
        _check_lat_lon(lat, lon)
        if not (math.isfinite(buffer_m) and buffer_m >= 0.0):
            raise ValueError(f"buffer_m must be a finite number >= 0, got {buffer_m!r}")
        if not self._codes:
            return Placement(code=None, method="none", distance_m=math.inf, candidates=())

        point = Point(lon, lat)
        boxed = self._tree.query(point)
        if len(boxed):
            inside = boxed[shapely.covers(self._geoms[boxed], point)]
            if len(inside) == 1:
                code = self._codes[int(inside[0])]
                return Placement(code=code, method="inside", distance_m=0.0, candidates=(code,))
            if len(inside) > 1:
                return self._overlap(inside.tolist(), lat, lon)

        scaled_point = Point(lon * self._kx, lat)
        # Every polygon within buffer_m (great-circle) touches the exact degree window around the point, so
        # the window's half-diagonal in the scaled space is a safe, if generous, search radius there.
        dlat, dlon = _degree_window(lat, buffer_m)
        radius = math.hypot(dlon * self._kx, dlat)
        nearby = self._scaled_tree.query(scaled_point, predicate="dwithin", distance=radius).tolist()
        best = self._closest(nearby, lat, lon, scaled_point)
        if best is not None and best[0] <= buffer_m:
            code = self._codes[best[1]]
            return Placement(code=code, method="nearest", distance_m=best[0], candidates=(code,))

        # Beyond the buffer: still report how far the nearest polygon is, for the console and the logs.
        anywhere = self._scaled_tree.query_nearest(scaled_point, all_matches=True).tolist()
        best = self._closest(sorted(set(anywhere).union(nearby)), lat, lon, scaled_point)
        distance = best[0] if best is not None else math.inf
        return Placement(code=None, method="none", distance_m=distance, candidates=())

    def _overlap(self, inside: list[int], lat: float, lon: float) -> Placement:
        # Depth = distance to the polygon's own boundary: the polygon whose interior the point is most clearly
        # in wins, which is where a sloppy shared border most likely belongs.
        depths = shapely.distance(self._boundaries[inside], Point(lon * self._kx, lat)).tolist()
        ranked = sorted(zip(inside, depths, strict=True), key=lambda item: (-item[1], self._codes[item[0]]))
        codes = tuple(self._codes[i] for i, _ in ranked)
        return Placement(code=codes[0], method="overlap", distance_m=0.0, candidates=codes)

    def _closest(self, indices: list[int], lat: float, lon: float, scaled_point: Point) -> tuple[float, int] | None:
        """(metres, index) of the nearest of the given polygons, ties broken by code; None if none given."""
        if not indices:
            return None
        lines = shapely.shortest_line(self._scaled[indices], scaled_point)
        # Each line runs from the polygon's nearest point to the query point: two coordinates per line.
        ends = shapely.get_coordinates(lines)[::2].tolist()
        metres, _, index = min(
            (haversine_m(lat, lon, y, x / self._kx), self._codes[i], i) for i, (x, y) in zip(indices, ends, strict=True)
        )
        return metres, index
