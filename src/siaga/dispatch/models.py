"""Direct offers to officers, escalations to other agencies, and Web Push subscriptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db import Base, UTCDateTime, utcnow


class OfferState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    TAKEN = "taken"  # another unit accepted first, or the operator dispatched


class AlertOffer(Base):
    """Siaga asking one unit to take an alert (the Lampung model): the first to accept gets it."""

    __tablename__ = "alert_offers"
    __table_args__ = (
        UniqueConstraint("alert_id", "unit_id"),
        Index("ix_alert_offers_unit_state", "unit_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    ring: Mapped[int] = mapped_column(Integer)
    distance_m: Mapped[float] = mapped_column(Float)
    eta_s: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default=OfferState.PENDING.value)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The short code an officer with no open stream answers by SMS ("1 4821"), unique among live offers: pending
    # ones, and accepted ones whose alert the unit still holds (see ``dispatch.offer_sms``). None if none was sent.
    sms_code: Mapped[str | None] = mapped_column(String(8), index=True)


class OfficerStream(Base):
    """An officer whose phone holds an officer stream open on some Siaga process: that process renews ``seen_at``
    while it does (``realtime.presence``) and removes the row when its last stream of them closes. An offer goes to
    them by SMS only when no process has seen their stream lately (``dispatch.offer_sms``)."""

    __tablename__ = "officer_streams"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertEscalation(Base):
    """An agency an alert was escalated to: its consoles see the alert, flagged, from then on."""

    __tablename__ = "alert_escalations"
    __table_args__ = (UniqueConstraint("alert_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
