"""Raising an alert: the one use case every channel calls (the app's press, the follow-up of a duress PIN after
staff closed an alert, and the channels to come: SMS, fixed panic devices, GPS trackers, other command centres).

A channel turns what it received into a ``raise_rules.RaiseRequest`` at its edge; ``place`` finds each request's
kecamatan in the in-memory index, and ``store`` writes them. The rules for the new alert (its row, flags, ``created``
event, timers and default agency) are pure functions of ``alerts.domain`` and ``agencies.domain``; ``store`` applies
them set-wise in synchronous Core: whatever a batch holds, it costs one read of the residents with their emergency
contacts, one of the kecamatan's primary agencies, one INSERT of the alerts that skips ids already stored, and one
INSERT per other table. The group-commit writer (``alerts.ingest``) hands it every press waiting, and the runtime
runs it in one transaction through ``db.CoreRunner`` (on SQLite: one hop to the database thread per batch);
``raise_one`` runs a batch of one inside a caller's transaction. The events' feed items are built from the rows
written, so the event feed hands them out without reading them back.

Each request gets its own outcome. One whose id is already stored (a retry, another press reusing the id, or the
same press twice in one batch) is answered ``Raced``, and the channel reads the stored alert after the commit: the
same press answers 200, another press 409. If the batch's statements fail, the writer stores each request alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, Uuid, and_, any_, bindparam, exists, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.types import TypeEngine

from siaga.accounts.domain import SYSTEM
from siaga.accounts.models import EmergencyContact, Resident
from siaga.aftercommit import Event, MessagesQueued, OffersDue, TimelineWritten, WrittenEvent, emit_all
from siaga.agencies import service as agencies
from siaga.agencies.domain import AgencyTerms
from siaga.alerts import raise_rules
from siaga.alerts.domain import ACTIVE_STATES, AlertState, EventKind
from siaga.alerts.ingest import Outcome, Raced, Stored
from siaga.alerts.models import Alert, AlertAgency, AlertEvent, AlertLocation, AlertPress
from siaga.alerts.raise_rules import Placed, Raiser, RaiseRequest
from siaga.alerts.schemas import ResidentAlertRead
from siaga.alerts.timeline import EVENT_LOG_LOCK
from siaga.audit.models import AuditRecord
from siaga.config import Settings
from siaga.db import Base, utcnow
from siaga.errors import NotFound
from siaga.notify import contacts
from siaga.notify.models import OutboundMessage
from siaga.webhooks import outbox as webhooks


async def place(
    locator: agencies.JurisdictionLocator,
    sessions: async_sessionmaker[AsyncSession],
    requests: Sequence[RaiseRequest],
    *,
    buffer_m: float,
) -> dict[uuid.UUID, agencies.Place]:
    """Where each request with a position falls, from the in-memory kecamatan index (refreshed from
    ``sessions`` when the jurisdictions changed); a request without one, in the kecamatan its channel named
    (``place_hint``) if there is such a kecamatan."""
    located = [r for r in requests if r.position is not None]
    await locator.ensure_fresh(sessions)
    found = locator.place_all(
        [(r.position.lat, r.position.lon) for r in located if r.position is not None], buffer_m=buffer_m
    )
    places = {r.id: where for r, where in zip(located, found, strict=True)}
    for request in requests:
        if request.position is None and request.place_hint:
            named = locator.place_named(request.place_hint)
            if named is not None:
                places[request.id] = named
    for request in requests:
        where = places.get(request.id)
        if where is not None:
            # Which agencies beside the police serve the point, for the services its category goes to.
            point = (request.position.lat, request.position.lon) if request.position else where.centre
            coverage = locator.cover(
                request.category.value,
                lat=point[0] if point else None,
                lon=point[1] if point else None,
                jurisdiction_id=where.jurisdiction_id,
                buffer_m=buffer_m,
            )
            places[request.id] = replace(where, coverage=coverage)
    return places


async def raise_one(
    session: AsyncSession,
    request: RaiseRequest,
    *,
    locator: agencies.JurisdictionLocator,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> Alert:
    """Raise one alert inside the caller's transaction (``session``), by the same writer and rules as a batch of
    presses; what it tells the rest of Siaga is emitted into ``session`` for after its commit. Returns the alert."""
    places = await place(locator, sessions, [request], buffer_m=settings.jurisdiction_buffer_m)
    outcomes, events = await session.run_sync(
        lambda sync: store(sync.connection(), [request], places=places, settings=settings)
    )
    emit_all(session, events)
    outcome = outcomes[0]
    if isinstance(outcome, BaseException):
        raise outcome
    alert = await session.get(Alert, request.id)
    if alert is None:
        raise Raced()  # the id was already stored: the caller decides what the stored one means
    return alert


def store(
    connection: Connection,
    requests: Sequence[RaiseRequest],
    *,
    places: dict[uuid.UUID, agencies.Place],
    settings: Settings,
) -> tuple[list[Outcome], list[Event]]:
    """Write every new request of the batch (``places``: where each located one falls, see ``place``).
    Returns each request's outcome and what the unit of work tells others after the commit (``aftercommit`` events).
    Synchronous Core, so that on SQLite the whole batch is one hop to the database thread (``db.CoreRunner``)."""
    outcomes: list[Outcome | None] = [None] * len(requests)
    info: list[Event] = []
    resident_ids = {r.caller.resident_id for r in requests if r.caller.resident_id}
    residents, active, held = _residents(connection, resident_ids, [r.id for r in requests])
    candidates: list[int] = []
    joining: list[tuple[RaiseRequest, _Active]] = []
    opening: dict[uuid.UUID, RaiseRequest] = {}  # the press that opens each resident's alert in this batch
    seen: set[uuid.UUID] = set()
    for index, request in enumerate(requests):
        resident_id = request.caller.resident_id
        current = active.get(resident_id) if resident_id is not None else None
        if request.id in seen:
            outcomes[index] = Raced()  # the same press twice at once: answered from the stored one
        elif resident_id is None or resident_id not in residents:
            outcomes[index] = NotFound("resident not found", code="resident.not_found")
        elif request.may_join and current is not None and current.id != request.id:
            # Pressed again while their alert is active: the press joins it (answered with that alert, 200).
            seen.add(request.id)
            joining.append((request, current))
            outcomes[index] = Raced()
        elif request.may_join and resident_id in opening:
            seen.add(request.id)
            joining.append((request, _Active(opening[resident_id].id, AlertState.NEW.value, 0, 1)))
            outcomes[index] = Raced()
        else:
            seen.add(request.id)
            candidates.append(index)
            if request.may_join and current is None:
                opening[resident_id] = request
    if candidates and held:
        # An id a joined press already holds is taken: answered from that press (a retry, or a reused id: 409).
        taken = set(connection.scalars(_statements(connection).pressed, {"ids": [requests[i].id for i in candidates]}))
        for index in [i for i in candidates if requests[i].id in taken]:
            outcomes[index] = Raced()
        candidates = [i for i in candidates if requests[i].id not in taken]
    written: set[uuid.UUID] = set()
    if candidates:
        written = _write(connection, [requests[i] for i in candidates], residents, places, settings, info)
        for index in candidates:
            request = requests[index]
            # An id already stored (a retry, or another press reusing it) is answered from what is stored.
            outcomes[index] = Stored(view=_view(request), replay=False) if request.id in written else Raced()
    if joining:
        orphans = _join(connection, joining, written, info)
        for request in orphans:  # its batch-mate's alert was not opened after all (that id was taken): its own alert
            if _write(connection, [request], residents, places, settings, info):
                outcomes[requests.index(request)] = Stored(view=_view(request), replay=False)
    return [o if o is not None else Raced() for o in outcomes], info


def _view(request: RaiseRequest) -> ResidentAlertRead:
    return ResidentAlertRead(
        id=request.id,
        state=AlertState.NEW,
        category=request.category,
        created_at=request.received_at,
        acknowledged=False,
        unit_callsign=None,
        officer_names=[],
        closed_at=None,
    )


def _residents(
    connection: Connection, ids: set[uuid.UUID], press_ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, Raiser], dict[uuid.UUID, _Active], bool]:
    """The batch's residents with their contacts' numbers, each one's active alert (the oldest, if several), and
    whether a joined press already holds any of ``press_ids`` (a retry of a press that joined an alert: then the
    batch looks up which). One statement: on PostgreSQL every statement is a round trip the presses wait for."""
    rows = connection.execute(_statements(connection).residents, {"ids": list(ids), "press_ids": press_ids}).all()
    found: dict[uuid.UUID, Raiser] = {}
    active: dict[uuid.UUID, _Active] = {}
    contacts_seen: set[int] = set()
    held = False
    for rid, phone, name, nik, strikes, suspended, reason, exercise, contact_id, contact, *alert, pressed in rows:
        held = held or bool(pressed)
        resident = found.get(rid)
        if resident is None:
            resident = found[rid] = Raiser(rid, phone, name, nik, strikes or 0, bool(suspended), reason, bool(exercise))
        if contact_id is not None and contact_id not in contacts_seen:
            contacts_seen.add(contact_id)
            resident.contacts.append(contact)
        alert_id, state, agency_id, press_count = alert
        if alert_id is not None:
            active.setdefault(rid, _Active(alert_id, state, agency_id, press_count))
    return found, active, held


@dataclass(frozen=True, slots=True)
class _Active:
    """A resident's alert that is still active (the oldest, if they have several)."""

    id: uuid.UUID
    state: str
    agency_id: int
    press_count: int


def _join(
    connection: Connection,
    joining: list[tuple[RaiseRequest, _Active]],
    opened: set[uuid.UUID],
    info: list[Event],
) -> list[RaiseRequest]:
    """Store presses made while the resident's alert is active as presses of that alert: durable under their own
    id, counted on the alert, their position on its trail, audited; no new alert, card, SMS or escalation. At
    each milestone of the count (``raise_rules.repeated_press_milestone``) the alert is flagged for the console. Returns
    the presses whose batch-mate's alert was not opened (they need an alert of their own)."""
    now = utcnow()
    statements = _statements(connection)
    # An id an alert already holds is not a new press (a retry of an earlier press, or a reused id).
    taken = set(connection.scalars(statements.alert_ids, {"ids": [r.id for r, _ in joining]}))
    joining = [(r, alert) for r, alert in joining if r.id not in taken]
    orphans = [r for r, alert in joining if alert.agency_id == 0 and alert.id not in opened]
    joining = [(r, alert) for r, alert in joining if alert.agency_id != 0 or alert.id in opened]
    if not joining:
        return orphans
    rows = [
        {
            "id": request.id,
            "alert_id": alert.id,
            "request_hash": request.fingerprint,
            "received_at": request.received_at,
            "lat": request.position.lat if request.position else None,
            "lon": request.position.lon if request.position else None,
            "accuracy_m": request.position.accuracy_m if request.position else None,
            "battery": request.battery,
            "category": request.category.value,
            "description": request.description,
        }
        for request, alert in joining
    ]
    stored = set(connection.scalars(statements.presses, rows).all())  # a retry of a joined press is not counted
    added: dict[uuid.UUID, int] = {}
    trail: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for request, alert in joining:
        if request.id not in stored:
            continue
        added[alert.id] = added.get(alert.id, 0) + 1
        if request.position is not None:
            trail.append(_trail_point(alert.id, request, now))
        audit.append(_audit(request, alert.agency_id or None, "alert.press_again", alert.id, now, press_id=request.id))
    flags: list[dict[str, Any]] = []
    for alert_id, count in added.items():
        counted = connection.execute(statements.count_presses, {"target": alert_id, "added": count}).one()
        after, state, agency_id = counted
        milestone = raise_rules.repeated_press_milestone(after - count, after)
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
    requests: list[RaiseRequest],
    residents: dict[uuid.UUID, Raiser],
    places: dict[uuid.UUID, agencies.Place],
    settings: Settings,
    info: list[Event],
) -> set[uuid.UUID]:
    """Insert the alerts (an id already stored is skipped) and, for those inserted, their events, first trail
    points, audit records and contacts' SMS. Returns the ids inserted."""
    now = utcnow()
    wanted = [
        (spot.coverage, spot.jurisdiction_id) if (spot := places.get(r.id)) is not None else (None, None)
        for r in requests
    ]
    named = [r.agency_id for r in requests]
    routes = agencies.route_all(connection, wanted, configured_code=settings.default_agency_code, named=named)

    rows: dict[uuid.UUID, dict[str, Any]] = {}
    chosen: dict[uuid.UUID, tuple[Raiser, AgencyTerms, Placed, str | None]] = {}
    informed: dict[uuid.UUID, tuple[AgencyTerms, ...]] = {}
    for request, routed in zip(requests, routes, strict=True):
        raiser = residents[request.caller.resident_id]  # type: ignore[index]
        place = places.get(request.id)
        where = (
            Placed(place.jurisdiction_id, place.jurisdiction_code, place.method, place.distance_m)
            if place is not None
            else raise_rules.UNPLACED
        )
        agency = routed.responsible
        informed[request.id] = routed.informed
        chosen[request.id] = (raiser, agency, where, place.jurisdiction_name if place else None)
        due = raise_rules.deadlines(
            request.received_at,
            agency,
            ack_default_s=settings.ack_timeout_seconds,
            dispatch_default_s=settings.dispatch_timeout_seconds,
            now=now,
        )
        map_centre = place.centre if place and place.centre else (settings.map_center_lat, settings.map_center_lon)
        rows[request.id] = raise_rules.new_alert(
            request, raiser, agency, where, due, map_centre=map_centre, informed=informed[request.id]
        )
    statements = _statements(connection)
    written = set(connection.scalars(statements.alerts, list(rows.values())).all())
    if not written:
        return written

    events: list[dict[str, Any]] = []
    trail: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    told: list[dict[str, Any]] = []  # the agencies informed of each alert
    for request in requests:
        if request.id not in written:
            continue
        raiser, agency, where, kecamatan = chosen[request.id]
        created = raise_rules.created_data(request, raiser, agency, where, informed=informed[request.id])
        told.extend({"alert_id": request.id, "agency_id": other.id} for other in informed[request.id])
        events.append(_event(request.id, agency.id, EventKind.CREATED, created, now, raiser, request.position))
        flags = raise_rules.raise_flags(request, raiser)
        events.extend(_event(request.id, agency.id, EventKind.FLAGGED, flag, now) for flag in flags)
        if request.position is not None:
            trail.append(_trail_point(request.id, request, now))
        audit.append(_audit(request, agency.id, "alert.create", request.id, now))
        row = rows[request.id]
        sms = contacts.alarm_text(
            settings,
            name=raiser.shown_name,
            at=request.received_at,
            lat=row["lat"],
            lon=row["lon"],
            kecamatan=kecamatan,
        )
        alarm_at = contacts.alarm_not_before(settings, request.received_at)
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
                "alert_id": str(request.id),
            }
            for phone in raiser.contacts
        )
        if agency.direct_offers and OffersDue() not in info:
            info.append(OffersDue())

    if connection.dialect.name == "postgresql":
        # Timeline events commit in id order (see alerts.timeline.lock_event_log), taken as late as possible.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_LOG_LOCK})
    event_ids = connection.scalars(statements.events, events).all()
    items = [
        WrittenEvent(
            {**event, "id": event_id},
            {**rows[event["alert_id"]], "unit_id": None, "acknowledged_at": None},
            resident_name=chosen[event["alert_id"]][0].shown_name,
            jurisdiction_name=chosen[event["alert_id"]][3],
        )
        for event, event_id in zip(events, event_ids, strict=True)
    ]
    if trail:
        connection.execute(statements.trail, trail)
    if told:
        connection.execute(statements.informed, told)
    connection.execute(statements.audit, audit)
    if messages:
        ids = connection.scalars(statements.messages, messages).all()
        info.append(MessagesQueued(tuple(ids)))
    # Integrators' webhooks (alert.created), written with the alerts: one read of the subscriptions per batch.
    info.extend(webhooks.write_created(connection, [rows[r.id] for r in requests if r.id in written], at=now))
    info.append(TimelineWritten(tuple(items)))
    return written


def _trail_point(alert_id: uuid.UUID, request: RaiseRequest, now: datetime) -> dict[str, Any]:
    where = request.position
    assert where is not None
    return {
        "alert_id": alert_id,
        "lat": where.lat,
        "lon": where.lon,
        "accuracy_m": where.accuracy_m,
        "battery": request.battery,
        "recorded_at": where.recorded_at or now,
        "received_at": now,
    }


def _audit(
    request: RaiseRequest,
    agency_id: int | None,
    action: str,
    alert_id: uuid.UUID,
    now: datetime,
    *,
    press_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    caller = request.caller
    return {
        "at": now,
        "actor_kind": caller.kind.value,
        "actor_id": caller.id,
        "actor_name": caller.name,
        "agency_id": agency_id,
        "action": action,
        "target_type": "alert",
        "target_id": str(alert_id),
        "outcome": "success",
        "client_ip": request.client_ip,
        "detail": {"press_id": str(press_id)} if press_id is not None else {},
    }


@dataclass(frozen=True, slots=True)
class _Statements:
    """The batch's statements, built once per dialect: a batch then pays only for executing them (building a
    statement, and its cache key, cost about as much as running it on SQLite)."""

    # The residents ``:ids`` with their emergency contacts, their active alerts (oldest first) and whether a joined
    # press holds any of ``:press_ids``.
    residents: Select[Any]
    informed: Any  # INSERT of the agencies informed of an alert
    alerts: Any  # INSERT of the alerts that skips ids already stored, returning those inserted
    events: Any
    trail: Any
    audit: Any
    messages: Any
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
    alerts, events, outbound = _table(Alert), _table(AlertEvent), _table(OutboundMessage)
    joined = _table(AlertPress)
    active = alerts.alias("active")
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
            c.c.id,
            c.c.phone,
            active.c.id,
            active.c.state,
            active.c.agency_id,
            active.c.press_count,
            exists(select(joined.c.id).where(_among(dialect, joined.c.id, Uuid(), name="press_ids"))),
        )
        .outerjoin(c, c.c.resident_id == r.c.id)
        .outerjoin(
            active,
            and_(active.c.resident_id == r.c.id, active.c.state.in_([s.value for s in ACTIVE_STATES])),
        )
        .where(_among(dialect, r.c.id, Uuid()))
        .order_by(active.c.created_at, c.c.id)
    )
    return _Statements(
        residents=residents,
        informed=insert(_table(AlertAgency)),
        alerts=(pg_insert if dialect == "postgresql" else sqlite_insert)(alerts)
        .on_conflict_do_nothing(index_elements=[alerts.c.id])
        .returning(alerts.c.id),
        events=insert(events).returning(events.c.id, sort_by_parameter_order=True),
        trail=insert(_table(AlertLocation)),
        audit=insert(_table(AuditRecord)),
        messages=insert(outbound).returning(outbound.c.id),
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


def _among(dialect: str, column: Any, item: TypeEngine[Any], *, name: str = "ids") -> ColumnElement[bool]:
    """``column IN :ids``. On PostgreSQL as ``= ANY(:ids)``: one statement text whatever the batch holds, so it is
    prepared once (an IN list is a new statement, and a new prepare, for each count of values)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(item)))  # type: ignore[no-any-return]
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]


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
    raiser: Raiser | None = None,
    where: raise_rules.Position | None = None,
) -> dict[str, Any]:
    """A timeline row: by the resident (``created``) or by Siaga itself (a flag)."""
    actor = raiser.actor() if raiser is not None else SYSTEM
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
