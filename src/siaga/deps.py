"""Request dependencies: the runtime, the caller, role guards, and the client's address."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from siaga.accounts import apikeys
from siaga.accounts.apikeys import Scope
from siaga.accounts.domain import Officer, Principal, Role
from siaga.audit import service as audit
from siaga.db import utcnow
from siaga.errors import Forbidden, NotVisible, SiagaError, TooManyRequests, Unauthorized
from siaga.runtime import Runtime

log = logging.getLogger("siaga.deps")

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from /api/v1/auth/login or /api/v1/residents/verify, or an integrator's API key sk_siaga_...",
)

# The staff web apps' sessions: HttpOnly, SameSite=Strict cookies that no script can read (see accounts/login.py),
# one per app ("siaga_session_console", ...), so logging in to the admin app does not change whose console this is.
# A request uses one only when it names the app in this header, which a page of another site cannot add without a
# CORS preflight Siaga never grants (the defence against cross-site requests, with the Origin check).
SESSION_HEADER = "X-Siaga-Session"
_APP = re.compile(r"[a-z]{1,16}")


def session_cookie(app: str) -> str | None:
    """The name of a web app's session cookie (None: not an app's name)."""
    return f"siaga_session_{app}" if _APP.fullmatch(app) else None


def same_origin(headers: Mapping[str, str]) -> bool:
    """Whether a browser's request (or WebSocket handshake) comes from a page of this server: its Origin names the
    host it was sent to; without an Origin, the browser's Sec-Fetch-Site does not say another site sent it."""
    origin = headers.get("origin")
    if origin is None:
        return headers.get("sec-fetch-site", "same-origin") in {"same-origin", "none"}
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


# The dependencies below are coroutines though they never wait: FastAPI runs a plain function dependency in a worker
# thread, a round trip on every request for what is one attribute read.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


ClientIP = Annotated[str, Depends(client_ip)]


async def user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


UserAgent = Annotated[str, Depends(user_agent)]


async def _principal(
    request: Request,
    runtime: Runtime,
    credentials: HTTPAuthorizationCredentials | None,
    *,
    sos: bool,
    halfway: bool = False,
    scope: Scope | None = None,
    people: bool = True,
    limited: bool = True,
) -> Principal:
    """The caller: a person's session (unless only API keys are taken: ``people=False``), or an integrator's API key
    with ``scope`` (none: no key is taken)."""
    token = credentials.credentials if credentials is not None else None
    if token is not None and apikeys.looks_like_key(token):
        return await _api_key(request, runtime, token, scope=scope, limited=limited)
    cookie = session_cookie(request.headers.get(SESSION_HEADER, ""))
    if token is None and cookie is not None and cookie in request.cookies:
        if not same_origin(request.headers):
            raise Forbidden("the session cookie is only taken from Siaga's own pages", code="auth.csrf")
        token, halfway = request.cookies[cookie], False  # a cookie only ever holds a whole session
    if token is None:
        raise Unauthorized("log in first: send 'Authorization: Bearer <token>'", code="auth.required")
    principal = await runtime.principals.principal(token, sos=sos, halfway=halfway)
    if principal is None:
        raise Unauthorized("the token is unknown, expired or revoked; log in again", code="auth.invalid_token")
    request.state.principal = principal  # who a refusal of this request is recorded against (record_refusal)
    if not people:
        raise Forbidden(
            f"this is for integrators' API keys with the scope {scope}",
            code="auth.api_key_only",
            details={"scope": str(scope)},
        )
    return principal


async def _api_key(request: Request, runtime: Runtime, token: str, *, scope: Scope | None, limited: bool) -> Principal:
    """The service principal of an integrator's live key that has ``scope``: refused 401 if the key is unknown or
    revoked, 429 past the key's own rate (``limited=False``: counted, never refused), 403 without the scope."""
    holder = await runtime.principals.keys.holder(token)
    if holder is None:
        raise apikeys.refused(token)
    principal = holder.principal
    request.state.principal = principal  # who a refusal of this request is recorded against (record_refusal)
    wait = runtime.principals.keys.take(holder, refuse=limited)
    if wait is not None:
        raise TooManyRequests(
            f"this API key is over its {holder.requests_per_minute} requests a minute; try again in {wait} s",
            retry_after=wait,
            code="apikey.rate_limited",
        )
    if runtime.principals.keys.use_to_record(holder) and runtime.started:
        runtime.spawn(_record_use(runtime, principal))
    if scope is None:
        scopes = ", ".join(sorted(principal.scopes))
        raise Forbidden(
            f"API keys are not taken here, only a person's session; this key's scopes are {scopes}",
            code="auth.api_key_refused",
            details={"scopes": scopes},
        )
    if scope not in principal.scopes:
        raise Forbidden(f"this needs an API key with the scope {scope}", code="auth.scope", details={"scope": scope})
    return principal


async def _record_use(runtime: Runtime, principal: Principal) -> None:
    assert principal.api_key_id is not None
    async with runtime.unit_of_work() as session:
        await apikeys.record_use(session, key_id=principal.api_key_id, at=utcnow())


async def current_principal(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return await _principal(request, runtime, credentials, sos=False)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def login_in_progress(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Any session, a staff login halfway through included (it has given its password, not yet its second factor):
    only the login's next steps and logging out take this."""
    return await _principal(request, runtime, credentials, sos=False, halfway=True)


LoginInProgress = Annotated[Principal, Depends(login_in_progress)]


async def login_slot(runtime: RuntimeDep, ip: ClientIP) -> AsyncIterator[None]:
    """One of the process's few places for a staff login step (``logins_at_once``), and the address's turn, or 429
    at once: a flood of logins (each counts its attempt and checks a password, holding a database connection) never
    queues for connections that residents' SOS presses need; and one address has one login step under way at a time,
    so that its flood takes one place, not every place, has its passwords checked one after another, and is refused
    from memory within a second (``LoginThrottle``). An address over its limit is refused here, before anything
    else. A person who meets the 429 tries again a second later. Every refusal is recorded, together with the others
    of its minute (``Runtime.record_throttled``)."""
    throttle = runtime.login_throttle
    refused = throttle.enter(ip, now=utcnow(), places_left=not runtime.logins.locked())
    if refused is not None:
        raise refused
    try:
        async with runtime.logins:  # not locked: taken at once
            yield
    finally:
        throttle.leave(ip)


LoginSlot = Depends(login_slot)


async def sos_resident(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """A resident pressing SOS: an expired (not revoked) session is accepted, and the alert flagged."""
    principal = await _principal(request, runtime, credentials, sos=True)
    if principal.resident_id is None:
        raise Forbidden("only residents press SOS", code="auth.residents_only")
    return principal


SOSResident = Annotated[Principal, Depends(sos_resident)]


async def current_resident(principal: CurrentPrincipal) -> Principal:
    if principal.resident_id is None:
        raise Forbidden("this is for residents (log in with your phone number)", code="auth.residents_only")
    return principal


CurrentResident = Annotated[Principal, Depends(current_resident)]


async def current_officer(principal: CurrentPrincipal) -> Officer:
    """An officer who belongs to a unit, with the unit; anyone else is refused (403 ``officer.no_unit``)."""
    return Officer.of(principal)


CurrentOfficer = Annotated[Officer, Depends(current_officer)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting staff with one of ``roles``."""
    allowed = frozenset(roles)
    names = ", ".join(sorted(r.value for r in allowed))

    async def guard(principal: CurrentPrincipal) -> Principal:
        if principal.role is None or principal.role not in allowed:
            raise Forbidden(f"this needs one of the roles: {names}", code="auth.role")
        return principal

    return guard


def require_scope(scope: Scope, *, limited: bool = True) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting integrators' API keys with ``scope`` only: people's sessions are refused 403.
    ``limited=False``: the key's requests here count toward its rate but are never refused for it (an alert a
    gateway raises is never held back by a policy)."""

    async def guard(
        request: Request,
        runtime: RuntimeDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        return await _principal(request, runtime, credentials, sos=False, scope=scope, people=False, limited=limited)

    return guard


def person_or_scope(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting whoever is signed in (as ``current_principal``) and integrators' API keys with
    ``scope``: an endpoint that checks what its caller may see itself (``alerts.access``)."""

    async def guard(
        request: Request,
        runtime: RuntimeDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        return await _principal(request, runtime, credentials, sos=False, scope=scope)

    return guard


def key_or_signature(scope: Scope, *, limited: bool = True) -> Callable[..., Awaitable[Principal | None]]:
    """A dependency for an endpoint that callers either sign (a partner centre's EIDO, checked by the endpoint) or
    send with an integrator's API key: a key must be live and have ``scope`` (401, 403 as ``require_scope``);
    anything else is None, left to the endpoint's own check."""

    async def guard(
        request: Request,
        runtime: RuntimeDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal | None:
        if credentials is None or not apikeys.looks_like_key(credentials.credentials):
            return None
        return await _api_key(request, runtime, credentials.credentials, scope=scope, limited=limited)

    return guard


AlertReader = Annotated[Principal, Depends(person_or_scope(Scope.ALERTS_READ))]
DeviceGateway = Annotated[Principal, Depends(require_scope(Scope.ALERTS_RAISE, limited=False))]
EidoKey = Annotated[Principal | None, Depends(key_or_signature(Scope.EIDO_RECEIVE, limited=False))]
CurrentStaff = Annotated[Principal, Depends(require_roles(*Role))]
CommandCentre = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN))]
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


def is_refusal(error: SiagaError) -> bool:
    """A request refused for who is asking: a 403, a 404 that hides a record outside the caller's scope, or an API
    key that is unknown or revoked (an integrator's system keeps trying it: the admin must see it)."""
    return isinstance(error, Forbidden | NotVisible | apikeys.KeyRefused)


async def record_refusal(request: Request, error: SiagaError) -> None:
    """The one place a refused request is written to the audit log (see ``audit.record_denial``), in a transaction
    of its own: the request's own transaction was rolled back with the error."""
    principal: Principal | None = getattr(request.state, "principal", None)
    hidden = error if isinstance(error, NotVisible) else None
    agency_id = principal.agency_id if principal is not None else None
    if agency_id is None and hidden is not None:
        agency_id = hidden.agency_id  # a resident's refusal is shown to the agency whose record it was
    runtime: Runtime = request.app.state.runtime
    try:
        async with runtime.unit_of_work() as session:
            await audit.record_denial(
                session,
                actor=principal,
                client_ip=await client_ip(request),
                method=request.method,
                path=request.url.path,  # not the query string: it may carry a search for a name or a phone number
                code=error.code,
                reason="outside the caller's scope (answered as not found)" if hidden else error.message,
                target_type=hidden.target_type if hidden else "",
                target_id=hidden.target_id if hidden else "",
                agency_id=agency_id,
            )
    except Exception:
        # The refusal still stands and is answered; a database that cannot take the record is logged, not a 500.
        log.exception("a refused request could not be recorded in the audit log", extra={"path": request.url.path})
