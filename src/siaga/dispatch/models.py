"""Which officers hear offers on an open stream (the rest get them by SMS)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db import Base, UTCDateTime


class OfficerStream(Base):
    """An officer whose phone holds an officer stream open on some Siaga process: that process renews ``seen_at``
    while it does (``realtime.presence``) and removes the row when its last stream of them closes. An offer goes to
    them by SMS only when no process has seen their stream lately (``dispatch.offer_sms``)."""

    __tablename__ = "officer_streams"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
