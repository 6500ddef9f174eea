"""Request dependencies: the runtime, the caller, role guards, and the client's address."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from siaga.accounts.domain import Principal
from siaga.accounts.models import Role
from siaga.errors import Forbidden, Unauthorized
from siaga.runtime import Runtime

_bearer = HTTPBearer(auto_error=False, description="A token from /api/v1/auth/login or /api/v1/residents/verify")


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


async def _principal(runtime: Runtime, credentials: HTTPAuthorizationCredentials | None, *, sos: bool) -> Principal:
    if credentials is None:
        raise Unauthorized("log in first: send 'Authorization: Bearer <token>'", code="auth.required")
    principal = await runtime.principals.principal(credentials.credentials, sos=sos)
    if principal is None:
        raise Unauthorized("the token is unknown, expired or revoked; log in again", code="auth.invalid_token")
    return principal


async def current_principal(
    runtime: RuntimeDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    return await _principal(runtime, credentials, sos=False)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def sos_resident(
    runtime: RuntimeDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """A resident pressing SOS: an expired (not revoked) session is accepted, and the alert flagged."""
    principal = await _principal(runtime, credentials, sos=True)
    if principal.resident_id is None:
        raise Forbidden("only residents press SOS", code="auth.residents_only")
    return principal


SOSResident = Annotated[Principal, Depends(sos_resident)]


async def current_resident(principal: CurrentPrincipal) -> Principal:
    if principal.resident_id is None:
        raise Forbidden("this is for residents (log in with your phone number)", code="auth.residents_only")
    return principal


CurrentResident = Annotated[Principal, Depends(current_resident)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting staff with one of ``roles``."""
    allowed = frozenset(roles)
    names = ", ".join(sorted(r.value for r in allowed))

    async def guard(principal: CurrentPrincipal) -> Principal:
        if principal.role is None or principal.role not in allowed:
            raise Forbidden(f"this needs one of the roles: {names}", code="auth.role")
        return principal

    return guard


CurrentStaff = Annotated[Principal, Depends(require_roles(*Role))]
CommandCentre = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN))]
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
