"""API shapes of the device gateway."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from siaga.devices import domain
from siaga.schemas import Battery, Model, ReadModel

Alarm = Literal["panic", "silent_panic", "medical", "fire"]  # the device events that raise an alert (domain.ALARMS)


class GatewayAlarm(Model):
    """A press of a panic button the gateway serves, registered in Siaga as a device of a site (admin, Devices)."""

    device: str = Field(pattern=domain.NAME.pattern, description="The button's name as registered in Siaga")
    event_id: str = Field(
        pattern=domain.EVENT_ID.pattern, description="The gateway's id of this press: a retry sends the same one"
    )
    type: Alarm = Field(default="panic", description="silent_panic: no siren on the console, as the button's own")
    battery: Battery | None = None
    text: str = Field(default="", max_length=500, description="What the gateway knows more (zone, sensor)")


class GatewayAlarmRead(ReadModel):
    alert_id: uuid.UUID = Field(description="The site's alert the press raised or was counted on")
    status: Literal["received", "joined", "duplicate"] = Field(
        description="received: a new alert; joined: counted on the site's open alert; duplicate: this event id was "
        "received before"
    )
