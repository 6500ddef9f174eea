"""Storing SOS presses as a batch: the presses waiting at one moment are written with a few multi-row statements.

This is the press use case (``alerts.service.raise_alert`` with ``dispatch.service.on_raised`` and the audit record)
written set-wise: whatever a batch holds, it costs one read of the ids already stored, one of the residents, one of
their emergency contacts, one of the kecamatan's agencies, and one INSERT per table. The group-commit writer
(``alerts.ingest``) calls ``store`` with every press waiting and commits once.

Each press gets its own outcome. A press whose id is already stored (a retry, or the same press twice in one batch)
is answered ``Raced``, and the router reads the stored alert after the commit: the same press answers 200, another
press reusing the id 409. Anything that makes the batch's statements fail makes the writer store each press alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal
from siaga.accounts.models import EmergencyContact, Resident
from siaga.agencies import service as agencies
from siaga.agencies.models import Agency, JurisdictionAgency
from siaga.alerts import domain
from siaga.alerts.domain import AlertState, EventKind, Priority
from siaga.alerts.ingest import Outcome, Raced, Stored
from siaga.alerts.models import Alert, AlertEvent, AlertLocation
from siaga.alerts.schemas import AlertCreate, ResidentAlertRead
from siaga.alerts.service import request_hash
from siaga.alerts.timeline import EVENTS_WRITTEN, lock_event_log
from siaga.audit.models import AuditRecord
from siaga.config import Settings
from siaga.db import Base, utcnow
from siaga.dispatch.service import DISPATCH_WAKE, emergency_contact_text
from siaga.errors import NotFound
from siaga.notify import service as notify
from siaga.notify.models import OutboundMessage


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

    @classmethod
    def of(cls, agency: Agency) -> _Timers:
        return cls(
            agency.id, agency.code, agency.ack_timeout_seconds, agency.dispatch_timeout_seconds, agency.direct_offers
        )


async def store(
    session: AsyncSession, presses: Sequence[PressIn], *, settings: Settings, locator: agencies.JurisdictionLocator
) -> list[Outcome]:
    """Write every new press of the batch and say, for each, what to answer."""
    outcomes: list[Outcome | None] = [None] * len(presses)
    fingerprints = [request_hash(p.body) for p in presses]
    stored = set((await session.scalars(select(Alert.id).where(Alert.id.in_({p.body.id for p in presses})))).all())
    residents = {
        r.id: r
        for r in (
            await session.scalars(select(Resident).where(Resident.id.in_({p.principal.resident_id for p in presses})))
        ).all()
    }
    new: list[int] = []
    seen: set[uuid.UUID] = set()
    for index, press in enumerate(presses):
        if press.body.id in stored or press.body.id in seen:
            outcomes[index] = Raced()  # a retry, or the same press twice at once: answered from what is stored
        elif press.principal.resident_id not in residents:
            outcomes[index] = NotFound("resident not found", code="resident.not_found")
        else:
            seen.add(press.body.id)
            new.append(index)
    if new:
        await _write(session, [presses[i] for i in new], [fingerprints[i] for i in new], residents, settings, locator)
        for index in new:
            outcomes[index] = Stored(view=_view(presses[index]), replay=False)
    return [o if o is not None else Raced() for o in outcomes]


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


async def _write(
    session: AsyncSession,
    presses: list[PressIn],
    fingerprints: list[str],
    residents: dict[uuid.UUID, Resident],
    settings: Settings,
    locator: agencies.JurisdictionLocator,
) -> None:
    now = utcnow()
    located = [p for p in presses if p.body.location is not None]
    places = iter(
        await locator.places(
            session,
            [(p.body.location.lat, p.body.location.lon) for p in located if p.body.location is not None],
            buffer_m=settings.jurisdiction_buffer_m,
        )
    )
    placed = {p.body.id: next(places) for p in located}
    primaries = await _primary_agencies(session, {pl.jurisdiction_id for pl in placed.values() if pl.jurisdiction_id})
    fallback: _Timers | None = None
    if len(located) < len(presses) or any(pl.jurisdiction_id not in primaries for pl in placed.values()):
        fallback = _Timers.of(await agencies.default_agency(session, configured_code=settings.default_agency_code))
    contacts = await _contacts(session, {p.principal.resident_id for p in presses if p.principal.resident_id})

    alerts: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    trail: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    messages: list[OutboundMessage] = []
    wake_dispatch = False
    for press, fingerprint in zip(presses, fingerprints, strict=True):
        body, principal = press.body, press.principal
        resident = residents[principal.resident_id]  # type: ignore[index]
        where = body.location
        place = placed.get(body.id)
        agency = primaries.get(place.jurisdiction_id) if place and place.jurisdiction_id else None
        agency = agency or fallback
        assert agency is not None
        created = press.received_at
        t1 = agency.ack_timeout_s or settings.ack_timeout_seconds
        t2 = agency.dispatch_timeout_s or settings.dispatch_timeout_seconds
        wake_dispatch = wake_dispatch or agency.direct_offers
        jurisdiction_id = place.jurisdiction_id if place else None
        alerts.append(
            {
                "id": body.id,
                "request_hash": fingerprint,
                "resident_id": resident.id,
                "agency_id": agency.agency_id,
                "jurisdiction_id": jurisdiction_id,
                "placement": place.method if place else "no_location",
                "placement_distance_m": place.distance_m if place else 0.0,
                "state": AlertState.NEW.value,
                "category": body.category.value,
                "priority": Priority.NORMAL.value,
                "silent": body.silent,
                "resident_suspended": resident.suspended,
                "is_exercise": resident.is_exercise,
                # Without a fix the map shows the alert at the city's centre until the phone sends its first point.
                "lat": where.lat if where else settings.map_center_lat,
                "lon": where.lon if where else settings.map_center_lon,
                "accuracy_m": where.accuracy_m if where else None,
                "located_at": where.recorded_at if where else None,
                "battery": body.battery,
                "pressed_at": body.pressed_at,
                "description": body.description,
                "created_at": created,
                "updated_at": created,
                "version": 1,
                # Counted from the server's receipt of the press, as the console counts them.
                "ack_due_at": created + timedelta(seconds=t1),
                "dispatch_due_at": created + timedelta(seconds=max(t2, t1)),
                "offer_due_at": now if agency.direct_offers else None,
            }
        )
        name = resident.name or resident.phone
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
        lat = alerts[-1]["lat"]
        lon = alerts[-1]["lon"]
        for phone in contacts.get(resident.id, []):
            messages.append(
                OutboundMessage(
                    channel="sms",
                    recipient=phone,
                    body=emergency_contact_text(name, created, lat, lon),
                    purpose="emergency_contact",
                    adapter=settings.sms_adapter,
                    alert_id=str(body.id),
                )
            )

    await session.execute(insert(_table(Alert)), alerts)
    await lock_event_log(session)  # taken as late as possible: from here to the commit
    await session.execute(insert(_table(AlertEvent)), events)
    if trail:
        await session.execute(insert(_table(AlertLocation)), trail)
    await session.execute(insert(_table(AuditRecord)), audit)
    if messages:
        session.add_all(messages)
        await session.flush()
        session.info.setdefault(notify.OUTBOUND, []).extend(m.id for m in messages)
    session.info[EVENTS_WRITTEN] = True
    if wake_dispatch:
        session.info[DISPATCH_WAKE] = True


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
    resident: Resident | None = None,
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


async def _primary_agencies(session: AsyncSession, jurisdiction_ids: set[int]) -> dict[int, _Timers]:
    if not jurisdiction_ids:
        return {}
    rows = await session.execute(
        select(JurisdictionAgency.jurisdiction_id, Agency)
        .join(Agency, Agency.id == JurisdictionAgency.agency_id)
        .where(JurisdictionAgency.jurisdiction_id.in_(jurisdiction_ids), JurisdictionAgency.is_primary.is_(True))
    )
    return {jurisdiction_id: _Timers.of(agency) for jurisdiction_id, agency in rows.all()}


async def _contacts(session: AsyncSession, resident_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    rows = await session.execute(
        select(EmergencyContact.resident_id, EmergencyContact.phone)
        .where(EmergencyContact.resident_id.in_(resident_ids))
        .order_by(EmergencyContact.id)
    )
    found: dict[uuid.UUID, list[str]] = {}
    for resident_id, phone in rows.all():
        found.setdefault(resident_id, []).append(phone)
    return found
