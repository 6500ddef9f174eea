"""Tests for siaga.agencies.geo: GeoJSON validation and point placement, on the real Bandung and Bandar Lampung data."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon, box

from siaga.agencies.geo import (
    GeoJSONError,
    JurisdictionIndex,
    KecamatanFeature,
    Placement,
    haversine_m,
    parse_feature_collection,
)
from tests.conftest import BANDUNG_GEOJSON as BANDUNG_FILE
from tests.conftest import LAMPUNG_GEOJSON as LAMPUNG_FILE

# Metres per degree along a meridian on the sphere haversine_m uses.
M_PER_DEG = 6_371_008.8 * math.pi / 180.0


@cache
def _bandung() -> tuple[KecamatanFeature, ...]:
    return tuple(parse_feature_collection(BANDUNG_FILE.read_bytes()))


@cache
def _lampung() -> tuple[KecamatanFeature, ...]:
    return tuple(parse_feature_collection(LAMPUNG_FILE.read_text(encoding="utf-8")))


@cache
def _bandung_index() -> JurisdictionIndex:
    return JurisdictionIndex((f.code, f.geometry) for f in _bandung())


@cache
def _lampung_index() -> JurisdictionIndex:
    return JurisdictionIndex((f.code, f.geometry) for f in _lampung())


def _metres_from(geometry: Any, lat: float, lon: float) -> float:
    """Reference distance in metres from (lat, lon) to a geometry, computed independently of geo.py.

    Uses an equirectangular projection centred on the query point, which over a few kilometres agrees with the
    great-circle distance to far better than a metre (and to a fraction of a per cent over 100 km).
    """
    scale = (math.cos(math.radians(lat)) * M_PER_DEG, M_PER_DEG)
    projected = shapely.transform(geometry, lambda c: (c - (lon, lat)) * scale)
    return float(projected.distance(Point(0.0, 0.0)))


def _metric_distances(features: tuple[KecamatanFeature, ...], lat: float, lon: float) -> dict[str, float]:
    return {f.code: _metres_from(f.geometry, lat, lon) for f in features}


def _feature(code: Any, name: Any, ring: list[list[float]], **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"kode": code, "nama": name, **extra}
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _square(lon: float, lat: float, size: float = 0.01) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def _collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


# ---------------------------------------------------------------------------------------------------------
# Parsing the real files


def test_bandung_has_30_kecamatan_with_codes_and_nik_prefixes() -> None:
    features = _bandung()
    assert len(features) == 30
    assert [f.code for f in features] == [f"32.73.{n:02d}" for n in range(1, 31)]
    for f in features:
        assert f.nik_prefix == f.code.replace(".", ""), f.code
        assert f.name
        assert isinstance(f.geometry, Polygon | MultiPolygon)
        assert f.geometry.is_valid
        assert f.geometry.area > 0
        assert f.properties["kode"] == f.code
        assert "osm_id" in f.properties
    names = {f.name for f in features}
    assert {"Bandung Wetan", "Regol", "Coblong", "Gedebage", "Cicendo"} <= names


def test_lampung_has_20_kecamatan() -> None:
    features = _lampung()
    assert len(features) == 20
    assert {f.code for f in features} == {f"18.71.{n:02d}" for n in range(1, 21)}
    assert all(f.nik_prefix == f.code.replace(".", "") for f in features)
    kinds = {f.code: f.geometry.geom_type for f in features}
    assert kinds["18.71.19"] == "MultiPolygon"  # Telukbetung Timur includes islands


def test_parse_accepts_mapping_str_and_bytes_alike() -> None:
    text = BANDUNG_FILE.read_text(encoding="utf-8")
    from_str = parse_feature_collection(text)
    from_mapping = parse_feature_collection(json.loads(text))
    from_bom = parse_feature_collection(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert [f.code for f in from_str] == [f.code for f in from_mapping] == [f.code for f in from_bom]
    assert from_str[0].geometry.equals(from_mapping[0].geometry)


def test_index_bounds_and_len() -> None:
    index = _bandung_index()
    assert len(index) == 30
    assert index.bounds is not None
    minx, miny, maxx, maxy = index.bounds
    assert 107.5 < minx < maxx < 107.8
    assert -7.0 < miny < maxy < -6.8


# ---------------------------------------------------------------------------------------------------------
# Placement on the real data


@pytest.mark.parametrize("features", [_bandung, _lampung], ids=["bandung", "lampung"])
def test_representative_point_of_every_kecamatan_locates_to_itself(features: Any) -> None:
    feats: tuple[KecamatanFeature, ...] = features()
    index = JurisdictionIndex((f.code, f.geometry) for f in feats)
    for f in feats:
        point = f.geometry.representative_point()
        placement = index.locate(point.y, point.x, buffer_m=0.0)
        assert placement.distance_m == 0.0
        if placement.method == "overlap":
            assert f.code in placement.candidates
        else:
            assert placement == Placement(f.code, "inside", 0.0, (f.code,))


# Landmark coordinates were checked against the data: each lies at least ~70 m inside its kecamatan.
@pytest.mark.parametrize(
    ("lat", "lon", "code"),
    [
        pytest.param(-6.9025, 107.6188, "32.73.09", id="Gedung Sate in Bandung Wetan"),
        pytest.param(-6.9218, 107.6071, "32.73.11", id="Alun-alun Bandung in Regol"),
        pytest.param(-6.8915, 107.6107, "32.73.02", id="ITB Ganesha in Coblong"),
        pytest.param(-6.9006, 107.5763, "32.73.06", id="Husein Sastranegara airport in Cicendo"),
        pytest.param(-6.9254, 107.6366, "32.73.12", id="Trans Studio Mall in Batununggal"),
        pytest.param(-6.9246, 107.6456, "32.73.16", id="Kiaracondong station in Kiaracondong"),
        pytest.param(-6.9573, 107.7123, "32.73.27", id="Stadion GBLA in Gedebage"),
    ],
)
def test_bandung_landmarks(lat: float, lon: float, code: str) -> None:
    assert _bandung_index().locate(lat, lon, buffer_m=500.0) == Placement(code, "inside", 0.0, (code,))


def test_a_point_in_jakarta_is_none_and_far() -> None:
    placement = _bandung_index().locate(-6.1754, 106.8272, buffer_m=500.0)  # Monas
    assert placement.code is None
    assert placement.method == "none"
    assert placement.candidates == ()
    assert 100_000 < placement.distance_m < 130_000
    reference = min(_metric_distances(_bandung(), -6.1754, 106.8272).values())
    assert placement.distance_m == pytest.approx(reference, rel=0.005)


def _outward_points() -> Iterator[Any]:
    """A point 200 m beyond the city's extreme north, south, east and west vertex, with the expected code(s).

    Beyond the southernmost vertex, say, every part of the city is at least 200 m away (all of it lies north of
    that vertex) and the vertex itself is exactly 200 m away, so the nearest distance is known without trusting
    geo.py.
    """
    city = shapely.union_all([f.geometry for f in _bandung()])
    coords = shapely.get_coordinates(city.exterior).tolist()
    for name, (x, y), (east_m, north_m) in [
        ("south", min(coords, key=lambda c: c[1]), (0.0, -200.0)),
        ("north", max(coords, key=lambda c: c[1]), (0.0, 200.0)),
        ("west", min(coords, key=lambda c: c[0]), (-200.0, 0.0)),
        ("east", max(coords, key=lambda c: c[0]), (200.0, 0.0)),
    ]:
        vertex = Point(x, y)
        owners = {f.code for f in _bandung() if f.geometry.distance(vertex) < 1e-12}
        lon = x + east_m / (M_PER_DEG * math.cos(math.radians(y)))
        lat = y + north_m / M_PER_DEG
        yield pytest.param(lat, lon, owners, id=name)


@pytest.mark.parametrize(("lat", "lon", "owners"), list(_outward_points()))
def test_just_outside_the_city(lat: float, lon: float, owners: set[str]) -> None:
    index = _bandung_index()
    near = index.locate(lat, lon, buffer_m=500.0)
    assert near.method == "nearest"
    assert near.code in owners
    assert near.candidates == (near.code,)
    assert near.distance_m == pytest.approx(200.0, abs=1.0)

    far = index.locate(lat, lon, buffer_m=50.0)
    assert far == Placement(None, "none", near.distance_m, ())


def test_boundary_counts_as_inside() -> None:
    city = shapely.union_all([f.geometry for f in _bandung()])
    lon, lat = shapely.get_coordinates(city.exterior)[0].tolist()
    placement = _bandung_index().locate(lat, lon, buffer_m=0.0)
    assert placement.method in {"inside", "overlap"}
    assert placement.distance_m == 0.0


def test_port_of_panjang_falls_in_no_polygon() -> None:
    # Port of Panjang at 5°28'S 105°19'E (Wikipedia): the coarse polygons leave the harbour about 100 m outside.
    index = _lampung_index()
    outside = index.locate(-5.4667, 105.3167, buffer_m=0.0)
    assert outside.method == "none"
    assert 50.0 < outside.distance_m < 200.0
    near = index.locate(-5.4667, 105.3167, buffer_m=500.0)
    assert near == Placement("18.71.04", "nearest", outside.distance_m, ("18.71.04",))  # Panjang


def _lampung_gaps() -> list[Point]:
    """One point in each hole of the union of the Bandar Lampung polygons: inside the city, in no kecamatan."""
    city = shapely.union_all([f.geometry for f in _lampung()])
    main = max(shapely.get_parts(city), key=lambda part: part.area)
    return [Polygon(ring).representative_point() for ring in main.interiors]


def test_lampung_gaps_fall_back_to_the_nearest_kecamatan() -> None:
    gaps = _lampung_gaps()
    assert len(gaps) >= 5, "the coarse Bandar Lampung file is expected to have gaps between kecamatan"
    index = _lampung_index()
    for gap in gaps:
        reference = _metric_distances(_lampung(), gap.y, gap.x)
        expected_m = min(reference.values())
        assert expected_m > 0.0

        strict = index.locate(gap.y, gap.x, buffer_m=0.0)
        assert strict.method == "none"
        assert strict.code is None
        assert strict.distance_m == pytest.approx(expected_m, rel=0.002, abs=0.5)

        placement = index.locate(gap.y, gap.x, buffer_m=5_000.0)
        assert placement.method == "nearest"
        assert placement.code is not None
        assert reference[placement.code] == pytest.approx(expected_m, rel=0.002, abs=0.5)
        assert placement.distance_m == pytest.approx(expected_m, rel=0.002, abs=0.5)
        assert placement == index.locate(gap.y, gap.x, buffer_m=5_000.0)


def _lampung_overlaps() -> list[tuple[Point, set[str]]]:
    """A point inside each substantial pairwise overlap, with every code whose polygon contains it."""
    features = _lampung()
    found = []
    for i, a in enumerate(features):
        for b in features[i + 1 :]:
            common = a.geometry.intersection(b.geometry)
            if common.area * M_PER_DEG**2 < 10_000:  # skip slivers under 1 ha: too thin to aim at reliably
                continue
            point = common.representative_point()
            found.append((point, {f.code for f in features if f.geometry.covers(point)}))
    return found


def test_lampung_overlaps_choose_the_deepest_polygon_deterministically() -> None:
    overlaps = _lampung_overlaps()
    assert len(overlaps) >= 10, "the coarse Bandar Lampung file is expected to have overlapping kecamatan"
    index = _lampung_index()
    reversed_index = JurisdictionIndex((f.code, f.geometry) for f in reversed(_lampung()))
    by_code = {f.code: f for f in _lampung()}
    for point, containing in overlaps:
        placement = index.locate(point.y, point.x, buffer_m=100.0)
        assert placement.method == "overlap"
        assert placement.distance_m == 0.0
        assert set(placement.candidates) == containing
        assert placement.code == placement.candidates[0]
        # Deterministic: the same answer every time and whatever order the polygons were indexed in.
        assert placement == index.locate(point.y, point.x, buffer_m=100.0)
        assert placement == reversed_index.locate(point.y, point.x, buffer_m=100.0)
        # Deepest: no other candidate's boundary is farther from the point than the chosen one's.
        depth = {code: _metres_from(by_code[code].geometry.boundary, point.y, point.x) for code in containing}
        assert depth[placement.code] >= max(depth.values()) - 0.5


# ---------------------------------------------------------------------------------------------------------
# Placement on small synthetic shapes


def test_overlap_ties_are_broken_by_code() -> None:
    # Two squares overlapping in a strip; the strip's midline is equally deep in both.
    b = box(106.0, -6.0, 106.02, -5.98)
    a = box(106.01, -6.0, 106.03, -5.98)
    index = JurisdictionIndex([("B", b), ("A", a)])
    tie = index.locate(-5.99, 106.015, buffer_m=0.0)
    assert tie == Placement("A", "overlap", 0.0, ("A", "B"))
    deeper_in_b = index.locate(-5.99, 106.0105, buffer_m=0.0)
    assert deeper_in_b == Placement("B", "overlap", 0.0, ("B", "A"))


def test_nearest_uses_metres_not_degrees() -> None:
    # At 60°N a degree of longitude is half a degree of latitude: the square 0.015° east (about 835 m) is nearer
    # than the one 0.01° north (about 1112 m), although in raw degrees it is the other way round.
    east = box(10.015, 59.99, 10.05, 60.0)
    north = box(9.97, 60.01, 10.0, 60.05)
    index = JurisdictionIndex([("north", north), ("east", east)])
    placement = index.locate(60.0, 10.0, buffer_m=2_000.0)
    assert placement.method == "nearest"
    assert placement.code == "east"
    assert placement.distance_m == pytest.approx(haversine_m(60.0, 10.0, 60.0, 10.015), rel=1e-3)
    assert index.locate(60.0, 10.0, buffer_m=500.0) == Placement(None, "none", placement.distance_m, ())


def test_empty_index() -> None:
    index = JurisdictionIndex([])
    assert len(index) == 0
    assert index.bounds is None
    assert index.locate(-6.9, 107.6, buffer_m=1_000.0) == Placement(None, "none", math.inf, ())


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(math.nan, 107.6), (-6.9, math.nan), (math.inf, 107.6), (-6.9, -math.inf), (90.5, 107.6), (-6.9, 180.5)],
)
def test_locate_rejects_bad_coordinates(lat: float, lon: float) -> None:
    with pytest.raises(ValueError, match=r"latitude|longitude"):
        _bandung_index().locate(lat, lon, buffer_m=100.0)


@pytest.mark.parametrize("buffer_m", [-1.0, math.nan, math.inf])
def test_locate_rejects_bad_buffer(buffer_m: float) -> None:
    with pytest.raises(ValueError, match="buffer_m"):
        _bandung_index().locate(-6.9, 107.6, buffer_m=buffer_m)


def test_index_rejects_duplicate_codes_and_non_polygons() -> None:
    with pytest.raises(ValueError, match="duplicate jurisdiction code 'A'"):
        JurisdictionIndex([("A", box(0, 0, 1, 1)), ("A", box(2, 2, 3, 3))])
    with pytest.raises(ValueError, match="Polygon or MultiPolygon"):
        JurisdictionIndex([("A", Point(0, 0))])
    with pytest.raises(ValueError, match="Polygon or MultiPolygon"):
        JurisdictionIndex([("A", Polygon())])


# ---------------------------------------------------------------------------------------------------------
# Validation errors


def _error(doc: Any, **kwargs: Any) -> str:
    with pytest.raises(GeoJSONError) as info:
        parse_feature_collection(doc, **kwargs)
    assert isinstance(info.value, ValueError)
    return str(info.value)


GOOD = _square(107.60, -6.92)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        pytest.param("{not json", "not JSON", id="not-json"),
        pytest.param("", "not JSON: the document is empty", id="empty-text"),
        pytest.param(b"\xff\xfe{}", "not UTF-8", id="not-utf8"),
        pytest.param("[1, 2]", "not a FeatureCollection: the top level is a JSON array", id="array"),
        pytest.param(_feature("1", "A", GOOD), "top-level \"type\" is 'Feature' (wrap it", id="bare-feature"),
        pytest.param({"type": "FeatureCollection", "features": []}, "empty: it has no features", id="empty"),
        pytest.param({"type": "FeatureCollection"}, '"features" is a null', id="no-features"),
    ],
)
def test_document_level_errors(doc: Any, expected: str) -> None:
    assert expected in _error(doc)


def test_projected_crs_is_rejected() -> None:
    doc = _collection(_feature("1", "A", GOOD))
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32748"}}
    message = _error(doc)
    assert "EPSG::32748" in message
    assert "EPSG:4326" in message
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    assert len(parse_feature_collection(doc)) == 1


def _with_geometry(geometry: Any) -> dict[str, Any]:
    good = _feature("32.73.01", "Sukasari", _square(107.58, -6.88))
    bad = {"type": "Feature", "properties": {"kode": "32.73.02", "nama": "Coblong"}, "geometry": geometry}
    return _collection(good, bad)


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        pytest.param({"type": "Point", "coordinates": [107.6, -6.9]}, "geometry is a Point, only Polygon", id="point"),
        pytest.param(None, "geometry is null", id="null"),
        pytest.param({"type": "Polygon", "coordinates": []}, "the polygon is empty", id="no-rings"),
        pytest.param({"type": "Polygon", "coordinates": [[]]}, "the polygon is empty", id="empty-ring"),
        pytest.param({"type": "MultiPolygon", "coordinates": []}, "the MultiPolygon is empty", id="empty-multi"),
        pytest.param(
            {"type": "Polygon", "coordinates": [[[107.6, -6.9], [107.61, -6.9], [107.6, -6.9]]]},
            "a ring needs 3",
            id="two-positions",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [[[107.6, -6.9], [107.61, -6.9], [107.62, -6.9], [107.6, -6.9]]]},
            "zero area",
            id="collinear",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [[[107.6, -6.9], [107.61, "-6.9"], [107.6, -6.91], [107.6, -6.9]]]},
            "coordinates[0][1]",
            id="string-coordinate",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [[[107.6, -6.9], [107.61], [107.6, -6.91], [107.6, -6.9]]]},
            "not a [lon, lat] position",
            id="short-position",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [[[107.6, -6.9], [207.6, -6.9], [107.6, -6.91], [107.6, -6.9]]]},
            "[207.6, -6.9] is out of range",
            id="lon-out-of-range",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [[[-6.9, 107.6], [-6.9, 107.61], [-6.91, 107.6], [-6.9, 107.6]]]},
            "coordinates look swapped",
            id="swapped",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [[[107.6, -6.9], [107.61, math.nan], [107.6, -6.91], [107.6, -6.9]]]},
            "must be finite",
            id="nan",
        ),
        pytest.param(
            {"type": "Polygon", "coordinates": [[[107.6, -6.9], [math.inf, -6.9], [107.6, -6.91], [107.6, -6.9]]]},
            "must be finite",
            id="inf",
        ),
    ],
)
def test_geometry_errors_name_the_feature(geometry: Any, expected: str) -> None:
    message = _error(_with_geometry(geometry))
    assert "features[1] (kode '32.73.02')" in message
    assert expected in message
    assert "features[0]" not in message


def test_nan_and_infinity_tokens_in_json_text() -> None:
    # Python's json module accepts these non-standard tokens, so they must be caught after parsing.
    ring = "[[107.6, -6.9], [107.61, NaN], [107.6, -6.91], [107.6, -6.9]]"
    text = json.dumps(_collection(_feature("1", "A", GOOD))).replace(json.dumps([GOOD]), f"[{ring}]")
    assert "NaN" in text
    assert "must be finite" in _error(text)
    assert "must be finite" in _error(text.replace("NaN", "1e999"))


def test_swapped_real_file_is_recognised() -> None:
    doc = json.loads(BANDUNG_FILE.read_text(encoding="utf-8"))
    for feature in doc["features"]:
        geometry = feature["geometry"]
        geometry["coordinates"] = [[[lat, lon] for lon, lat in ring] for ring in geometry["coordinates"]]
    with pytest.raises(GeoJSONError) as info:
        parse_feature_collection(doc)
    error = info.value
    assert len(error.problems) == 30
    assert all("coordinates look swapped" in problem.text for problem in error.problems)
    assert {problem.code for problem in error.problems} == {"geojson.coordinates_swapped"}
    assert "... and 20 more problem(s)" in str(error)


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        pytest.param({"nama": "A"}, "property 'kode' is missing (it has: nama)", id="missing-code"),
        pytest.param({"kode": None, "nama": "A"}, "property 'kode' is null", id="null-code"),
        pytest.param({"kode": "  ", "nama": "A"}, "property 'kode' is empty", id="empty-code"),
        pytest.param({"kode": ["1"], "nama": "A"}, "property 'kode' must be a string", id="list-code"),
        pytest.param({"kode": "1"}, "property 'nama' is missing (it has: kode)", id="missing-name"),
        pytest.param({"kode": "1", "nama": ""}, "property 'nama' is empty", id="empty-name"),
        pytest.param({"kode": "1", "nama": 7}, "property 'nama' must be a string", id="numeric-name"),
        pytest.param({"kode": "1", "nama": "A", "kode_nik": "32730"}, "'kode_nik' must be 6 digits", id="short-nik"),
        pytest.param(None, "property 'kode' is missing (it has no properties)", id="no-properties"),
    ],
)
def test_property_errors(properties: Any, expected: str) -> None:
    feature = {"type": "Feature", "properties": properties, "geometry": {"type": "Polygon", "coordinates": [GOOD]}}
    message = _error(_collection(_feature("0", "Z", _square(107.5, -6.9)), feature))
    assert message.startswith("features[1]")
    assert expected in message


def test_custom_property_names() -> None:
    doc = _collection(_feature("x", "y", GOOD, kode_bps="3273010", nama_kec="Sukasari", kode_nik=327301))
    (feature,) = parse_feature_collection(doc, code_property="kode_bps", name_property="nama_kec")
    assert (feature.code, feature.name, feature.nik_prefix) == ("3273010", "Sukasari", "327301")
    assert "property 'kode_bps' is missing" in _error(_collection(_feature("1", "A", GOOD)), code_property="kode_bps")


def test_numeric_codes_are_accepted_as_text() -> None:
    (feature,) = parse_feature_collection(_collection(_feature(327301, "Sukasari", GOOD)))
    assert feature.code == "327301"
    assert feature.nik_prefix is None


def test_duplicate_codes() -> None:
    doc = _collection(
        _feature("32.73.01", "A", _square(107.5, -6.9)),
        _feature("32.73.02", "B", _square(107.6, -6.9)),
        _feature("32.73.01", "C", _square(107.7, -6.9)),
    )
    message = _error(doc)
    assert "features[2]: duplicate kode '32.73.01' (already used by features[0])" in message


def test_every_broken_feature_is_reported() -> None:
    doc = _collection(
        _feature("1", "", GOOD),
        _feature("2", "B", GOOD),
        {"type": "Feature", "properties": {"kode": "3", "nama": "C"}, "geometry": None},
    )
    with pytest.raises(GeoJSONError) as info:
        parse_feature_collection(doc)
    error = info.value
    assert len(error.problems) == 2
    assert error.problems[0].text.startswith("features[0]")
    assert error.problems[1].text.startswith("features[2]")
    assert [problem.params["where"] for problem in error.problems] == [
        "features[0] (kode '1')",
        "features[2] (kode '3')",
    ]


def test_self_intersecting_polygon_is_repaired(caplog: pytest.LogCaptureFixture) -> None:
    bow_tie = [[107.60, -6.90], [107.62, -6.92], [107.62, -6.90], [107.60, -6.92], [107.60, -6.90]]
    with caplog.at_level(logging.WARNING, logger="siaga.agencies.geo"):
        (feature,) = parse_feature_collection(_collection(_feature("1", "A", bow_tie)))
    assert feature.geometry.is_valid
    assert isinstance(feature.geometry, Polygon | MultiPolygon)
    assert feature.geometry.area == pytest.approx(0.0002, rel=1e-6)  # two triangles of 0.0001 deg² each
    assert "repaired" in caplog.text
    placement = JurisdictionIndex([(feature.code, feature.geometry)]).locate(-6.91, 107.605, buffer_m=0.0)
    assert placement.method == "inside"


def test_unclosed_ring_and_elevation_are_accepted() -> None:
    ring = [[107.60, -6.90, 700.0], [107.61, -6.90, 701.0], [107.61, -6.91, 702.0], [107.60, -6.91, 703.0]]
    (feature,) = parse_feature_collection(_collection(_feature("1", "A", ring)))
    assert feature.geometry.area == pytest.approx(0.0001)
    assert not feature.geometry.has_z


def test_multipolygon_with_hole() -> None:
    outer = _square(107.60, -6.92, 0.03)
    hole = _square(107.61, -6.91, 0.01)
    geometry = {"type": "MultiPolygon", "coordinates": [[outer, hole], [_square(107.70, -6.92)]]}
    doc = _collection({"type": "Feature", "properties": {"kode": "1", "nama": "A"}, "geometry": geometry})
    (feature,) = parse_feature_collection(doc)
    index = JurisdictionIndex([(feature.code, feature.geometry)])
    assert index.locate(-6.905, 107.615, buffer_m=0.0).method == "none"  # in the hole
    assert index.locate(-6.915, 107.605, buffer_m=0.0).method == "inside"
    assert index.locate(-6.915, 107.705, buffer_m=0.0).method == "inside"


# ---------------------------------------------------------------------------------------------------------
# haversine


def test_haversine_known_distances() -> None:
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_200, rel=0.005)
    assert haversine_m(-6.0, 107.0, -7.0, 107.0) == pytest.approx(111_200, rel=0.005)
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * 6_371_008.8)
    assert haversine_m(-6.9, 107.6, -6.9, 107.6) == 0.0
    a = haversine_m(-6.9025, 107.6188, -6.1754, 106.8272)
    assert a == haversine_m(-6.1754, 106.8272, -6.9025, 107.6188)
    assert 115_000 < a < 120_000  # Gedung Sate to Monas is about 117 km as the crow flies


# ---------------------------------------------------------------------------------------------------------
# Property-based


_BANDUNG_BOX = (107.5453618 - 0.02, -6.969748 - 0.02, 107.7395207 + 0.02, -6.8368542 + 0.02)


@settings(max_examples=200, deadline=None, database=None)
@given(
    lon=st.floats(_BANDUNG_BOX[0], _BANDUNG_BOX[2]),
    lat=st.floats(_BANDUNG_BOX[1], _BANDUNG_BOX[3]),
    buffer_m=st.floats(0.0, 3_000.0),
)
def test_locate_is_consistent_with_the_geometry(lon: float, lat: float, buffer_m: float) -> None:
    features = _bandung()
    placement = _bandung_index().locate(lat, lon, buffer_m=buffer_m)
    point = Point(lon, lat)
    containing = {f.code for f in features if f.geometry.covers(point)}
    if placement.method == "inside":
        assert containing == {placement.code}
        assert placement.candidates == (placement.code,)
        assert placement.distance_m == 0.0
    elif placement.method == "overlap":
        assert len(containing) >= 2
        assert set(placement.candidates) == containing
        assert placement.code == placement.candidates[0]
    else:
        assert not containing
        reference = _metric_distances(features, lat, lon)
        nearest_m = min(reference.values())
        assert placement.distance_m == pytest.approx(nearest_m, rel=0.002, abs=0.5)
        if placement.method == "nearest":
            assert placement.code is not None
            assert placement.distance_m <= buffer_m
            assert reference[placement.code] == pytest.approx(nearest_m, rel=0.002, abs=0.5)
        else:
            assert placement.code is None
            assert placement.candidates == ()
            assert nearest_m >= buffer_m - 0.5
