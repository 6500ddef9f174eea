"""A device gateway's alarm: a button it serves was pressed. Raised as the panic of a button over MQTT is
(``devices.service.raise_request``: the site's alert at the site, with its description and contacts), through the
one door (the SOS writer), on channel ``gateway``, and recorded as the device's message after the alert is stored.
The alert's id comes from the device and the gateway's event id, so a retry is the same alert, and a press while
the site's alert is open joins it."""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from siaga.accounts.domain import Principal
from siaga.alerts import access
from siaga.alerts.ingest import Raced
from siaga.alerts.models import AlertPress
from siaga.db import utcnow
from siaga.devices import service as devices
from siaga.devices.domain import DeviceEvent, EventType
from siaga.devices.models import Device, DeviceMessage, Site
from siaga.errors import NotFound, NotVisible
from siaga.gateway.schemas import GatewayAlarm


@dataclass(frozen=True, slots=True)
class Raised:
    """The alert a press raised (``received``), was counted on (``joined``: the site's alert was open), or had
    raised or joined before (``duplicate``: the same event id again)."""

    alert_id: uuid.UUID
    status: Literal["received", "joined", "duplicate"]


async def raise_alarm(channel: devices.Channel, *, gateway: Principal, alarm: GatewayAlarm, client_ip: str) -> Raised:
    """Raise ``alarm`` for ``gateway`` (an API key with the scope alerts:raise). A device outside the key's agency
    (and the agencies below it) is answered as one that does not exist."""
    received_at = utcnow()
    async with channel.read_sessions() as session:
        named = select(Device, Site).join(Site, Site.id == Device.site_id).where(Device.name == alarm.device)
        found = (await session.execute(named)).first()
        if found is None:
            raise NotFound(f"no device is registered as {alarm.device}", code="gateway.unknown_device")
        device, site = found
        served = await access.staff_scope(session, gateway.agency_id) if gateway.agency_id is not None else None
        if served is None or site.agency_id not in served.agencies:
            raise NotVisible(
                f"no device is registered as {alarm.device}",
                code="gateway.unknown_device",
                target_type="device",
                target_id=str(device.id),
                agency_id=site.agency_id,
            )
        seen = await session.scalar(
            select(DeviceMessage.id).where(
                DeviceMessage.device_id == device.id, DeviceMessage.event_id == alarm.event_id
            )
        )
    event = DeviceEvent(type=EventType(alarm.type), event_id=alarm.event_id, battery=alarm.battery, text=alarm.text)
    request = dataclasses.replace(
        devices.raise_request(device, site, event, received_at), channel="gateway", client_ip=client_ip
    )
    try:
        stored = await channel.ingest.submit(request)
        raised = Raised(alert_id=stored.view.id, status="duplicate" if stored.replay else "received")
    except (Raced, IntegrityError):  # stored before (this press sent again), or counted on the site's open alert
        async with channel.read_sessions() as session:
            joined = await session.scalar(select(AlertPress.alert_id).where(AlertPress.id == request.id))
        if joined is None:
            raised = Raised(alert_id=request.id, status="duplicate")
        else:
            raised = Raised(alert_id=joined, status="duplicate" if seen is not None else "joined")
    payload = json.dumps(alarm.model_dump(), ensure_ascii=False).encode()
    record = devices.AlarmRecord(device.id, site, event, f"gateway/{gateway.subject}", payload, received_at, request.id)
    await devices.record_alarms(channel, [record])
    return raised
