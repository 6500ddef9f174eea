"""Direct offers to officers, the units on an alert, escalations to other agencies, and Web Push subscriptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from siaga.agencies.models import Agency
from siaga.db import Base, UTCDateTime, utcnow
from siaga.responders.models import Unit


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
    # Which place on the alert the offer is for: 0 the lead unit (the rings of direct offers), n > 0 the n-th backup
    # asked for (``dispatch.units``). The first unit to accept takes its place; the other offers for it are taken.
    slot: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class UnitRole(StrEnum):
    LEAD = "lead"  # the alert's ``unit_id``: the alert's own state follows it
    BACKUP = "backup"  # added later, by the responsible agency or an informed one (its own units)


class AlertUnitState(StrEnum):
    OFFERED = "offered"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RELEASED = "released"


class AlertUnit(Base):
    """A unit on an alert, with its own state and times: the lead (kept in step with ``alerts.unit_id`` by
    ``dispatch.units.sync_lead``) and the backups added to it, from any agency that may send its units."""

    __tablename__ = "alert_units"
    __table_args__ = (
        UniqueConstraint("alert_id", "unit_id"),
        Index("ix_alert_units_unit_state", "unit_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    slot: Mapped[int] = mapped_column(Integer, default=0)  # the place it was offered (see ``AlertOffer.slot``)
    added_by: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    en_route_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_scene_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship(lazy="joined", innerjoin=True)
    agency: Mapped[Agency] = relationship(lazy="joined", innerjoin=True)


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
