"""The tracker registry: a GPS tracker or a phone running Traccar Client, known by the identifier it sends, bound to
a resident (its ``alarm=sos`` raises their alert) or to a unit (its positions are the unit's)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db import Base, UTCDateTime, utcnow


class Tracker(Base):
    __tablename__ = "trackers"
    __table_args__ = (
        # Exactly one holder: a resident or a unit, never both, never neither.
        CheckConstraint("(resident_id IS NULL) <> (unit_id IS NULL)", name="one_holder"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)  # Traccar's "device identifier" (id=, deviceid=)
    label: Mapped[str] = mapped_column(String(200), default="")
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
