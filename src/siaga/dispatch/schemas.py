"""API shapes for recommendations, offers and an agency's dispatch settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

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


class DispatchSettings(Model):
    direct_offers: bool
    offer_size: Annotated[int, Field(ge=1, le=20)] = 3
    offer_timeout_seconds: Annotated[int, Field(ge=10, le=600)] = 45
    offer_radius_m: Annotated[float, Field(ge=100, le=50_000)] = 5000.0


class DispatchSettingsRead(DispatchSettings):
    agency_code: str
