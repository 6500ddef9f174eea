"""Audit records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db import Base, BigIntPK, UTCDateTime, utcnow


class AuditRecord(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_action_at", "action", "at"),
        Index("ix_audit_log_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_kind: Mapped[str] = mapped_column(String(20))  # resident | staff role | system | anonymous
    actor_id: Mapped[str] = mapped_column(String(64), index=True)
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="success")  # success | failure | denied
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DenialWindow(Base):
    """How many requests one caller had refused in the current minute, and the record that sums up those beyond
    the per-minute limit. Counted with one atomic statement, so a burst on any number of processes keeps the
    limit."""

    __tablename__ = "audit_denial_windows"

    actor_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)
    summary_id: Mapped[int | None] = mapped_column(BigInteger)  # the audit record counting the unrecorded rest
