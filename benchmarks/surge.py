"""The surge scenario: a mass event's presses onto a database that already holds thousands of open alerts.

Per database, two runs on fresh databases, the same in all but the open alerts already there: ``empty`` (none) and
``surge`` (``BENCH_SURGE_OPEN``, 10,000, spread over every Polsek's kecamatan, their direct offers due at once as
after the presses that made them). Every Polsek makes direct offers, ``BENCH_SURGE_OFFICERS`` (200) officers are on
duty across the city and ``BENCH_SURGE_CONSOLES`` (20) consoles are connected. The server first works off the offers
already due, then is measured at rest (nothing arriving), then takes ``BENCH_SURGE_PRESSES`` (10,000) presses in
``BENCH_SURGE_SECONDS`` (60) from as many residents, then is measured at rest again.

Reported for each run: press latency and press-to-console latency (p50, p99, max), deliveries missing (every
console should see every stored press), the server's CPU at rest before and after and during the presses, and its
peak memory; each surge figure beside the empty run's as a ratio. ``python -m benchmarks.surge`` runs only this.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from benchmarks import population, server
from benchmarks.consoles import Consoles
from benchmarks.httpload import Generator, Workload, parse_alert_id, process_cpu_seconds, wait_for_quiet
from benchmarks.run import (
    Config,
    _env_float,
    _env_int,
    _git,
    _loadavg,
    _scratch,
    _stored_alert_ids,
    say,
    settle,
)
from siaga.agencies.models import Agency
from siaga.alerts.models import Alert
from siaga.db import create_engine, session_factory, transaction, utcnow

STEP_ID = 0x9000


@dataclass
class SurgeConfig:
    """The surge's scale (``BENCH_QUICK=1``: a smoke run of a few minutes)."""

    base: Config
    open_alerts: int
    presses: int
    seconds: float
    consoles: int
    officers: int
    rest_s: float
    backlog_limit_s: float

    @classmethod
    def from_env(cls, base: Config) -> SurgeConfig:
        quick = base.quick
        return cls(
            base=base,
            open_alerts=_env_int("BENCH_SURGE_OPEN", 1_000 if quick else 10_000),
            presses=_env_int("BENCH_SURGE_PRESSES", 300 if quick else 10_000),
            seconds=_env_float("BENCH_SURGE_SECONDS", 10 if quick else 60),
            consoles=_env_int("BENCH_SURGE_CONSOLES", 5 if quick else 20),
            officers=_env_int("BENCH_SURGE_OFFICERS", 20 if quick else 200),
            rest_s=_env_float("BENCH_SURGE_REST_S", 5 if quick else 20),
            backlog_limit_s=_env_float("BENCH_SURGE_BACKLOG_S", 120 if quick else 600),
        )

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "base"}


async def _prepare(database: server.Database, open_alerts: int) -> None:
    """Direct offers in every agency; ``open_alerts`` open alerts shared among the Polsek, offers due."""
    engine = create_engine(database.url)
    try:
        async with transaction(session_factory(engine)) as session:
            await session.execute(update(Agency).values(direct_offers=True))
            polsek = list((await session.scalars(select(Agency.code).where(Agency.kind == "polsek"))).all())
            for n, code in enumerate(sorted(polsek)):
                share = open_alerts // len(polsek) + (1 if n < open_alerts % len(polsek) else 0)
                if share:
                    await population.insert_open_alerts(session, share, agency_code=code, offer_due=True, seed=n)
    finally:
        await engine.dispose()


async def _offers_due(database: server.Database) -> int:
    engine = create_engine(database.url)
    try:
        async with engine.connect() as connection:
            due = select(func.count()).select_from(Alert).where(Alert.offer_due_at <= utcnow())
            return int(await connection.scalar(due) or 0)
    finally:
        await engine.dispose()


def _work_off_due_offers(database: server.Database, limit_s: float) -> float:
    """Seconds until no alert's offer is overdue (the server has offered every alert once), at most ``limit_s``."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s and asyncio.run(_offers_due(database)) > 0:
        time.sleep(1.0)
    return round(time.monotonic() - began, 1)


def _stored_presses(database: server.Database, run_tag: int) -> int:
    """The surge's presses in the database (a press the generator gave up on may still have been stored)."""
    ids = asyncio.run(_stored_alert_ids(database))
    return sum(1 for i in ids if (parse_alert_id(i) or (None, None, None))[:2] == (run_tag, STEP_ID))


def _cpu_at_rest(srv: server.Server, seconds: float) -> float | None:
    """Cores the server uses over ``seconds`` with nothing arriving (connected consoles get their heartbeats)."""
    before, began = process_cpu_seconds(srv.pid), time.monotonic()
    time.sleep(seconds)
    after = process_cpu_seconds(srv.pid)
    if before is None or after is None:
        return None
    return round((after - before) / (time.monotonic() - began), 4)


def one_run(kind: str, config: SurgeConfig, *, open_alerts: int, run_tag: int) -> dict[str, Any]:
    """One database of ``kind`` with ``open_alerts`` open already: at rest, the presses, at rest again."""
    base = config.base
    with _scratch(kind, officers=config.officers) as (database, _):
        asyncio.run(_prepare(database, open_alerts))
        srv = server.start(database, name=f"server-surge-{open_alerts}")
        try:
            residents = asyncio.run(population.seed_residents(database, config.presses))
            backlog_s = _work_off_due_offers(database, config.backlog_limit_s)
            say(f"{kind}, {open_alerts} open: the offers already due worked off in {backlog_s} s")
            operators = asyncio.run(population.operators(srv.url, config.consoles))
            consoles = Consoles(srv.url, operators, run_tag=run_tag, processes=base.console_processes)
            generator = Generator(srv.url, processes=base.generator_processes)
            try:
                settle(srv)
                rest_before = _cpu_at_rest(srv, config.rest_s)
                srv.reset_peak()
                rate = config.presses / config.seconds
                sos = Workload("sos", "/api/v1/alerts", 201, tuple(residents), run_tag=run_tag)
                wait_for_quiet()
                t0 = time.monotonic() + 1.0
                consoles.arm(STEP_ID, t0, rate)
                step = generator.step(sos, rate, config.seconds, server_pid=srv.pid, step_id=STEP_ID, t0=t0)
                # Every stored press counts, answered in time or not: the consoles must hear of each.
                stored = _stored_presses(database, run_tag)
                seen = consoles.collect(STEP_ID, stored=stored, grace_s=30.0)
                peak = srv.peak_rss_mb()
                settle(srv)
                _work_off_due_offers(database, config.backlog_limit_s)
                rest_after = _cpu_at_rest(srv, config.rest_s)
            finally:
                generator.close()
                consoles.close()
        finally:
            srv.stop()
    expected = stored * consoles.connected
    result = {
        "open_alerts": open_alerts,
        "backlog_s": backlog_s,
        "consoles_connected": consoles.connected,
        "press": step.as_json(),
        "presses_stored": stored,
        "console_latency_ms": seen["latency_ms"],
        "deliveries_expected": expected,
        "deliveries_missing": expected - seen["received"],
        "too_slow_closes": seen["too_slow_closes"],
        "cpu_at_rest_before": rest_before,
        "cpu_at_rest_after": rest_after,
        "cpu_during_presses": None if step.server_cpu is None else round(step.server_cpu, 3),
        "cpu_per_press_ms": round(1000 * step.server_cpu * config.seconds / step.ok, 3)
        if step.server_cpu is not None and step.ok
        else None,
        "peak_memory_mb": peak,
    }
    latency, console = step.latency_ms, seen["latency_ms"]
    say(
        f"  {kind}, {open_alerts} open: press p50 {latency['p50']} / p99 {latency['p99']} / max {latency['max']} ms; "
        f"to console p50 {console['p50']} / p99 {console['p99']} / max {console['max']} ms; "
        f"{result['deliveries_missing']} of {expected} deliveries missing; at rest {rest_before} then {rest_after} "
        f"cores; {result['cpu_during_presses']} cores during the presses; peak {peak} MB"
    )
    return result


def run(config: SurgeConfig) -> dict[str, Any]:
    """The surge and its empty baseline on every database (PostgreSQL skipped if unreachable)."""
    results: dict[str, Any] = {}
    run_tag = random.getrandbits(32)
    for kind in config.base.databases:
        if kind == "postgres" and asyncio.run(server.postgres_problem()) is not None:
            say("postgres: surge skipped, unreachable")
            continue
        say(
            f"{kind}: surge, {config.presses} presses in {config.seconds:.0f} s onto 0 and then {config.open_alerts} "
            f"open alerts; {config.consoles} consoles, {config.officers} officers on duty, direct offers on"
        )
        empty = one_run(kind, config, open_alerts=0, run_tag=run_tag)
        surge = one_run(kind, config, open_alerts=config.open_alerts, run_tag=run_tag ^ 1)
        results[kind] = {"empty": empty, "surge": surge}
    return results


# Figures, each with the same run's empty-database figure and the ratio ----------------------------------------------
FIGURES: list[tuple[str, Any]] = [
    ("press p50 (ms)", lambda r: r["press"]["latency_ms"]["p50"]),
    ("press p99 (ms)", lambda r: r["press"]["latency_ms"]["p99"]),
    ("press max (ms)", lambda r: r["press"]["latency_ms"]["max"]),
    ("press to console p50 (ms)", lambda r: r["console_latency_ms"]["p50"]),
    ("press to console p99 (ms)", lambda r: r["console_latency_ms"]["p99"]),
    ("press to console max (ms)", lambda r: r["console_latency_ms"]["max"]),
    ("deliveries missing", lambda r: r["deliveries_missing"]),
    ("server CPU at rest before (cores)", lambda r: r["cpu_at_rest_before"]),
    ("server CPU at rest after (cores)", lambda r: r["cpu_at_rest_after"]),
    ("server CPU per press (ms)", lambda r: r["cpu_per_press_ms"]),
    ("peak memory (MB)", lambda r: r["peak_memory_mb"]),
]


def _ratio(surge: Any, empty: Any) -> str:
    if not isinstance(surge, int | float) or not isinstance(empty, int | float) or not empty:
        return "-"
    return f"{surge / empty:.2f}x"


def markdown(results: dict[str, Any], config: SurgeConfig) -> str:
    lines = [
        f"### Surge: {config.presses:,} presses in {config.seconds:.0f} s onto {config.open_alerts:,} open alerts",
        "",
        f"{config.consoles} consoles and {config.officers} officers on duty, direct offers on; each figure beside the "
        "same run's on an empty database.",
        "",
    ]
    for kind, runs in results.items():
        lines += [f"| {kind} | empty | {config.open_alerts:,} open | ratio |", "| --- | --- | --- | --- |"]
        for label, figure in FIGURES:
            empty, surge = figure(runs["empty"]), figure(runs["surge"])
            lines.append(f"| {label} | {empty} | {surge} | {_ratio(surge, empty)} |")
        lines.append("")
    return "\n".join(lines)


def at_rest(kind: str, open_alerts: int, *, seconds: float, backlog_limit_s: float) -> dict[str, Any]:
    """The server's CPU at rest with ``open_alerts`` open (direct offers on, nobody on duty, no console), once the
    offers already due are worked off: what open alerts cost when nothing happens."""
    with _scratch(kind, officers=0) as (database, _):
        asyncio.run(_prepare(database, open_alerts))
        srv = server.start(database, name=f"server-rest-{open_alerts}")
        try:
            backlog_s = _work_off_due_offers(database, backlog_limit_s)
            settle(srv)
            cpu = _cpu_at_rest(srv, seconds)
        finally:
            srv.stop()
    say(f"  {kind}, {open_alerts} open, nobody on duty: {cpu} cores at rest (offers worked off in {backlog_s} s)")
    return {"open_alerts": open_alerts, "cpu_at_rest": cpu, "backlog_s": backlog_s}


def rest_only() -> int:
    """``python -m benchmarks.surge rest``: CPU at rest with none and with ``BENCH_SURGE_OPEN`` open alerts."""
    base = Config.from_env()
    config = SurgeConfig.from_env(base)
    results = {
        kind: [
            at_rest(kind, n, seconds=config.rest_s, backlog_limit_s=config.backlog_limit_s)
            for n in (0, config.open_alerts)
        ]
        for kind in base.databases
    }
    print(json.dumps(results, indent=1), flush=True)
    return 0


def main() -> int:
    if sys.argv[1:] == ["rest"]:
        return rest_only()
    base = Config.from_env()
    config = SurgeConfig.from_env(base)
    results = {
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": os.environ.get("BENCH_COMMIT") or _git("rev-parse", "--short", "HEAD"),
            "quick": base.quick,
            "config": config.as_json(),
            "loadavg_before": _loadavg(),
        },
        "databases": run(config),
    }
    results["meta"]["loadavg_after"] = _loadavg()
    folder = Path(os.environ.get("BENCH_RESULTS", base.results))
    folder.mkdir(parents=True, exist_ok=True)
    text = markdown(results["databases"], config)
    (folder / "surge.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    (folder / "surge.md").write_text(text + "\n")
    print(text, flush=True)
    say(f"results: {folder / 'surge.json'}, {folder / 'surge.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
