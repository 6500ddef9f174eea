"""HTTP for staff logins: the password, the second factor (its code, its enrolment, its reset), logging out and
who a session belongs to. The login's steps, their throttling and their audit records are ``accounts.signin``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from siaga.accounts import signin, totp
from siaga.accounts import staff as staffing
from siaga.accounts.domain import Principal, Role
from siaga.accounts.schemas import FactorEnrolled, FactorSetup, LoginIn, MeRead, SecondFactorCode, StaffSession
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
from siaga.errors import Conflict, Forbidden
from siaga.schemas import RowId, error_responses

router = APIRouter()


def _session_read(opened: signin.Opened) -> StaffSession:
    staff = opened.staff
    return StaffSession(
        access_token=opened.session.token,
        expires_at=opened.session.expires_at,
        staff_id=staff.id,
        role=Role(staff.role),
        agency_id=staff.agency_id,
        login_step=opened.step.value if opened.step else None,
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
    opened = await signin.sign_in(
        runtime.unit_of_work,
        runtime.read_sessions,
        runtime.core,
        settings=runtime.settings,
        username=body.username,
        password=body.password,
        client_ip=ip,
        user_agent=agent,
        throttle=runtime.login_throttle,
    )
    return _hand_over(request, response, _session_read(opened))


def _expect_step(principal: Principal, *steps: totp.LoginStep | None) -> int:
    """The staff id of a session at one of ``steps`` (None: a whole session)."""
    if principal.staff_id is None:
        raise Forbidden("a second factor is for staff accounts", code="auth.role")
    if principal.login_step not in {s.value if s else None for s in steps}:
        if principal.login_step == totp.LoginStep.CODE:
            raise Conflict("give the code of your second factor first", code="auth.login_step")
        raise Conflict("this session is not waiting for a code", code="auth.login_step")
    return principal.staff_id


@router.post(
    "/auth/code", tags=["auth"], responses=error_responses(401, 403, 409, 422, 429, 503), dependencies=[LoginSlot]
)
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
    opened = await signin.give_code(
        runtime.unit_of_work,
        runtime.read_sessions,
        runtime.core,
        settings=runtime.settings,
        staff_id=_expect_step(principal, totp.LoginStep.CODE),
        step_session_id=principal.session_id,
        code=body.code,
        user_agent=agent,
        by=ActorContext.signed_in(principal, ip),
    )
    return _hand_over(request, response, _session_read(opened))


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
        enrolled = await signin.confirm_enrolment(
            session,
            settings=runtime.settings,
            staff_id=staff_id,
            code=body.code,
            step_session_id=principal.session_id if principal.login_step == totp.LoginStep.ENROL else None,
            user_agent=agent,
            by=ActorContext.signed_in(principal, ip),
        )
    whole = _hand_over(request, response, _session_read(enrolled.opened)) if enrolled.opened else None
    return FactorEnrolled(recovery_codes=enrolled.recovery_codes, session=whole)


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
        await signin.sign_out(session, session_id=principal.session_id, by=ActorContext.signed_in(principal, ip))
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
