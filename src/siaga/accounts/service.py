"""Use cases for residents and staff: one-time codes, sessions, profiles, PINs, moderation."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.accounts import identity, security
from siaga.accounts.domain import Principal
from siaga.accounts.models import (
    AuthSession,
    EmergencyContact,
    ModerationRecord,
    OneTimeCode,
    Resident,
    Role,
    Staff,
    Unit,
)
from siaga.accounts.schemas import EmergencyContactIn, PinsSet, ResidentUpdate
from siaga.agencies.models import Agency
from siaga.config import Settings
from siaga.db import utcnow
from siaga.errors import Conflict, Invalid, NotFound, SiagaError, TooManyRequests
from siaga.notify import service as notify

RESEND_COOLDOWN = timedelta(seconds=30)


def normalize_phone(settings: Settings, raw: str, *, field: str = "phone") -> str:
    """E.164 form of a mobile number, or a 422 naming the field."""
    try:
        return identity.normalize_phone(raw, default_region=settings.default_region)
    except identity.InvalidPhone as exc:
        raise Invalid(str(exc), code=exc.code, details={"field": field}) from exc


# One-time codes ---------------------------------------------------------------------------------------------


async def request_code(session: AsyncSession, *, settings: Settings, phone_raw: str, client_ip: str) -> tuple[str, int]:
    """Create a code for ``phone_raw`` and queue its SMS. Returns (E.164 phone, outbound message id).

    Limits: one code per number per 30 s, a number of codes per number and per client address per hour.
    """
    phone = normalize_phone(settings, phone_raw)
    await _serialize(session, f"otp-client:{client_ip}", f"otp-phone:{phone}")
    now = utcnow()
    hour_ago = now - timedelta(hours=1)
    per_number = await session.scalar(
        select(func.count()).where(OneTimeCode.phone == phone, OneTimeCode.created_at >= hour_ago)
    )
    if (per_number or 0) >= settings.otp_per_number_per_hour:
        raise TooManyRequests(
            "too many codes requested for this number; try again within the hour",
            retry_after=3600,
            code="otp.number_limit",
        )
    per_client = await session.scalar(
        select(func.count()).where(OneTimeCode.client_ip == client_ip, OneTimeCode.created_at >= hour_ago)
    )
    if (per_client or 0) >= settings.otp_per_client_per_hour:
        raise TooManyRequests(
            "too many codes requested from this address; try again within the hour",
            retry_after=3600,
            code="otp.client_limit",
        )
    last = await session.scalar(select(func.max(OneTimeCode.created_at)).where(OneTimeCode.phone == phone))
    if last is not None and last > now - RESEND_COOLDOWN:
        wait = int((last + RESEND_COOLDOWN - now).total_seconds()) + 1
        raise TooManyRequests(f"a code was just sent; wait {wait} s", retry_after=wait, code="otp.cooldown")
    # A new code replaces older unused ones: only the latest can be entered.
    await session.execute(
        update(OneTimeCode).where(OneTimeCode.phone == phone, OneTimeCode.used_at.is_(None)).values(used_at=now)
    )
    code = security.new_code()
    session.add(
        OneTimeCode(
            phone=phone,
            code_hash=security.hash_code(settings.secret_key.get_secret_value(), phone, code),
            client_ip=client_ip,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.otp_ttl_seconds),
        )
    )
    minutes = max(1, settings.otp_ttl_seconds // 60)
    message = await notify.queue_sms(
        session,
        inline=True,  # the request sends it itself after the commit (see the router), not the background
        to=phone,
        body=f"Kode Siaga Anda: {code}. Berlaku {minutes} menit. Jangan berikan kode ini kepada siapa pun.",
        purpose="otp",
        adapter=settings.sms_adapter,
    )
    return phone, message.id


@dataclass(frozen=True, slots=True)
class CodeFailure:
    """A wrong, expired or used code. The attempt count must be committed before the error is raised."""

    error: SiagaError


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    expires_at: datetime
    resident: Resident | None = None
    staff: Staff | None = None
    is_new: bool = False


async def verify_code(
    session: AsyncSession, *, settings: Settings, phone_raw: str, code: str, client_ip: str, user_agent: str
) -> NewSession | CodeFailure:
    """Check a code; on success create the resident if new and open a session."""
    phone = normalize_phone(settings, phone_raw)
    now = utcnow()
    row = await session.scalar(
        select(OneTimeCode)
        .where(OneTimeCode.phone == phone)
        .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None:
        return CodeFailure(Invalid("no code was requested for this number", code="otp.not_requested"))
    if row.used_at is not None:
        return CodeFailure(Invalid("this code was already used; request a new one", code="otp.used"))
    if row.expires_at <= now:
        return CodeFailure(Invalid("this code has expired; request a new one", code="otp.expired"))
    if row.attempts >= settings.otp_max_attempts:
        return CodeFailure(Invalid("too many wrong attempts; request a new code", code="otp.attempts"))
    expected = security.hash_code(settings.secret_key.get_secret_value(), phone, code)
    if not security.codes_equal(expected, row.code_hash):
        row.attempts += 1
        left = settings.otp_max_attempts - row.attempts
        return CodeFailure(
            Invalid(f"wrong code; {left} attempt(s) left", code="otp.wrong", details={"attempts_left": left})
        )
    row.used_at = now
    resident = await session.scalar(select(Resident).where(Resident.phone == phone))
    is_new = resident is None
    if resident is None:
        resident = Resident(phone=phone, phone_verified_at=now)
        session.add(resident)
        await session.flush()
    else:
        resident.phone_verified_at = now
    token, expires_at = await _open_session(
        session,
        lifetime=timedelta(days=settings.resident_session_days),
        resident_id=resident.id,
        client_ip=client_ip,
        user_agent=user_agent,
    )
    return NewSession(token=token, expires_at=expires_at, resident=resident, is_new=is_new)


# Sessions ---------------------------------------------------------------------------------------------------


async def _open_session(
    session: AsyncSession,
    *,
    lifetime: timedelta,
    client_ip: str,
    user_agent: str,
    resident_id: uuid.UUID | None = None,
    staff_id: int | None = None,
) -> tuple[str, datetime]:
    token = security.new_token()
    expires_at = utcnow() + lifetime
    session.add(
        AuthSession(
            token_hash=security.hash_token(token),
            resident_id=resident_id,
            staff_id=staff_id,
            expires_at=expires_at,
            client_ip=client_ip,
            user_agent=user_agent[:300],
        )
    )
    await session.flush()
    return token, expires_at


LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_PER_USERNAME = 10
LOGIN_FAILURES_PER_CLIENT = 50


async def login_throttled(session: AsyncSession, *, username: str, client_ip: str) -> TooManyRequests | None:
    """Too many failed logins for this username or from this address lately (counted from the audit log)."""
    from siaga.audit.models import AuditRecord  # the audit log is the record of failures; no second counter

    since = utcnow() - LOGIN_WINDOW
    failures = select(func.count()).where(
        AuditRecord.action == "staff.login", AuditRecord.outcome == "failure", AuditRecord.at >= since
    )
    by_name = await session.scalar(failures.where(AuditRecord.actor_id == username.strip().lower()))
    by_client = await session.scalar(failures.where(AuditRecord.client_ip == client_ip))
    if (by_name or 0) >= LOGIN_FAILURES_PER_USERNAME or (by_client or 0) >= LOGIN_FAILURES_PER_CLIENT:
        return TooManyRequests(
            "too many failed logins; wait 15 minutes or ask an administrator",
            retry_after=int(LOGIN_WINDOW.total_seconds()),
            code="auth.throttled",
        )
    return None


async def check_password(
    read_sessions: async_sessionmaker[AsyncSession], *, username: str, password: str
) -> Staff | None:
    """The active staff member with this username and password, or None. Outside any transaction, in a thread:
    argon2 is slow on purpose and must hold neither the database nor the event loop."""
    async with read_sessions() as session:
        staff = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
    # A missing user costs the same time as a wrong password, so the two cannot be told apart.
    stored = staff.password_hash if staff is not None else _DUMMY_HASH.value
    ok = await asyncio.to_thread(security.verify_secret, stored, password)
    return staff if ok and staff is not None and staff.active else None


async def open_staff_session(
    session: AsyncSession, *, settings: Settings, staff: Staff, client_ip: str, user_agent: str
) -> NewSession:
    token, expires_at = await _open_session(
        session,
        lifetime=timedelta(hours=settings.staff_session_hours),
        staff_id=staff.id,
        client_ip=client_ip,
        user_agent=user_agent,
    )
    return NewSession(token=token, expires_at=expires_at, staff=staff)


async def open_resident_session(
    session: AsyncSession, *, settings: Settings, resident: Resident, client_ip: str, user_agent: str
) -> NewSession:
    token, expires_at = await _open_session(
        session,
        lifetime=timedelta(days=settings.resident_session_days),
        resident_id=resident.id,
        client_ip=client_ip,
        user_agent=user_agent,
    )
    return NewSession(token=token, expires_at=expires_at, resident=resident)


class _LazyHash:
    _value: str | None = None

    @property
    def value(self) -> str:
        if self._value is None:
            self._value = security.hash_secret("not-a-real-password")
        return self._value


_DUMMY_HASH = _LazyHash()


async def principal_for_token(session: AsyncSession, token: str, *, sos: bool = False) -> Principal | None:
    """The resident or active staff member behind a live, unrevoked token.

    With ``sos``, a resident's expired (never a revoked) session still counts: an SOS is not refused because a
    phone was not opened for half a year. The alert is flagged instead."""
    row = await session.scalar(select(AuthSession).where(AuthSession.token_hash == security.hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    expired = row.expires_at <= utcnow()
    if expired and not (sos and row.resident_id is not None):
        return None
    if row.resident_id is not None:
        resident = await session.get(Resident, row.resident_id)
        if resident is None:
            return None
        return Principal(
            session_id=row.id, name=resident.name or resident.phone, resident_id=resident.id, session_expired=expired
        )
    if row.staff_id is not None:
        staff = await session.get(Staff, row.staff_id)
        if staff is None or not staff.active:
            return None
        return Principal(
            session_id=row.id,
            name=staff.name,
            staff_id=staff.id,
            role=Role(staff.role),
            agency_id=staff.agency_id,
            unit_id=staff.unit_id,
        )
    return None


async def revoke_session(session: AsyncSession, *, session_id: int) -> None:
    await session.execute(update(AuthSession).where(AuthSession.id == session_id).values(revoked_at=utcnow()))


# Residents --------------------------------------------------------------------------------------------------


async def get_resident(session: AsyncSession, resident_id: uuid.UUID) -> Resident:
    resident = await session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("resident not found", code="resident.not_found")
    return resident


async def emergency_contacts(session: AsyncSession, resident_id: uuid.UUID) -> list[EmergencyContact]:
    return list(
        (
            await session.scalars(
                select(EmergencyContact)
                .where(EmergencyContact.resident_id == resident_id)
                .order_by(EmergencyContact.id)
            )
        ).all()
    )


async def update_profile(
    session: AsyncSession, *, settings: Settings, resident: Resident, changes: ResidentUpdate
) -> Resident:
    """Apply profile changes. The NIK is checked (region, birth date) and must not belong to someone else."""
    if changes.name is not None:
        resident.name = changes.name
    if changes.nik is not None:
        try:
            info = identity.parse_nik(changes.nik)
        except identity.InvalidNIK as exc:
            raise Invalid(str(exc), code=exc.code, details={"field": "nik"}) from exc
        taken = await session.scalar(select(Resident.id).where(Resident.nik == info.nik, Resident.id != resident.id))
        if taken is not None:
            raise Conflict("this NIK is registered to another phone number", code="resident.nik_taken")
        resident.nik = info.nik
        resident.birth_date = info.birth_date
        resident.sex = info.sex
        resident.nik_kecamatan = info.kecamatan_code
    if changes.address is not None:
        resident.address = changes.address
    if changes.medical_notes is not None:
        resident.medical_notes = changes.medical_notes
    if changes.language is not None:
        resident.language = changes.language
    if changes.emergency_contacts is not None:
        await _replace_contacts(session, settings=settings, resident=resident, contacts=changes.emergency_contacts)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same NIK
        raise Conflict("this NIK is registered to another phone number", code="resident.nik_taken") from exc
    return resident


async def _replace_contacts(
    session: AsyncSession, *, settings: Settings, resident: Resident, contacts: list[EmergencyContactIn]
) -> None:
    rows = []
    for index, contact in enumerate(contacts):
        phone = normalize_phone(settings, contact.phone, field=f"emergency_contacts.{index}.phone")
        if phone == resident.phone:
            raise Invalid(
                "an emergency contact cannot be your own number",
                code="resident.contact_is_self",
                details={"field": f"emergency_contacts.{index}.phone"},
            )
        rows.append(
            EmergencyContact(resident_id=resident.id, name=contact.name, phone=phone, relation=contact.relation)
        )
    for old in await emergency_contacts(session, resident.id):
        await session.delete(old)
    await session.flush()
    session.add_all(rows)


PIN_LOCK_PERIOD = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class PinEntry:
    """Which PIN a resident typed, worked out before any transaction (argon2 is slow on purpose), with the hashes
    it was checked against so the transaction can tell if they changed meanwhile."""

    kind: str  # cancel | duress | wrong | not_set
    cancel_hash: str | None
    duress_hash: str | None


async def read_pin_entry(read_sessions: async_sessionmaker[AsyncSession], resident_id: uuid.UUID, pin: str) -> PinEntry:
    async with read_sessions() as session:
        resident = await get_resident(session, resident_id)
        cancel_hash, duress_hash = resident.cancel_pin_hash, resident.duress_pin_hash
    if cancel_hash is None:
        return PinEntry("not_set", None, None)
    # Both PINs are checked on every entry, so a duress entry takes as long as any other. In a thread: the event
    # loop, and every other request, must not wait for argon2.
    is_cancel, is_duress = await asyncio.to_thread(
        lambda: (security.verify_secret(cancel_hash, pin), security.verify_secret(duress_hash, pin))
    )
    kind = "cancel" if is_cancel else "duress" if is_duress else "wrong"
    return PinEntry(kind, cancel_hash, duress_hash)


@dataclass(frozen=True, slots=True)
class PinCheck:
    """The result of a PIN entry: the cancel PIN, the duress PIN, or wrong (with an error to raise after commit)."""

    kind: str  # cancel | duress | wrong | locked
    error: SiagaError | None = None
    failures: int = 0


async def settle_pin(session: AsyncSession, *, resident_id: uuid.UUID, entry: PinEntry, max_failures: int) -> PinCheck:
    """Count the entry against the resident's row, locked so concurrent guesses cannot slip past the limit. The
    duress PIN always counts, even while cancelling is locked: it is the one that may save a life."""
    resident = await session.scalar(
        select(Resident).where(Resident.id == resident_id).with_for_update().execution_options(populate_existing=True)
    )
    if resident is None:
        raise NotFound("resident not found", code="resident.not_found")
    if entry.kind == "not_set" or resident.cancel_pin_hash is None:
        return PinCheck("wrong", Invalid("set a cancel PIN in your profile first", code="pin.not_set"))
    if (resident.cancel_pin_hash, resident.duress_pin_hash) != (entry.cancel_hash, entry.duress_hash):
        raise Conflict("your PINs changed meanwhile; enter the PIN again", code="pin.changed")
    now = utcnow()
    if entry.kind == "duress":
        resident.pin_failures = 0
        return PinCheck("duress")
    if resident.pin_failed_at is not None and resident.pin_failed_at <= now - PIN_LOCK_PERIOD:
        resident.pin_failures = 0  # the lock has run out
    if resident.pin_failures >= max_failures:
        wait = (
            int((resident.pin_failed_at + PIN_LOCK_PERIOD - now).total_seconds()) + 1 if resident.pin_failed_at else 0
        )
        return PinCheck(
            "locked",
            TooManyRequests(
                "too many wrong PINs; cancelling is locked for a while (the command centre can see this)",
                retry_after=max(1, wait),
                code="pin.locked",
            ),
            failures=resident.pin_failures,
        )
    if entry.kind == "cancel":
        resident.pin_failures = 0
        return PinCheck("cancel")
    resident.pin_failures += 1
    resident.pin_failed_at = now
    left = max(0, max_failures - resident.pin_failures)
    return PinCheck(
        "wrong",
        Invalid(f"wrong PIN; {left} attempt(s) left", code="pin.wrong", details={"attempts_left": left}),
        failures=resident.pin_failures,
    )


async def set_pins(
    session: AsyncSession,
    *,
    resident_id: uuid.UUID,
    pins: PinsSet,
    entry: PinEntry | None,
    hashes: tuple[str, str],
    max_failures: int,
) -> PinCheck | None:
    """Set the cancel and duress PINs (``hashes``, made beforehand). Changing existing PINs needs the current
    cancel PIN (``entry``). Returns a failed ``PinCheck`` (to commit, then raise) when it is wrong."""
    resident = await get_resident(session, resident_id)
    if resident.cancel_pin_hash is not None:
        if pins.current_cancel_pin is None or entry is None:
            raise Invalid("give current_cancel_pin to change your PINs", code="pin.current_required")
        check = await settle_pin(session, resident_id=resident_id, entry=entry, max_failures=max_failures)
        if check.kind == "duress":
            # The duress PIN never authorises a change, and the answer must not reveal that it was the duress PIN.
            return PinCheck("wrong", Invalid("wrong PIN", code="pin.wrong"))
        if check.kind != "cancel":
            return check
    resident.cancel_pin_hash, resident.duress_pin_hash = hashes
    resident.pin_failures = 0
    await session.flush()
    return None


async def hash_pins(pins: PinsSet) -> tuple[str, str]:
    """Hash both new PINs in a thread (argon2 takes a while on purpose)."""
    return await asyncio.to_thread(
        lambda: (security.hash_secret(pins.cancel_pin), security.hash_secret(pins.duress_pin))
    )


# Moderation -------------------------------------------------------------------------------------------------


async def add_strike(
    session: AsyncSession, *, resident_id: uuid.UUID, alert_id: uuid.UUID, staff_id: int | None, reason: str
) -> None:
    resident = await get_resident(session, resident_id)
    resident.strikes += 1
    session.add(
        ModerationRecord(resident_id=resident_id, kind="strike", alert_id=alert_id, staff_id=staff_id, reason=reason)
    )
    await session.flush()


async def set_suspended(
    session: AsyncSession, *, resident_id: uuid.UUID, suspended: bool, staff_id: int, reason: str
) -> Resident:
    """Suspend or reinstate a resident, with a reason. A suspended resident's SOS is still accepted, flagged."""
    resident = await get_resident(session, resident_id)
    if resident.suspended == suspended:
        state = "suspended" if suspended else "not suspended"
        raise Conflict(f"the resident is already {state}", code="resident.suspension_unchanged")
    resident.suspended = suspended
    resident.suspended_reason = reason if suspended else None
    resident.suspended_at = utcnow() if suspended else None
    session.add(
        ModerationRecord(
            resident_id=resident_id,
            kind="suspend" if suspended else "reinstate",
            staff_id=staff_id,
            reason=reason,
        )
    )
    await session.flush()
    return resident


async def appeal(session: AsyncSession, *, resident: Resident, text: str) -> ModerationRecord:
    record = ModerationRecord(resident_id=resident.id, kind="appeal", reason=text)
    session.add(record)
    await session.flush()
    return record


async def moderation_history(session: AsyncSession, resident_id: uuid.UUID) -> list[ModerationRecord]:
    return list(
        (
            await session.scalars(
                select(ModerationRecord)
                .where(ModerationRecord.resident_id == resident_id)
                .order_by(ModerationRecord.id)
            )
        ).all()
    )


# Staff and units --------------------------------------------------------------------------------------------


async def create_staff(
    session: AsyncSession,
    *,
    username: str,
    name: str,
    role: Role,
    agency_id: int,
    password: str,
    unit_id: int | None = None,
    phone: str | None = None,
) -> Staff:
    username = username.strip().lower()
    await _require_agency(session, agency_id)
    if await session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken", code="staff.username_taken")
    if unit_id is not None:
        unit = await session.get(Unit, unit_id)
        if unit is None:
            raise Invalid(f"unit {unit_id} does not exist", code="unit.not_found", details={"field": "unit_id"})
        if role is Role.OFFICER and unit.agency_id != agency_id:
            raise Invalid("an officer's unit must belong to their agency", code="staff.unit_agency")
    elif role is Role.OFFICER:
        raise Invalid("an officer must belong to a unit", code="staff.unit_required", details={"field": "unit_id"})
    staff = Staff(
        username=username,
        name=name,
        role=role.value,
        agency_id=agency_id,
        unit_id=unit_id,
        phone=phone,
        password_hash=security.hash_secret(password),
    )
    session.add(staff)
    await session.flush()
    return staff


async def create_unit(session: AsyncSession, *, agency_id: int, callsign: str, kind: str) -> Unit:
    await _require_agency(session, agency_id)
    if await session.scalar(select(Unit.id).where(Unit.callsign == callsign)) is not None:
        raise Conflict(f"callsign {callsign!r} is taken", code="unit.callsign_taken")
    unit = Unit(agency_id=agency_id, callsign=callsign, kind=kind)
    session.add(unit)
    await session.flush()
    return unit


async def _require_agency(session: AsyncSession, agency_id: int) -> None:
    if await session.get(Agency, agency_id) is None:
        raise Invalid(f"agency {agency_id} does not exist", code="agency.not_found", details={"field": "agency_id"})


async def _serialize(session: AsyncSession, *keys: str) -> None:
    """Make concurrent requests on the same keys take turns until the transaction ends, so limits that count rows
    cannot be raced past. SQLite's write transactions already take turns; PostgreSQL takes advisory locks (always in
    the order given, so two requests never wait on each other in a circle)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in keys:
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
