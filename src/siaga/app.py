"""``create_app(settings)``: routers, error handling, body limits, request logs and background work."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from siaga import __version__
from siaga.accounts.login import router as login_router
from siaga.accounts.router import router as accounts_router
from siaga.agencies.router import router as agencies_router
from siaga.alerts.domain import TransitionError
from siaga.alerts.router import router as alerts_router
from siaga.audit.router import router as audit_router
from siaga.cap.router import router as cap_router
from siaga.config import Settings
from siaga.deps import RuntimeDep, is_refusal, record_refusal
from siaga.devices.router import router as devices_router
from siaga.dispatch.router import router as dispatch_router
from siaga.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    SiagaError,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)
from siaga.exercise.router import router as exercise_router
from siaga.gateway.router import router as gateway_router
from siaga.logs import RequestLog
from siaga.metrics import PressCount
from siaga.monitoring import MetricsRefused
from siaga.monitoring import router as monitoring_router
from siaga.noop import router as noop_router
from siaga.notify.router import router as consent_router
from siaga.partners.router import router as partners_router
from siaga.realtime.router import router as realtime_router
from siaga.reports.router import router as reports_router
from siaga.responders.router import router as responders_router
from siaga.runtime import Runtime
from siaga.schemas import error_responses
from siaga.sms.router import router as sms_router
from siaga.text import clean_text
from siaga.trackers.router import osmand_router
from siaga.trackers.router import router as trackers_router
from siaga.web.assets import StaticAssets
from siaga.web.router import IMPORT_MAP, STATIC, WebConfig, web_config
from siaga.web.router import router as web_router
from siaga.webhooks.router import router as webhooks_router

log = logging.getLogger("siaga.app")


# The one place a domain error becomes an HTTP status, keyed by the error's class. A class not listed answers as the
# nearest listed class it derives from (NotVisible as NotFound, InvalidNIK as Invalid, the alert state machine's
# kinds as Conflict, Forbidden or Invalid). The routers' ``error_responses(...)`` document these statuses.
HTTP_STATUS: Mapping[type, int] = {
    SiagaError: 400,
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    MetricsRefused: 403,  # a scraper refused, not a person: no audit record (see deps.is_refusal)
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    TooManyRequests: 429,
    Unavailable: 503,
    # A command the alert's state does not allow. Its kinds TransitionConflict and NotAllowed name Conflict and
    # Forbidden first among their bases, so they answer 409 and 403.
    TransitionError: 422,
}


# Every router, in the order a request's path is matched against them. FastAPI tries a request's path against each
# route in turn (about 3 µs a route on the 2-core reference machine), so the routes that take the most requests come
# first: residents' and devices' SOS presses (with the no-op baseline beside them, so that it measures what a press's
# matching costs), officers' and trackers' positions, and the streams. No route shadows another whatever the order
# (``tests/unit/test_route_order.py`` checks that each route is the first to match its own path).
ROUTERS: tuple[tuple[APIRouter, str], ...] = (
    (alerts_router, "/api/v1"),  # POST /alerts: the SOS press, its first route
    (noop_router, "/api/v1"),
    (responders_router, "/api/v1"),  # officers' positions and duty
    (gateway_router, "/api/v1"),  # device gateways' presses, with an API key (alerts:raise)
    (osmand_router, ""),  # /osmand: where GPS trackers and Traccar Client report (see the README)
    (realtime_router, "/api/v1"),  # the streams
    (login_router, "/api/v1"),  # staff logins: password, second factor, logout
    (accounts_router, "/api/v1"),
    (agencies_router, "/api/v1"),
    (audit_router, "/api/v1"),
    (dispatch_router, "/api/v1"),
    (reports_router, "/api/v1"),
    (exercise_router, "/api/v1"),
    (devices_router, "/api/v1"),
    (sms_router, "/api/v1"),  # the SMS provider's signed webhook
    (trackers_router, "/api/v1"),
    (webhooks_router, "/api/v1"),  # integrators' signed webhooks (administrators)
    (cap_router, "/api/v1"),  # CAP 1.2 messages and their Atom feed
    (partners_router, "/api/v1"),  # partner centres: EIDO handovers both ways
    (monitoring_router, ""),  # /livez, /readyz, /metrics
)


def http_status(error: SiagaError) -> int:
    """The status ``error`` answers with: that of the first class of its MRO the table lists."""
    return next(HTTP_STATUS[cls] for cls in type(error).__mro__ if cls in HTTP_STATUS)


def error_json(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": details or {}}}, status_code=status)


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    """Build a Siaga application. Everything it uses is made here, from ``settings``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime.build(settings)
        app.state.runtime = rt
        await rt.start()
        try:
            yield
        finally:
            await rt.stop()
            if runtime is None:
                await rt.close()

    app = FastAPI(
        title="Siaga",
        version=__version__,
        summary="SOS panic button and dispatch for police and city command centres",
        lifespan=lifespan,
        responses=error_responses(422),
        openapi_url="/openapi.json" if settings.serves_api_schema else None,
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN: nothing here may
        redoc_url=None,
    )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        per_path={("POST", "/api/v1/jurisdictions/import"): settings.max_import_bytes},
    )
    app.add_middleware(CleanURL)
    app.add_middleware(SecurityHeaders, headers=security_headers(settings))
    app.add_middleware(PressCount)  # outside the body limit: a press refused for its size is counted too
    app.add_middleware(RequestLog)  # outside the body limit: a refused body is logged too
    app.add_middleware(CompressedAPI)  # outermost: the counters and the log above read the answer as it was made
    _install_error_handlers(app)
    for router, prefix in ROUTERS:
        app.include_router(router, prefix=prefix)

    @app.get("/api/v1/config/web", tags=["operations"])
    async def config_for_web_apps(runtime: RuntimeDep) -> WebConfig:
        """Map tiles, the map's centre, languages and the Web Push key: what the apps read before logging in."""
        return web_config(runtime)

    @app.get("/healthz", tags=["operations"], responses={503: {"description": "The database does not answer"}})
    async def healthz(runtime: RuntimeDep) -> JSONResponse:
        """Liveness and readiness: the database answers a query."""
        try:
            async with runtime.read_sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means "not ready"
            log.exception("health check failed")
            return error_json(503, "health.database", f"database unavailable: {type(exc).__name__}")
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})

    app.include_router(consent_router)  # /k/<code>: an emergency contact agrees or declines
    # Last: the pages' catch-all routes must not shadow the API's.
    app.mount("/static", StaticAssets(directory=STATIC), name="static")
    app.include_router(web_router)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SiagaError)
    async def siaga_error(request: Request, exc: SiagaError) -> JSONResponse:
        response = error_json(http_status(exc), exc.code, exc.message, exc.details)
        if is_refusal(exc):
            # Recorded once the answer is sent: a 404 hiding another's alert takes as long as one for a missing id.
            response.background = BackgroundTask(record_refusal, request, exc)
        if "retry_after" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in err["loc"][1:]) or "body",
                "problem": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors()
        ]
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            return error_json(400, "request.malformed_json", "the body is not valid JSON", {"problems": problems})
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
        return error_json(422, "request.invalid", f"invalid input: {summary}", {"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "request.too_large"}
        response = error_json(exc.status_code, codes.get(exc.status_code, f"http_{exc.status_code}"), str(exc.detail))
        response.headers.update(exc.headers or {})  # e.g. Allow on a 405
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_json(500, "internal_error", "something went wrong on the server; it has been logged")


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries. The Content-Security-Policy lets a page run only Siaga's own scripts (and
    its import map, by hash), so text that slips into the page as HTML cannot run; no page may be framed."""
    import_map = base64.b64encode(hashlib.sha256(IMPORT_MAP.encode()).digest()).decode()
    tiles = urlsplit(settings.map_tile_url)
    tile_origin = f" {tiles.scheme}://{tiles.netloc}" if tiles.scheme and tiles.netloc else ""
    policy = "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'sha256-{import_map}'",
            "style-src 'self' 'unsafe-inline'",  # Leaflet positions its panes with style attributes
            f"img-src 'self' data: blob:{tile_origin}",
            "connect-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    headers = [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if settings.hsts_seconds:
        headers.append((b"strict-transport-security", f"max-age={settings.hsts_seconds}".encode()))
    return headers


class CompressedAPI:
    """The API's large answers (lists, reports, CSV exports) gzip-compressed for a client that accepts it, with
    ``Vary: Accept-Encoding``, by Starlette's GZipMiddleware. Only answers sent in one part: a streamed answer (an
    event stream, a long export) passes as it is, each part reaching the client when it is sent, not when a
    compressor's buffer fills. WebSockets pass untouched; pages and static files are ``web.assets``' own (compressed
    once per version)."""

    MINIMUM_SIZE = 1024  # bytes: below this gzip's framing and a header cost about what they save
    LEVEL = 6  # zlib's default: nearly all of level 9's gain on JSON for a fraction of the CPU

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        decided = False

        async def one_part_or_streamed(message: Message) -> None:
            nonlocal start, decided
            if decided:
                await send(message)
            elif message["type"] == "http.response.start":
                start = message  # held until the body's first part says whether the answer comes in one part
            else:
                decided = True
                whole = message["type"] == "http.response.body" and not message.get("more_body", False)
                if whole and start is not None and len(message.get("body", b"")) >= self.MINIMUM_SIZE:
                    gzip = GZipMiddleware(_replay(start, message), self.MINIMUM_SIZE, compresslevel=self.LEVEL)
                    await gzip(scope, receive, send)
                    return
                if start is not None:
                    await send(start)
                await send(message)

        await self.app(scope, receive, one_part_or_streamed)


def _replay(*messages: Message) -> ASGIApp:
    """An ASGI app that sends ``messages``: an answer already made, given to a middleware as if it were being made."""

    async def replay(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    return replay


class SecurityHeaders:
    """Add ``headers`` to every HTTP answer (pages, files and the API alike)."""

    def __init__(self, app: ASGIApp, *, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)


# A percent-escaped control character other than tab and line breaks (what ``siaga.text`` removes from text).
_ESCAPED_CONTROL = re.compile(rb"%(?:0[0-8BbCcEeFf]|1[0-9A-Fa-f]|7[Ff])")


class CleanURL:
    """Text in a URL is cleaned as text in a body is (``siaga.text``): a NUL byte in a search or a path answers as if
    it were not there, never a 500 from a database that cannot compare it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            query: bytes = scope.get("query_string", b"")
            path: str = scope["path"]
            cleaned_path = clean_text(path)
            if cleaned_path != path or _ESCAPED_CONTROL.search(query):
                scope = dict(scope)
                scope["path"] = cleaned_path
                scope["raw_path"] = quote(cleaned_path).encode()
                pairs = parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True, errors="replace")
                scope["query_string"] = urlencode([(clean_text(k), clean_text(v)) for k, v in pairs]).encode()
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse bodies over the limit with a 413, whether or not the client declared a length.

    The limit is ``max_bytes`` everywhere but on the few (method, path) pairs of ``per_path``, which take files (the
    admin's kecamatan GeoJSON): those have their own limit, and no other route gains from it.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, per_path: Mapping[tuple[str, str], int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get((scope["method"], scope["path"]), self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = error_json(
                413, "request.too_large", f"the body is larger than the limit of {limit} bytes", {"limit_bytes": limit}
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException passes through FastAPI's body parsing to the handler above as a 413.
                    raise HTTPException(413, f"the body is larger than the limit of {limit} bytes")
            return message

        await self.app(scope, limited_receive, send)
