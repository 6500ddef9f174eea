"""What the tracker registry's API takes and gives."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from siaga.schemas import Model, ReadModel, ShortText

DeviceId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="The identifier the tracker sends (Traccar Client's 'Device identifier', a tracker's IMEI)",
    ),
]


class TrackerCreate(Model):
    """A tracker and who holds it: a resident (by their phone number) or a unit (by its callsign), not both."""

    device_id: DeviceId
    label: ShortText = ""
    resident_phone: Annotated[str, Field(max_length=32)] | None = None
    unit_callsign: Annotated[str, Field(max_length=64)] | None = None


class TrackerUpdate(Model):
    enabled: bool | None = None
    label: ShortText | None = None


class TrackerRead(ReadModel):
    id: int
    device_id: str
    label: str
    enabled: bool
    resident_id: uuid.UUID | None
    resident_name: str | None
    resident_phone: str | None
    unit_id: int | None
    unit_callsign: str | None
    created_at: datetime
