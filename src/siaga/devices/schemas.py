"""What the device registry's API reads and answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from siaga.devices.domain import Protocol
from siaga.schemas import Latitude, Longitude, LongText, Model, ReadModel, RowId, ShortText

Interval = Annotated[int, Field(ge=5, le=86_400, description="Seconds a device may stay silent before it is offline")]


class SiteContact(Model):
    name: ShortText = Field(min_length=1)
    phone: Annotated[str, Field(min_length=3, max_length=32)]
    role: ShortText = ""


class SiteCreate(Model):
    name: ShortText = Field(min_length=2)
    address: LongText = ""
    lat: Latitude
    lon: Longitude
    floor_notes: LongText = ""
    agency_id: RowId
    contacts: list[SiteContact] = Field(default_factory=list, max_length=10)


class SiteUpdate(Model):
    name: ShortText | None = Field(default=None, min_length=2)
    address: LongText | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    floor_notes: LongText | None = None
    agency_id: RowId | None = None
    contacts: list[SiteContact] | None = Field(default=None, max_length=10)


class SiteRead(ReadModel):
    id: int
    name: str
    address: str
    lat: float
    lon: float
    floor_notes: str
    agency_id: int
    contacts: list[dict[str, Any]]


class DeviceCreate(Model):
    site_id: RowId
    name: Annotated[str, Field(description="Its broker username and its name in topics (letters, digits, . _ -)")]
    protocol: Protocol = Protocol.SIAGA
    label: ShortText = ""
    heartbeat_interval_s: Interval = 300


class DeviceUpdate(Model):
    enabled: bool | None = None
    label: ShortText | None = None
    heartbeat_interval_s: Interval | None = None
    new_password: bool = Field(default=False, description="Give the device a new broker password (shown once)")


class DeviceRead(ReadModel):
    id: uuid.UUID
    site_id: int
    site_name: str
    name: str
    protocol: Protocol
    label: str
    heartbeat_interval_s: int
    enabled: bool
    last_seen_at: datetime | None
    battery: int | None
    topics: list[str] = Field(description="Where it publishes")
    password: str | None = Field(default=None, description="Its broker password: only in the answer that set it")


class BrokerFilesRead(ReadModel):
    password_file: str
    acl_file: str
    reload_command: str


class TroubleRead(ReadModel):
    id: int
    kind: str
    opened_at: datetime
    device_id: uuid.UUID
    device_name: str
    device_label: str
    site_id: int
    site_name: str
    site_address: str
    agency_id: int


class TroubleEventRead(ReadModel):
    id: int
    kind: str
    at: datetime
    data: dict[str, Any]
