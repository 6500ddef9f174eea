"""Every SMS received, whatever gateway it came through, and what became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db import Base, BigIntPK, UTCDateTime, utcnow


class InboundMessage(Base):
    """One message as received, recorded before anything handles it (so none is lost to a handler's failure).
    ``gateway_id`` is the gateway's own id for it: the same message delivered twice is recorded, and handled, once.
    ``handler`` names what claimed it (``help`` when nothing did), ``reply`` what was answered; a message recorded
    but not handled yet (``handled_at`` empty) is tried again."""

    __tablename__ = "sms_inbound"
    __table_args__ = (UniqueConstraint("gateway", "gateway_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    gateway: Mapped[str] = mapped_column(String(16))  # gammu | http | dev
    gateway_id: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handler: Mapped[str | None] = mapped_column(String(64))
    reply: Mapped[str] = mapped_column(Text, default="")
    reply_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id", ondelete="SET NULL"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
