"""HTTP for staff logins: the password, the second factor (its code, its enrolment, its reset), logging out and
who a session belongs to."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import service as accounts
from siaga.accounts import staff as staffing
from siaga.accounts import totp
from siaga.accounts.domain import Principal
from siaga.accounts.models import Role, Staff
from siaga.accounts.schemas import FactorEnrolled, FactorSetup, LoginIn, MeRead, SecondFactorCode, StaffSession
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.deps import (
    SESSION_HEADER,
    Admin,
    ClientIP,
    CurrentPrincipal,
    LoginInProgress,
    LoginSlot,
    RuntimeDep,
    UserAgent,
    session_cookie,
)
from siaga.errors import Conflict, Forbidden, Unauthorized
from siaga.schemas import RowId, error_responses

router = APIRouter()


def _session_read(opened: accounts.NewSession, staff: Staff, step: totp.LoginStep | None = None) -> StaffSession:
    return StaffSession(
        access_token=opened.token,
        expires_at=opened.expires_at,
        staff_id=staff.id,
        role=Role(staff.role),
        agency_id=staff.agency_id,
        login_step=step.value if step else None,
    )


def _hand_over(request: Request, response: Response, read: StaffSession) -> StaffSession:
    """A whole session for a web app that names itself in the X-Siaga-Session header: the token goes into that app's
    HttpOnly, SameSite=Strict cookie (Secure behind TLS) and not into the answer, so no script of the page, an
    injected one included, ever holds it. API clients, and a login's step, get the token in the answer."""
    cookie = session_cookie(request.headers.get(SESSION_HEADER, ""))
    if read.login_step is not None or cookie is None:
        return read
    response.set_cookie(
        cookie,
        read.access_token,
        max_age=max(0, int((read.expires_at - utcnow()).total_seconds())),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return read.model_copy(update={"access_token": ""})


@router.post("/auth/login", tags=["auth"], responses=error_responses(401, 422, 429), dependencies=[LoginSlot])
async def login(
    body: LoginIn, request: Request, response: Response, runtime: RuntimeDep, ip: ClientIP, agent: UserAgent
) -> StaffSession:
    """Log in as staff. The token is opaque; send it as 'Authorization: Bearer <token>' (the staff web apps send
    'X-Siaga-Session: <app>' and get it as that app's HttpOnly cookie instead). With a second factor
    (``login_step``), the token only takes its next step, for a few minutes."""
    username = body.username.strip().lower()
    async with runtime.unit_of_work() as session:  # counted and committed before the password is checked
        throttled = await accounts.count_login_attempt(session, username=username, client_ip=ip)
    staff = (
        None
        if throttled
        else await accounts.check_password(runtime.read_sessions, username=username, password=body.password)
    )
    step = totp.login_step(staff, runtime.settings) if staff is not None else None
    async with runtime.unit_of_work() as session:
        if staff is None:
            await audit.record(
                session,
                action="staff.login",
                actor=None,
                actor_label=username,
                outcome="failure",
                client_ip=ip,
                detail={"reason": "throttled" if throttled else "bad_credentials"},
            )
        else:
            await accounts.forgive_login_attempt(session, username=username, client_ip=ip)
            opened = await accounts.open_staff_session(
                session,
                settings=runtime.settings,
                staff=staff,
                client_ip=ip,
                user_agent=agent,
                login_step=step.value if step else None,
            )
            await audit.record(
                session,
                action="staff.login" if step is None else "staff.login_password",
                actor=None,
                actor_label=staff.username,
                target_type="staff",
                target_id=str(staff.id),
                client_ip=ip,
                agency_id=staff.agency_id,
                detail={"next_step": step.value} if step else None,
            )
    if throttled is not None:
        raise throttled
    if staff is None:
        raise Unauthorized("wrong username or password", code="auth.bad_credentials")
    return _hand_over(request, response, _session_read(opened, staff, step))


def _expect_step(principal: Principal, *steps: totp.LoginStep | None) -> int:
    """The staff id of a session at one of ``steps`` (None: a whole session)."""
    if principal.staff_id is None:
        raise Forbidden("a second factor is for staff accounts", code="auth.role")
    if principal.login_step not in {s.value if s else None for s in steps}:
        if principal.login_step == totp.LoginStep.CODE:
            raise Conflict("give the code of your second factor first", code="auth.login_step")
        raise Conflict("this session is not waiting for a code", code="auth.login_step")
    return principal.staff_id


@router.post("/auth/code", tags=["auth"], responses=error_responses(401, 403, 409, 422, 429), dependencies=[LoginSlot])
async def give_code(
    body: SecondFactorCode,
    request: Request,
    response: Response,
    principal: LoginInProgress,
    runtime: RuntimeDep,
    ip: ClientIP,
    agent: UserAgent,
) -> StaffSession:
    """The login's second step: the 6-digit code of your authenticator app, or one of your recovery codes (each
    works once). Guesses count against the login limits. Answers the whole session; the step's token ends."""
    staff_id = _expect_step(principal, totp.LoginStep.CODE)
    async with runtime.read_sessions() as session:
        staff = await staffing.staff_by_id(session, staff_id)
        username = staff.username
    async with runtime.unit_of_work() as session:  # counted and committed before the code is checked
        throttled = await accounts.count_login_attempt(session, username=username, client_ip=ip)
    recovery_id = (
        None
        if throttled
        else await totp.matching_recovery_code(runtime.read_sessions, staff_id=staff_id, code=body.code)
    )
    async with runtime.unit_of_work() as session:
        staff = await staffing.staff_by_id(session, staff_id)
        used = (
            None
            if throttled
            else await totp.take_second_factor(
                session, staff=staff, code=body.code, recovery_code_id=recovery_id, settings=runtime.settings
            )
        )
        if used is None:
            await audit.record(
                session,
                action="staff.factor_failed",
                actor=principal,
                target_type="staff",
                target_id=str(staff_id),
                outcome="failure",
                client_ip=ip,
                detail={"username": username, "reason": "throttled" if throttled else "bad_code"},
            )
        else:
            await accounts.forgive_login_attempt(session, username=username, client_ip=ip)
            await accounts.revoke_session(session, session_id=principal.session_id)
            opened = await accounts.open_staff_session(
                session, settings=runtime.settings, staff=staff, client_ip=ip, user_agent=agent
            )
            if used.kind == "recovery_code":
                left = {"left": used.recovery_codes_left}
                by = ActorContext.signed_in(principal, ip)
                await staffing.record_change(
                    session, action="staff.recovery_code_used", staff=staff, by=by, detail=left
                )
            await _record_login(session, staff, ip, second_factor=used.kind)
    if throttled is not None:
        raise throttled
    if used is None:
        raise Unauthorized("that code is not right (or was used already)", code="auth.bad_code")
    return _hand_over(request, response, _session_read(opened, staff))


async def _record_login(session: AsyncSession, staff: Staff, ip: str, *, second_factor: str) -> None:
    await audit.record(
        session,
        action="staff.login",
        actor=None,
        actor_label=staff.username,
        target_type="staff",
        target_id=str(staff.id),
        client_ip=ip,
        agency_id=staff.agency_id,
        detail={"second_factor": second_factor},
    )


@router.post("/auth/factor", tags=["auth"], responses=error_responses(401, 403, 409))
async def begin_enrolment(principal: LoginInProgress, runtime: RuntimeDep) -> FactorSetup:
    """Start enrolling a second factor: a new secret, as text and as a QR code for an authenticator app. With a
    whole session (optional for operators and officers) or the login step 'enrol' (required for administrators and
    supervisors). Starting again replaces a secret never confirmed."""
    staff_id = _expect_step(principal, None, totp.LoginStep.ENROL)
    async with runtime.unit_of_work() as session:
        staff = await staffing.staff_by_id(session, staff_id)
        setup = await totp.begin_enrolment(session, staff=staff, settings=runtime.settings)
    return FactorSetup(secret=setup.secret, uri=setup.uri, qr_svg=setup.qr_svg)


@router.post("/auth/factor/confirm", tags=["auth"], responses=error_responses(401, 403, 409, 422))
async def confirm_enrolment(
    body: SecondFactorCode,
    request: Request,
    response: Response,
    principal: LoginInProgress,
    runtime: RuntimeDep,
    ip: ClientIP,
    agent: UserAgent,
) -> FactorEnrolled:
    """Put the second factor in use with the code the app now shows (audited). Answers the recovery codes, shown
    only this once; at the login step 'enrol', also the whole session (the step's token ends)."""
    staff_id = _expect_step(principal, None, totp.LoginStep.ENROL)
    async with runtime.unit_of_work() as session:
        staff = await staffing.staff_by_id(session, staff_id)
        codes = await totp.confirm_enrolment(
            session, staff=staff, code=body.code, by=ActorContext.signed_in(principal, ip), settings=runtime.settings
        )
        whole = None
        if principal.login_step == totp.LoginStep.ENROL:
            await accounts.revoke_session(session, session_id=principal.session_id)
            opened = await accounts.open_staff_session(
                session, settings=runtime.settings, staff=staff, client_ip=ip, user_agent=agent
            )
            await _record_login(session, staff, ip, second_factor="enrolled")
            whole = _hand_over(request, response, _session_read(opened, staff))
    return FactorEnrolled(recovery_codes=codes, session=whole)


@router.delete(
    "/staff/{staff_id}/factor",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["staff"],
    responses=error_responses(401, 403, 404),
)
async def reset_factor(staff_id: RowId, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> Response:
    """Remove a staff member's second factor and recovery codes, for a lost phone (administrators; audited). Their
    sessions end; at their next login they enrol again (administrators and supervisors must)."""
    async with runtime.unit_of_work() as session:
        staff = await staffing.staff_by_id(session, staff_id)
        await totp.reset_factor(session, staff=staff, by=ActorContext.signed_in(principal, ip))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"], responses=error_responses(401))
async def logout(request: Request, principal: LoginInProgress, runtime: RuntimeDep, ip: ClientIP) -> Response:
    """Revoke this session's token at once (a login halfway through too), and clear the session cookie."""
    async with runtime.unit_of_work() as session:
        await accounts.revoke_session(session, session_id=principal.session_id)
        await audit.record(session, action="auth.logout", actor=principal, client_ip=ip)
    answer = Response(status_code=status.HTTP_204_NO_CONTENT)
    cookie = session_cookie(request.headers.get(SESSION_HEADER, ""))
    if cookie is not None:
        answer.delete_cookie(cookie, path="/", httponly=True, samesite="strict")
    return answer


@router.get("/auth/me", tags=["auth"], responses=error_responses(401))
async def me(principal: CurrentPrincipal, runtime: RuntimeDep) -> MeRead:
    """Who this token belongs to; for staff, whether their logins ask for a second factor (their app offers to
    enrol one where it is optional)."""
    second_factor = None
    if principal.staff_id is not None:
        async with runtime.read_sessions() as session:
            second_factor = totp.is_enrolled(await staffing.staff_by_id(session, principal.staff_id))
    return MeRead(
        kind=principal.kind,
        name=principal.name,
        resident_id=principal.resident_id,
        staff_id=principal.staff_id,
        agency_id=principal.agency_id,
        unit_id=principal.unit_id,
        second_factor=second_factor,
    )
