"""The staff second factor: a TOTP code from an authenticator app (RFC 6238, 6 digits, 30 s), with single-use
recovery codes for a lost phone.

Administrators and supervisors must enrol (``Settings.staff_second_factor``); operators and officers may. A login
with a factor takes two steps: the password opens a session that can only give a code (``LoginStep.CODE``), or only
enrol one (``LoginStep.ENROL``); the code turns it into a full session. Code guesses count against the same login
limits as passwords. A code is taken once: the time step it belongs to is remembered, so a code seen over someone's
shoulder cannot be used again.

The secret is stored encrypted (AES-GCM, ``v1:`` then the nonce and ciphertext in base64): a copy of the database
alone cannot make codes. The key is ``SIAGA_TOTP_KEY``, or ``SIAGA_SECRET_KEY`` when that is unset (derived with
HKDF, so neither is used as it is), and the staff member's id is bound in, so a sealed secret copied to another
account does not open. A secret stored in plaintext before encryption existed is still read, and sealed the next
time it is used."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.accounts import sealing, security
from siaga.accounts.domain import Role
from siaga.accounts.models import RecoveryCode, Staff
from siaga.accounts.staff import end_sessions, record_change
from siaga.audit.actor import ActorContext
from siaga.audit.service import record_for
from siaga.config import Settings
from siaga.db import utcnow
from siaga.errors import Conflict, Invalid, Unavailable

ISSUER = "Siaga"
REQUIRED_FOR = frozenset({Role.ADMIN, Role.SUPERVISOR})
RECOVERY_CODES = 10
# A code from the step before or after now is taken too: phones' clocks drift, and a person types for a while.
VALID_WINDOW = 1
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or copied from paper
_SEALED = sealing.SEALED
log = logging.getLogger("siaga.accounts.totp")
_LABEL = b"siaga staff totp secrets v1"  # the key's HKDF label: unchanged, so stored secrets still open


class FactorKeyError(Unavailable):
    """A stored TOTP secret the configured key cannot open: the key changed, or the row was altered or copied. The
    staff member cannot log in until an administrator sets the old key again or resets their factor: a 503 saying
    so (never a 500), and an error in the server's log naming the setting."""

    default_code = "auth.factor_unreadable"


def seal_secret(secret: str, *, staff_id: int, settings: Settings) -> str:
    """``secret`` encrypted for ``staff_id``'s row, as stored."""
    return sealing.seal(secret, label=_LABEL, row=str(staff_id), settings=settings)


def open_secret(stored: str, *, staff_id: int, settings: Settings) -> str:
    """The secret a stored value holds; a plaintext one from before encryption as it is."""
    if not stored.startswith(_SEALED):
        return stored
    try:
        return sealing.unseal(stored, label=_LABEL, row=str(staff_id), settings=settings)
    except sealing.CannotOpen as exc:
        problem = FactorKeyError(
            f"the second factor of staff {staff_id} cannot be decrypted with the configured key: SIAGA_TOTP_KEY "
            "(or, unset, SIAGA_SECRET_KEY) is not the one it was stored with. Set the old key again, or reset the "
            "factor (siaga user reset-factor) so the account enrols anew"
        )
        log.error("%s", problem.message)
        raise problem from exc


def _secret(staff: Staff, settings: Settings) -> str | None:
    """``staff``'s secret, sealing a plaintext one in place (written with the use case's transaction)."""
    if staff.totp_secret is None:
        return None
    secret = open_secret(staff.totp_secret, staff_id=staff.id, settings=settings)
    if not staff.totp_secret.startswith(_SEALED):
        staff.totp_secret = seal_secret(secret, staff_id=staff.id, settings=settings)
    return secret


class LoginStep(StrEnum):
    """What a session halfway through a login may still do."""

    CODE = "code"  # give the code of the enrolled factor (or a recovery code)
    ENROL = "enrol"  # enrol a factor: the role requires one and there is none yet


@dataclass(frozen=True, slots=True)
class FactorSetup:
    secret: str
    uri: str  # otpauth://, what the QR code holds
    qr_svg: str


@dataclass(frozen=True, slots=True)
class FactorUse:
    """A second factor taken at login: which kind, and how many recovery codes are left after it."""

    kind: str  # "totp" or "recovery_code"
    recovery_codes_left: int


def is_enrolled(staff: Staff) -> bool:
    return staff.totp_enrolled_at is not None


def login_step(staff: Staff, settings: Settings) -> LoginStep | None:
    """What a staff member whose password was right must still do before their session is whole (None: nothing)."""
    if is_enrolled(staff):
        return LoginStep.CODE
    if settings.requires_second_factor and Role(staff.role) in REQUIRED_FOR:
        return LoginStep.ENROL
    return None


async def begin_enrolment(session: AsyncSession, *, staff: Staff, settings: Settings) -> FactorSetup:
    """A new secret for ``staff`` to add to an authenticator app; in use once ``confirm_enrolment`` sees a code
    from it. Starting again replaces a secret never confirmed."""
    if is_enrolled(staff):
        raise Conflict(
            "a second factor is already enrolled; an administrator can reset it", code="auth.factor_enrolled"
        )
    secret = pyotp.random_base32()
    staff.totp_secret = seal_secret(secret, staff_id=staff.id, settings=settings)
    staff.totp_last_step = None
    await session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=staff.username, issuer_name=ISSUER)
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", scale=5, border=2, xmldecl=False, svgclass="totp-qr")
    return FactorSetup(secret=secret, uri=uri, qr_svg=svg.getvalue().decode())


async def confirm_enrolment(
    session: AsyncSession, *, staff: Staff, code: str, by: ActorContext, settings: Settings
) -> list[str]:
    """Put the started factor in use with a code from it, and return new recovery codes: they are shown this once
    and kept only as hashes."""
    if is_enrolled(staff):
        raise Conflict(
            "a second factor is already enrolled; an administrator can reset it", code="auth.factor_enrolled"
        )
    if staff.totp_secret is None:
        raise Conflict("start the enrolment first", code="auth.factor_not_started")
    if not await take_totp(session, staff=staff, code=code, settings=settings):
        raise Invalid("that code is not the one your app shows now", code="auth.bad_code", details={"field": "code"})
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    hashes = await asyncio.to_thread(lambda: [security.hash_secret(c) for c in codes])
    await session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))
    session.add_all(RecoveryCode(staff_id=staff.id, code_hash=h) for h in hashes)
    staff.totp_enrolled_at = utcnow()
    await session.flush()
    await record_change(session, action="staff.factor_enrolled", staff=staff, by=by, detail={"kind": "totp"})
    return codes


def _not_enrolled(staff: Staff) -> None:
    if is_enrolled(staff):
        raise Conflict("a second factor is enrolled; an administrator can reset it", code="auth.factor_enrolled")


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))  # about 49 bits
    return f"{raw[:5]}-{raw[5:]}"


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]+", "", code).lower()


def looks_like_totp(code: str) -> bool:
    return re.fullmatch(r"\d{6}", _normalised(code)) is not None


async def matching_recovery_code(
    read_sessions: async_sessionmaker[AsyncSession], *, staff_id: int, code: str
) -> int | None:
    """The id of the unused recovery code ``code`` is, or None. Outside any transaction, in the staff logins' thread:
    each check is an argon2 hash, slow on purpose."""
    wanted = _normalised(code)
    if looks_like_totp(wanted) or not wanted:
        return None
    async with read_sessions() as session:
        rows = (
            await session.execute(
                select(RecoveryCode.id, RecoveryCode.code_hash).where(
                    RecoveryCode.staff_id == staff_id, RecoveryCode.used_at.is_(None)
                )
            )
        ).all()
    formatted = f"{wanted[:5]}-{wanted[5:]}"
    for code_id, code_hash in rows:
        if await security.verify_staff_login(code_hash, formatted):
            return int(code_id)
    return None


async def take_totp(
    session: AsyncSession, *, staff: Staff, code: str, settings: Settings, now: datetime | None = None
) -> bool:
    """Whether ``code`` is the TOTP code of ``staff``'s secret now (a step either side), taking it: its time step
    is remembered in one atomic statement, so the same code (or an older one) is refused after, on any process."""
    secret = _secret(staff, settings)
    if secret is None or not looks_like_totp(code):
        return False
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or utcnow())
    wanted = _normalised(code)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if security.codes_equal(totp.generate_otp(step), wanted):
            taken = await session.execute(
                update(Staff)
                .where(Staff.id == staff.id, or_(Staff.totp_last_step.is_(None), Staff.totp_last_step < step))
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            )
            if int(getattr(taken, "rowcount", 0) or 0) != 1:
                return False  # already used (here or by a concurrent login)
            staff.totp_last_step = step
            return True
    return False


async def take_second_factor(
    session: AsyncSession, *, staff: Staff, code: str, recovery_code_id: int | None, settings: Settings
) -> FactorUse | None:
    """Take the code of a login's second step: the TOTP code, or the recovery code ``matching_recovery_code`` found
    (each used once, atomically). None: neither."""
    if recovery_code_id is not None:
        used = await session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.id == recovery_code_id, RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if int(getattr(used, "rowcount", 0) or 0) != 1:
            return None
        left = await session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.staff_id == staff.id, RecoveryCode.used_at.is_(None))
        )
        return FactorUse(kind="recovery_code", recovery_codes_left=int(left or 0))
    if await take_totp(session, staff=staff, code=code, settings=settings):
        return FactorUse(kind="totp", recovery_codes_left=-1)
    return None


async def reset_factor(session: AsyncSession, *, staff: Staff, by: ActorContext) -> int:
    """Remove ``staff``'s second factor and recovery codes (a lost phone): their sessions end, and at the next login
    they enrol again (administrators and supervisors must). Returns how many sessions ended."""
    had = staff.totp_secret is not None
    staff.totp_secret = None
    staff.totp_enrolled_at = None
    staff.totp_last_step = None
    await session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))
    revoked = await end_sessions(session, staff=staff, by=by)
    await session.flush()
    await record_change(
        session, action="staff.factor_reset", staff=staff, by=by, detail={"had_factor": had, "sessions_ended": revoked}
    )
    return revoked


@dataclass(frozen=True, slots=True)
class SealReport:
    sealed: int  # stored in plaintext (from before encryption), sealed now
    already: int  # sealed, and the configured key opens them
    unreadable: list[str]  # usernames whose sealed secret the configured key cannot open


async def seal_all(session: AsyncSession, *, settings: Settings, by: ActorContext) -> SealReport:
    """Seal every TOTP secret still stored in plaintext now, rather than at each account's next login, and check that
    the configured key opens every sealed one (a key changed by mistake shows here, not at a login). Audited."""
    sealed, already, unreadable = 0, 0, []
    for staff in (await session.scalars(select(Staff).where(Staff.totp_secret.is_not(None)).order_by(Staff.id))).all():
        stored = str(staff.totp_secret)
        if not stored.startswith(_SEALED):
            staff.totp_secret = seal_secret(stored, staff_id=staff.id, settings=settings)
            sealed += 1
            continue
        try:
            sealing.unseal(stored, label=_LABEL, row=str(staff.id), settings=settings)
            already += 1
        except sealing.CannotOpen:
            unreadable.append(staff.username)
    await session.flush()
    await record_for(
        session,
        by,
        action="staff.factors_sealed",
        target_type="staff",
        target_id="*",
        detail={"sealed": sealed, "already_sealed": already, "unreadable": len(unreadable)},
    )
    return SealReport(sealed=sealed, already=already, unreadable=unreadable)
