"""Storing SOS presses as a batch: the presses waiting at one moment are written with a few multi-row statements.

This is the press use case (``alerts.service.raise_alert`` with ``dispatch.service.on_raised`` and the audit record)
written set-wise in synchronous Core: whatever a batch holds, it costs one read of the residents with their
emergency contacts, one of the kecamatan's primary agencies, one INSERT of the alerts that skips ids already stored,
and one INSERT per other table. The group-commit writer (``alerts.ingest``) hands it every press waiting; the
runtime runs it in one transaction through ``db.CoreRunner`` (on SQLite: one hop to the database thread per batch).
The events' feed items are built from the rows written, so the event feed hands them out without reading them back.

Each press gets its own outcome. A press whose id is already stored (a retry, another press reusing the id, or the
same press twice in one batch) is answered ``Raced``, and the router reads the stored alert after the commit: the
same press answers 200, another press 409. If the batch's statements fail, the writer stores each press alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, Table, Uuid, any_, bindparam, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine

from siaga.accounts.domain import Principal
from siaga.accounts.models import EmergencyContact, Resident
from siaga.agencies import service as agencies
from siaga.agencies.models import Agency, AgencyKind, JurisdictionAgency
from siaga.alerts import domain
from siaga.alerts.domain import AlertState, EventKind, Priority
from siaga.alerts.ingest import Outcome, Raced, Stored
from siaga.alerts.models import Alert, AlertEvent, AlertLocation
from siaga.alerts.schemas import AlertCreate, ResidentAlertRead
from siaga.alerts.service import request_hash
from siaga.alerts.timeline import EVENT_LOG_LOCK, EVENTS_WRITTEN
from siaga.audit.models import AuditRecord
from siaga.config import Settings
from siaga.db import Base, utcnow
from siaga.dispatch.service import DISPATCH_WAKE, emergency_contact_text
from siaga.errors import NotFound
from siaga.notify import service as notify
from siaga.notify.models import OutboundMessage
from siaga.realtime.feed import FEED_ITEMS, written_item


@dataclass(frozen=True, slots=True)
class PressIn:
    """One press as the router received it."""

    body: AlertCreate
    principal: Principal
    client_ip: str
    received_at: datetime  # the alert's created_at: its timers count from the server's receipt of the press


@dataclass(frozen=True, slots=True)
class _Timers:
    """What an agency decides about a new alert: its escalation deadlines and whether it offers units at once."""

    agency_id: int
    agency_code: str
    ack_timeout_s: int | None
    dispatch_timeout_s: int | None
    direct_offers: bool

    @staticmethod
    def columns(a: Table) -> tuple[Any, ...]:
        return (a.c.id, a.c.code, a.c.ack_timeout_seconds, a.c.dispatch_timeout_seconds, a.c.direct_offers)


def store(
    connection: Connection,
    presses: Sequence[PressIn],
    *,
    places: dict[uuid.UUID, agencies.Place],
    settings: Settings,
) -> tuple[list[Outcome], dict[str, Any]]:
    """Write every new press of the batch (``places``: where each located press falls, from the in-memory index).
    Returns each press's outcome and what the unit of work tells others after the commit (``session.info`` flags).
    Synchronous Core, so that on SQLite the whole batch is one hop to the database thread (``db.CoreRunner``)."""
    outcomes: list[Outcome | None] = [None] * len(presses)
    info: dict[str, Any] = {}
    residents = _residents(connection, {p.principal.resident_id for p in presses if p.principal.resident_id})
    candidates: list[int] = []
    seen: set[uuid.UUID] = set()
    for index, press in enumerate(presses):
        if press.body.id in seen:
            outcomes[index] = Raced()  # the same press twice at once: answered from the stored one
        elif press.principal.resident_id not in residents:
            outcomes[index] = NotFound("resident not found", code="resident.not_found")
        else:
            seen.add(press.body.id)
            candidates.append(index)
    if candidates:
        written = _write(connection, [presses[i] for i in candidates], residents, places, settings, info)
        for index in candidates:
            press = presses[index]
            # An id already stored (a retry, or another press reusing it) is answered from what is stored.
            outcomes[index] = Stored(view=_view(press), replay=False) if press.body.id in written else Raced()
    return [o if o is not None else Raced() for o in outcomes], info


def _view(press: PressIn) -> ResidentAlertRead:
    return ResidentAlertRead(
        id=press.body.id,
        state=AlertState.NEW,
        category=press.body.category,
        created_at=press.received_at,
        acknowledged=False,
        unit_callsign=None,
        officer_names=[],
        closed_at=None,
    )


@dataclass(frozen=True, slots=True)
class _Resident:
    id: uuid.UUID
    phone: str
    name: str | None
    nik: str | None
    strikes: int
    suspended: bool
    suspended_reason: str | None
    is_exercise: bool
    contacts: list[str]  # emergency contacts' numbers, in the order they were added


def _residents(connection: Connection, ids: set[uuid.UUID]) -> dict[uuid.UUID, _Resident]:
    rows = connection.execute(_statements(connection).residents, {"ids": list(ids)}).all()
    found: dict[uuid.UUID, _Resident] = {}
    for rid, phone, name, nik, strikes, suspended, reason, exercise, contact in rows:
        resident = found.get(rid)
        if resident is None:
            resident = found[rid] = _Resident(
                rid, phone, name, nik, strikes or 0, bool(suspended), reason, bool(exercise), []
            )
        if contact is not None:
            resident.contacts.append(contact)
    return found


def _write(
    connection: Connection,
    presses: list[PressIn],
    residents: dict[uuid.UUID, _Resident],
    places: dict[uuid.UUID, agencies.Place],
    settings: Settings,
    info: dict[str, Any],
) -> set[uuid.UUID]:
    """Insert the alerts (an id already stored is skipped) and, for those inserted, their events, first trail
    points, audit records and contacts' SMS. Returns the ids inserted."""
    now = utcnow()
    primaries = _primary_agencies(connection, {p.jurisdiction_id for p in places.values() if p.jurisdiction_id})
    fallback: _Timers | None = None
    if any(places.get(p.body.id) is None for p in presses) or any(
        pl.jurisdiction_id not in primaries for pl in places.values()
    ):
        fallback = _default_agency(connection, settings.default_agency_code)

    rows: dict[uuid.UUID, dict[str, Any]] = {}
    chosen: dict[uuid.UUID, _Timers] = {}
    for press in presses:
        body = press.body
        resident = residents[press.principal.resident_id]  # type: ignore[index]
        where = body.location
        place = places.get(body.id)
        agency = primaries.get(place.jurisdiction_id) if place and place.jurisdiction_id else None
        agency = agency or fallback
        assert agency is not None
        chosen[body.id] = agency
        created = press.received_at
        t1 = agency.ack_timeout_s or settings.ack_timeout_seconds
        t2 = agency.dispatch_timeout_s or settings.dispatch_timeout_seconds
        rows[body.id] = {
            "id": body.id,
            "request_hash": request_hash(body),
            "resident_id": resident.id,
            "agency_id": agency.agency_id,
            "jurisdiction_id": place.jurisdiction_id if place else None,
            "placement": place.method if place else "no_location",
            "placement_distance_m": place.distance_m if place else 0.0,
            "state": AlertState.NEW.value,
            "category": body.category.value,
            "priority": Priority.NORMAL.value,
            "silent": body.silent,
            "duress": False,
            "escalated": False,
            "resident_suspended": resident.suspended,
            "is_exercise": resident.is_exercise,
            "delivery_failed": False,
            # Without a fix the map shows the alert at the city's centre until the phone sends its first point.
            "lat": where.lat if where else settings.map_center_lat,
            "lon": where.lon if where else settings.map_center_lon,
            "accuracy_m": where.accuracy_m if where else None,
            "located_at": where.recorded_at if where else None,
            "battery": body.battery,
            "pressed_at": body.pressed_at,
            "description": body.description,
            "report": "",
            "created_at": created,
            "updated_at": created,
            "version": 1,
            # Counted from the server's receipt of the press, as the console counts them.
            "ack_due_at": created + timedelta(seconds=t1),
            "dispatch_due_at": created + timedelta(seconds=max(t2, t1)),
            "offer_due_at": now if agency.direct_offers else None,
            "offer_ring": 0,
        }
    statements = _statements(connection)
    written = set(connection.scalars(statements.alerts, list(rows.values())).all())
    if not written:
        return written

    events: list[dict[str, Any]] = []
    trail: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    names: dict[uuid.UUID, str] = {}  # the caller's name as the console shows it (the number if unnamed)
    for press in presses:
        body, principal = press.body, press.principal
        if body.id not in written:
            continue
        resident = residents[principal.resident_id]  # type: ignore[index]
        names[body.id] = resident.name or resident.phone
        agency = chosen[body.id]
        where = body.location
        place = places.get(body.id)
        created_data = {
            "category": body.category.value,
            "placement": place.method if place else "no_location",
            "jurisdiction": place.jurisdiction_code if place else None,
            "agency": agency.agency_code,
            "silent": body.silent,
            "identity_complete": bool(resident.name and resident.nik),
        }
        events.append(_event(body.id, agency.agency_id, EventKind.CREATED, created_data, now, resident, where))
        flags: list[dict[str, Any]] = []
        if where is None:
            flags.append({"reason": "no_location"})
        if resident.suspended:
            flags.append(
                {"reason": "resident_suspended", "strikes": resident.strikes, "note": resident.suspended_reason or ""}
            )
        if principal.session_expired:
            flags.append({"reason": "session_expired"})
        events.extend(_event(body.id, agency.agency_id, EventKind.FLAGGED, flag, now) for flag in flags)
        if where is not None:
            trail.append(
                {
                    "alert_id": body.id,
                    "lat": where.lat,
                    "lon": where.lon,
                    "accuracy_m": where.accuracy_m,
                    "battery": body.battery,
                    "recorded_at": where.recorded_at or now,
                    "received_at": now,
                }
            )
        audit.append(
            {
                "at": now,
                "actor_kind": principal.kind,
                "actor_id": principal.subject,
                "actor_name": principal.name,
                "agency_id": agency.agency_id,
                "action": "alert.create",
                "target_type": "alert",
                "target_id": str(body.id),
                "outcome": "success",
                "client_ip": press.client_ip,
                "detail": {},
            }
        )
        row = rows[body.id]
        sms = emergency_contact_text(resident.name or resident.phone, press.received_at, row["lat"], row["lon"])
        messages.extend(
            {
                "channel": "sms",
                "recipient": phone,
                "body": sms,
                "purpose": "emergency_contact",
                "adapter": settings.sms_adapter,
                "status": "pending",
                "attempts": 0,
                "last_error": "",
                "provider_id": "",
                "created_at": now,
                "next_attempt_at": now,
                "alert_id": str(body.id),
            }
            for phone in resident.contacts
        )
        if agency.direct_offers:
            info[DISPATCH_WAKE] = True

    if connection.dialect.name == "postgresql":
        # Timeline events commit in id order (see alerts.timeline.lock_event_log), taken as late as possible.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_LOG_LOCK})
    event_ids = connection.scalars(statements.events, events).all()
    info[FEED_ITEMS] = [
        written_item(
            {**event, "id": event_id},
            {**rows[event["alert_id"]], "unit_id": None, "acknowledged_at": None},
            resident_name=names[event["alert_id"]],
            jurisdiction_name=(place.jurisdiction_name if (place := places.get(event["alert_id"])) else None),
        )
        for event, event_id in zip(events, event_ids, strict=True)
    ]
    if trail:
        connection.execute(statements.trail, trail)
    connection.execute(statements.audit, audit)
    if messages:
        ids = connection.scalars(statements.messages, messages).all()
        info[notify.OUTBOUND] = list(ids)
    info[EVENTS_WRITTEN] = True
    return written


@dataclass(frozen=True, slots=True)
class _Statements:
    """The batch's statements, built once per dialect: a batch then pays only for executing them (building a
    statement, and its cache key, cost about as much as running it on SQLite)."""

    residents: Select[Any]  # the residents ``:ids`` with their emergency contacts' numbers
    primaries: Select[Any]  # the primary agency of each jurisdiction in ``:ids``
    alerts: Any  # INSERT of the alerts that skips ids already stored, returning those inserted
    events: Any
    trail: Any
    audit: Any
    messages: Any


_STATEMENTS: dict[str, _Statements] = {}


def _statements(connection: Connection) -> _Statements:
    dialect = connection.dialect.name
    built = _STATEMENTS.get(dialect)
    if built is None:
        built = _STATEMENTS[dialect] = _build_statements(dialect)
    return built


def _build_statements(dialect: str) -> _Statements:
    r, c = _table(Resident), _table(EmergencyContact)
    a, link = _table(Agency), _table(JurisdictionAgency)
    alerts, events, outbound = _table(Alert), _table(AlertEvent), _table(OutboundMessage)
    residents = (
        select(
            r.c.id,
            r.c.phone,
            r.c.name,
            r.c.nik,
            r.c.strikes,
            r.c.suspended,
            r.c.suspended_reason,
            r.c.is_exercise,
            c.c.phone,
        )
        .outerjoin(c, c.c.resident_id == r.c.id)
        .where(_among(dialect, r.c.id, Uuid()))
        .order_by(c.c.id)
    )
    primaries = (
        select(link.c.jurisdiction_id, *_Timers.columns(a))
        .join(a, a.c.id == link.c.agency_id)
        .where(_among(dialect, link.c.jurisdiction_id, Integer()), link.c.is_primary.is_(True))
    )
    return _Statements(
        residents=residents,
        primaries=primaries,
        alerts=(pg_insert if dialect == "postgresql" else sqlite_insert)(alerts)
        .on_conflict_do_nothing(index_elements=[alerts.c.id])
        .returning(alerts.c.id),
        events=insert(events).returning(events.c.id, sort_by_parameter_order=True),
        trail=insert(_table(AlertLocation)),
        audit=insert(_table(AuditRecord)),
        messages=insert(outbound).returning(outbound.c.id),
    )


def _among(dialect: str, column: Any, item: TypeEngine[Any]) -> ColumnElement[bool]:
    """``column IN :ids``. On PostgreSQL as ``= ANY(:ids)``: one statement text whatever the batch holds, so it is
    prepared once (an IN list is a new statement, and a new prepare, for each count of values)."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(item)))  # type: ignore[no-any-return]
    return column.in_(bindparam("ids", expanding=True))  # type: ignore[no-any-return]


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _event(
    alert_id: uuid.UUID,
    agency_id: int,
    kind: EventKind,
    data: dict[str, Any],
    at: datetime,
    resident: _Resident | None = None,
    where: Any = None,
) -> dict[str, Any]:
    """A timeline row: by the resident (``created``) or by Siaga itself (a flag)."""
    actor = (
        domain.Actor(kind=domain.ActorKind.RESIDENT, id=str(resident.id), name=resident.name or resident.phone)
        if resident is not None
        else domain.SYSTEM
    )
    return {
        "alert_id": alert_id,
        "agency_id": agency_id,
        "kind": kind.value,
        "actor_kind": actor.kind.value,
        "actor_id": actor.id,
        "actor_name": actor.name,
        "at": at,
        "lat": where.lat if where is not None else None,
        "lon": where.lon if where is not None else None,
        "state_after": AlertState.NEW.value,
        "data": data,
    }


def _primary_agencies(connection: Connection, jurisdiction_ids: set[int]) -> dict[int, _Timers]:
    if not jurisdiction_ids:
        return {}
    rows = connection.execute(_statements(connection).primaries, {"ids": list(jurisdiction_ids)}).all()
    return {row[0]: _Timers(*row[1:]) for row in rows}


def _default_agency(connection: Connection, configured_code: str) -> _Timers:
    """As ``agencies.default_agency``: the configured agency, else the top command centre, else the first top
    agency; if none exists at all, the fallback agency is created (an alert is never left without an agency)."""
    a = _table(Agency)
    if configured_code:
        row = connection.execute(select(*_Timers.columns(a)).where(a.c.code == configured_code)).first()
        if row is not None:
            return _Timers(*row)
    roots = connection.execute(
        select(*_Timers.columns(a), a.c.kind).where(a.c.parent_id.is_(None)).order_by(a.c.id)
    ).all()
    for row in roots:
        if row[-1] == AgencyKind.COMMAND_CENTRE:
            return _Timers(*row[:-1])
    if roots:
        return _Timers(*roots[0][:-1])
    created = connection.scalar(
        insert(a)
        .values(
            code=agencies.FALLBACK_AGENCY_CODE,
            name="Siaga (no agency configured)",
            kind=AgencyKind.COMMAND_CENTRE.value,
        )
        .returning(a.c.id)
    )
    assert created is not None
    return _Timers(created, agencies.FALLBACK_AGENCY_CODE, None, None, False)
