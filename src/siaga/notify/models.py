"""Every outgoing message and its delivery attempts."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db import Base, BigIntPK, UTCDateTime, utcnow


class OutboundMessage(Base):
    """A message to a person (an SMS code, a family notification). Status tracks its delivery."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | push
    recipient: Mapped[str] = mapped_column(String(200), index=True)
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(32))  # otp | emergency_contact | ...
    adapter: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    alert_id: Mapped[str | None] = mapped_column(String(36), index=True)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbound_messages.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str] = mapped_column(Text, default="")


class ContactConsent(Base):
    """Whether a number a resident named as an emergency contact agreed to get that resident's alarms. The contact
    answers through the link in the SMS that asks them (``/k/<code>``); until then they get one alarm, marked as
    unconfirmed, and no more."""

    __tablename__ = "contact_consents"
    __table_args__ = (UniqueConstraint("resident_id", "phone"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | confirmed | declined
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the SMS asking them was queued
    unconfirmed_alarm_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the one alarm before an answer
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactSMSDay(Base):
    """How many alarms one number got on one day (WIB), counted in one atomic statement for every process."""

    __tablename__ = "contact_sms_days"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class SMSCount(Base):
    """How much of one SMS limit a window has used (``siaga.notify.limits``): messages to a number this hour, to a
    country today, in all today, or the day's spend. Raised by one atomic statement for every process; a row is
    removed once its window has ended (``expires_at``)."""

    __tablename__ = "sms_counts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # number:+62..., country:ID, day, spend
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PushSubscriptionRecord(Base):
    """A browser's Web Push subscription for a staff member: an officer's phone, a supervisor's console."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
