"""API shapes for officers on duty, their positions and the unit board."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field

from siaga.responders.models import DutyMode
from siaga.schemas import AccuracyM, Battery, Latitude, Longitude, Model, ReadModel


class DutyIn(Model):
    mode: DutyMode = Field(description="post, patrol or home")


class PositionIn(Model):
    lat: Latitude
    lon: Longitude
    accuracy_m: AccuracyM | None = None
    speed_mps: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    battery: Battery | None = None
    recorded_at: AwareDatetime | None = None


class PositionAccepted(ReadModel):
    accepted: int
    unit_id: int


class UnitStatusRead(ReadModel):
    unit_id: int
    callsign: str
    agency_id: int
    kind: str
    state: str
    duty_mode: str | None
    lat: float | None
    lon: float | None
    at: datetime | None
    is_exercise: bool = Field(default=False, description="A drill's unit: hidden with the drills on the console")


class MyDutyRead(ReadModel):
    """What an officer's phone needs on start: am I on duty, how, since when, and my unit's state (which may be
    assigned to an alert)."""

    on_duty: bool
    mode: str | None
    since: datetime | None
    alert_id: uuid.UUID | None = Field(description="The alert the unit is offered, assigned or responding to")
    unit: UnitStatusRead


class PushKeys(Model):
    p256dh: Annotated[str, Field(min_length=20, max_length=200)]
    auth: Annotated[str, Field(min_length=8, max_length=100)]


class PushSubscriptionIn(Model):
    """What the browser's PushSubscription.toJSON() gives."""

    endpoint: Annotated[str, Field(min_length=10, max_length=1000)]
    keys: PushKeys
    expirationTime: float | None = None  # noqa: N815 - the browser's own field name


class PushKeyRead(ReadModel):
    application_server_key: str | None = Field(description="For PushManager.subscribe; null if Web Push is off")
