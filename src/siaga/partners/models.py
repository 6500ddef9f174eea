"""Partner centres, the alerts handed over to them (an outbox: each handover and every delivery attempt), and the
incidents and messages partners sent us."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db import Base, BigIntPK, UTCDateTime, utcnow


class Partner(Base):
    """Another command centre (a city's 112 centre, another Siaga). Its two secrets are Standard Webhooks secrets
    (``whsec_`` and base64), sealed at rest (``accounts.sealing``) and never shown after creation: ``outgoing``
    signs what Siaga sends it, ``incoming`` verifies what it sends Siaga. Its incidents are raised by a caller row of
    its own (``resident_id``), named after it."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # a short slug: "bandung-112"
    label: Mapped[str] = mapped_column(String(200))  # what the console shows: "Bandung Siaga 112"
    url: Mapped[str] = mapped_column(String(500))  # where its EIDO endpoint takes a POST
    outgoing_secret: Mapped[str] = mapped_column(String(300))
    incoming_secret: Mapped[str] = mapped_column(String(300))
    agency_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # whose alerts may go to it (empty: any)
    share_caller: Mapped[bool] = mapped_column(Boolean, default=True)  # the caller's name and number go with them
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Handover(Base):
    """An alert handed over to a partner: the EIDO as it was when handed over, sent (signed, as one Standard
    Webhooks message whose id every retry keeps) until the partner acknowledges it with a 2xx."""

    __tablename__ = "partner_handovers"
    __table_args__ = (Index("ix_partner_handovers_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)  # webhook-id: the partner's replay key
    eido: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | acknowledged | failed
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    partner_reference: Mapped[str | None] = mapped_column(String(200))  # the partner's own id for it, if it said


class HandoverAttempt(Base):
    """One try at delivering a handover: what the partner answered, or why there was no answer."""

    __tablename__ = "partner_handover_attempts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("partner_handovers.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")


class PartnerIncident(Base):
    """A partner's incident and the alert it became here: the same incident again updates that alert."""

    __tablename__ = "partner_incidents"
    __table_args__ = (UniqueConstraint("partner_id", "incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    incident_id: Mapped[str] = mapped_column(String(255))
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerMessage(Base):
    """A signed message a partner sent, kept by its webhook-id: the same message again (a retry after a lost
    answer) is answered as the first time, never applied twice."""

    __tablename__ = "partner_messages"
    __table_args__ = (UniqueConstraint("partner_id", "message_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(String(255))
    alert_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    outcome: Mapped[str] = mapped_column(String(16))  # created | updated
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
