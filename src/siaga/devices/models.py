"""Sites with fixed panic buttons, their devices, every message a device sent, and the devices' troubles."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db import Base, BigIntPK, UTCDateTime, utcnow


class Site(Base):
    """A place with panic buttons on its walls (a bank, a shop, a school): where its alerts are raised, and what the
    console shows about it."""

    __tablename__ = "device_sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    floor_notes: Mapped[str] = mapped_column(Text, default="")  # where in the building, how to get in
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    # The people to call: [{"name", "phone", "role"}], in the order to call them.
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The site's caller row: an alert is raised by a resident row (alerts.resident_id), and a site stands in as one
    # that nobody can sign in to (see service.create_site).
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="RESTRICT"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Device(Base):
    """One button: its own broker login (only the hash is kept), how it speaks, and how often it must report."""

    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    site_id: Mapped[int] = mapped_column(ForeignKey("device_sites.id", ondelete="RESTRICT"), index=True)
    # Its broker username and its name in its topics (siaga/devices/<name>/event, zigbee2mqtt/<name>, ...).
    name: Mapped[str] = mapped_column(String(64), unique=True)
    protocol: Mapped[str] = mapped_column(String(16), default="siaga")
    label: Mapped[str] = mapped_column(String(200), default="")  # where it hangs ("teller 2")
    password_hash: Mapped[str] = mapped_column(String(200))
    heartbeat_interval_s: Mapped[int] = mapped_column(Integer, default=300)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    battery: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeviceMessage(Base):
    """Every message that reached Siaga on a device topic, what it was and what Siaga did with it (an alert, a
    trouble, a test answered, or refused and why): the record an unreadable payload leaves."""

    __tablename__ = "device_messages"
    __table_args__ = (Index("ix_device_messages_device_event", "device_id", "event_id", unique=True),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(300))
    event_type: Mapped[str | None] = mapped_column(String(20))
    event_id: Mapped[str | None] = mapped_column(String(64))  # the device's own: unique per device
    outcome: Mapped[str] = mapped_column(String(20))  # alert | test | heartbeat | trouble | refused | unknown_device
    error: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text, default="")  # its first 500 characters, as received
    alert_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Trouble(Base):
    """A device that is offline, low on battery or tampered with: open until the device says it is restored."""

    __tablename__ = "device_troubles"
    __table_args__ = (Index("ix_device_troubles_agency_open", "agency_id", "cleared_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))  # domain.TroubleKind
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TroubleEvent(Base):
    """A trouble's timeline: opened, cleared, with when and why."""

    __tablename__ = "device_trouble_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    trouble_id: Mapped[int] = mapped_column(ForeignKey("device_troubles.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # opened | cleared
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Lease(Base):
    """One process's hold on a job only one process may do at a time (the MQTT bridge's subscription): held until
    ``expires_at`` unless its holder renews it, then free for another (see ``devices.lease``)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
