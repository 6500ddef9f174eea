"""The WebSocket endpoints: /api/v1/stream/console, /officer and /resident."""

from __future__ import annotations

import contextlib
import logging
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket
from starlette.websockets import WebSocketDisconnect

from siaga import metrics
from siaga.accounts.domain import Principal
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.deps import same_origin, session_cookie
from siaga.realtime.schemas import StreamName
from siaga.realtime.streams import CLOSE_SESSION_ENDED, SESSION_ENDED_MESSAGE, STREAMS, watch
from siaga.runtime import Runtime

log = logging.getLogger("siaga.streams")
router = APIRouter()

CLOSE_UNAUTHORIZED = CLOSE_SESSION_ENDED  # 4401: log in (again), do not reconnect with this token
CLOSE_FORBIDDEN = 4403


async def _authenticate(runtime: Runtime, websocket: WebSocket, token: str | None) -> Principal | None:
    header = websocket.headers.get("authorization", "")
    token = token or (header[7:] if header.lower().startswith("bearer ") else None)
    cookie = session_cookie(websocket.query_params.get("session", ""))
    if not token and cookie is not None and same_origin(websocket.headers):
        # A staff web app's session cookie (?session=<app>), from Siaga's own pages only: a page of another site could
        # otherwise open a stream with the cookie the browser sends along.
        token = websocket.cookies.get(cookie)
    if not token:
        return None
    return await runtime.principals.principal(token)


async def _refuse(
    websocket: WebSocket, runtime: Runtime, code: int, reason: str, *, principal: Principal | None = None
) -> None:
    """Refuse a stream with its documented close code. Closing before the handshake would answer HTTP 403, and a
    browser then sees only 1006 and reconnects forever; accepted first, the client reads the code and the reason.
    Then, as for a refused HTTP request, an ``outcome=denied`` audit record (rate-limited per caller)."""
    await websocket.accept()
    await websocket.close(code=code, reason=reason)
    try:
        async with runtime.unit_of_work() as session:
            await audit.record_denial(
                session,
                actor=principal,
                client_ip=websocket.client.host if websocket.client else "",
                method="WEBSOCKET",
                path=websocket.url.path,  # not the query string: it carries the token
                code="stream.unauthorized" if code == CLOSE_UNAUTHORIZED else "stream.forbidden",
                reason=reason,
            )
    except Exception:
        # The refusal stands; a database that cannot take the record is logged, as for HTTP refusals.
        log.exception("a refused stream could not be recorded in the audit log", extra={"path": websocket.url.path})


@router.websocket("/stream/{stream}")
async def stream(
    websocket: WebSocket,
    stream: StreamName,
    token: Annotated[str | None, Query(description="Session token (or an Authorization: Bearer header)")] = None,
    cursor: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Resume after this event id")] = None,
) -> None:
    """A live stream: ``console`` (operators, supervisors, admins: their agency's alerts and units), ``officer``
    (offers and assignments of the officer's unit) or ``resident`` (their own alerts' status, the officer coming
    and the ETA). Messages are JSON; see ``siaga.realtime.schemas``. On the officer stream the phone may send its
    positions while on duty, ``{"type": "positions", "seq": 1, "points": [{"lat": .., "lon": ..}]}``, answered by a
    ``positions_ack``: a connection that is already open costs less per position than an HTTP request."""
    runtime: Runtime = websocket.app.state.runtime
    principal = await _authenticate(runtime, websocket, token)
    if principal is None:
        await _refuse(websocket, runtime, CLOSE_UNAUTHORIZED, "log in first: ?token=<session token>")
        return
    kind = STREAMS[stream]
    if principal.role not in kind.roles:
        refusal = f"the {stream} stream is not for a {principal.kind}"
        await _refuse(websocket, runtime, CLOSE_FORBIDDEN, refusal, principal=principal)
        return
    by = ActorContext.signed_in(principal, websocket.client.host if websocket.client else "")
    viewer = await watch(runtime, stream, principal, by=by, cursor=cursor)
    client = kind(websocket=websocket, runtime=runtime, viewer=viewer)
    held = await runtime.stream_sessions.admit(principal.session_id, client.end_session)
    if held is None:  # the session ended while the stream was being opened
        await _refuse(websocket, runtime, CLOSE_UNAUTHORIZED, SESSION_ENDED_MESSAGE, principal=principal)
        return
    open_streams = metrics.STREAMS_OPEN.labels(stream)
    open_streams.inc()
    try:
        await client.run(cursor=cursor)
    except WebSocketDisconnect:
        pass
    except Exception:
        log.exception("stream failed", extra={"stream": stream})
        with contextlib.suppress(Exception):
            await websocket.close(code=1011)
    finally:
        open_streams.dec()
        runtime.stream_sessions.release(held)
