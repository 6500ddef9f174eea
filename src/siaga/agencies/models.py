"""Agencies in a hierarchy, kecamatan jurisdictions and the kecamatan -> agency table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db import Base, UTCDateTime, utcnow


class AgencyKind(StrEnum):
    """What an agency is. Police kinds are placed by the kecamatan -> agency table; the others by their service
    areas (``ServiceArea``). ``domain.KIND_SERVICE`` says which service each gives."""

    COMMAND_CENTRE = "command_centre"
    POLDA = "polda"
    POLRES = "polres"
    POLSEK = "polsek"
    DAMKAR = "damkar"  # fire and rescue (Pemadam Kebakaran), and its sectors
    PSC119 = "psc119"  # medical: Public Safety Center 119 and its ambulances
    BPBD = "bpbd"  # disaster management (Badan Penanggulangan Bencana Daerah)
    CALL_CENTRE = "call_centre"  # the city's call centre


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Direct offers (the Lampung model): offer a new alert at once to the nearest available units.
    direct_offers: Mapped[bool] = mapped_column(Boolean, default=False)
    offer_size: Mapped[int] = mapped_column(Integer, default=3)
    offer_timeout_seconds: Mapped[int] = mapped_column(Integer, default=45)
    offer_radius_m: Mapped[float] = mapped_column(Float, default=5000.0)
    # Escalation timers T1 (unacknowledged) and T2 (acknowledged, no unit); empty means the process default.
    ack_timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    dispatch_timeout_seconds: Mapped[int | None] = mapped_column(Integer)


class Jurisdiction(Base):
    """A kecamatan polygon. The geometry is kept as GeoJSON; the index is built in memory from it."""

    __tablename__ = "jurisdictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    nik_prefix: Mapped[str | None] = mapped_column(String(6), index=True)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(Text, default="")
    centroid_lat: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class JurisdictionAgency(Base):
    """Which agencies serve a kecamatan. Not one-to-one: a Polsek may cover several kecamatan, and a kecamatan may
    have a secondary agency that also sees its alerts. Exactly one primary agency receives the alert."""

    __tablename__ = "jurisdiction_agencies"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=True)


class ServiceArea(Base):
    """Where an agency that is not police serves: its own polygon (a Damkar sector, a hospital catchment; GeoJSON,
    indexed in memory like the kecamatan), or else the kecamatan it covers (by code)."""

    __tablename__ = "service_areas"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    kecamatan: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RoutingRule(Base):
    """An administrator's row of the routing table: which services an alert of this category goes to, in order
    (the first that covers the place is responsible, the others are informed). A category without a row follows
    ``domain.DEFAULT_ROUTES``."""

    __tablename__ = "routing_rules"

    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    services: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
