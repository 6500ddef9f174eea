"""Units, their duty periods, state and position, and the position history kept for a retention period."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db import Base, BigIntPK, UTCDateTime, utcnow


class Unit(Base):
    """A patrol unit (car, motorbike, foot patrol, post) that officers belong to; it is what gets dispatched."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    callsign: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="patrol")
    # A drill's unit: it takes exercise alerts only (unless the demo says otherwise; see Settings).
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnitState(StrEnum):
    OFF_DUTY = "off_duty"
    AVAILABLE = "available"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"


class DutyMode(StrEnum):
    POST = "post"
    PATROL = "patrol"
    HOME = "home"


class UnitStatus(Base):
    """The live state of a unit: one row per unit, updated in place (its history is in the alert timeline,
    the duty periods and the position history)."""

    __tablename__ = "unit_status"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default=UnitState.OFF_DUTY.value, index=True)
    duty_mode: Mapped[str | None] = mapped_column(String(16))
    alert_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DutyPeriod(Base):
    """An officer's time on duty, for the unit board and the reports (officers on duty over the day)."""

    __tablename__ = "duty_periods"
    __table_args__ = (Index("ix_duty_periods_staff_started", "staff_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class PositionRecord(Base):
    """A unit position. Kept only for the retention period, unless it was recorded while the unit was on an alert
    (then it is part of that alert's record)."""

    __tablename__ = "unit_positions"
    __table_args__ = (Index("ix_unit_positions_unit_recorded", "unit_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    alert_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
