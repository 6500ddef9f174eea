"""Trackers: the registry (add, list, enable or disable, remove; each change audited through its actor) and what a
report means for its holder: a resident's SOS as the one request every channel raises an alert with, or a unit's
position as the one fix the officer app's positions are too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.models import Resident, ResidentKind
from siaga.accounts.residents import normalize_phone
from siaga.agencies.models import Jurisdiction
from siaga.alerts import raise_rules
from siaga.alerts.domain import Category
from siaga.alerts.raise_rules import Caller, CallerKind, Position, RaiseRequest
from siaga.alerts.schemas import LocationIn, TrailIn
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.errors import Conflict, Forbidden, Invalid, NotFound
from siaga.responders.models import Unit, UnitStatus
from siaga.responders.service import PositionFix
from siaga.trackers.models import Tracker
from siaga.trackers.osmand import Report
from siaga.trackers.schemas import TrackerRead

CHANNEL = "tracker"
# The namespace of a report's alert id: the same device and time (a report sent again) is the same id, so one alert.
REPORT_NAMESPACE = uuid.UUID("5b0f3d2e-7c41-4e0a-9a7e-3f1c2b8d6e90")
# As the officer app's and the resident app's positions: beyond these a tracker's figure is noise, kept as unknown.
MAX_SPEED_MPS = 100.0
MAX_ACCURACY_M = 100_000.0


@dataclass(frozen=True, slots=True)
class Holder:
    """A registered tracker as a report needs it: whose it is and whether it may report."""

    tracker_id: int
    device_id: str
    label: str
    enabled: bool
    resident_id: uuid.UUID | None
    resident_name: str | None
    resident_kecamatan: str | None  # the NIK's kecamatan digits, to place an SOS without a position
    unit_id: int | None
    unit_callsign: str | None = None
    unit_agency_id: int | None = None


async def holder(session: AsyncSession, device_id: str) -> Holder:
    """The tracker that sends ``device_id``. Raises ``NotFound`` (``tracker.unknown``) for an id nobody registered and
    ``Forbidden`` (``tracker.disabled``) for a disabled tracker."""
    row = (
        await session.execute(
            select(Tracker, Resident.name, Resident.nik_kecamatan, Unit.callsign, Unit.agency_id)
            .outerjoin(Resident, Resident.id == Tracker.resident_id)
            .outerjoin(Unit, Unit.id == Tracker.unit_id)
            .where(Tracker.device_id == device_id)
        )
    ).first()
    if row is None:
        raise NotFound(
            f"unknown device id {device_id!r}: an administrator registers it in Siaga first (admin, Trackers)",
            code="tracker.unknown",
            details={"device_id": device_id},
        )
    tracker, name, kecamatan, callsign, unit_agency = row
    if not tracker.enabled:
        raise Forbidden(
            f"tracker {device_id!r} is disabled: an administrator can enable it again (admin, Trackers)",
            code="tracker.disabled",
            details={"device_id": device_id},
        )
    return Holder(
        tracker_id=tracker.id,
        device_id=tracker.device_id,
        label=tracker.label,
        enabled=tracker.enabled,
        resident_id=tracker.resident_id,
        resident_name=name,
        resident_kecamatan=kecamatan,
        unit_id=tracker.unit_id,
        unit_callsign=callsign,
        unit_agency_id=unit_agency,
    )


def report_id(report: Report, *, received_at: datetime) -> uuid.UUID:
    """The alert id of an SOS report: derived from the device and the report's own time, so the same report sent
    again (a tracker retries until it is answered) is the same alert."""
    moment = report.recorded_at or received_at
    return uuid.uuid5(REPORT_NAMESPACE, f"{report.device_id}|{moment.isoformat()}")


async def sos_request(
    session: AsyncSession, holder: Holder, report: Report, *, received_at: datetime, client_ip: str
) -> RaiseRequest:
    """A resident's tracker's ``alarm=sos`` as the request to raise their alert: at the report's position, or, if it
    has none, flagged without a location and placed in the kecamatan of the resident's NIK."""
    assert holder.resident_id is not None
    position = (
        Position(report.lat, report.lon, report.accuracy_m, report.recorded_at)
        if report.lat is not None and report.lon is not None
        else None
    )
    hint = None
    if position is None and holder.resident_kecamatan:
        hint = await session.scalar(
            select(Jurisdiction.code).where(Jurisdiction.nik_prefix == holder.resident_kecamatan).limit(1)
        )
    return RaiseRequest(
        id=report_id(report, received_at=received_at),
        fingerprint=_fingerprint(report),
        caller=Caller(
            kind=CallerKind.RESIDENT,
            id=str(holder.resident_id),
            name=holder.resident_name or holder.label or holder.device_id,
            resident_id=holder.resident_id,
        ),
        category=Category.LAINNYA,
        received_at=received_at,
        channel=CHANNEL,
        position=position,
        description=f"SOS pelacak GPS {holder.label or holder.device_id}",
        battery=report.battery,
        pressed_at=report.recorded_at,
        client_ip=client_ip,
        place_hint=hint,
    )


async def unit_caller(session: AsyncSession, holder: Holder) -> uuid.UUID:
    """The caller row an officers' unit raises its SOS by (an alert is raised by a row of ``residents``; a unit's
    is nobody's to sign in to and no resident in the reports), made at its first SOS. Several processes making it at
    once end with one: its number is the unit's own, and unique."""
    assert holder.unit_id is not None
    phone = f"unit-{holder.unit_id}"
    found = await session.scalar(select(Resident.id).where(Resident.phone == phone))
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            caller = Resident(phone=phone, name=f"Unit {holder.unit_callsign}", kind=ResidentKind.UNIT.value)
            session.add(caller)
        return caller.id
    except IntegrityError:  # another process made it meanwhile
        made = await session.scalar(select(Resident.id).where(Resident.phone == phone))
        assert made is not None
        return made


async def officer_sos_request(
    session: AsyncSession,
    holder: Holder,
    report: Report,
    *,
    caller_id: uuid.UUID,
    received_at: datetime,
    client_ip: str,
) -> RaiseRequest:
    """A unit's tracker's ``alarm=sos`` (a vehicle tracker's panic button, or Traccar Client's SOS on an officer's
    phone) as the request to raise an alert for an officer in danger: at the report's position, or else the unit's
    last known one; to the unit's agency; flagged ``officer_emergency`` and critical from the start. The same report
    sent again is the same alert, and a second SOS while the unit's alert is open joins it."""
    assert holder.unit_id is not None
    position = None
    if report.lat is not None and report.lon is not None:
        position = Position(report.lat, report.lon, _accuracy(report), report.recorded_at)
    else:
        known = (
            await session.execute(
                select(UnitStatus.lat, UnitStatus.lon, UnitStatus.accuracy_m, UnitStatus.position_at).where(
                    UnitStatus.unit_id == holder.unit_id
                )
            )
        ).first()
        if known is not None and known.lat is not None and known.lon is not None:
            position = Position(known.lat, known.lon, known.accuracy_m, known.position_at)
    return RaiseRequest(
        id=report_id(report, received_at=received_at),
        fingerprint=_fingerprint(report),
        caller=Caller(
            kind=CallerKind.UNIT,
            id=f"unit:{holder.unit_id}",
            name=f"Unit {holder.unit_callsign}",
            resident_id=caller_id,
        ),
        category=Category.LAINNYA,
        received_at=received_at,
        channel=CHANNEL,
        position=position,
        description=f"SOS petugas: unit {holder.unit_callsign}, pelacak {holder.label or holder.device_id}",
        battery=report.battery,
        pressed_at=report.recorded_at,
        client_ip=client_ip,
        agency_id=holder.unit_agency_id,
    )


def position_fix(holder: Holder, report: Report, *, now: datetime) -> PositionFix:
    """A unit's tracker's report as the unit's position, the same fix the officer app sends. A time ahead of now (a
    tracker's clock set wrong) is taken as now: kept as the newest, it would pin the unit where it was."""
    assert holder.unit_id is not None
    assert report.lat is not None
    assert report.lon is not None
    speed = report.speed_mps if report.speed_mps is not None and report.speed_mps <= MAX_SPEED_MPS else None
    return PositionFix(
        unit_id=holder.unit_id,
        staff_id=None,
        lat=report.lat,
        lon=report.lon,
        accuracy_m=_accuracy(report),
        speed_mps=speed,
        battery=report.battery,
        recorded_at=min(report.recorded_at or now, now),
    )


def trail(report: Report) -> TrailIn:
    """A resident's tracker's report as a point of their alert's trail, as their phone sends it."""
    assert report.lat is not None
    assert report.lon is not None
    point = LocationIn(lat=report.lat, lon=report.lon, accuracy_m=_accuracy(report), recorded_at=report.recorded_at)
    return TrailIn(points=[point], battery=report.battery)


def _accuracy(report: Report) -> float | None:
    return report.accuracy_m if report.accuracy_m is not None and report.accuracy_m <= MAX_ACCURACY_M else None


async def add(
    session: AsyncSession,
    *,
    settings: Settings,
    device_id: str,
    label: str = "",
    resident_phone: str | None = None,
    unit_callsign: str | None = None,
    by: ActorContext,
) -> TrackerRead:
    """Register a tracker for a resident (by phone number) or a unit (by callsign); audited as ``tracker.add``."""
    if (resident_phone is None) == (unit_callsign is None):
        raise Invalid(
            "give either resident_phone (a resident's tracker) or unit_callsign (a unit's tracker), not both",
            code="tracker.holder",
        )
    if await session.scalar(select(Tracker.id).where(Tracker.device_id == device_id)) is not None:
        raise Conflict(
            f"device id {device_id!r} is registered already",
            code="tracker.device_taken",
            details={"field": "device_id"},
        )
    tracker = Tracker(device_id=device_id, label=label)
    agency_id = None
    if resident_phone is not None:
        phone = normalize_phone(settings, resident_phone, field="resident_phone")
        resident_id = await session.scalar(select(Resident.id).where(Resident.phone == phone))
        if resident_id is None:
            raise NotFound(f"no resident has the number {phone}", code="resident.not_found")
        tracker.resident_id = resident_id
    else:
        unit = await session.scalar(select(Unit).where(Unit.callsign == unit_callsign))
        if unit is None:
            raise Invalid(f"unit {unit_callsign} does not exist", code="unit.not_found", details={"field": "unit"})
        tracker.unit_id, agency_id = unit.id, unit.agency_id
    session.add(tracker)
    await session.flush()
    await audit.record_for(
        session,
        by,
        action="tracker.add",
        target_type="tracker",
        target_id=device_id,
        agency_id=agency_id,
        detail={"resident_id": str(tracker.resident_id) if tracker.resident_id else None, "unit_id": tracker.unit_id},
    )
    return (await _reads(session, Tracker.id == tracker.id))[0]


async def listing(session: AsyncSession, *, by: ActorContext) -> list[TrackerRead]:
    """Every tracker with its holder (audited as ``tracker.list``: it names residents and their numbers)."""
    found = await _reads(session)
    await audit.record_for(session, by, action="tracker.list", target_type="tracker", detail={"count": len(found)})
    return found


async def update(
    session: AsyncSession, tracker_id: int, *, enabled: bool | None, label: str | None, by: ActorContext
) -> TrackerRead:
    """Enable or disable a tracker, or rename it; audited (``tracker.enable``, ``tracker.disable``,
    ``tracker.update``). A disabled tracker's reports are refused (403) until it is enabled again."""
    tracker = await _get(session, tracker_id)
    changes: dict[str, Any] = {}
    if enabled is not None and enabled != tracker.enabled:
        tracker.enabled = changes["enabled"] = enabled
    if label is not None and label != tracker.label:
        tracker.label = changes["label"] = label
    if changes:
        await session.flush()
        action = "tracker.update" if "enabled" not in changes else f"tracker.{'enable' if enabled else 'disable'}"
        await audit.record_for(
            session, by, action=action, target_type="tracker", target_id=tracker.device_id, detail=changes
        )
    return (await _reads(session, Tracker.id == tracker.id))[0]


async def remove(session: AsyncSession, tracker_id: int, *, by: ActorContext) -> None:
    """Forget a tracker (its reports are then refused as unknown); audited as ``tracker.remove``."""
    tracker = await _get(session, tracker_id)
    await session.delete(tracker)
    await session.flush()
    await audit.record_for(session, by, action="tracker.remove", target_type="tracker", target_id=tracker.device_id)


async def _get(session: AsyncSession, tracker_id: int) -> Tracker:
    tracker = await session.get(Tracker, tracker_id)
    if tracker is None:
        raise NotFound(f"tracker {tracker_id} does not exist", code="tracker.not_found")
    return tracker


async def _reads(session: AsyncSession, *where: Any) -> list[TrackerRead]:
    query = (
        select(Tracker, Resident.name, Resident.phone, Unit.callsign)
        .outerjoin(Resident, Resident.id == Tracker.resident_id)
        .outerjoin(Unit, Unit.id == Tracker.unit_id)
        .where(*where)
        .order_by(Tracker.id)
    )
    return [
        TrackerRead(
            id=tracker.id,
            device_id=tracker.device_id,
            label=tracker.label,
            enabled=tracker.enabled,
            resident_id=tracker.resident_id,
            resident_name=name,
            resident_phone=phone,
            unit_id=tracker.unit_id,
            unit_callsign=callsign,
            created_at=tracker.created_at,
        )
        for tracker, name, phone, callsign in (await session.execute(query)).all()
    ]


def _fingerprint(report: Report) -> str:
    """What makes a tracker's SOS the same report when it is sent again (a resident's or a unit's alike)."""
    return raise_rules.fingerprint(
        {
            "channel": CHANNEL,
            "device_id": report.device_id,
            "at": report.recorded_at.isoformat() if report.recorded_at else None,
            "lat": report.lat,
            "lon": report.lon,
        }
    )
