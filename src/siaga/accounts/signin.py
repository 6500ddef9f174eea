"""Staff signing in and out: the password, the second factor's code, finishing an enrolment a login asked for, and
logging out. Each step records itself in the audit log here, whichever way it ended.

Guessing is throttled: every attempt is counted and committed (``sessions.count_login_attempt``) before the password
or the code is checked, so concurrent guesses are each counted, and a right one gives its attempt back. The checks
themselves (argon2, slow on purpose) run outside any transaction, holding neither the database nor the event loop.
A person who has given only their password acts through a session that only the login's next step accepts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.accounts import staff as staffing
from siaga.accounts import totp
from siaga.accounts.models import Staff
from siaga.accounts.sessions import (
    LoginThrottle,
    NewSession,
    check_password,
    count_login_attempt,
    forgive_login_attempt,
    login_throttled,
    open_staff_session,
    revoke_session,
)
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import CoreRunner, UnitOfWork, utcnow
from siaga.errors import Unauthorized


@dataclass(frozen=True, slots=True)
class Opened:
    """A staff session a login step opened: whole, or (``step``) one that only the login's next step accepts."""

    session: NewSession
    staff: Staff
    step: totp.LoginStep | None = None


async def sign_in(
    work: UnitOfWork,
    reads: async_sessionmaker[AsyncSession],
    core: CoreRunner,
    *,
    settings: Settings,
    username: str,
    password: str,
    client_ip: str,
    user_agent: str,
    throttle: LoginThrottle | None = None,
) -> Opened:
    """Check a staff member's password. Right: a session, whole or at the second factor's step. Wrong, or one
    guess too many: 401 or 429. Audited either way, as done by whoever gave the username; a guess the process
    already knows to be one too many (``throttle``) is refused without the database, and such refusals are
    recorded together, one record per counter and minute."""
    username = username.strip().lower()
    if throttle is not None:
        key = throttle.over(username=username, client_ip=client_ip, now=utcnow())
        if key is not None:
            throttle.refused(key)  # recorded with the others (record_throttled)
            raise login_throttled()
    # Counted and committed before the password is checked; like a failure's record, by the process's single writer.
    throttled = await count_login_attempt(core, username=username, client_ip=client_ip, throttle=throttle)
    staff = None if throttled else await check_password(reads, username=username, password=password)
    step = totp.login_step(staff, settings) if staff is not None else None
    if staff is None:
        failed = {"reason": "throttled" if throttled else "bad_credentials"}
        by = ActorContext.anonymous(username, client_ip)
        await core.write(partial(audit.record_on, by=by, action="staff.login", outcome="failure", detail=failed))
    else:
        async with work() as session:
            await forgive_login_attempt(session, username=username, client_ip=client_ip)
            opened = await open_staff_session(
                session,
                settings=settings,
                staff=staff,
                client_ip=client_ip,
                user_agent=user_agent,
                login_step=step.value if step else None,
            )
            await audit.record_for(
                session,
                ActorContext.anonymous(staff.username, client_ip),
                action="staff.login" if step is None else "staff.login_password",
                target_type="staff",
                target_id=str(staff.id),
                agency_id=staff.agency_id,
                detail={"next_step": step.value} if step else None,
            )
    if throttled is not None:
        raise throttled
    if staff is None:
        raise Unauthorized("wrong username or password", code="auth.bad_credentials")
    return Opened(opened, staff, step)


async def record_throttled(work: UnitOfWork, throttle: LoginThrottle) -> int:
    """Record the logins ``throttle`` refused from memory since the last call: one ``staff.login`` failure per
    counter and reason, counting them (``refused``), as done by the account or address the counter names. The reason
    is ``throttled`` (the counter was over its limit) or ``busy`` (``turn``: the address had a login step under way
    already, or none of the process's places was left). Returns how many refusals were recorded. The runtime calls
    it every minute and when it stops."""
    refused = throttle.drain()
    if not refused:
        return 0
    try:
        await _record_refusals(work, refused)
    except BaseException:
        throttle.give_back(refused)
        raise
    return sum(refused.values())


_BUSY_TURNS = {"busy+client": "address", "busy": "process"}


async def _record_refusals(work: UnitOfWork, refused: dict[str, int]) -> None:
    async with work() as session:
        for key, count in sorted(refused.items()):
            kind, _, subject = key.partition(":")
            username, _, client_ip = subject.partition("|") if kind == "account+client" else (subject, "", "")
            if kind in {"client", *_BUSY_TURNS}:
                username, client_ip = "", subject
            detail: dict[str, object] = {"reason": "throttled", "counter": kind, "refused": count}
            if kind in _BUSY_TURNS:
                detail = {"reason": "busy", "turn": _BUSY_TURNS[kind], "refused": count}
            await audit.record_for(
                session,
                ActorContext.anonymous(username or client_ip, client_ip),
                action="staff.login",
                outcome="failure",
                detail=detail,
            )


async def give_code(
    work: UnitOfWork,
    reads: async_sessionmaker[AsyncSession],
    core: CoreRunner,
    *,
    settings: Settings,
    staff_id: int,
    step_session_id: int,
    code: str,
    user_agent: str,
    by: ActorContext,
) -> Opened:
    """The login's second step: the authenticator's code or an unused recovery code. Right: the step's session
    (``step_session_id``) ends and a whole one opens. Wrong, or one guess too many: 401 or 429. Audited either way;
    a wrong code as done ``by`` the step's session."""
    async with reads() as session:
        username = (await staffing.staff_by_id(session, staff_id)).username
    throttled = await count_login_attempt(core, username=username, client_ip=by.client_ip)  # before the check
    recovery_id = None if throttled else await totp.matching_recovery_code(reads, staff_id=staff_id, code=code)
    async with work() as session:
        staff = await staffing.staff_by_id(session, staff_id)
        used = (
            None
            if throttled
            else await totp.take_second_factor(
                session, staff=staff, code=code, recovery_code_id=recovery_id, settings=settings
            )
        )
        if used is None:
            await audit.record_for(
                session,
                by,
                action="staff.factor_failed",
                target_type="staff",
                target_id=str(staff_id),
                outcome="failure",
                detail={"username": username, "reason": "throttled" if throttled else "bad_code"},
            )
        else:
            await forgive_login_attempt(session, username=username, client_ip=by.client_ip)
            await revoke_session(session, session_id=step_session_id)
            opened = await open_staff_session(
                session, settings=settings, staff=staff, client_ip=by.client_ip, user_agent=user_agent
            )
            if used.kind == "recovery_code":
                left = {"left": used.recovery_codes_left}
                await staffing.record_change(
                    session, action="staff.recovery_code_used", staff=staff, by=by, detail=left
                )
            await _record_login(session, staff, by.client_ip, second_factor=used.kind)
    if throttled is not None:
        raise throttled
    if used is None:
        raise Unauthorized("that code is not right (or was used already)", code="auth.bad_code")
    return Opened(opened, staff)


@dataclass(frozen=True, slots=True)
class Enrolled:
    """A second factor put in use: its recovery codes (shown this once) and, when a login asked for the
    enrolment, the whole session that login now opens."""

    recovery_codes: list[str]
    opened: Opened | None = None


async def confirm_enrolment(
    session: AsyncSession,
    *,
    settings: Settings,
    staff_id: int,
    code: str,
    step_session_id: int | None,
    user_agent: str,
    by: ActorContext,
) -> Enrolled:
    """Put the second factor being enrolled in use (audited, ``totp.confirm_enrolment``). At a login's enrolment
    step (``step_session_id``: that step's session) the step's session ends and the login completes (audited)."""
    staff = await staffing.staff_by_id(session, staff_id)
    codes = await totp.confirm_enrolment(session, staff=staff, code=code, by=by, settings=settings)
    if step_session_id is None:
        return Enrolled(codes)
    await revoke_session(session, session_id=step_session_id)
    opened = await open_staff_session(
        session, settings=settings, staff=staff, client_ip=by.client_ip, user_agent=user_agent
    )
    await _record_login(session, staff, by.client_ip, second_factor="enrolled")
    return Enrolled(codes, Opened(opened, staff))


async def sign_out(session: AsyncSession, *, session_id: int, by: ActorContext) -> None:
    """End a session at once (one halfway through a login too), audited."""
    await revoke_session(session, session_id=session_id)
    await audit.record_for(session, by, action="auth.logout")


async def _record_login(session: AsyncSession, staff: Staff, client_ip: str, *, second_factor: str) -> None:
    """A login completed by its second step: recorded, as a password login is, as done by the username."""
    await audit.record_for(
        session,
        ActorContext.anonymous(staff.username, client_ip),
        action="staff.login",
        target_type="staff",
        target_id=str(staff.id),
        agency_id=staff.agency_id,
        detail={"second_factor": second_factor},
    )
