"""Structured JSON logs on stderr: one object per line, with whatever ``extra`` fields a call passed, and the access
log: one record per HTTP request, each request with an id (``X-Request-ID``) that every record logged while serving
it carries."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from siaga import metrics

REQUEST_ID: ContextVar[str] = ContextVar("siaga_request_id", default="")
"""The id of the request being served (empty outside a request)."""

# An id a client or proxy sends is kept if it looks like one (a UUID, a trace id); anything else is replaced.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")
# Phones send their positions every few seconds: a line for each would drown the log. Counted, logged if refused.
_POSITION_UPDATE = re.compile(r"/api/v1/(?:officers/me/location|alerts/[^/]+/locations)")

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class RequestContext(logging.Filter):
    """Give every record logged while a request is served that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


class RedactTokens(logging.Filter):
    """Browsers pass a stream's session token in the URL; uvicorn logs WebSocket URLs. Keep tokens out of logs."""

    _pattern = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg, record.args = self._pattern.sub(r"\1***", message), ()
        return True


def configure(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Route Siaga's and uvicorn's logs through one handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactTokens())
    handler.addFilter(RequestContext())
    handler.setFormatter(JSONFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # Siaga logs each request itself


class RequestLog:
    """One ``siaga.http`` log record per HTTP request: method, path, status, milliseconds, client and request id.

    The request id is the ``X-Request-ID`` the client (or the proxy in front) sent, or a new one; the answer carries
    it back, and every record logged while serving the request carries it too. Position updates that succeed are
    counted (``siaga_position_updates_total``) and logged at DEBUG only.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` runs every request in a task group of its own, a cost
    each SOS press paid for a log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("siaga.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send, request_id)
            else:
                await self.app(scope, receive, send)
        finally:
            REQUEST_ID.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        start = time.perf_counter()
        status = 500  # if the app fails before it answers, the error handler outside this answers 500
        header = (b"x-request-id", request_id.encode())

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, status_send)
        finally:
            path: str = scope["path"]
            quiet = False
            if _POSITION_UPDATE.fullmatch(path):
                metrics.POSITION_UPDATES.labels(str(status)).inc()
                quiet = status < 400
            client = scope.get("client")
            self.log.log(
                logging.DEBUG if quiet else logging.INFO,
                "request",
                extra={
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "ms": round((time.perf_counter() - start) * 1000, 2),
                    "client": client[0] if client else "",
                    "request_id": request_id,
                },
            )


def _request_id(scope: Scope) -> str:
    value: bytes
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if _REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex
