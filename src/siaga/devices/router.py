"""HTTP for fixed panic buttons: the registry (administrators), the broker's files, and the devices' troubles
(command-centre staff, their agency's)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from siaga.alerts.access import staff_agency_scope
from siaga.audit.actor import ActorContext
from siaga.deps import Admin, ClientIP, CommandCentre, RuntimeDep
from siaga.devices import domain, service
from siaga.devices.bridge import BrokerAddress
from siaga.devices.models import Device, Site
from siaga.devices.schemas import (
    BrokerFilesRead,
    DeviceCreate,
    DeviceRead,
    DeviceUpdate,
    SiteCreate,
    SiteRead,
    SiteUpdate,
    TroubleEventRead,
    TroubleRead,
)
from siaga.schemas import RowId, error_responses

router = APIRouter(prefix="/devices", tags=["devices"])


def _device_read(device: Device, site: Site, password: str | None = None) -> DeviceRead:
    protocol = domain.Protocol(device.protocol)
    return DeviceRead(
        id=device.id,
        site_id=site.id,
        site_name=site.name,
        name=device.name,
        protocol=protocol,
        label=device.label,
        heartbeat_interval_s=device.heartbeat_interval_s,
        enabled=device.enabled,
        last_seen_at=device.last_seen_at,
        battery=device.battery,
        topics=domain.topics(protocol, device.name)[0],
        password=password,
    )


@router.post("/sites", status_code=status.HTTP_201_CREATED, responses=error_responses(401, 403, 422))
async def create_site(body: SiteCreate, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> SiteRead:
    """Register a site with panic buttons: where its alerts are raised and what the console shows about it."""
    async with runtime.unit_of_work() as session:
        site = await service.create_site(
            session,
            ActorContext.signed_in(principal, ip),
            name=body.name,
            address=body.address,
            lat=body.lat,
            lon=body.lon,
            floor_notes=body.floor_notes,
            agency_id=body.agency_id,
            contacts=[c.model_dump() for c in body.contacts],
        )
        return SiteRead.model_validate(site)


@router.get("/sites", responses=error_responses(401, 403))
async def list_sites(principal: CommandCentre, runtime: RuntimeDep) -> list[SiteRead]:
    """The sites of the caller's agency (every site, for administrators)."""
    async with runtime.read_sessions() as session:
        scope = await staff_agency_scope(session, principal)
        return [SiteRead.model_validate(s) for s in await service.list_sites(session, scope)]


@router.patch("/sites/{site_id}", responses=error_responses(401, 403, 404, 422))
async def update_site(
    site_id: RowId, body: SiteUpdate, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> SiteRead:
    """Change a site's details."""
    # Every field of a site has a value: a null, like a field left out, leaves it as it is.
    changes = {key: value for key, value in body.model_dump(exclude_unset=True).items() if value is not None}
    async with runtime.unit_of_work() as session:
        site = await service.update_site(session, ActorContext.signed_in(principal, ip), site_id, changes)
        return SiteRead.model_validate(site)


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(401, 403, 404, 409, 422))
async def add_device(body: DeviceCreate, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> DeviceRead:
    """Register a button at a site. The answer holds its broker password, this once: then regenerate the broker's
    files (``GET /devices/mosquitto-config``) and reload the broker."""
    async with runtime.unit_of_work() as session:
        device, password = await service.add_device(
            session,
            ActorContext.signed_in(principal, ip),
            site_id=body.site_id,
            name=body.name,
            protocol=body.protocol,
            label=body.label,
            heartbeat_interval_s=body.heartbeat_interval_s,
        )
        site = await service.get_site(session, device.site_id)
        return _device_read(device, site, password)


@router.get("", responses=error_responses(401, 403))
async def list_devices(principal: CommandCentre, runtime: RuntimeDep) -> list[DeviceRead]:
    """The devices of the caller's agency's sites (every device, for administrators)."""
    async with runtime.read_sessions() as session:
        scope = await staff_agency_scope(session, principal)
        return [_device_read(d, s) for d, s in await service.list_devices(session, scope)]


@router.patch("/{device_id}", responses=error_responses(401, 403, 404, 422))
async def update_device(
    device_id: uuid.UUID, body: DeviceUpdate, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> DeviceRead:
    """Enable or disable a device, change its label or heartbeat, or give it a new password (in this answer only)."""
    async with runtime.unit_of_work() as session:
        device, password = await service.update_device(
            session,
            ActorContext.signed_in(principal, ip),
            device_id,
            enabled=body.enabled,
            label=body.label,
            heartbeat_interval_s=body.heartbeat_interval_s,
            new_password=body.new_password,
        )
        site = await service.get_site(session, device.site_id)
        return _device_read(device, site, password)


@router.get("/mosquitto-config", responses=error_responses(401, 403))
async def mosquitto_config(principal: Admin, runtime: RuntimeDep) -> BrokerFilesRead:
    """Mosquitto's password and ACL files for every enabled device, and the command that reloads them."""
    url = runtime.settings.mqtt_url.get_secret_value()
    address = BrokerAddress.parse(url) if url else None
    async with runtime.read_sessions() as session:
        files = await service.broker_files(
            session,
            bridge_user=address.username if address else None,
            bridge_password=address.password if address else None,
        )
    return BrokerFilesRead(
        password_file=files.password_file, acl_file=files.acl_file, reload_command=files.reload_command
    )


@router.get("/troubles", responses=error_responses(401, 403))
async def list_troubles(principal: CommandCentre, runtime: RuntimeDep) -> list[TroubleRead]:
    """Open device troubles (offline, low battery, tamper) of the caller's agency: a list apart from the alerts."""
    async with runtime.read_sessions() as session:
        scope = await staff_agency_scope(session, principal)
        return [
            TroubleRead(
                id=v.trouble.id,
                kind=v.trouble.kind,
                opened_at=v.trouble.opened_at,
                device_id=v.device.id,
                device_name=v.device.name,
                device_label=v.device.label,
                site_id=v.site.id,
                site_name=v.site.name,
                site_address=v.site.address,
                agency_id=v.trouble.agency_id,
            )
            for v in await service.open_troubles(session, scope)
        ]


@router.get("/troubles/{trouble_id}/timeline", responses=error_responses(401, 403, 404))
async def trouble_timeline(trouble_id: RowId, principal: CommandCentre, runtime: RuntimeDep) -> list[TroubleEventRead]:
    """A trouble's timeline: when it opened and cleared, and why."""
    async with runtime.read_sessions() as session:
        scope = await staff_agency_scope(session, principal)
        events = await service.trouble_timeline(session, trouble_id, scope)
        return [TroubleEventRead.model_validate(e) for e in events]
