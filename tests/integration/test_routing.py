"""Placing alerts: the kecamatan -> agency table on a real database, with Bandar Lampung's gaps and overlaps."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from siaga.agencies import service as agencies
from siaga.agencies.models import AgencyKind
from siaga.runtime import Runtime
from tests.conftest import LAMPUNG_GEOJSON

LAMPUNG = LAMPUNG_GEOJSON


async def _lampung(runtime: Runtime) -> dict[str, str]:
    """Import Bandar Lampung with 9 Polsek for 20 kecamatan (as the city once had). Returns kecamatan -> Polsek."""
    doc = json.loads(LAMPUNG.read_text(encoding="utf-8"))
    codes = sorted(f["properties"]["kode"] for f in doc["features"])
    table = {code: f"POLSEK-BL-{index % 9 + 1}" for index, code in enumerate(codes)}
    async with runtime.unit_of_work() as session:
        await agencies.create_agency(
            session, code="POLRESTA-BL", name="Polresta Bandar Lampung", kind=AgencyKind.POLRES, parent_code=None
        )
        for polsek in sorted(set(table.values())):
            await agencies.create_agency(
                session, code=polsek, name=polsek, kind=AgencyKind.POLSEK, parent_code="POLRESTA-BL"
            )
        await agencies.import_features(session, features=agencies.parse_geojson(doc), source=LAMPUNG.name)
        csv = "jurisdiction_code,agency_code,is_primary\n" + "".join(f"{k},{v},1\n" for k, v in table.items())
        assert await agencies.import_agency_table(session, text=csv) == 20
    return table


async def _route(runtime: Runtime, lat: float, lon: float, *, buffer_m: float = 1500) -> agencies.Routing:
    async with runtime.unit_of_work() as session:
        return await runtime.locator.route(session, lat=lat, lon=lon, buffer_m=buffer_m, default_agency_code="")


async def test_every_bandung_kecamatan_routes_to_its_polsek(db: Runtime) -> None:
    async with db.unit_of_work() as session:
        rows = await agencies.list_jurisdictions(session)
    assert len(rows) == 30
    for jurisdiction, links in rows:
        routing = await _route(db, jurisdiction.centroid_lat, jurisdiction.centroid_lon)
        assert routing.jurisdiction_code == jurisdiction.code
        assert routing.method == "inside"
        assert routing.agency_code == links[0][0]
    # Not one-to-one: Polsek Cibiru also serves Panyileukan.
    panyileukan = next(j for j, _ in rows if j.name == "Panyileukan")
    routing = await _route(db, panyileukan.centroid_lat, panyileukan.centroid_lon)
    assert routing.agency_code == "POLSEK-CIBIRU"


async def test_bandar_lampung_gaps_go_to_the_nearest_kecamatan_and_overlaps_are_decided_once(db: Runtime) -> None:
    table = await _lampung(db)
    doc = json.loads(LAMPUNG.read_text(encoding="utf-8"))
    shapes = {f["properties"]["kode"]: shape(f["geometry"]) for f in doc["features"]}
    city = unary_union(list(shapes.values()))

    # The port of Panjang lies in no polygon, a short way outside Kecamatan Panjang.
    port = await _route(db, -5.4667, 105.3167)
    assert port.method == "nearest"
    assert port.jurisdiction_code is not None
    assert port.agency_code == table[port.jurisdiction_code]
    assert 0 < port.distance_m <= 1500

    # Every interior gap of the city outline routes to a kecamatan, never to the default agency.
    gaps = [interior for polygon in getattr(city, "geoms", [city]) for interior in polygon.interiors]
    assert gaps, "the Bandar Lampung file should have gaps between kecamatan"
    for ring in gaps:
        inside_gap = shape({"type": "Polygon", "coordinates": [list(ring.coords)]}).representative_point()
        routing = await _route(db, inside_gap.y, inside_gap.x)
        assert routing.method == "nearest", ring
        assert routing.agency_code == table[routing.jurisdiction_code or ""]

    # Every overlap goes to exactly one kecamatan, the same each time, which is one of those containing the point.
    codes = sorted(shapes)
    overlaps = 0
    for i, first in enumerate(codes):
        for second in codes[i + 1 :]:
            common = shapes[first].intersection(shapes[second])
            if common.area <= 0:
                continue
            point = common.representative_point()
            a = await _route(db, point.y, point.x)
            b = await _route(db, point.y, point.x)
            assert a == b
            assert a.method == "overlap"
            assert a.jurisdiction_code in {c for c, s in shapes.items() if s.covers(Point(point.x, point.y))}
            overlaps += 1
    assert overlaps >= 5


async def test_a_point_beyond_the_buffer_goes_to_the_default_agency_and_is_never_unowned(db: Runtime) -> None:
    routing = await _route(db, -5.0, 110.0, buffer_m=1500)  # the Java Sea
    assert routing.method == "default"
    assert routing.agency_code == "BDG-CC"
    assert routing.jurisdiction_id is None


async def test_with_no_agencies_at_all_an_alert_still_gets_an_agency(db: Runtime) -> None:
    from sqlalchemy import delete, text

    from siaga.agencies.models import Agency, JurisdictionAgency
    from siaga.responders.models import Unit

    async with db.unit_of_work() as session:
        if db.settings.is_sqlite:
            await session.execute(text("PRAGMA defer_foreign_keys=ON"))
        for model in (Unit, JurisdictionAgency, Agency):
            await session.execute(delete(model))
    routing = await _route(db, -6.8915, 107.6107)
    assert routing.jurisdiction_code == "32.73.02"
    assert routing.agency_code == agencies.FALLBACK_AGENCY_CODE


async def test_a_new_import_is_seen_by_the_next_alert_without_a_restart(db: Runtime) -> None:
    before = await _route(db, -5.42, 105.26, buffer_m=0)
    assert before.method == "default"
    await _lampung(db)
    after = await _route(db, -5.42, 105.26, buffer_m=0)
    assert after.method in {"inside", "overlap"}
    assert after.agency_code.startswith("POLSEK-BL-")


@pytest.mark.parametrize("primaries", [[], ["POLSEK-COBLONG", "POLSEK-SUKAJADI"]])
async def test_a_kecamatan_needs_exactly_one_primary_agency(db: Runtime, primaries: list[str]) -> None:
    from siaga.errors import Invalid

    pairs = [(code, True) for code in primaries] + [("POLRESTABES-BDG", False)]
    with pytest.raises(Invalid, match="exactly one agency must be primary"):
        async with db.unit_of_work() as session:
            await agencies.set_jurisdiction_agencies(session, jurisdiction_code="32.73.02", agencies=pairs)
