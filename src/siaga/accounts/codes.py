"""Residents' one-time codes: requested by SMS within limits, verified into a session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import security, sms_keys
from siaga.accounts.models import OneTimeCode, Resident
from siaga.accounts.residents import checked_nik, normalize_phone, register_number
from siaga.accounts.sessions import NewSession, _open_session
from siaga.accounts.turns import take_turns
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import utcnow
from siaga.errors import Invalid, SiagaError, TooManyRequests
from siaga.notify import limits as sms_limits
from siaga.notify import service as notify

RESEND_COOLDOWN = timedelta(seconds=30)
# A number's hourly limit counts the codes asked from one client address, so a stranger who asks for someone else's
# number uses up only their own share: the owner, asking from their phone, still gets a code. (A verified session
# cannot be the way round it: the owner needs a code precisely when they have no session, on a new phone.) All
# addresses together stop at this many times that limit, so that many addresses still cannot flood one number.
NUMBER_CEILING_FACTOR = 4


async def request_code(session: AsyncSession, *, settings: Settings, phone_raw: str, client_ip: str) -> tuple[str, int]:
    """Create a code for ``phone_raw`` and queue its SMS. Returns (E.164 phone, outbound message id).

    Limits: one code per number per 30 s; per hour, a number of codes per number from one client address, a
    ceiling per number from all addresses (``NUMBER_CEILING_FACTOR`` times as many), and a number per client address.
    """
    phone = normalize_phone(settings, phone_raw)
    await take_turns(session, f"otp-client:{client_ip}", f"otp-phone:{phone}")
    now = utcnow()
    hour_ago = now - timedelta(hours=1)
    recent = (OneTimeCode.phone == phone, OneTimeCode.created_at >= hour_ago)
    from_here = await session.scalar(select(func.count()).where(*recent, OneTimeCode.client_ip == client_ip))
    from_anywhere = await session.scalar(select(func.count()).where(*recent))
    limit = settings.otp_per_number_per_hour
    if (from_here or 0) >= limit or (from_anywhere or 0) >= limit * NUMBER_CEILING_FACTOR:
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
    minutes = max(1, settings.otp_ttl_seconds // 60)
    # Against SMS pumping (codes asked for numbers abroad by the thousand): per destination country a day and by the
    # day's spend, as replies to inbound SMS are. A number at home is counted, never refused for these.
    counted = sms_limits.sms_limits(
        settings, to=phone, body=_code_text("000000", minutes), urgency=sms_limits.Urgency.CODE
    )
    full = await sms_limits.take(session, counted)
    if full is not None:
        raise TooManyRequests(
            f"too many codes sent to numbers in {sms_limits.country_of(phone)} today; try again tomorrow",
            retry_after=sms_limits.seconds_left(full.expires_at),
            code="otp.country_limit",
        )
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
    message = await notify.queue_sms(
        session,
        inline=True,  # the request sends it itself after the commit (see the router), not the background
        to=phone,
        body=_code_text(code, minutes),
        purpose="otp",
        adapter=settings.sms_adapter,
    )
    by = ActorContext.anonymous(phone, client_ip)
    await audit.record_for(session, by, action="resident.code_requested", target_type="phone", target_id=phone)
    return phone, message.id


def _code_text(code: str, minutes: int) -> str:
    return f"Kode Siaga Anda: {code}. Berlaku {minutes} menit. Jangan berikan kode ini kepada siapa pun."


async def counter_code(
    session: AsyncSession, *, settings: Settings, phone_raw: str, nik: str, by: ActorContext
) -> tuple[str, int]:
    """At a counter (a kelurahan or Polsek desk, ``by`` the staff member): check the NIK, then send the resident's
    phone the app's own code SMS, within the same limits (the staff member counts as the asking address). Returns
    the number in E.164 and the code SMS's id, to send after the commit."""
    checked_nik(nik)
    return await request_code(session, settings=settings, phone_raw=phone_raw, client_ip=counter_address(by))


def counter_address(by: ActorContext) -> str:
    """What the code limits count a counter's requests by: the staff member, not the desk's shared address."""
    return f"counter:{by.id}"


@dataclass(frozen=True, slots=True)
class CodeFailure:
    """A wrong, expired or used code. The attempt count must be committed before the error is raised."""

    error: SiagaError


async def verify_code(
    session: AsyncSession, *, settings: Settings, phone_raw: str, code: str, client_ip: str, user_agent: str
) -> NewSession | CodeFailure:
    """Check a code; on success create the resident if new and open a session. Audited either way."""
    result = await _check_code(
        session, settings=settings, phone_raw=phone_raw, code=code, client_ip=client_ip, user_agent=user_agent
    )
    if isinstance(result, CodeFailure):
        await audit.record_for(
            session,
            ActorContext.anonymous(phone_raw, client_ip),
            action="resident.login",
            outcome="failure",
            detail={"reason": result.error.code},
        )
    else:
        assert result.resident is not None
        await audit.record_for(
            session,
            ActorContext.anonymous(result.resident.phone, client_ip),
            action="resident.login",
            target_type="resident",
            target_id=str(result.resident.id),
            detail={"new": result.is_new},
        )
    return result


async def _check_code(
    session: AsyncSession, *, settings: Settings, phone_raw: str, code: str, client_ip: str, user_agent: str
) -> NewSession | CodeFailure:
    phone = normalize_phone(settings, phone_raw)
    failure = await take_code(session, settings=settings, phone=phone, code=code, client_ip=client_ip)
    if failure is not None:
        return failure
    now = utcnow()
    resident = await session.scalar(select(Resident).where(Resident.phone == phone))
    is_new = resident is None
    if resident is None:
        resident = Resident(phone=phone, phone_verified_at=now)
        session.add(resident)
        await session.flush()
    else:
        resident.phone_verified_at = now
    sms_key, _ = sms_keys.issue(resident, settings=settings)  # the code proved the number: this phone may have it
    token, expires_at = await _open_session(
        session,
        lifetime=timedelta(days=settings.resident_session_days),
        resident_id=resident.id,
        client_ip=client_ip,
        user_agent=user_agent,
    )
    return NewSession(token=token, expires_at=expires_at, resident=resident, is_new=is_new, sms_key=sms_key)


async def take_code(
    session: AsyncSession, *, settings: Settings, phone: str, code: str, client_ip: str
) -> CodeFailure | None:
    """Check ``code`` against the latest code of ``phone`` (E.164) and use it up; None if it was right. A wrong guess
    is counted (the caller commits before it answers), against the asker's address or all others' apart."""
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
    # Wrong guesses from the address that asked for the code, and from all others together, are counted apart: a
    # stranger guessing at someone's number cannot use up the attempts its owner has, on the phone that asked.
    from_requester = row.client_ip == client_ip
    allowed = settings.otp_max_attempts * (1 if from_requester else NUMBER_CEILING_FACTOR)
    if (row.attempts if from_requester else row.foreign_attempts) >= allowed:
        return CodeFailure(Invalid("too many wrong attempts; request a new code", code="otp.attempts"))
    expected = security.hash_code(settings.secret_key.get_secret_value(), phone, code)
    if not security.codes_equal(expected, row.code_hash):
        if from_requester:
            row.attempts += 1
        else:
            row.foreign_attempts += 1
        left = allowed - (row.attempts if from_requester else row.foreign_attempts)
        return CodeFailure(
            Invalid(f"wrong code; {left} attempt(s) left", code="otp.wrong", details={"attempts_left": left})
        )
    row.used_at = now
    return None


async def register_with_code(
    session: AsyncSession,
    *,
    settings: Settings,
    phone: str,
    code: str,
    name: str,
    nik: str,
    way: str,
    client_ip: str,
    by: ActorContext,
) -> Resident | CodeFailure:
    """Register ``phone`` (E.164) with the code it received, without the app (``way``: ``sms`` for DAFTAR,
    ``counter`` at a desk; ``client_ip``: what the code's attempts are counted by). A wrong, used or expired code is
    counted (the caller commits before it answers) and audited as a failed ``resident.login``; a right one registers
    the number with the name and NIK (``register_number``)."""
    failure = await take_code(session, settings=settings, phone=phone, code=code, client_ip=client_ip)
    if failure is not None:
        await audit.record_for(
            session, by, action="resident.login", outcome="failure", detail={"reason": failure.error.code}
        )
        return failure
    return await register_number(session, settings=settings, phone=phone, name=name, nik=nik, way=way, by=by)
