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
from sqlalchemy import ColumnElement, bindparam, delete, func, insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.agencies.domain import AgencyTerms, Candidate, choose_default_agency
from siaga.agencies.geo import JurisdictionIndex, KecamatanFeature, parse_feature_collection
from siaga.agencies.models import Agency, AgencyKind, Jurisdiction, JurisdictionAgency
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
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
    from siaga.agencies.geo import GeoJSONError

    try:
        return parse_feature_collection(doc)
    except GeoJSONError as exc:
        raise Invalid(
            f"invalid GeoJSON: {exc}", code="geojson.invalid", details={"problems": list(exc.problems)}
        ) from exc


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

    async def _refresh(self, session: AsyncSession) -> None:
        stamp = tuple(
            (await session.execute(select(func.count(Jurisdiction.id), func.max(Jurisdiction.updated_at)))).one()
        )
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
            self._stamp = stamp

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
