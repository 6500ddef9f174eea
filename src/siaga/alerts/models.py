"""Alerts (the read model), their timeline events (the truth), location trails, and who else is on an alert: the
units offered it and on it, and the agencies it was escalated to (dispatch's use cases write those)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from siaga.accounts.models import Resident, Staff
from siaga.agencies.models import Agency, Jurisdiction
from siaga.db import Base, BigIntPK, UTCDateTime, utcnow
from siaga.responders.models import Unit


class Alert(Base):
    """One SOS. The columns are a read model kept in step with the timeline in the same transaction."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_agency_state", "agency_id", "state"),
        Index("ix_alerts_resident_created", "resident_id", "created_at"),
        # Alerts whose widest ring of offers found nobody, by place: a unit that becomes available finds them.
        Index("ix_alerts_waiting_for_units", "offer_ring", "state", "lat"),
        # Deleting an alert (retention, account erasure) looks up the alerts that follow it: without this index each
        # deleted row scanned the whole table, and purging 20,000 alerts took minutes.
        Index("ix_alerts_follows_id", "follows_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # made by the client: retries never duplicate
    request_hash: Mapped[str] = mapped_column(String(64))
    # Where it came in: app, sms, device (a fixed panic button), gateway, tracker or partner (see raise_rules.CHANNELS).
    channel: Mapped[str] = mapped_column(String(16), default="app", server_default=text("'app'"))
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="RESTRICT"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id", ondelete="SET NULL"))
    placement: Mapped[str] = mapped_column(String(16))  # inside | overlap | nearest | default
    placement_distance_m: Mapped[float] = mapped_column(Float, default=0.0)

    state: Mapped[str] = mapped_column(String(20), default="new")
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    silent: Mapped[bool] = mapped_column(Boolean, default=False)
    duress: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    resident_suspended: Mapped[bool] = mapped_column(Boolean, default=False)  # flagged, never rejected
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    # Raised by Siaga for an earlier alert (a duress PIN after it was closed): staff see it; the resident's phone,
    # perhaps in an attacker's hands, must not show that anything happened.
    follows_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    # A message about this alert (SMS to a contact, push to an officer) failed: the console must not miss it.
    delivery_failed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Presses of the same resident while this alert is active join it (alert_presses) instead of opening another.
    press_count: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # The agencies informed besides the responsible one (``agency_id``), by the routing table: they see it and may
    # send their own units (alert_agencies holds the same, for queries by agency).
    informed_agency_ids: Mapped[list[int]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # The incident staff linked it into with other alerts about the same event (alerts.incidents), if any.
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    # Officers on scene asking for more units (backup, an ambulance) that no unit has answered yet: the consoles of
    # the agencies asked flag the alert (``dispatch.backup``); each request is also on the timeline.
    unit_requests: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default=text("'[]'"))

    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    located_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    battery: Mapped[int | None] = mapped_column(Integer)
    pressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    description: Mapped[str] = mapped_column(Text, default="")

    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))
    report: Mapped[str] = mapped_column(Text, default="")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    en_route_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_scene_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Its personal details (free text, exact place, trail, the contacts' SMS) were removed: by the retention period
    # after it closed, or when the resident deleted their account. Time, category, kecamatan and outcome stay.
    details_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every change; clients can compare

    # Timers live here so they survive a restart; the sweep clears each when it fires (exactly once).
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    dispatch_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    offer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # When the first of its backups' pending offers runs out (``dispatch.backup.expire_offers``).
    backup_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    offer_ring: Mapped[int] = mapped_column(Integer, default=0)

    # Loaded with the alert (one query) because every view of an alert names them.
    resident: Mapped[Resident] = relationship(lazy="joined", innerjoin=True)
    agency: Mapped[Agency] = relationship(lazy="joined", innerjoin=True)
    jurisdiction: Mapped[Jurisdiction | None] = relationship(lazy="joined")
    acknowledged_by: Mapped[Staff | None] = relationship(lazy="joined")
    unit: Mapped[Unit | None] = relationship(lazy="joined")
    # Every unit on it, the lead and the backups (``dispatch.units`` writes them): one more query for a page of alerts.
    units: Mapped[list[AlertUnit]] = relationship(lazy="selectin", order_by="AlertUnit.id", viewonly=True)


class AlertEvent(Base):
    """The timeline: every change to an alert, with who, what, when and where. The id is the stream cursor."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    state_after: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AlertAgency(Base):
    """An agency informed of an alert (by the routing table): its consoles see the alert as the responsible
    agency's do. The alert's ``informed_agency_ids`` is the same list, for the streams."""

    __tablename__ = "alert_agencies"

    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), primary_key=True, index=True)


class AlertPress(Base):
    """A press by a resident whose alert was still active: stored durably under the phone's own id (a retry is
    the same press), and counted on that alert instead of opening another. One resident pressing a thousand times
    is one alert, flagged, and never a thousand cards, SMS alarms or escalations."""

    __tablename__ = "alert_presses"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # made by the phone, as an alert's id
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")


class AlertLocation(Base):
    """The trail the resident's phone sends while the alert is active."""

    __tablename__ = "alert_locations"
    __table_args__ = (Index("ix_alert_locations_alert_recorded", "alert_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Incident(Base):
    """One event that several alerts are about (a fight seen by five people, one fire), linked by staff. Each alert
    keeps its own state, timeline, units and resident; ``alerts.incident_id`` says which incident it is in now, and
    the ``linked``/``unlinked`` events on each alert's timeline say when and by whom."""

    __tablename__ = "incidents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_by_name: Mapped[str] = mapped_column(String(200))


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
    UNANSWERED = "unanswered"  # a backup whose offer ran out unanswered: it left, and may be asked again


# A unit on an alert that it has taken and not left: it is busy with it, and its officers work on the alert.
WORKING_UNIT_STATES = (AlertUnitState.ASSIGNED.value, AlertUnitState.EN_ROUTE.value, AlertUnitState.ON_SCENE.value)
# On the alert: asked to join it, or working on it.
ON_ALERT_UNIT_STATES = (AlertUnitState.OFFERED.value, *WORKING_UNIT_STATES)


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


class AlertEscalation(Base):
    """An agency an alert was escalated to: its consoles see the alert, flagged, from then on."""

    __tablename__ = "alert_escalations"
    __table_args__ = (UniqueConstraint("alert_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
