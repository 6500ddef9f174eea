"""API shapes for recommendations, offers and an agency's dispatch settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from siaga.schemas import Model, ReadModel


class RecommendationRead(ReadModel):
    unit_id: int
    callsign: str
    agency_id: int
    kind: str
    duty_mode: str | None
    lat: float
    lon: float
    distance_m: float = Field(description="Great-circle distance to the alert")
    eta_s: float = Field(description="Estimated seconds to arrive (straight line x detour, typical speed)")


class OfferRead(ReadModel):
    id: int
    alert_id: uuid.UUID
    unit_id: int
    ring: int
    distance_m: float
    eta_s: float
    state: str
    offered_at: datetime
    expires_at: datetime


Timer = Annotated[int, Field(ge=10, le=3600)]


class DispatchSettings(Model):
    """An agency's dispatch settings. The whole set is replaced: a field left out takes its default, and an
    escalation timer left out (or null) follows the server's setting (SIAGA_ACK_TIMEOUT_SECONDS and
    SIAGA_DISPATCH_TIMEOUT_SECONDS)."""

    direct_offers: bool
    offer_size: Annotated[int, Field(ge=1, le=20)] = 3
    offer_timeout_seconds: Annotated[int, Field(ge=10, le=600)] = 45
    offer_radius_m: Annotated[float, Field(ge=100, le=50_000)] = 5000.0
    ack_timeout_seconds: Timer | None = Field(
        default=None, description="T1: escalate a new alert no operator has acknowledged after this many seconds"
    )
    dispatch_timeout_seconds: Timer | None = Field(
        default=None, description="T2: escalate an alert with no unit dispatched this many seconds after the press"
    )

    @model_validator(mode="after")
    def _t2_after_t1(self) -> DispatchSettings:
        t1, t2 = self.ack_timeout_seconds, self.dispatch_timeout_seconds
        if t1 is not None and t2 is not None and t2 <= t1:
            raise ValueError("dispatch_timeout_seconds (T2) must be longer than ack_timeout_seconds (T1)")
        return self


class DispatchSettingsRead(DispatchSettings):
    agency_code: str
