"""HTTP for agencies and jurisdictions (GeoJSON upload, the kecamatan -> agency table, placing a point), the routing
table, the service areas of the agencies beside the police, and re-routing an alert by changing its category."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status

from siaga.agencies import service as agencies
from siaga.agencies.schemas import (
    AgencyCreate,
    AgencyRead,
    ImportResult,
    JurisdictionAgenciesSet,
    JurisdictionAgencyRead,
    JurisdictionRead,
    PlacementRead,
    RoutingRuleRead,
    RoutingRuleSet,
    ServiceAreaRead,
    ServiceAreaSet,
)
from siaga.alerts import recategorise, views
from siaga.alerts.domain import Category
from siaga.alerts.schemas import AlertRead, CategoryIn
from siaga.audit.actor import ActorContext
from siaga.deps import Admin, ClientIP, CommandCentre, CurrentStaff, RuntimeDep
from siaga.schemas import Latitude, Longitude, error_responses

router = APIRouter(tags=["agencies"])


@router.get("/agencies", responses=error_responses(401, 403))
async def list_agencies(principal: CurrentStaff, runtime: RuntimeDep) -> list[AgencyRead]:
    """Every agency (names and hierarchy are not personal data)."""
    async with runtime.unit_of_work() as session:
        return [AgencyRead.model_validate(a) for a in await agencies.list_agencies(session)]


@router.post("/agencies", status_code=status.HTTP_201_CREATED, responses=error_responses(401, 403, 404, 409, 422))
async def create_agency(body: AgencyCreate, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> AgencyRead:
    """Create an agency under a parent (administrators)."""
    async with runtime.unit_of_work() as session:
        agency = await agencies.create_agency(
            session,
            code=body.code,
            name=body.name,
            kind=body.kind,
            parent_code=body.parent_code,
            phone=body.phone,
            by=ActorContext.signed_in(principal, ip),
        )
        return AgencyRead.model_validate(agency)


@router.post("/alerts/{alert_id}/category", responses=error_responses(401, 403, 404, 409, 422))
async def change_category(
    alert_id: uuid.UUID, body: CategoryIn, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP
) -> AlertRead:
    """Put the alert in another category (operators, supervisors). The routing table re-routes it: the responsible
    and informed agencies are worked out again, with a ``category_changed`` event on the timeline."""
    async with runtime.unit_of_work() as session:
        alert = await recategorise.change_category(
            session,
            principal=principal,
            alert_id=alert_id,
            category=body.category,
            locator=runtime.locator,
            settings=runtime.settings,
            by=ActorContext.signed_in(principal, ip),
        )
        return await views.staff_view(session, principal, alert)


@router.get("/routing", responses=error_responses(401, 403))
async def routing_table(principal: CurrentStaff, runtime: RuntimeDep) -> list[RoutingRuleRead]:
    """The routing table: for each category, the services its alerts go to, in order."""
    async with runtime.unit_of_work() as session:
        table = await agencies.routing_table(session)
    return [RoutingRuleRead(category=category, services=list(services)) for category, services in table.items()]


@router.put("/routing/{category}", responses=error_responses(401, 403, 422))
async def set_routing_rule(
    category: str, body: RoutingRuleSet, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> RoutingRuleRead:
    """Send a category's alerts to these services, in order (administrators; audited). New alerts and category
    changes follow it at once."""
    async with runtime.unit_of_work() as session:
        services = await agencies.set_routing_rule(
            session, category=category, services=body.services, by=ActorContext.signed_in(principal, ip)
        )
    runtime.locator.mark_stale()
    return RoutingRuleRead(category=category, services=list(services))


@router.get("/service-areas", responses=error_responses(401, 403))
async def list_service_areas(principal: CurrentStaff, runtime: RuntimeDep) -> list[ServiceAreaRead]:
    """Where each agency beside the police serves (its polygon, or its kecamatan)."""
    async with runtime.unit_of_work() as session:
        areas = await agencies.service_areas(session)
        codes = {a.id: a.code for a in await agencies.list_agencies(session)}
    return [_service_area_read(codes[agency_id], area) for agency_id, area in sorted(areas.items())]


@router.put("/agencies/{code}/service-area", responses=error_responses(401, 403, 404, 413, 422))
async def set_service_area(
    code: str, body: ServiceAreaSet, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> ServiceAreaRead:
    """Set where an agency that is not police serves (administrators; audited): a polygon of its own (a Damkar
    sector, a hospital catchment), or the kecamatan it covers. Nothing is stored if the GeoJSON is bad."""
    geometry = agencies.parse_service_area(body.geojson) if body.geojson is not None else None
    async with runtime.unit_of_work() as session:
        area = await agencies.set_service_area(
            session,
            agency_code=code,
            geometry=geometry,
            kecamatan=body.kecamatan,
            source="upload" if geometry is not None else "kecamatan",
            by=ActorContext.signed_in(principal, ip),
        )
        read = _service_area_read(code, area)
    runtime.locator.mark_stale()
    return read


def _service_area_read(code: str, area: Any) -> ServiceAreaRead:
    return ServiceAreaRead(
        agency_code=code,
        polygon=area.geometry is not None,
        kecamatan=list(area.kecamatan or []),
        geometry=area.geometry,
        source=area.source,
        updated_at=area.updated_at,
    )


def _jurisdiction_read(row: Any, links: list[tuple[str, bool]]) -> JurisdictionRead:
    return JurisdictionRead(
        id=row.id,
        code=row.code,
        name=row.name,
        nik_prefix=row.nik_prefix,
        centroid_lat=row.centroid_lat,
        centroid_lon=row.centroid_lon,
        agencies=[JurisdictionAgencyRead(agency_code=code, is_primary=primary) for code, primary in links],
    )


@router.get("/jurisdictions", responses=error_responses(401, 403))
async def list_jurisdictions(principal: CurrentStaff, runtime: RuntimeDep) -> list[JurisdictionRead]:
    """Every kecamatan with the agencies that serve it."""
    async with runtime.unit_of_work() as session:
        return [_jurisdiction_read(j, links) for j, links in await agencies.list_jurisdictions(session)]


@router.get("/jurisdictions.geojson", responses=error_responses(401, 403))
async def jurisdictions_geojson(principal: CurrentStaff, runtime: RuntimeDep) -> dict[str, Any]:
    """The kecamatan polygons as a GeoJSON FeatureCollection, for maps."""
    async with runtime.unit_of_work() as session:
        rows = await agencies.list_jurisdictions(session)
    features = [
        {
            "type": "Feature",
            "geometry": j.geometry,
            "properties": {"code": j.code, "name": j.name, "agencies": [c for c, _ in links]},
        }
        for j, links in rows
    ]
    return {"type": "FeatureCollection", "features": features}


@router.post("/jurisdictions/import", status_code=status.HTTP_200_OK, responses=error_responses(401, 403, 413, 422))
async def import_jurisdictions(
    principal: Admin,
    runtime: RuntimeDep,
    ip: ClientIP,
    doc: Annotated[dict[str, Any], Body(description="A GeoJSON FeatureCollection of kecamatan (Multi)Polygons")],
) -> ImportResult:
    """Add or update kecamatan polygons by their code (administrators). Nothing is stored if any feature is bad."""
    features = agencies.parse_geojson(doc)
    async with runtime.unit_of_work() as session:
        summary = await agencies.import_features(
            session, features=features, source="upload", by=ActorContext.signed_in(principal, ip)
        )
    runtime.locator.mark_stale()
    return ImportResult(created=summary.created, updated=summary.updated, total=len(features))


@router.put("/jurisdictions/{code}/agencies", responses=error_responses(401, 403, 404, 422))
async def set_jurisdiction_agencies(
    code: str, body: JurisdictionAgenciesSet, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> JurisdictionRead:
    """Set which agencies serve a kecamatan; exactly one is primary and receives its alerts."""
    async with runtime.unit_of_work() as session:
        await agencies.set_jurisdiction_agencies(
            session,
            jurisdiction_code=code,
            agencies=[(a.agency_code, a.is_primary) for a in body.agencies],
            by=ActorContext.signed_in(principal, ip),
        )
        for row, links in await agencies.list_jurisdictions(session):
            if row.code == code:
                return _jurisdiction_read(row, links)
    raise AssertionError("jurisdiction vanished inside its own transaction")  # pragma: no cover


@router.get("/placement", responses=error_responses(401, 403, 422))
async def place_point(
    principal: CurrentStaff,
    runtime: RuntimeDep,
    lat: Annotated[Latitude, Query()],
    lon: Annotated[Longitude, Query()],
    category: Annotated[Category | None, Query(description="Route by the routing table for this category")] = None,
) -> PlacementRead:
    """Which kecamatan and agency an alert at this point would go to (the police's, by the kecamatan -> agency
    table; with a ``category``, the responsible agency and those informed, by the routing table)."""
    settings = runtime.settings
    async with runtime.unit_of_work() as session:
        routing = await runtime.locator.route(
            session,
            lat=lat,
            lon=lon,
            buffer_m=settings.jurisdiction_buffer_m,
            default_agency_code=settings.default_agency_code,
        )
        agency_code, informed = routing.agency_code, []
        if category is not None:
            routed = await agencies.route_alert(
                session,
                runtime.locator,
                category=category.value,
                lat=lat,
                lon=lon,
                jurisdiction_id=routing.jurisdiction_id,
                buffer_m=settings.jurisdiction_buffer_m,
                configured_code=settings.default_agency_code,
            )
            agency_code, informed = routed.responsible.code, [a.code for a in routed.informed]
    return PlacementRead(
        jurisdiction_code=routing.jurisdiction_code,
        jurisdiction_name=routing.jurisdiction_name,
        agency_code=agency_code,
        method=routing.method,
        distance_m=routing.distance_m,
        informed=informed,
    )
