"""What a running Siaga counts, as Prometheus instruments (prometheus-client).

The instruments live in prometheus-client's default registry, one set per process: each ``siaga serve`` process is
its own scrape target (see ``siaga.monitoring``). Code on the SOS path only increments a counter or observes a
histogram here: a dictionary look-up and an addition under a lock, never I/O. Figures that need the database (alerts
open, officers on duty) are read when Prometheus scrapes, in ``siaga.monitoring``.

This module imports nothing of Siaga's, so any module may count through it.
"""

from __future__ import annotations

import json

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PRESS_PATH = "/api/v1/alerts"

# A ``_created`` series beside every counter and histogram doubles each scrape and tells nothing Siaga's
# dashboards use (Prometheus notices restarts from the counters themselves).
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds: from a millisecond (an idle SQLite commit) to half a minute (an overloaded or stalled writer).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

PRESSES_RECEIVED = Counter("siaga_sos_presses_received", "SOS presses that reached this process (POST /api/v1/alerts)")
PRESSES_STORED = Counter(
    "siaga_sos_presses_stored",
    "SOS presses answered 2xx: durably stored (201: a new alert; 200: a retry or a press joining an active alert)",
)
PRESSES_REFUSED = Counter(
    "siaga_sos_presses_refused",
    "SOS presses answered with an error, by the error's code (e.g. auth.required, request.invalid, internal_error)",
    ["reason"],
)
PRESS_TO_COMMIT = Histogram(
    "siaga_sos_press_to_commit_seconds",
    "From a press reaching the server to the commit of the batch that stored it",
    buckets=_LATENCY_BUCKETS,
)
COMMIT_TO_CONSOLE = Histogram(
    "siaga_sos_commit_to_console_seconds",
    "From a timeline event's commit to its hand-over to a console's stream (live events, not catch-up)",
    buckets=_LATENCY_BUCKETS,
)
WRITER_BATCH = Histogram(
    "siaga_sos_writer_batch_size",
    "Presses the SOS writer stored in one transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),
)
STREAMS_OPEN = Gauge("siaga_streams_open", "WebSocket streams open on this process, by kind", ["kind"])
HUB_PUBLISH_FAILURES = Counter(
    "siaga_hub_publish_failures", "Messages the event hub could not publish (its backend did not take them in time)"
)
HUB_LAGGED = Counter(
    "siaga_hub_lagged",
    "Times a hub subscriber may have missed messages and re-read the database, by cause (overflow: it fell behind; "
    "reconnect: the hub lost its backend connection)",
    ["cause"],
)
HUB_PROBE = Histogram(
    "siaga_hub_probe_seconds",
    "Round trip of the hub's end-to-end probe through its backend (Redis or PostgreSQL)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DELIVERIES = Counter(
    "siaga_delivery_attempts",
    "SMS and Web Push delivery attempts, by channel and outcome (sent, failed, gone: the phone unsubscribed)",
    ["channel", "outcome"],
)
POSITION_UPDATES = Counter(
    "siaga_position_updates",
    "Position updates answered over HTTP (officers' and residents' phones), by status; the access log leaves out "
    "those that succeed",
    ["status"],
)

TRACKER_REPORTS = Counter(
    "siaga_tracker_reports",
    "OsmAnd reports from GPS trackers and Traccar Client, by outcome (position: a unit moved, or a resident's open "
    "alert followed; sos: an SOS raised or found raised; off_duty: a unit's position not kept; not_kept: a resident's "
    "position with no alert open; unknown: a device id nobody registered; disabled: a disabled tracker; invalid: no "
    "device id, no position or a malformed value)",
    ["outcome"],
)

for _kind in ("console", "officer", "resident"):
    STREAMS_OPEN.labels(_kind)  # every kind is reported, at 0 before its first stream
for _cause in ("overflow", "reconnect"):
    HUB_LAGGED.labels(_cause)
for _outcome in ("position", "sos", "off_duty", "not_kept", "unknown", "disabled", "invalid"):
    TRACKER_REPORTS.labels(_outcome)
for _channel in ("sms", "push"):
    for _outcome in ("sent", "failed", "gone"):
        DELIVERIES.labels(_channel, _outcome)


class PressCount:
    """Count SOS presses as their clients saw them: received, stored (answered 2xx), or refused with the error's
    code. An ASGI middleware outside the body limit, so a press refused for its size is counted too; it reads an
    answer's body only when the answer is an error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PRESS_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        PRESSES_RECEIVED.inc()
        status = 0
        error = bytearray()

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if status < 400:
                    PRESSES_STORED.inc()
            elif status >= 400 and message["type"] == "http.response.body":
                error.extend(message.get("body", b"")[:4096])
                if not message.get("more_body"):
                    PRESSES_REFUSED.labels(_error_code(status, bytes(error))).inc()
            await send(message)

        try:
            await self.app(scope, receive, counted)
        except Exception:
            if status == 0:
                PRESSES_REFUSED.labels("internal_error").inc()  # answered 500 by the error handler outside
            raise


def _error_code(status: int, body: bytes) -> str:
    """The ``error.code`` of Siaga's error answer (a fixed set, so a label of bounded cardinality)."""
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return f"http_{status}"
    return code if isinstance(code, str) and len(code) <= 64 else f"http_{status}"
