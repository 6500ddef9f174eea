"""Agencies, jurisdictions and placing a point: kecamatan -> agency, with the nearest-polygon and default fallbacks."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shapely.geometry import mapping, shape
from sqlalchemy import ColumnElement, Integer, any_, bindparam, delete, func, insert, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.agencies import domain
from siaga.agencies.domain import AgencyTerms, Candidate, Service, choose_default_agency
from siaga.agencies.geo import GeoJSONError, JurisdictionIndex, KecamatanFeature, parse_area, parse_feature_collection
from siaga.agencies.models import Agency, AgencyKind, Jurisdiction, JurisdictionAgency, RoutingRule, ServiceArea
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.errors import Conflict, Invalid, NotFound

log = logging.getLogger("siaga.agencies")

FALLBACK_AGENCY_CODE = "siaga-default"


# Agencies ---------------------------------------------------------------------------------------------------


async def create_agency(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    kind: AgencyKind,
    parent_code: str | None,
    phone: str | None = None,
    by: ActorContext | None = None,
) -> Agency:
    """A new agency, audited as made ``by`` that actor (None: data laid down by seeding, no one's change)."""
    if await session.scalar(select(Agency.id).where(Agency.code == code)) is not None:
        raise Conflict(f"agency code {code!r} is taken", code="agency.code_taken", details={"agency": code})
    parent_id = None
    if parent_code:
        parent = await agency_by_code(session, parent_code)
        parent_id = parent.id
    agency = Agency(code=code, name=name, kind=kind.value, parent_id=parent_id, phone=phone)
    session.add(agency)
    await session.flush()
    if by is not None:
        await audit.record_for(
            session, by, action="agency.create", target_type="agency", target_id=agency.code, agency_id=agency.id
        )
    return agency


async def require_agency(session: AsyncSession, agency_id: int) -> None:
    """Refuse (422) an ``agency_id`` that names no agency, as a field of what is being made."""
    if await session.get(Agency, agency_id) is None:
        raise Invalid(f"agency {agency_id} does not exist", code="agency.not_found", details={"field": "agency_id"})


async def agency_by_code(session: AsyncSession, code: str) -> Agency:
    agency = await session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(f"agency {code!r} does not exist", code="agency.not_found", details={"agency": code})
    return agency


async def list_agencies(session: AsyncSession) -> list[Agency]:
    return list((await session.scalars(select(Agency).order_by(Agency.id))).all())


async def agency_subtree(session: AsyncSession, agency_id: int) -> list[int]:
    """The agency and every agency below it (a Polres sees its Polsek's alerts; the command centre sees all)."""
    rows = (await session.execute(select(Agency.id, Agency.parent_id))).all()
    children: dict[int | None, list[int]] = {}
    for agency_id_, parent_id in rows:
        children.setdefault(parent_id, []).append(agency_id_)
    result, stack = [], [agency_id]
    while stack:
        current = stack.pop()
        if current in result:
            continue
        result.append(current)
        stack.extend(children.get(current, []))
    return result


def agency_terms_columns() -> tuple[Any, ...]:
    """The columns of ``AgencyTerms``, in its order (for a select that builds them)."""
    a = Agency.__table__.c
    return (a.id, a.code, a.ack_timeout_seconds, a.dispatch_timeout_seconds, a.direct_offers)


_DEFAULT_CANDIDATES: dict[bool, Any] = {}


def default_agency(connection: Connection, *, configured_code: str) -> AgencyTerms:
    """The agency for alerts outside every jurisdiction or without a position (``domain.choose_default_agency``).
    If none exists at all, one is created: an alert is never left without an agency. Synchronous Core, so that the
    SOS batch calls it inside its own transaction; an async caller runs it with ``AsyncSession.run_sync``."""
    a = Agency.__table__.c
    query = _DEFAULT_CANDIDATES.get(bool(configured_code))
    if query is None:
        who: ColumnElement[bool] = a.parent_id.is_(None)
        if configured_code:
            who = or_(who, a.code == bindparam("configured"))
        query = _DEFAULT_CANDIDATES[bool(configured_code)] = (
            select(*agency_terms_columns(), a.parent_id.is_(None), a.kind).where(who).order_by(a.id)
        )
    rows = connection.execute(query, {"configured": configured_code} if configured_code else {}).all()
    candidates = [
        Candidate(AgencyTerms(*row[:5]), top=bool(row[5]), command_centre=row[6] == AgencyKind.COMMAND_CENTRE)
        for row in rows
    ]
    if configured_code and all(c.terms.code != configured_code for c in candidates):
        log.error("configured default agency missing", extra={"code": configured_code})
    chosen = choose_default_agency(candidates, configured_code=configured_code)
    if chosen is not None:
        return chosen
    log.error("no agency exists; creating the fallback agency so the alert has an owner")
    created = connection.scalar(
        insert(Agency)
        .values(code=FALLBACK_AGENCY_CODE, name="Siaga (no agency configured)", kind=AgencyKind.COMMAND_CENTRE.value)
        .returning(a.id)
    )
    assert created is not None
    return AgencyTerms(created, FALLBACK_AGENCY_CODE, None, None, False)


# Routing an alert --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Routed:
    """Who gets an alert: its responsible agency and the agencies informed besides it."""

    responsible: AgencyTerms
    informed: tuple[AgencyTerms, ...] = ()


def route_all(
    connection: Connection,
    wanted: Sequence[tuple[Coverage | None, int | None]],
    *,
    configured_code: str,
    named: Sequence[int | None] = (),
) -> list[Routed]:
    """Route each alert of a batch (``wanted``: its coverage and its kecamatan) by ``domain.route``: the police are
    the kecamatan's primary agency, the other services the agencies ``JurisdictionLocator.cover`` found; where no
    service covers the place, the default agency. An alert without coverage goes to the police alone (as every
    alert did before the routing table). ``named``: per alert, an agency its channel names responsible (an officer's
    SOS goes to their unit's agency), the agencies routed for the place then informed. Synchronous Core: two small
    reads for the whole batch (three when one needs the default agency), so the SOS writer calls it inside its own
    transaction."""
    statements = _routing_statements(connection.dialect.name)
    kecamatan = sorted({jid for _, jid in wanted if jid is not None})
    primaries: dict[int, AgencyTerms] = {}
    if kecamatan:
        for row in connection.execute(statements.primaries, {"ids": kecamatan}).all():
            primaries[row[0]] = AgencyTerms(*row[1:])
    routes: list[domain.Route] = []
    for coverage, jurisdiction_id in wanted:
        services = coverage.services if coverage is not None else (Service.POLICE,)
        covering = dict(coverage.covering) if coverage is not None else {}
        police = primaries.get(jurisdiction_id) if jurisdiction_id is not None else None
        if police is not None:
            covering[Service.POLICE] = (police.id,)
        routes.append(domain.route(services, covering))
    terms = {t.id: t for t in primaries.values()}
    needed = {a for r in routes for a in (r.responsible, *r.informed) if a is not None} | {a for a in named if a}
    others = sorted(needed - set(terms))
    if others:
        for row in connection.execute(statements.terms, {"ids": others}).all():
            terms[row[0]] = AgencyTerms(*row)
    fallback: AgencyTerms | None = None
    routed: list[Routed] = []
    for index, chosen in enumerate(routes):
        owner = named[index] if index < len(named) else None
        if owner is not None and owner in terms:
            told = (chosen.responsible, *chosen.informed)
            routed.append(Routed(terms[owner], tuple(terms[a] for a in told if a in terms and a != owner)))
            continue
        responsible = terms.get(chosen.responsible) if chosen.responsible is not None else None
        if responsible is None:
            fallback = fallback or default_agency(connection, configured_code=configured_code)
            responsible = fallback
        informed = tuple(terms[a] for a in chosen.informed if a in terms and a != responsible.id)
        routed.append(Routed(responsible, informed))
    return routed


@dataclass(frozen=True, slots=True)
class _RoutingStatements:
    primaries: Any  # the primary agency of each kecamatan in ``:ids``, with its terms
    terms: Any  # the terms of the agencies ``:ids``


_ROUTING_STATEMENTS: dict[str, _RoutingStatements] = {}


def _routing_statements(dialect: str) -> _RoutingStatements:
    """Built once per dialect (building a statement costs about as much as running it on SQLite). On PostgreSQL
    ``= ANY(:ids)``: one statement text, so one prepare, whatever the batch holds."""
    built = _ROUTING_STATEMENTS.get(dialect)
    if built is not None:
        return built
    a, link = Agency.__table__.c, JurisdictionAgency.__table__.c

    def among(column: Any) -> Any:
        if dialect == "postgresql":
            return column == any_(bindparam("ids", type_=ARRAY(Integer())))
        return column.in_(bindparam("ids", expanding=True))

    built = _ROUTING_STATEMENTS[dialect] = _RoutingStatements(
        primaries=select(link.jurisdiction_id, *agency_terms_columns())
        .join(Agency.__table__, a.id == link.agency_id)
        .where(among(link.jurisdiction_id), link.is_primary.is_(True)),
        terms=select(*agency_terms_columns()).where(among(a.id)),
    )
    return built


async def route_alert(
    session: AsyncSession,
    locator: JurisdictionLocator,
    *,
    category: str,
    lat: float | None,
    lon: float | None,
    jurisdiction_id: int | None,
    buffer_m: float,
    configured_code: str,
) -> Routed:
    """Route one alert (a category changed while it is handled): as the SOS writer routes a batch."""
    await locator.refresh(session)
    coverage = locator.cover(category, lat=lat, lon=lon, jurisdiction_id=jurisdiction_id, buffer_m=buffer_m)
    [routed] = await session.run_sync(
        lambda sync: route_all(sync.connection(), [(coverage, jurisdiction_id)], configured_code=configured_code)
    )
    return routed


# The routing table --------------------------------------------------------------------------------------------


async def routing_table(session: AsyncSession) -> dict[str, tuple[Service, ...]]:
    """Every category's services, in order: an administrator's row, or the default."""
    table = dict(domain.DEFAULT_ROUTES)
    for category, services in (await session.execute(select(RoutingRule.category, RoutingRule.services))).all():
        table[category] = tuple(Service(s) for s in services if s in _SERVICES)
    return table


async def set_routing_rule(
    session: AsyncSession, *, category: str, services: Sequence[Service], by: ActorContext | None = None
) -> tuple[Service, ...]:
    """Send alerts of ``category`` to ``services``, in order (audited, with the row it replaced). New alerts and
    category changes use it at once in this process, within a second in the others."""
    if category not in domain.DEFAULT_ROUTES:
        raise Invalid(f"unknown category {category!r}", code="routing.category", details={"category": category})
    if not services:
        raise Invalid("a category must go to at least one service", code="routing.empty")
    if len(set(services)) != len(services):
        raise Invalid("a service is listed twice", code="routing.duplicate")
    before = (await routing_table(session))[category]
    row = await session.get(RoutingRule, category)
    values = [s.value for s in services]
    if row is None:
        session.add(RoutingRule(category=category, services=values))
    else:
        row.services = values
        row.updated_at = utcnow()
    await session.flush()
    if by is not None:
        await audit.record_for(
            session,
            by,
            action="routing.set",
            target_type="category",
            target_id=category,
            detail={"before": [s.value for s in before], "after": values},
        )
    return tuple(services)


# Service areas ------------------------------------------------------------------------------------------------


def parse_service_area(doc: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    """A service area's polygon as GeoJSON geometry, validated as kecamatan uploads are, or ``Invalid``."""
    try:
        return dict(mapping(parse_area(doc)))
    except GeoJSONError as exc:
        raise _invalid_geojson(exc) from exc


async def set_service_area(
    session: AsyncSession,
    *,
    agency_code: str,
    geometry: dict[str, Any] | None = None,
    kecamatan: Sequence[str] = (),
    source: str = "",
    by: ActorContext | None = None,
) -> ServiceArea:
    """Where an agency that is not police serves: its own polygon (``geometry``, from ``parse_service_area``), or
    else the kecamatan it covers. Police agencies are placed by the kecamatan -> agency table instead."""
    agency = await agency_by_code(session, agency_code)
    service = domain.KIND_SERVICE.get(agency.kind)
    if service is None or service is Service.POLICE:
        raise Invalid(
            f"{agency.kind} agencies are placed by the kecamatan -> agency table, not by a service area",
            code="service_area.police",
            details={"agency": agency_code},
        )
    codes = list(dict.fromkeys(kecamatan))
    if codes:
        known = set((await session.scalars(select(Jurisdiction.code).where(Jurisdiction.code.in_(codes)))).all())
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise Invalid(
                f"kecamatan {unknown[0]!r} does not exist",
                code="service_area.kecamatan",
                details={"jurisdiction": unknown[0]},
            )
    if geometry is None and not codes:
        raise Invalid("a service area needs a polygon or at least one kecamatan", code="service_area.empty")
    area = await session.get(ServiceArea, agency.id)
    if area is None:
        area = ServiceArea(agency_id=agency.id)
        session.add(area)
    area.geometry, area.kecamatan, area.source, area.updated_at = geometry, codes, source, utcnow()
    await session.flush()
    if by is not None:
        await audit.record_for(
            session,
            by,
            action="service_area.set",
            target_type="agency",
            target_id=agency_code,
            agency_id=agency.id,
            detail={"polygon": geometry is not None, "kecamatan": codes, "source": source},
        )
    return area


async def service_areas(session: AsyncSession) -> dict[int, ServiceArea]:
    """Every agency's service area, by agency id."""
    return {area.agency_id: area for area in (await session.scalars(select(ServiceArea))).all()}


# Jurisdictions ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportSummary:
    created: list[str]
    updated: list[str]


async def import_features(
    session: AsyncSession, *, features: Sequence[KecamatanFeature], source: str, by: ActorContext | None = None
) -> ImportSummary:
    """Insert or update jurisdictions by code (the kecamatan's Kemendagri code), audited as done ``by`` that actor
    (None: data laid down by seeding, no one's change)."""
    existing = {j.code: j for j in (await session.scalars(select(Jurisdiction))).all()}
    created, updated = [], []
    for feature in features:
        centroid = feature.geometry.representative_point()
        values: dict[str, Any] = {
            "name": feature.name,
            "nik_prefix": feature.nik_prefix,
            "geometry": mapping(feature.geometry),
            "properties": _json_safe(feature.properties),
            "source": source,
            "centroid_lat": float(centroid.y),
            "centroid_lon": float(centroid.x),
        }
        row = existing.get(feature.code)
        if row is None:
            session.add(Jurisdiction(code=feature.code, **values))
            created.append(feature.code)
        else:
            for key, value in values.items():
                setattr(row, key, value)
            updated.append(feature.code)
    await session.flush()
    if by is not None:
        await audit.record_for(
            session,
            by,
            action="jurisdiction.import",
            target_type="jurisdiction",
            detail={"created": created, "updated": updated, "source": source},
        )
    return ImportSummary(created=created, updated=updated)


def parse_geojson(doc: Mapping[str, Any] | str | bytes) -> list[KecamatanFeature]:
    """Validated features, or ``Invalid`` with the parser's explanation."""
    try:
        return parse_feature_collection(doc)
    except GeoJSONError as exc:
        raise _invalid_geojson(exc) from exc


def _invalid_geojson(exc: GeoJSONError) -> Invalid:
    """The one refusal of a GeoJSON upload, kecamatan or service area: each of the parser's problems by its code
    and parameters (the apps word it in the reader's language) with its English sentence."""
    problems = [problem.as_json() for problem in exc.problems]
    return Invalid(f"invalid GeoJSON: {exc}", code="geojson.invalid", details={"problems": problems})


async def set_jurisdiction_agencies(
    session: AsyncSession,
    *,
    jurisdiction_code: str,
    agencies: Iterable[tuple[str, bool]],
    by: ActorContext | None = None,
) -> Jurisdiction:
    """Replace which agencies serve a kecamatan (audited as done ``by`` that actor). Exactly one must be primary."""
    jurisdiction = await jurisdiction_by_code(session, jurisdiction_code)
    pairs = list(agencies)
    if sum(1 for _, primary in pairs if primary) != 1:
        raise Invalid("exactly one agency must be primary for a jurisdiction", code="jurisdiction.primary")
    rows = []
    for code, primary in pairs:
        agency = await agency_by_code(session, code)
        rows.append(JurisdictionAgency(jurisdiction_id=jurisdiction.id, agency_id=agency.id, is_primary=primary))
    await session.execute(delete(JurisdictionAgency).where(JurisdictionAgency.jurisdiction_id == jurisdiction.id))
    session.add_all(rows)
    await session.flush()
    if by is not None:
        await audit.record_for(
            session,
            by,
            action="jurisdiction.agencies",
            target_type="jurisdiction",
            target_id=jurisdiction_code,
            detail={"agencies": [{"agency_code": code, "is_primary": primary} for code, primary in pairs]},
        )
    return jurisdiction


async def import_agency_table(session: AsyncSession, *, text: str, by: ActorContext | None = None) -> int:
    """Load a kecamatan -> agency table (CSV ``jurisdiction_code,agency_code,is_primary``), each kecamatan's agencies
    audited as set ``by`` that actor. Returns rows read."""
    grouped: dict[str, list[tuple[str, bool]]] = {}
    reader = csv.DictReader(io.StringIO(text))
    missing = {"jurisdiction_code", "agency_code"} - set(reader.fieldnames or [])
    if missing:
        raise Invalid(
            f"the agency table lacks column(s) {sorted(missing)}",
            code="agency_table.columns",
            details={"columns": ", ".join(sorted(missing))},
        )
    count = 0
    for row in reader:
        primary = (row.get("is_primary") or "1").strip().lower() in {"1", "true", "yes", "y"}
        grouped.setdefault(row["jurisdiction_code"].strip(), []).append((row["agency_code"].strip(), primary))
        count += 1
    for code, pairs in grouped.items():
        await set_jurisdiction_agencies(session, jurisdiction_code=code, agencies=pairs, by=by)
    return count


async def jurisdiction_by_code(session: AsyncSession, code: str) -> Jurisdiction:
    row = await session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))
    if row is None:
        raise NotFound(
            f"jurisdiction {code!r} does not exist", code="jurisdiction.not_found", details={"jurisdiction": code}
        )
    return row


async def list_jurisdictions(session: AsyncSession) -> list[tuple[Jurisdiction, list[tuple[str, bool]]]]:
    jurisdictions = (await session.scalars(select(Jurisdiction).order_by(Jurisdiction.code))).all()
    links = (
        await session.execute(
            select(JurisdictionAgency.jurisdiction_id, Agency.code, JurisdictionAgency.is_primary).join(
                Agency, Agency.id == JurisdictionAgency.agency_id
            )
        )
    ).all()
    by_jurisdiction: dict[int, list[tuple[str, bool]]] = {}
    for jurisdiction_id, agency_code, primary in links:
        by_jurisdiction.setdefault(jurisdiction_id, []).append((agency_code, primary))
    return [(j, sorted(by_jurisdiction.get(j.id, []), key=lambda p: not p[1])) for j in jurisdictions]


async def jurisdictions_served_by(session: AsyncSession, agency_ids: Sequence[int]) -> list[int]:
    """Jurisdictions where any of these agencies is primary or secondary."""
    rows = await session.scalars(
        select(JurisdictionAgency.jurisdiction_id).where(JurisdictionAgency.agency_id.in_(agency_ids)).distinct()
    )
    return list(rows.all())


# Placing a point ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Routing:
    """Where an alert goes: its agency, its kecamatan (if any), and how that was decided."""

    agency_id: int
    agency_code: str
    jurisdiction_id: int | None
    jurisdiction_code: str | None
    jurisdiction_name: str | None
    method: str  # inside | overlap | nearest | default | no_location
    distance_m: float


@dataclass(frozen=True, slots=True)
class Place:
    """Where a point falls: its kecamatan (None outside every one, within the buffer) and how that was decided."""

    jurisdiction_id: int | None
    jurisdiction_code: str | None
    jurisdiction_name: str | None
    method: str  # inside | overlap | nearest | default | kecamatan (named by the channel, no position)
    distance_m: float
    centre: tuple[float, float] | None = None  # a point inside the kecamatan (lat, lon), for a place without one
    coverage: Coverage | None = None  # the agencies beside the police that serve the point (``locator.cover``)


@dataclass(frozen=True, slots=True)
class Coverage:
    """An alert's routing table row and, for each service in it that is not police, the agencies whose service
    area holds the alert, best first (the police come from the kecamatan -> agency table)."""

    services: tuple[Service, ...]
    covering: dict[Service, tuple[int, ...]]


_SERVICES = frozenset(s.value for s in Service)
# What the locator's indexes are built from: a change to any of them (here or by another process) rebuilds them.
_STAMP = select(
    func.count(Jurisdiction.id),
    func.max(Jurisdiction.updated_at),
    select(func.count()).select_from(ServiceArea).scalar_subquery(),
    select(func.max(ServiceArea.updated_at)).scalar_subquery(),
    select(func.count()).select_from(RoutingRule).scalar_subquery(),
    select(func.max(RoutingRule.updated_at)).scalar_subquery(),
)


class JurisdictionLocator:
    """An in-memory polygon index, rebuilt when the jurisdictions table changes (checked on each use, cheaply),
    so an import by another process is seen by the next alert."""

    def __init__(self) -> None:
        self._index = JurisdictionIndex([])
        self._stamp: tuple[Any, ...] | None = None
        self._ids: dict[str, tuple[int, str]] = {}
        self._centres: dict[str, tuple[float, float]] = {}
        self._lock = asyncio.Lock()
        self._checked: float | None = None  # time.monotonic() of the last freshness check (ensure_fresh)
        self._routes: dict[str, tuple[Service, ...]] = dict(domain.DEFAULT_ROUTES)
        self._areas: dict[Service, JurisdictionIndex] = {}  # service areas' own polygons, keyed by agency id
        self._by_kecamatan: dict[tuple[Service, int], tuple[int, ...]] = {}  # (service, kecamatan id) -> agencies

    async def _refresh(self, session: AsyncSession) -> None:
        stamp = tuple((await session.execute(_STAMP)).one())
        if stamp == self._stamp:
            return
        async with self._lock:
            if stamp == self._stamp:
                return
            rows = (
                await session.execute(
                    select(Jurisdiction.id, Jurisdiction.code, Jurisdiction.name, Jurisdiction.geometry)
                )
            ).all()
            shapes = [(code, shape(geometry)) for _, code, _, geometry in rows]
            self._index = await asyncio.to_thread(JurisdictionIndex, shapes)
            self._ids = {code: (jid, name) for jid, code, name, _ in rows}
            points = {code: polygon.representative_point() for code, polygon in shapes}
            self._centres = {code: (point.y, point.x) for code, point in points.items()}
            await self._load_routing(session)
            self._stamp = stamp

    async def _load_routing(self, session: AsyncSession) -> None:
        """The routing table and the service areas, as indexes for ``cover``."""
        routes = dict(domain.DEFAULT_ROUTES)
        for category, services in (await session.execute(select(RoutingRule.category, RoutingRule.services))).all():
            routes[category] = tuple(Service(s) for s in services if s in _SERVICES)
        areas = (
            await session.execute(
                select(ServiceArea.agency_id, Agency.kind, ServiceArea.geometry, ServiceArea.kecamatan)
                .join(Agency, Agency.id == ServiceArea.agency_id)
                .order_by(Agency.code)
            )
        ).all()
        polygons: dict[Service, list[tuple[str, Any]]] = {}
        by_kecamatan: dict[tuple[Service, int], list[int]] = {}
        for agency_id, kind, geometry, kecamatan in areas:
            service = domain.KIND_SERVICE.get(kind)
            if service is None or service is Service.POLICE:
                continue
            if geometry:
                polygons.setdefault(service, []).append((str(agency_id), shape(geometry)))
            else:
                for code in kecamatan or []:
                    if code in self._ids:
                        by_kecamatan.setdefault((service, self._ids[code][0]), []).append(agency_id)
        self._areas = {
            service: await asyncio.to_thread(JurisdictionIndex, shapes) for service, shapes in polygons.items()
        }
        self._by_kecamatan = {key: tuple(ids) for key, ids in by_kecamatan.items()}
        self._routes = routes

    def routes(self, category: str) -> tuple[Service, ...]:
        """The services an alert of ``category`` goes to, in order (as last refreshed)."""
        return self._routes.get(category) or (Service.POLICE,)

    def cover(
        self, category: str, *, lat: float | None, lon: float | None, jurisdiction_id: int | None, buffer_m: float
    ) -> Coverage:
        """The routing row of ``category`` and, for each service in it but the police, the agencies serving this
        point: those whose own polygon holds it (the deepest first where they overlap), then those that cover its
        kecamatan, then one whose polygon is within ``buffer_m`` (a fix just outside every area)."""
        services = self.routes(category)
        covering: dict[Service, tuple[int, ...]] = {}
        for service in services:
            if service is Service.POLICE:
                continue
            found = self.covering(service, lat=lat, lon=lon, jurisdiction_id=jurisdiction_id, buffer_m=buffer_m)
            if found:
                covering[service] = found
        return Coverage(services, covering)

    def covering(
        self, service: Service, *, lat: float | None, lon: float | None, jurisdiction_id: int | None, buffer_m: float
    ) -> tuple[int, ...]:
        """The agencies of ``service`` (not the police) serving this point, best first, as ``cover`` finds them
        (also where an officer on scene asks for an ambulance: ``dispatch.backup``)."""
        found: list[int] = []
        near: list[int] = []
        index = self._areas.get(service)
        if index is not None and lat is not None and lon is not None:
            placement = index.locate(lat, lon, buffer_m=buffer_m)
            (near if placement.method == "nearest" else found).extend(int(c) for c in placement.candidates)
        if jurisdiction_id is not None:
            found.extend(a for a in self._by_kecamatan.get((service, jurisdiction_id), ()) if a not in found)
        found.extend(a for a in near if a not in found)
        return tuple(found)

    async def ensure_fresh(self, sessions: async_sessionmaker[AsyncSession], *, max_age_s: float = 1.0) -> None:
        """Check the jurisdictions table at most every ``max_age_s`` (an import in this process marks the index
        stale at once; one by another process is seen within ``max_age_s``)."""
        now = time.monotonic()
        if self._checked is not None and now - self._checked < max_age_s:
            return
        async with sessions() as session:
            await self._refresh(session)
        self._checked = now

    def mark_stale(self) -> None:
        self._checked = None

    async def refresh(self, session: AsyncSession) -> None:
        """Rebuild the indexes now if what they are built from changed (one small read otherwise)."""
        await self._refresh(session)

    def place_all(self, points: Sequence[tuple[float, float]], *, buffer_m: float) -> list[Place]:
        """The kecamatan of each point, from the in-memory index as last refreshed."""
        found = []
        for lat, lon in points:
            placement = self._index.locate(lat, lon, buffer_m=buffer_m)
            if placement.code is not None and placement.code in self._ids:
                jurisdiction_id, name = self._ids[placement.code]
                found.append(Place(jurisdiction_id, placement.code, name, placement.method, placement.distance_m))
            else:
                distance = placement.distance_m if placement.distance_m != float("inf") else -1.0
                found.append(Place(None, None, None, "default", distance))
        return found

    def place_named(self, code: str) -> Place | None:
        """The kecamatan of this code (from the index as last refreshed), placed without a position; None if no
        kecamatan has it."""
        if code not in self._ids:
            return None
        jurisdiction_id, name = self._ids[code]
        return Place(jurisdiction_id, code, name, "kecamatan", 0.0, self._centres.get(code))

    async def route(
        self, session: AsyncSession, *, lat: float, lon: float, buffer_m: float, default_agency_code: str
    ) -> Routing:
        """The agency and kecamatan for a point. Never fails for a valid point: the default agency takes the rest."""
        await self._refresh(session)
        placement = self._index.locate(lat, lon, buffer_m=buffer_m)
        if placement.code is not None and placement.code in self._ids:
            jurisdiction_id, name = self._ids[placement.code]
            agency = await session.scalar(
                select(Agency)
                .join(JurisdictionAgency, JurisdictionAgency.agency_id == Agency.id)
                .where(
                    JurisdictionAgency.jurisdiction_id == jurisdiction_id,
                    JurisdictionAgency.is_primary.is_(True),
                )
            )
            owner = (agency.id, agency.code) if agency is not None else await _default(session, default_agency_code)
            return Routing(
                agency_id=owner[0],
                agency_code=owner[1],
                jurisdiction_id=jurisdiction_id,
                jurisdiction_code=placement.code,
                jurisdiction_name=name,
                method=placement.method,
                distance_m=placement.distance_m,
            )
        agency_id, agency_code = await _default(session, default_agency_code)
        distance = placement.distance_m if placement.distance_m != float("inf") else -1.0
        return Routing(
            agency_id=agency_id,
            agency_code=agency_code,
            jurisdiction_id=None,
            jurisdiction_code=None,
            jurisdiction_name=None,
            method="default",
            distance_m=distance,
        )


async def _default(session: AsyncSession, configured_code: str) -> tuple[int, str]:
    terms = await session.run_sync(lambda sync: default_agency(sync.connection(), configured_code=configured_code))
    return terms.id, terms.code


def _json_safe(properties: Mapping[str, Any]) -> dict[str, Any]:
    """GeoJSON properties may hold anything JSON; keep scalars and strings, drop what a JSON column can't store."""
    return {str(k): v for k, v in properties.items() if isinstance(v, str | int | float | bool) or v is None}
