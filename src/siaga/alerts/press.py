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

from sqlalchemy import ColumnElement, Integer, Select, Table, Uuid, any_, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine

from siaga.accounts.domain import Principal
from siaga.accounts.models import EmergencyContact, Resident
from siaga.aftercommit import Event, MessagesQueued, OffersDue, TimelineWritten
from siaga.agencies import service as agencies
from siaga.agencies.models import Agency, AgencyKind, JurisdictionAgency
from siaga.alerts import domain
from siaga.alerts.domain import ACTIVE_STATES, AlertState, EventKind, Priority
from siaga.alerts.ingest import Outcome, Raced, Stored
from siaga.alerts.models import Alert, AlertEvent, AlertLocation, AlertPress
from siaga.alerts.schemas import AlertCreate, ResidentAlertRead
from siaga.alerts.service import request_hash
from siaga.alerts.timeline import EVENT_LOG_LOCK
from siaga.audit.models import AuditRecord
from siaga.config import Settings
from siaga.db import Base, utcnow
from siaga.errors import NotFound
from siaga.notify import contacts
from siaga.notify.models import OutboundMessage
from siaga.realtime.feed import written_item


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
) -> tuple[list[Outcome], list[Event]]:
    """Write every new press of the batch (``places``: where each located press falls, from the in-memory index).
    Returns each press's outcome and what the unit of work tells others after the commit (``aftercommit`` events).
    Synchronous Core, so that on SQLite the whole batch is one hop to the database thread (``db.CoreRunner``)."""
    outcomes: list[Outcome | None] = [None] * len(presses)
    info: list[Event] = []
    resident_ids = {p.principal.resident_id for p in presses if p.principal.resident_id}
    residents = _residents(connection, resident_ids)
    active = _active_alerts(connection, resident_ids)
    candidates: list[int] = []
    joining: list[tuple[PressIn, _Active]] = []
    opening: dict[uuid.UUID, PressIn] = {}  # the press that opens each resident's alert in this batch
    seen: set[uuid.UUID] = set()
    for index, press in enumerate(presses):
        resident_id = press.principal.resident_id
        if press.body.id in seen:
            outcomes[index] = Raced()  # the same press twice at once: answered from the stored one
        elif resident_id not in residents:
            outcomes[index] = NotFound("resident not found", code="resident.not_found")
        elif (current := active.get(resident_id)) is not None and current.id != press.body.id:
            # Pressed again while their alert is active: the press joins it (answered with that alert, 200).
            seen.add(press.body.id)
            joining.append((press, current))
            outcomes[index] = Raced()
        elif resident_id in opening:
            seen.add(press.body.id)
            joining.append((press, _Active(opening[resident_id].body.id, AlertState.NEW.value, 0, 1)))
            outcomes[index] = Raced()
        else:
            seen.add(press.body.id)
            candidates.append(index)
            if resident_id is not None and current is None:
                opening[resident_id] = press
    if candidates:
        # An id a joined press already holds is taken: answered from that press (a retry, or a reused id: 409).
        taken = set(
            connection.scalars(_statements(connection).pressed, {"ids": [presses[i].body.id for i in candidates]})
        )
        for index in [i for i in candidates if presses[i].body.id in taken]:
            outcomes[index] = Raced()
        candidates = [i for i in candidates if presses[i].body.id not in taken]
    written: set[uuid.UUID] = set()
    if candidates:
        written = _write(connection, [presses[i] for i in candidates], residents, places, settings, info)
        for index in candidates:
            press = presses[index]
            # An id already stored (a retry, or another press reusing it) is answered from what is stored.
            outcomes[index] = Stored(view=_view(press), replay=False) if press.body.id in written else Raced()
    if joining:
        orphans = _join(connection, joining, written, info)
        for press in orphans:  # its batch-mate's alert was not opened after all (that id was taken): its own alert
            if _write(connection, [press], residents, places, settings, info):
                outcomes[presses.index(press)] = Stored(view=_view(press), replay=False)
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


@dataclass(frozen=True, slots=True)
class _Active:
    """A resident's alert that is still active (the oldest, if they have several)."""

    id: uuid.UUID
    state: str
    agency_id: int
    press_count: int


def _active_alerts(connection: Connection, resident_ids: set[uuid.UUID]) -> dict[uuid.UUID, _Active]:
    rows = connection.execute(_statements(connection).active, {"ids": list(resident_ids)}).all()
    found: dict[uuid.UUID, _Active] = {}
    for alert_id, resident_id, state, agency_id, press_count in rows:
        found.setdefault(resident_id, _Active(alert_id, state, agency_id, press_count))
    return found


def _join(
    connection: Connection,
    joining: list[tuple[PressIn, _Active]],
    opened: set[uuid.UUID],
    info: list[Event],
) -> list[PressIn]:
    """Store presses made while the resident's alert is active as presses of that alert: durable under their own
    id, counted on the alert, their position on its trail, audited; no new alert, card, SMS or escalation. At
    each milestone of the count (``domain.repeated_press_milestone``) the alert is flagged for the console. Returns
    the presses whose batch-mate's alert was not opened (they need an alert of their own)."""
    now = utcnow()
    statements = _statements(connection)
    # An id an alert already holds is not a new press (a retry of an earlier press, or a reused id).
    taken = set(connection.scalars(statements.alert_ids, {"ids": [p.body.id for p, _ in joining]}))
    joining = [(p, alert) for p, alert in joining if p.body.id not in taken]
    orphans = [p for p, alert in joining if alert.agency_id == 0 and alert.id not in opened]
    joining = [(p, alert) for p, alert in joining if alert.agency_id != 0 or alert.id in opened]
    if not joining:
        return orphans
    rows = [
        {
            "id": press.body.id,
            "alert_id": alert.id,
            "request_hash": request_hash(press.body),
            "received_at": press.received_at,
            "lat": press.body.location.lat if press.body.location else None,
            "lon": press.body.location.lon if press.body.location else None,
            "accuracy_m": press.body.location.accuracy_m if press.body.location else None,
            "battery": press.body.battery,
            "category": press.body.category.value,
            "description": press.body.description,
        }
        for press, alert in joining
    ]
    stored = set(connection.scalars(statements.presses, rows).all())  # a retry of a joined press is not counted
    added: dict[uuid.UUID, int] = {}
    trail: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for press, alert in joining:
        if press.body.id not in stored:
            continue
        added[alert.id] = added.get(alert.id, 0) + 1
        where = press.body.location
        if where is not None:
            trail.append(
                {
                    "alert_id": alert.id,
                    "lat": where.lat,
                    "lon": where.lon,
                    "accuracy_m": where.accuracy_m,
                    "battery": press.body.battery,
                    "recorded_at": where.recorded_at or now,
                    "received_at": now,
                }
            )
        audit.append(
            {
                "at": now,
                "actor_kind": press.principal.kind,
                "actor_id": press.principal.subject,
                "actor_name": press.principal.name,
                "agency_id": alert.agency_id or None,
                "action": "alert.press_again",
                "target_type": "alert",
                "target_id": str(alert.id),
                "outcome": "success",
                "client_ip": press.client_ip,
                "detail": {"press_id": str(press.body.id)},
            }
        )
    flags: list[dict[str, Any]] = []
    for alert_id, count in added.items():
        counted = connection.execute(statements.count_presses, {"target": alert_id, "added": count}).one()
        after, state, agency_id = counted
        milestone = domain.repeated_press_milestone(after - count, after)
        if milestone is not None:
            flag = _event(alert_id, agency_id, EventKind.FLAGGED, {"reason": "repeated_presses", "count": after}, now)
            flags.append({**flag, "state_after": state})
    if trail:
        connection.execute(statements.trail, trail)
    if audit:
        connection.execute(statements.audit, audit)
    if flags:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_LOG_LOCK})
        connection.execute(statements.events, flags)
        info.append(TimelineWritten())  # the feed reads this batch's events back, flags included
    return orphans


def _write(
    connection: Connection,
    presses: list[PressIn],
    residents: dict[uuid.UUID, _Resident],
    places: dict[uuid.UUID, agencies.Place],
    settings: Settings,
    info: list[Event],
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
            "press_count": 1,
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
        sms = contacts.alarm_text(
            settings,
            name=resident.name or resident.phone,
            at=press.received_at,
            lat=row["lat"],
            lon=row["lon"],
            kecamatan=place.jurisdiction_name if place else None,
        )
        alarm_at = contacts.alarm_not_before(settings, press.received_at)
        messages.extend(
            {
                "channel": "sms",
                "recipient": phone,
                "body": sms,
                "purpose": contacts.ALARM,
                "adapter": settings.sms_adapter,
                "status": "pending",
                "attempts": 0,
                "last_error": "",
                "provider_id": "",
                "created_at": now,
                "next_attempt_at": alarm_at,
                "alert_id": str(body.id),
            }
            for phone in resident.contacts
        )
        if agency.direct_offers and OffersDue() not in info:
            info.append(OffersDue())

    if connection.dialect.name == "postgresql":
        # Timeline events commit in id order (see alerts.timeline.lock_event_log), taken as late as possible.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_LOG_LOCK})
    event_ids = connection.scalars(statements.events, events).all()
    items = [
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
        info.append(MessagesQueued(tuple(ids)))
    info.append(TimelineWritten(tuple(items)))
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
    active: Select[Any]  # the active alerts of the residents ``:ids``, oldest first
    presses: Any  # INSERT of joined presses that skips ids already stored, returning those inserted
    pressed: Select[Any]  # the ids among ``:ids`` that joined presses hold
    alert_ids: Select[Any]  # the ids among ``:ids`` that alerts hold
    count_presses: Any  # add ``:added`` presses to alert ``:target``, returning the new count, state and agency


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
    joined = _table(AlertPress)
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
        active=select(alerts.c.id, alerts.c.resident_id, alerts.c.state, alerts.c.agency_id, alerts.c.press_count)
        .where(_among(dialect, alerts.c.resident_id, Uuid()), alerts.c.state.in_([s.value for s in ACTIVE_STATES]))
        .order_by(alerts.c.created_at),
        presses=(pg_insert if dialect == "postgresql" else sqlite_insert)(joined)
        .on_conflict_do_nothing(index_elements=[joined.c.id])
        .returning(joined.c.id),
        pressed=select(joined.c.id).where(_among(dialect, joined.c.id, Uuid())),
        alert_ids=select(alerts.c.id).where(_among(dialect, alerts.c.id, Uuid())),
        count_presses=update(alerts)
        .where(alerts.c.id == bindparam("target"))
        .values(press_count=alerts.c.press_count + bindparam("added"), version=alerts.c.version + 1)
        .returning(alerts.c.press_count, alerts.c.state, alerts.c.agency_id),
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
