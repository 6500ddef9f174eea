"""``/metrics`` (Prometheus), ``/livez`` and ``/readyz``.

Each ``siaga serve`` process answers its own ``/metrics``: Prometheus scrapes every process as a target of its own
(the ``instance`` label tells them apart) and sums across them. prometheus-client's multiprocess mode is for workers
forked behind one port; Siaga's processes each have their own port, so nothing needs a shared directory of memory-mapped
files, and the SOS path increments an in-memory counter. Figures read from the database (alerts open, officers on duty,
the oldest overdue timer) are the same from every process: aggregate them with ``max``, not ``sum``. They are read at
most once per ``FIGURES_TTL_S`` however many scrapers ask.

``/metrics`` answers only clients in ``SIAGA_METRICS_ALLOW`` (loopback by default), and only with the bearer token
``SIAGA_METRICS_TOKEN`` when one is set. ``/livez`` and ``/readyz`` answer anyone: they reveal no more than whether
each part works.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import ip_address

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from sqlalchemy.pool import QueuePool

from siaga import __version__
from siaga.agencies.models import Agency
from siaga.alerts.domain import ACTIVE_STATES
from siaga.alerts.models import Alert
from siaga.db import utcnow
from siaga.deps import RuntimeDep
from siaga.errors import SiagaError
from siaga.health import Check, Readiness
from siaga.responders.models import DutyPeriod, Unit
from siaga.runtime import Runtime

log = logging.getLogger("siaga.monitoring")

router = APIRouter(tags=["operations"])

FIGURES_TTL_S = 5.0
FIGURES_TIMEOUT_S = 5.0


class MetricsRefused(SiagaError):
    """Not a person's refusal (no audit record: a misconfigured scraper asks every few seconds)."""

    default_code = "metrics.forbidden"


@router.get("/livez", responses={200: {"description": "The process runs and its event loop answers"}})
async def livez() -> dict[str, str]:
    """Liveness: the process answers. Restart it if this fails."""
    return {"status": "alive", "version": __version__}


@router.get("/readyz", responses={503: {"description": "A part of the process does not work; the body says which"}})
async def readyz(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Readiness: the database, the event hub, the SOS writer and the timer sweep, each with its age (seconds since
    it last proved it works). 503 if any of them fails, or while the process starts or stops."""
    checks = await _readiness(request, runtime).checks()
    ready = runtime.started and all(c.ok for c in checks)
    body = {
        "status": "ready" if ready else "not_ready",
        "version": __version__,
        "checks": {c.name: {"ok": c.ok, "age_s": c.age_s, "detail": c.detail} for c in checks},
    }
    if not runtime.started:
        body["detail"] = "the process is starting or stopping"
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus text format: this process's counters and histograms, then figures read at scrape time."""
    _require_scraper(request, runtime)
    figures = await _figures(request, runtime)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(figures))
    return Response(generate_latest(REGISTRY) + generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _require_scraper(request: Request, runtime: Runtime) -> None:
    settings = runtime.settings
    token = settings.metrics_token.get_secret_value()
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise MetricsRefused("metrics need the scrape token (Authorization: Bearer ...)")
    client = request.client.host if request.client else ""
    try:
        address = ip_address(client)
    except ValueError:
        address = None
    if address is None or not any(address in network for network in settings.metrics_networks):
        raise MetricsRefused("metrics are served to the monitoring networks only (SIAGA_METRICS_ALLOW)")


def _readiness(request: Request, runtime: Runtime) -> Readiness:
    state = request.app.state
    readiness: Readiness | None = getattr(state, "readiness", None)
    if readiness is None or readiness.runtime is not runtime:
        readiness = state.readiness = Readiness(runtime)
    return readiness


class _Families:
    """A collector of metric families built beforehand (prometheus-client collects synchronously)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


@dataclass
class _Cache:
    at: float = -1e9
    families: list[Metric] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


async def _figures(request: Request, runtime: Runtime) -> list[Metric]:
    """What this process sees now (readiness, the writer, the pool), and the database's figures (cached)."""
    families = _checks_families(await _readiness(request, runtime).checks())
    families.extend(_process_families(runtime))
    cache: _Cache | None = getattr(request.app.state, "metrics_cache", None)
    if cache is None:
        cache = request.app.state.metrics_cache = _Cache()
    async with cache.lock:  # several scrapers at once: one of them reads the database
        if time.monotonic() - cache.at > FIGURES_TTL_S:
            try:
                async with asyncio.timeout(FIGURES_TIMEOUT_S):
                    cache.families = await _database_families(runtime)
            except Exception:  # the scrape still answers; siaga_ready{check="database"} says what is wrong
                log.warning("metrics: the database figures could not be read", exc_info=True)
                cache.families = []
            cache.at = time.monotonic()
    return [*families, *cache.families]


def _checks_families(checks: Iterable[Check]) -> list[Metric]:
    ready = GaugeMetricFamily("siaga_ready", "1 if this part of the process works (see /readyz)", labels=["check"])
    age = GaugeMetricFamily(
        "siaga_check_age_seconds", "Seconds since this part last proved it works (see /readyz)", labels=["check"]
    )
    for check in checks:
        ready.add_metric([check.name], 1.0 if check.ok else 0.0)
        age.add_metric([check.name], check.age_s)
    return [ready, age]


def _process_families(runtime: Runtime) -> list[Metric]:
    families: list[Metric] = [
        GaugeMetricFamily(
            "siaga_sos_writer_waiting", "SOS presses queued for the writer's next batch", value=runtime.ingest.waiting
        ),
        GaugeMetricFamily(
            "siaga_timer_sweep_last_duration_seconds",
            "How long the timer sweep's last round took",
            value=runtime.timers.loop.last_duration,
        ),
    ]
    pool = runtime.engine.pool
    if isinstance(pool, QueuePool):
        connections = GaugeMetricFamily(
            "siaga_db_pool_connections", "This process's database connections, by state", labels=["state"]
        )
        connections.add_metric(["checked_out"], pool.checkedout())
        connections.add_metric(["idle"], pool.checkedin())
        families.append(connections)
        families.append(
            GaugeMetricFamily("siaga_db_pool_size", "Connections the pool keeps (more may overflow)", value=pool.size())
        )
    return families


async def _database_families(runtime: Runtime) -> list[Metric]:
    async with runtime.read_sessions() as session:
        open_rows = (
            await session.execute(
                select(Agency.code, Alert.state, Alert.is_exercise, func.count())
                .join(Agency, Agency.id == Alert.agency_id)
                .where(Alert.state.in_([s.value for s in ACTIVE_STATES]))
                .group_by(Agency.code, Alert.state, Alert.is_exercise)
            )
        ).all()
        duty_rows = (
            await session.execute(
                select(Agency.code, func.count(func.distinct(DutyPeriod.staff_id)))
                .join(Unit, Unit.id == DutyPeriod.unit_id)
                .join(Agency, Agency.id == Unit.agency_id)
                .where(DutyPeriod.ended_at.is_(None))
                .group_by(Agency.code)
            )
        ).all()
        due = (
            await session.execute(
                select(func.min(Alert.offer_due_at), func.min(Alert.ack_due_at), func.min(Alert.dispatch_due_at))
            )
        ).one()
    alerts = GaugeMetricFamily(
        "siaga_alerts_open",
        "Active alerts by state and agency (from the database: the same from every process; aggregate with max)",
        labels=["agency", "state", "exercise"],
    )
    for agency, state, exercise, count in open_rows:
        alerts.add_metric([agency, state, "true" if exercise else "false"], count)
    duty = GaugeMetricFamily(
        "siaga_officers_on_duty",
        "Officers with an open duty period, by agency (from the database; aggregate with max)",
        labels=["agency"],
    )
    for agency, count in duty_rows:
        duty.add_metric([agency], count)
    oldest: datetime | None = min((d for d in due if d is not None), default=None)
    overdue = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0
    timers = GaugeMetricFamily(
        "siaga_timers_overdue_seconds",
        "How far past due the oldest timer still waiting is (offer, T1, T2): the timer sweep's lag; aggregate with max",
        value=overdue,
    )
    return [alerts, duty, timers]
