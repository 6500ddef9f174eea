"""Residents, their emergency contacts, one-time codes, staff and sessions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, Uuid, false, text
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db import Base, UTCDateTime, utcnow


class ResidentKind(StrEnum):
    """What a row of ``residents`` stands for. Every alert is raised by such a row (``alerts.resident_id``): a person,
    or a caller row nobody signs in to, standing in for a fixed panic button's site, a partner centre or an officers'
    unit. Only persons are residents in the reports."""

    PERSON = "person"
    SITE = "site"
    PARTNER = "partner"
    UNIT = "unit"


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # Not unique: a NIK claimed by a second phone number is accepted and flagged for a supervisor (see residents.py).
    nik: Mapped[str | None] = mapped_column(String(16), index=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    nik_kecamatan: Mapped[str | None] = mapped_column(String(6), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    medical_notes: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="id")
    cancel_pin_hash: Mapped[str | None] = mapped_column(String(200))
    duress_pin_hash: Mapped[str | None] = mapped_column(String(200))
    # The key the app signs its SOS SMS with, sealed at rest (see accounts/sms_keys.py).
    sms_key: Mapped[str | None] = mapped_column(String(200))
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    pin_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    strikes: Mapped[int] = mapped_column(Integer, default=0)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended_reason: Mapped[str | None] = mapped_column(Text)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A synthetic resident of a drill (or the demo city): every alert it raises is an exercise, kept out of reports.
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A person, or a caller row standing in for a site, a partner or a unit (ResidentKind): not a resident to count.
    kind: Mapped[str] = mapped_column(
        String(10), default=ResidentKind.PERSON.value, server_default=ResidentKind.PERSON.value
    )
    phone_verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The account was deleted at the resident's request (see residents.delete_account): the row stays, emptied of
    # personal data, as the pseudonym its alerts still count under in the reports.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EmergencyContact(Base):
    __tablename__ = "emergency_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20))
    relation: Mapped[str] = mapped_column(String(100), default="")


class ModerationRecord(Base):
    """A prank strike or a moderation step (suspend, reinstate, appeal) on a resident, with who and why."""

    __tablename__ = "resident_moderation"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # strike | suspend | reinstate | appeal | nik_contested
    alert_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reason: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OneTimeCode(Base):
    __tablename__ = "one_time_codes"
    __table_args__ = (Index("ix_one_time_codes_phone_created", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(128))
    client_ip: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Wrong guesses: from the address that asked for the code, and from any other address (see codes.verify_code).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    foreign_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # What Siaga's SMS to them are written in (an officer's offers and answers by SMS): ``id`` or ``en``.
    language: Mapped[str] = mapped_column(String(5), default="id", server_default="id")
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A synthetic officer of a drill: it can only use the session the drill was given (no password to log in with).
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The second factor (see totp.py): a TOTP secret (encrypted), in use once the holder confirmed a code from it
    # (``totp_enrolled_at``); the last time step a code was taken at, so a seen code cannot be used again.
    totp_secret: Mapped[str | None] = mapped_column(String(128))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def second_factor(self) -> bool:
        """Whether a second factor is enrolled."""
        return self.totp_enrolled_at is not None


class RecoveryCode(Base):
    """A single-use code that stands in for the staff member's TOTP code (a lost phone). Only its argon2 hash is
    kept; the codes are shown once, at enrolment."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuthSession(Base):
    """A server-side session: the client holds an opaque token, the server keeps only its hash, so it can revoke."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    # A staff login halfway: the password was right, and the session may only give a second-factor code ("code")
    # or enrol one ("enrol"). Nothing else accepts it.
    login_step: Mapped[str | None] = mapped_column(String(10))


class LoginAttempts(Base):
    """How many staff logins one key (an account from one address, an account, an address) tried in the current
    window. Counted with one atomic statement before the password is checked, so concurrent guesses on several
    processes cannot all slip under the limit."""

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)


class ApiKey(Base):
    """An integrator's API key, a service account of one agency: what it may do (``scopes``) and how often. Only a
    hash of the key is kept (see accounts/apikeys.py); ``public_id`` is the part of the key that names it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_hash: Mapped[str] = mapped_column(String(64))
    requests_per_minute: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200), default="")  # who made it, as the audit log names them
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
