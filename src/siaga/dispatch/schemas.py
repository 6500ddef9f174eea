"""API shapes for recommendations, offers and an agency's dispatch settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from siaga.alerts.schemas import ActionIn
from siaga.schemas import Model, ReadModel, RowId


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


class UnitsIn(Model):
    """Units asked to join the alert as one backup: each is offered the place, the first to accept takes it."""

    unit_ids: Annotated[list[RowId], Field(min_length=1, max_length=10)]


class UnitMoveIn(ActionIn):
    """Where a backup unit is now on the alert (and, optionally, where its officer is: ``where``)."""

    state: Literal["en_route", "on_scene", "released"]


class UnitRequestIn(ActionIn):
    """What an officer on the alert asks for: backup (units of their own type) or an ambulance."""

    kind: Literal["backup", "ambulance"]


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

    @field_validator("dispatch_timeout_seconds")
    @classmethod
    def _t2_after_t1(cls, t2: int | None, info: ValidationInfo) -> int | None:
        # A problem of T2 itself (type t2_not_after_t1), so the admin app can say which field and why.
        t1 = info.data.get("ack_timeout_seconds")
        if t1 is not None and t2 is not None and t2 <= t1:
            raise PydanticCustomError(
                "t2_not_after_t1", "T2 must be longer than ack_timeout_seconds (T1, {t1} s)", {"t1": t1}
            )
        return t2


class DispatchSettingsRead(DispatchSettings):
    agency_code: str
