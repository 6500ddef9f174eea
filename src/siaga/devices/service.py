"""Fixed panic buttons: the registry (sites and devices, audited), what Siaga does with each message a device sends,
and supervision (a silent device becomes a trouble).

A panic is raised through the one door, the SOS writer (``alerts.raising`` via ``Channel.ingest``), as the site's
alert (channel ``device``) at the site's position; its id is derived from the device and its own event id, so a
redelivered message is the same alert. The message is recorded after the alert is stored: if Siaga stops in between,
the broker delivers the message again and the alert answers it as already stored.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.accounts.models import Resident, ResidentKind
from siaga.aftercommit import emit
from siaga.agencies.models import Agency
from siaga.alerts.ingest import GroupCommit, Raced
from siaga.alerts.raise_rules import Caller, CallerKind, Position, RaiseRequest, fingerprint
from siaga.audit.actor import ActorContext
from siaga.audit.service import record_for
from siaga.config import Settings
from siaga.db import utcnow
from siaga.devices import domain
from siaga.devices.domain import DeviceEvent, EventType, PayloadError, TroubleKind
from siaga.devices.models import Device, DeviceMessage, Site, Trouble, TroubleEvent
from siaga.errors import Conflict, Invalid, NotFound
from siaga.realtime.schemas import DeviceTroubleMessage
from siaga.realtime.troubles import TroublesChanged
from siaga.webhooks import outbox as webhooks
from siaga.webhooks.domain import trouble_occurrence

log = logging.getLogger("siaga.devices")


class Channel(Protocol):
    """What the device channel uses of the running Siaga (the runtime provides it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def ingest(self) -> GroupCommit[RaiseRequest]: ...  # the SOS writer: every alert is raised through it

    def unit_of_work(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    @property
    def read_sessions(self) -> async_sessionmaker[AsyncSession]: ...


# The registry -------------------------------------------------------------------------------------------------------


async def create_site(
    session: AsyncSession,
    by: ActorContext,
    *,
    name: str,
    address: str,
    lat: float,
    lon: float,
    floor_notes: str,
    agency_id: int,
    contacts: list[dict[str, Any]],
) -> Site:
    """Register a site. It gets a caller row of its own, which nobody can sign in to: every alert is raised by a
    resident row, and a site's alerts are raised by this one (named after the site, with no phone number to text)."""
    if await session.get(Agency, agency_id) is None:
        raise Invalid("no such agency", code="device.unknown_agency")
    caller = Resident(phone=f"site-{uuid.uuid4().hex[:12]}", name=name, kind=ResidentKind.SITE.value)
    session.add(caller)
    await session.flush()
    site = Site(
        name=name,
        address=address,
        lat=lat,
        lon=lon,
        floor_notes=floor_notes,
        agency_id=agency_id,
        contacts=contacts,
        resident_id=caller.id,
    )
    session.add(site)
    await session.flush()
    await record_for(
        session, by, action="device.site_create", target_type="device_site", target_id=str(site.id), agency_id=agency_id
    )
    return site


async def update_site(session: AsyncSession, by: ActorContext, site_id: int, changes: dict[str, Any]) -> Site:
    """Change a site's details (its caller row keeps its name)."""
    site = await get_site(session, site_id)
    if "agency_id" in changes and await session.get(Agency, changes["agency_id"]) is None:
        raise Invalid("no such agency", code="device.unknown_agency")
    for key, value in changes.items():
        setattr(site, key, value)
    if "name" in changes:
        caller = await session.get(Resident, site.resident_id)
        if caller is not None:
            caller.name = changes["name"]
    await session.flush()
    await record_for(
        session,
        by,
        action="device.site_update",
        target_type="device_site",
        target_id=str(site.id),
        agency_id=site.agency_id,
        detail={"fields": sorted(changes)},
    )
    return site


async def get_site(session: AsyncSession, site_id: int) -> Site:
    site = await session.get(Site, site_id)
    if site is None:
        raise NotFound("site not found", code="device.site_not_found")
    return site


async def list_sites(session: AsyncSession, agencies: Sequence[int] | None) -> list[Site]:
    query = select(Site).order_by(Site.name)
    if agencies is not None:
        query = query.where(Site.agency_id.in_(agencies))
    return list((await session.scalars(query)).all())


async def add_device(
    session: AsyncSession,
    by: ActorContext,
    *,
    site_id: int,
    name: str,
    protocol: domain.Protocol,
    label: str,
    heartbeat_interval_s: int,
) -> tuple[Device, str]:
    """Register a button at a site. Returns it with its broker password, shown this once (only its hash is kept)."""
    site = await get_site(session, site_id)
    if not domain.NAME.match(name):
        raise Invalid(
            "a device name is 2-63 letters, digits, '.', '_' or '-', starting with a letter or digit",
            code="device.bad_name",
        )
    if domain.name_reserved(protocol, name):
        raise Invalid(
            f"{name} begins another scheme's topics: a Shelly Gen2 device keeps its own topic prefix (its id)",
            code="device.reserved_name",
        )
    if await session.scalar(select(Device.id).where(Device.name == name)) is not None:
        raise Conflict(f"a device is already named {name}", code="device.name_taken")
    password = domain.new_password()
    device = Device(
        site_id=site.id,
        name=name,
        protocol=protocol.value,
        label=label,
        password_hash=domain.password_hash(password),
        heartbeat_interval_s=heartbeat_interval_s,
    )
    session.add(device)
    await session.flush()
    await record_for(
        session,
        by,
        action="device.create",
        target_type="device",
        target_id=str(device.id),
        agency_id=site.agency_id,
        detail={"name": name, "site_id": site.id, "protocol": protocol.value},
    )
    return device, password


async def get_device(session: AsyncSession, device_id: uuid.UUID) -> Device:
    device = await session.get(Device, device_id)
    if device is None:
        raise NotFound("device not found", code="device.not_found")
    return device


async def update_device(
    session: AsyncSession,
    by: ActorContext,
    device_id: uuid.UUID,
    *,
    enabled: bool | None = None,
    label: str | None = None,
    heartbeat_interval_s: int | None = None,
    new_password: bool = False,
) -> tuple[Device, str | None]:
    """Enable or disable a device, change its label or heartbeat, or give it a new password (returned, once). A
    disabled device is left out of the broker's files and of supervision; a panic that still reaches Siaga from it
    is raised all the same (an SOS is never dropped)."""
    device = await get_device(session, device_id)
    site = await get_site(session, device.site_id)
    changed: list[str] = []
    if enabled is not None and enabled != device.enabled:
        device.enabled = enabled
        changed.append("enabled")
        if not enabled:
            for trouble in await _open_troubles(session, device.id):
                await _clear(session, trouble, reason="device_disabled")
    if label is not None:
        device.label = label
        changed.append("label")
    if heartbeat_interval_s is not None:
        device.heartbeat_interval_s = heartbeat_interval_s
        changed.append("heartbeat_interval_s")
    password = None
    if new_password:
        password = domain.new_password()
        device.password_hash = domain.password_hash(password)
        changed.append("password")
    await session.flush()
    await record_for(
        session,
        by,
        action="device.update",
        target_type="device",
        target_id=str(device.id),
        agency_id=site.agency_id,
        detail={"fields": changed, "enabled": device.enabled},
    )
    return device, password


async def list_devices(session: AsyncSession, agencies: Sequence[int] | None) -> list[tuple[Device, Site]]:
    query = select(Device, Site).join(Site, Site.id == Device.site_id).order_by(Site.name, Device.name)
    if agencies is not None:
        query = query.where(Site.agency_id.in_(agencies))
    return [(device, site) for device, site in (await session.execute(query))]


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    password_file: str
    acl_file: str
    reload_command: str = domain.RELOAD_COMMAND


async def broker_files(session: AsyncSession, *, bridge_user: str | None, bridge_password: str | None) -> BrokerFiles:
    """Mosquitto's password and ACL files for every enabled device (and Siaga's own login, if it has one)."""
    rows = await session.execute(
        select(Device.name, Device.password_hash, Device.protocol, Device.site_id).where(Device.enabled)
    )
    users = [domain.BrokerUser(name, hashed, domain.Protocol(protocol), site) for name, hashed, protocol, site in rows]
    users.sort(key=lambda user: user.name)
    bridge = None
    if bridge_user and bridge_password:
        bridge = domain.BrokerUser(bridge_user, domain.password_hash(bridge_password), domain.Protocol.SIAGA)
    return BrokerFiles(domain.password_file(bridge, users), domain.acl_file(bridge_user, users))


# A device's messages ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    """Siaga's answer to a device (published on its ack topic)."""

    topic: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """What is recorded of an alarm once its alert is stored."""

    device_id: uuid.UUID
    site: Site
    event: DeviceEvent
    topic: str
    payload: bytes
    received_at: datetime
    alert_id: uuid.UUID


Recorder = Callable[[AlarmRecord], Awaitable[object]]


async def record_alarms(channel: Channel, records: Sequence[AlarmRecord]) -> None:
    """Record alarms whose alerts are stored, in one transaction: the device heard, the message, its troubles."""
    async with channel.unit_of_work() as session:
        for record in records:
            device = await get_device(session, record.device_id)
            await _seen(session, device, record.received_at)
            event = record.event
            if event.event_id is None or not await _recorded(session, device.id, event.event_id):
                await _apply(
                    session,
                    device,
                    record.site,
                    event,
                    record.topic,
                    record.payload,
                    record.received_at,
                    alert_id=record.alert_id,
                )


async def receive(
    channel: Channel,
    topic: str,
    payload: bytes,
    *,
    received_at: datetime | None = None,
    record: Recorder | None = None,
) -> Ack | None:
    """Handle one message from a device topic: raise its panic as an alert, answer a test, open or clear troubles,
    and record it (an unreadable payload is recorded and logged with the device's name, and refused in its ack).
    Raises only if the alert could not be stored: the message must then be delivered again. ``record``: how an
    alarm is recorded once its alert is stored (the bridge records the alarms arriving together in one
    transaction; by default, each in its own)."""
    received_at = received_at or utcnow()
    source = domain.source_of(topic)
    if source is None:
        return None
    ahead = await _new_alarm(channel, source, topic, payload)
    if ahead is not None:
        device, site, event = ahead  # the common case, read without taking the write lock
    else:
        async with channel.unit_of_work() as session:
            found = await session.execute(
                select(Device, Site)
                .join(Site, Site.id == Device.site_id)
                .where(Device.name == source.name, Device.protocol == source.protocol.value)
            )
            row = found.first()
            if row is None:
                log.warning("a message from unknown device %r on %s", source.name, topic)
                session.add(
                    DeviceMessage(
                        topic=topic[:300], outcome="unknown_device", payload=_excerpt(payload), received_at=received_at
                    )
                )
                return None
            device, site = row
            try:
                parsed = domain.parse(source.protocol, topic, payload)
            except PayloadError as error:
                log.warning(
                    "device %s sent an unreadable payload on %s: %s (%s)", device.name, topic, error, error.code
                )
                session.add(
                    DeviceMessage(
                        device_id=device.id,
                        topic=topic[:300],
                        outcome="refused",
                        error=error.code,
                        payload=_excerpt(payload),
                        received_at=received_at,
                    )
                )
                await _seen(session, device, received_at)
                return _ack(device, None, "refused", error=error.code, message=str(error))
            if parsed is None or not parsed.is_alarm:
                await _seen(session, device, received_at)  # (an alarm's is written with its record: one write less)
            if parsed is None:
                return None
            if parsed.event_id is not None and await _recorded(session, device.id, parsed.event_id):
                return _ack(device, parsed.event_id, "duplicate")
            if not parsed.is_alarm:
                await _apply(session, device, site, parsed, topic, payload, received_at, alert_id=None)
                if parsed.type is EventType.TEST:
                    log.info("device %s at %s: test press %s received", device.name, site.name, parsed.event_id or "")
                    return _ack(device, parsed.event_id, "test_ok")
                return _ack(device, parsed.event_id, "received") if parsed.type is not EventType.HEARTBEAT else None
            event = parsed
    request = raise_request(device, site, event, received_at)
    # The alert first, through the SOS writer in its own transaction; the record of the message after it.
    # Answered as already stored (Raced): the same event delivered again, or a press joining the site's open alert.
    with suppress(Raced, IntegrityError):
        await channel.ingest.submit(request)
    alarm = AlarmRecord(device.id, site, event, topic, payload, received_at, request.id)
    await (record(alarm) if record is not None else record_alarms(channel, [alarm]))
    log.info("device %s at %s: %s raised alert %s", device.name, site.name, event.type.value, request.id)
    if event.salvaged:
        log.warning(
            "device %s sent an alarm with unreadable fields, raised without them (%s)", device.name, event.salvaged
        )
    return _ack(device, event.event_id, "received", alert=str(request.id))


async def _new_alarm(
    channel: Channel, source: domain.Source, topic: str, payload: bytes
) -> tuple[Device, Site, DeviceEvent] | None:
    """The device, its site and the alarm a message carries, if it is a readable alarm of a known device not yet
    recorded (None: anything else, handled in a unit of work)."""
    try:
        event = domain.parse(source.protocol, topic, payload)
    except PayloadError:
        return None
    if event is None or not event.is_alarm:
        return None
    async with channel.read_sessions() as session:
        found = await session.execute(
            select(Device, Site)
            .join(Site, Site.id == Device.site_id)
            .where(Device.name == source.name, Device.protocol == source.protocol.value)
        )
        row = found.first()
        if row is None or (event.event_id is not None and await _recorded(session, row[0].id, event.event_id)):
            return None
        device, site = row
        return device, site, event


def raise_request(device: Device, site: Site, event: DeviceEvent, received_at: datetime) -> RaiseRequest:
    """A device's alarm as the request to raise an alert: the site's alert, at the site, with what staff need."""
    key = event.event_id or f"at:{received_at.isoformat()}"
    return RaiseRequest(
        id=domain.alert_id(device.id, key),
        fingerprint=fingerprint({"device": str(device.id), "event": key, "type": event.type.value}),
        caller=Caller(kind=CallerKind.SITE, id=f"site:{site.id}", name=site.name, resident_id=site.resident_id),
        category=domain.ALARMS[event.type],
        received_at=received_at,
        channel="device",
        position=Position(lat=site.lat, lon=site.lon),
        silent=event.type is EventType.SILENT_PANIC,
        description=site_description(site, device, event),
        battery=event.battery,
    )


def site_description(site: Site, device: Device, event: DeviceEvent) -> str:
    """What the console shows with a site's alert: the place, the button, and whom to call."""
    parts = [site.name]
    if site.address:
        parts.append(site.address)
    if site.floor_notes:
        parts.append(site.floor_notes)
    parts.append(f"Tombol: {device.label or device.name}")
    people = [
        " ".join(str(c.get(k, "")).strip() for k in ("name", "phone") if c.get(k)).strip()
        + (f" ({c['role']})" if c.get("role") else "")
        for c in site.contacts
    ]
    if people:
        parts.append("Hubungi: " + "; ".join(people))
    if event.text:
        parts.append(event.text)
    return ". ".join(p.rstrip(". ") for p in parts if p)[:2000]


def _ack(device: Device, event_id: str | None, status: str, **more: str) -> Ack | None:
    if device.protocol != domain.Protocol.SIAGA.value:
        return None  # off-the-shelf firmware has no ack topic
    return Ack(f"{domain.TOPIC_ROOT}/{device.name}/ack", {"id": event_id, "status": status, **more})


def _excerpt(payload: bytes) -> str:
    return payload[:500].decode("utf-8", errors="replace").replace("\x00", "")


async def _recorded(session: AsyncSession, device_id: uuid.UUID, event_id: str) -> bool:
    found = await session.scalar(
        select(DeviceMessage.id).where(DeviceMessage.device_id == device_id, DeviceMessage.event_id == event_id)
    )
    return found is not None


async def _seen(session: AsyncSession, device: Device, at: datetime) -> None:
    """The device spoke: it is online (an offline trouble clears)."""
    if device.last_seen_at is None or device.last_seen_at < at:
        device.last_seen_at = at
    for trouble in await _open_troubles(session, device.id, TroubleKind.OFFLINE):
        await _clear(session, trouble, reason="device_reported")


async def _apply(
    session: AsyncSession,
    device: Device,
    site: Site,
    event: DeviceEvent,
    topic: str,
    payload: bytes,
    received_at: datetime,
    *,
    alert_id: uuid.UUID | None,
) -> None:
    """Record an event and open or clear the troubles it reports."""
    if event.battery is not None:
        device.battery = event.battery
    opened, cleared = domain.troubles_changed(event)
    for kind in opened:
        if device.enabled and not await _open_troubles(session, device.id, kind):
            await _open(session, device, site, kind, {"battery": event.battery} if event.battery is not None else {})
    for kind in cleared:
        for trouble in await _open_troubles(session, device.id, kind):
            await _clear(session, trouble, reason=event.type.value)
    if event.type is EventType.HEARTBEAT and event.event_id is None:
        await session.flush()
        return  # the device's last_seen_at and battery say it all: a button reporting every minute leaves no rows
    outcome = "alert" if alert_id else "test" if event.type is EventType.TEST else event.type.value
    session.add(
        DeviceMessage(
            device_id=device.id,
            topic=topic[:300],
            event_type=event.type.value,
            event_id=event.event_id,
            outcome=outcome[:20],
            error=event.salvaged[:64] if event.salvaged else None,
            payload=_excerpt(payload),
            alert_id=alert_id,
            received_at=received_at,
        )
    )
    await session.flush()


# Troubles -----------------------------------------------------------------------------------------------------------


async def _open_troubles(session: AsyncSession, device_id: uuid.UUID, kind: TroubleKind | None = None) -> list[Trouble]:
    query = select(Trouble).where(Trouble.device_id == device_id, Trouble.cleared_at.is_(None))
    if kind is not None:
        query = query.where(Trouble.kind == kind.value)
    return list((await session.scalars(query)).all())


async def _open(session: AsyncSession, device: Device, site: Site, kind: TroubleKind, data: dict[str, Any]) -> None:
    trouble = Trouble(device_id=device.id, agency_id=site.agency_id, kind=kind.value, opened_at=utcnow())
    session.add(trouble)
    await session.flush()
    session.add(TroubleEvent(trouble_id=trouble.id, kind="opened", at=trouble.opened_at, data=data))
    log.warning("device %s at %s: trouble %s", device.name, site.name, kind.value)
    told = trouble_occurrence(
        trouble_id=trouble.id,
        kind=kind.value,
        device=device.name,
        site_id=site.id,
        site_name=site.name,
        agency_id=site.agency_id,
        at=trouble.opened_at,
    )
    await webhooks.record(session, told)  # integrators subscribed to device.trouble hear of it with this commit
    _tell_consoles(session, trouble, device, site)


async def _clear(session: AsyncSession, trouble: Trouble, *, reason: str) -> None:
    trouble.cleared_at = utcnow()
    session.add(TroubleEvent(trouble_id=trouble.id, kind="cleared", at=trouble.cleared_at, data={"reason": reason}))
    await session.flush()
    device = await session.get(Device, trouble.device_id)
    site = await session.get(Site, device.site_id) if device is not None else None
    if device is not None and site is not None:
        _tell_consoles(session, trouble, device, site)


def _tell_consoles(session: AsyncSession, trouble: Trouble, device: Device, site: Site) -> None:
    """The consoles of the trouble's agency hear of it live once this transaction commits."""
    notice = DeviceTroubleMessage(
        id=trouble.id,
        kind=trouble.kind,
        opened_at=trouble.opened_at,
        cleared_at=trouble.cleared_at,
        device_id=str(device.id),
        device_name=device.name,
        device_label=device.label,
        site_id=site.id,
        site_name=site.name,
        site_address=site.address,
        agency_id=trouble.agency_id,
    )
    emit(session, TroublesChanged((notice,)))


async def sweep_offline(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Open a "device offline" trouble for every enabled device silent past its heartbeat interval. Returns how
    many were opened."""
    now = now or utcnow()
    already = select(Trouble.device_id).where(Trouble.kind == TroubleKind.OFFLINE.value, Trouble.cleared_at.is_(None))
    rows = await session.execute(
        select(Device, Site).join(Site, Site.id == Device.site_id).where(Device.enabled, Device.id.not_in(already))
    )
    opened = 0
    for device, site in rows:
        if domain.is_offline(
            last_seen_at=device.last_seen_at,
            registered_at=device.created_at,
            interval_s=device.heartbeat_interval_s,
            now=now,
        ):
            silent = domain.silent_since(device.last_seen_at, device.created_at)
            await _open(session, device, site, TroubleKind.OFFLINE, {"silent_since": silent.isoformat()})
            opened += 1
    await session.flush()
    return opened


@dataclass(frozen=True, slots=True)
class TroubleView:
    trouble: Trouble
    device: Device
    site: Site


async def open_troubles(session: AsyncSession, agencies: Sequence[int] | None) -> list[TroubleView]:
    """The open troubles of these agencies' devices (all, for None), newest first."""
    query = (
        select(Trouble, Device, Site)
        .join(Device, Device.id == Trouble.device_id)
        .join(Site, Site.id == Device.site_id)
        .where(Trouble.cleared_at.is_(None))
        .order_by(Trouble.opened_at.desc(), Trouble.id.desc())  # a round opens several at once: a stable list
    )
    if agencies is not None:
        query = query.where(Trouble.agency_id.in_(agencies))
    return [TroubleView(t, d, s) for t, d, s in (await session.execute(query))]


async def trouble_timeline(
    session: AsyncSession, trouble_id: int, agencies: Sequence[int] | None
) -> list[TroubleEvent]:
    trouble = await session.get(Trouble, trouble_id)
    if trouble is None or (agencies is not None and trouble.agency_id not in agencies):
        raise NotFound("trouble not found", code="device.trouble_not_found")
    query = select(TroubleEvent).where(TroubleEvent.trouble_id == trouble_id).order_by(TroubleEvent.id)
    return list((await session.scalars(query)).all())
