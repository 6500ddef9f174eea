"""The benchmark run: every scenario on every database, then JSON, Markdown and a chart in ``benchmarks/results``.

Per database: a scratch database is migrated and seeded with Bandung, its raw commit rate is measured, then a real
``siaga serve`` takes, in turn, the no-op endpoint and SOS ingest (step-up searches) and a durability check (the
server is killed with SIGKILL and every answered press is looked up). A second scratch database, seeded with the
on-duty officers too, gets a fresh server for press-to-console (the console WebSockets connected) and officers'
location updates (step-up), first one HTTP request per position, then with every officer's stream open
(``benchmarks.officerload``). Peak memory is read per scenario.
Recommendation is measured once, in-process. Settings come from ``BENCH_*`` variables (see ``Config``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from benchmarks import baselines, channels, nearest, population, report, server
from benchmarks.consoles import Consoles
from benchmarks.httpload import Generator, Workload, alert_id, wait_for_quiet
from benchmarks.officerload import OfficerStreams, StreamWorkload
from benchmarks.search import describe, step_up
from siaga.alerts.models import Alert
from siaga.db import create_engine
from siaga.responders.models import PositionRecord

ROOT = Path(__file__).resolve().parents[1]
STARTED = time.monotonic()


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _env_rates(name: str, default: list[float]) -> list[float]:
    raw = os.environ.get(name)
    return [float(r) for r in raw.split(",")] if raw else default


@dataclass
class Config:
    """Everything a run can be scaled by (``BENCH_QUICK=1`` for a smoke run of a minute or two)."""

    quick: bool
    databases: list[str]
    step_s: float
    ingest_rates: list[float]
    location_rates: list[float]
    stream_rates: list[float]
    console_rates: list[float]
    console_step_s: float
    officers: int
    consoles: int
    residents: int
    generator_processes: int
    stream_processes: int
    console_processes: int
    commit_seconds: float
    commit_writers: int
    nearest_units: list[int]
    nearest_queries: int
    slo_p99_ms: float = 50.0
    results: Path = field(default_factory=lambda: ROOT / "benchmarks" / "results")

    @classmethod
    def from_env(cls) -> Config:
        quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        ladder = [10.0, 25, 50, 100, 200, 400, 600, 800, 1000, 1300, 1600, 2000, 2500, 3200, 4000, 5000, 6500, 8000]
        results = Path(os.environ.get("BENCH_RESULTS", ROOT / "benchmarks" / "results" / ("quick" if quick else "")))
        return cls(
            quick=quick,
            databases=os.environ.get("BENCH_DATABASES", "sqlite,postgres").split(","),
            step_s=_env_float("BENCH_STEP_S", 1.5 if quick else 5.0),
            ingest_rates=_env_rates("BENCH_RATES", [10.0, 50, 200, 800] if quick else ladder),
            location_rates=_env_rates(
                "BENCH_LOCATION_RATES",
                [50.0, 200, 1000] if quick else [50.0, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 6500, 8000],
            ),
            stream_rates=_env_rates(
                "BENCH_STREAM_RATES",
                [200.0, 1000] if quick else [500.0, 1000, 2000, 3000, 4000, 5000, 6500, 8000, 10000],
            ),
            console_rates=_env_rates("BENCH_CONSOLE_RATES", [5.0, 20, 100] if quick else [10.0, 100, 500]),
            console_step_s=_env_float("BENCH_CONSOLE_STEP_S", 2.0 if quick else 5.0),
            officers=_env_int("BENCH_OFFICERS", 500 if quick else 10_000),
            consoles=_env_int("BENCH_CONSOLES", 10 if quick else 100),
            # One per press of the whole run: a resident's press while their alert is active joins it.
            residents=_env_int("BENCH_RESIDENTS", 5_000 if quick else 150_000),
            generator_processes=_env_int("BENCH_GEN_PROCS", 1),
            stream_processes=_env_int("BENCH_STREAM_PROCS", 1 if quick else 2),
            console_processes=_env_int("BENCH_CONSOLE_PROCS", 2),
            commit_seconds=_env_float("BENCH_COMMIT_S", 1.0 if quick else 3.0),
            commit_writers=_env_int("BENCH_COMMIT_WRITERS", 8),
            nearest_units=[1_000, 10_000] if quick else [1_000, 10_000, 100_000],
            nearest_queries=_env_int("BENCH_NEAREST_QUERIES", 500 if quick else 5_000),
            results=results,
        )


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", flush=True)


def _loadavg() -> list[float]:
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def _git(*args: str) -> str:
    command = ["git", *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


# Checks against the database --------------------------------------------------------------------------------------


async def _stored_alert_ids(database: server.Database) -> set[str]:
    engine = create_engine(database.url)
    try:
        async with engine.connect() as connection:
            return {str(i) for i in (await connection.scalars(select(Alert.id))).all()}
    finally:
        await engine.dispose()


async def _positions_written(database: server.Database) -> int:
    engine = create_engine(database.url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(PositionRecord)) or 0)
    finally:
        await engine.dispose()


def _written_since(database: server.Database, before: int, expected: int, *, limit_s: float = 60.0) -> int:
    """Positions written since ``before`` was counted, once ``expected`` are, or the count stops growing for a few
    seconds (the server writes in batches every half second, and a loaded server catches up after the load)."""
    deadline = time.monotonic() + limit_s
    written, still = -1, 0
    while time.monotonic() < deadline:
        now = asyncio.run(_positions_written(database)) - before
        still = still + 1 if now == written else 0
        written = now
        if written >= expected or still >= 6:
            break
        time.sleep(0.5)
    return written


# One database -----------------------------------------------------------------------------------------------------


def run_database(kind: str, config: Config) -> dict[str, Any]:
    """Two fresh databases of ``kind``: one for the baselines, ingest and the durability check; one, with the
    on-duty officers, for press-to-console and location updates (so consoles connect to a city with a normal
    number of open alerts, not the thousands the ingest steps leave unacknowledged)."""
    out: dict[str, Any] = {"database": kind, "memory_mb": {}}
    run_tag = random.getrandbits(32)
    with _scratch(kind, officers=0) as (database, _):
        say(f"{kind}: raw durable commit rate (1 and {config.commit_writers} writers)")
        out["commit_rate"] = baselines.commit_rates(
            database, seconds=config.commit_seconds, concurrent=config.commit_writers
        )
        say(f"  {out['commit_rate']}")
        _ingest_scenarios(database, config, out, run_tag)
    with _scratch(kind, officers=config.officers) as (database, officer_tokens):
        _live_scenarios(database, config, out, run_tag, officer_tokens)
    return out


@contextlib.contextmanager
def _scratch(kind: str, *, officers: int) -> Iterator[tuple[server.Database, list[str]]]:
    folder = Path(tempfile.mkdtemp(prefix=f"siaga-bench-{kind}-"))
    database = asyncio.run(server.create_database(kind, folder))
    try:
        say(f"{kind}: a fresh database, migrated, seeded with Bandung and {officers} on-duty officers (not measured)")
        server.siaga(database, "db", "upgrade")
        asyncio.run(population.seed_city(database))
        tokens = asyncio.run(population.seed_officers(database, officers))
        yield database, tokens
    finally:
        asyncio.run(server.drop_database(database))
        shutil.rmtree(folder, ignore_errors=True)


def _ingest_scenarios(database: server.Database, config: Config, out: dict[str, Any], run_tag: int) -> None:
    memory = out["memory_mb"]
    srv = server.start(database)
    memory["idle_after_start"] = srv.peak_rss_mb()
    say(f"{database.kind}: server pid {srv.pid} at {srv.url}, {memory['idle_after_start']} MB at start")
    answered: list[str] = []
    try:
        residents = asyncio.run(population.seed_residents(database, config.residents))
        say(f"{database.kind}: {len(residents)} residents with sessions")
        generator = Generator(srv.url, processes=config.generator_processes)
        try:
            srv.reset_peak()
            say(f"{database.kind}: no-op endpoint, step-up (p99 < {config.slo_p99_ms} ms)")
            noop = step_up(
                generator,
                Workload("noop", "/api/v1/noop", 201),
                config.ingest_rates,
                config.step_s,
                server_pid=srv.pid,
                slo_p99_ms=config.slo_p99_ms,
                progress=say,
                settle=lambda: settle(srv),
            )
            out["noop"] = noop.as_json()
            memory["noop"] = srv.peak_rss_mb()

            srv.reset_peak()
            say(f"{database.kind}: SOS ingest (durable), step-up (p99 < {config.slo_p99_ms} ms)")
            sos = Workload("sos", "/api/v1/alerts", 201, tuple(residents), run_tag=run_tag)

            def keep_ids(step: Any) -> None:
                answered.extend(str(alert_id(run_tag, step.step_id, i)) for i in step.ok_indices)

            ingest = step_up(
                generator,
                sos,
                config.ingest_rates,
                config.step_s,
                server_pid=srv.pid,
                slo_p99_ms=config.slo_p99_ms,
                after_step=keep_ids,
                progress=say,
                settle=lambda: settle(srv),
            )
            out["ingest"] = ingest.as_json()
            target_rate = 1000.0
            at_target = ingest.step_at(target_rate)
            if at_target is None:
                say(f"{database.kind}: SOS ingest at the target rate, {target_rate:.0f}/s")
                wait_for_quiet()
                at_target = generator.step(sos, target_rate, config.step_s, server_pid=srv.pid)
                keep_ids(at_target)
                say(describe(at_target, "measured"))
                settle(srv)
            out["ingest_at_1000"] = at_target.as_json()
            memory["ingest"] = srv.peak_rss_mb()
        finally:
            generator.close()
        out["durability"] = _kill_and_check(srv, database, answered)
    finally:
        srv.stop()


def _live_scenarios(
    database: server.Database, config: Config, out: dict[str, Any], run_tag: int, officer_tokens: list[str]
) -> None:
    memory = out["memory_mb"]
    srv = server.start(database, name="server-live")
    memory["idle_with_officers"] = srv.peak_rss_mb()
    say(f"{database.kind}: server pid {srv.pid}, {memory['idle_with_officers']} MB at start with the officers")
    try:
        residents = asyncio.run(population.seed_residents(database, config.residents))
        generator = Generator(srv.url, processes=config.generator_processes)
        try:
            out["press_to_console"], memory["consoles"] = _press_to_console(srv, generator, config, residents, run_tag)
            srv.reset_peak()
            out["locations"] = _locations(srv, generator, config, officer_tokens, database)
            memory["locations"] = srv.peak_rss_mb()
        finally:
            generator.close()
    finally:
        srv.stop()


def settle(srv: server.Server, *, limit_s: float = 90.0) -> None:
    """Wait until the server has worked off what an overloaded step left queued: /healthz (a database read)
    answers within 50 ms three times in a row."""
    began = time.monotonic()
    quick = 0
    with httpx.Client(base_url=srv.url, timeout=10) as http:
        while quick < 3 and time.monotonic() - began < limit_s:
            asked = time.monotonic()
            with contextlib.suppress(httpx.TransportError):
                http.get("/healthz")
            quick = quick + 1 if time.monotonic() - asked < 0.05 else 0
            time.sleep(0.2)
    waited = time.monotonic() - began
    if waited > 2:
        say(f"  (waited {waited:.0f} s for the server to work off its queue)")


def _kill_and_check(srv: server.Server, database: server.Database, answered: list[str]) -> dict[str, Any]:
    """SIGKILL the server (no shutdown, no flush), then look up every press it answered 201."""
    say(f"{database.kind}: durability check: SIGKILL the server, then look up all {len(answered)} answered presses")
    srv.stop(kill=True)
    stored = asyncio.run(_stored_alert_ids(database))
    missing = [a for a in answered if a not in stored]
    result = {"answered_201": len(answered), "missing_after_sigkill": len(missing), "examples": missing[:5]}
    say(f"  {result}")
    return result


def _press_to_console(
    srv: server.Server, generator: Generator, config: Config, residents: list[str], run_tag: int
) -> tuple[dict[str, Any], float | None]:
    kind = srv.database.kind
    say(f"{kind}: {config.consoles} console operators created by the admin through the API, streams connecting")
    operators = asyncio.run(population.operators(srv.url, config.consoles))
    srv.reset_peak()
    consoles = Consoles(srv.url, operators, run_tag=run_tag, processes=config.console_processes)
    results: dict[str, Any] = {
        "consoles": config.consoles,
        "connected": consoles.connected,
        "turned_away_when_all_connected_at_once": consoles.burst_failures,
        "rates": [],
    }
    settle(srv)
    try:
        say(
            f"{kind}: {consoles.connected} consoles connected ({consoles.burst_failures} turned away when all "
            "connected at once, then reconnected); press-to-console"
        )
        sos = Workload("sos", "/api/v1/alerts", 201, tuple(residents), run_tag=run_tag)
        for number, rate in enumerate(config.console_rates):
            step_id = 0x8000 + number
            wait_for_quiet()
            t0 = time.monotonic() + 1.0
            consoles.arm(step_id, t0, rate)
            step = generator.step(sos, rate, config.console_step_s, server_pid=srv.pid, step_id=step_id, t0=t0)
            seen = consoles.collect(step_id, stored=step.ok, grace_s=15.0)
            expected = step.ok * consoles.connected
            entry = {
                "rate": rate,
                "press": step.as_json(),
                "console_latency_ms": seen["latency_ms"],
                "deliveries_expected": expected,
                "deliveries_received": seen["received"],
                "consoles_open_after": seen["consoles_open"],
                "too_slow_closes": seen["too_slow_closes"],
                "console_process_cpu": seen["console_cpu"],
                "console_loop_lag_ms": seen["console_loop_lag_ms"],
            }
            results["rates"].append(entry)
            settle(srv)
            latency = seen["latency_ms"]
            say(
                f"  {rate:.0f} alerts/s x {consoles.connected} consoles: p50 {latency['p50']} ms, "
                f"p99 {latency['p99']} ms, p99.9 {latency['p99.9']} ms; {seen['received']}/{expected} delivered; "
                f"{seen['consoles_open']} open; console process {seen['console_cpu']:.2f} cores, loop lag p99 "
                f"{seen['console_loop_lag_ms']['p99']} ms; server {step.server_cpu or 0:.2f} cores, "
                f"others {step.other_cpu or 0:.2f} cores"
            )
            time.sleep(2.0)
        peak = srv.peak_rss_mb()
        say(f"  peak server memory with {config.officers} officers and {consoles.connected} consoles: {peak} MB")
    finally:
        consoles.close()
    return results, peak


def _locations(
    srv: server.Server, generator: Generator, config: Config, tokens: list[str], database: server.Database
) -> dict[str, Any]:
    """Officers' location updates, both ways a phone can send them: one HTTP request per position (each with its
    own token lookup), then over the officers' open streams (authenticated once per connection); then the same
    units' positions from GPS trackers over the OsmAnd endpoint."""
    out = {"http": _locations_http(srv, generator, config, tokens, database)}
    settle(srv)
    out["stream"] = _locations_stream(srv, config, tokens, database)
    settle(srv)
    out["osmand"] = _locations_osmand(srv, generator, config, database)
    return out


def _locations_osmand(
    srv: server.Server, generator: Generator, config: Config, database: server.Database
) -> dict[str, Any]:
    """The same units' positions from GPS trackers (or Traccar Client) over the OsmAnd endpoint: one HTTP request
    per position, no session, the tracker looked up by its device id; written by the same position writer."""
    devices = asyncio.run(population.seed_unit_trackers(database))
    say(f"{database.kind}: the units' positions from {len(devices)} trackers over OsmAnd (/osmand), step-up")
    return _positions_over_http(srv, generator, config, database, Workload("osmand", "/osmand", 200, tuple(devices)))


def _locations_http(
    srv: server.Server, generator: Generator, config: Config, tokens: list[str], database: server.Database
) -> dict[str, Any]:
    say(f"{database.kind}: officers' location updates over HTTP from {len(tokens)} officers, step-up")
    workload = Workload("location", "/api/v1/officers/me/location", 202, tuple(tokens))
    return _positions_over_http(srv, generator, config, database, workload)


def _positions_over_http(
    srv: server.Server, generator: Generator, config: Config, database: server.Database, workload: Workload
) -> dict[str, Any]:
    """Step ``workload`` (one position a request) up the location rates; how many were answered as taken, and how
    many of those the database has."""
    written_before = asyncio.run(_positions_written(database))
    accepted = 0

    def count(step: Any) -> None:
        nonlocal accepted
        accepted += step.ok

    search = step_up(
        generator,
        workload,
        config.location_rates,
        config.step_s,
        server_pid=srv.pid,
        slo_p99_ms=config.slo_p99_ms,
        after_step=count,
        progress=say,
        pause_s=1.5,
        settle=lambda: settle(srv),
    )
    written = _written_since(database, written_before, accepted)
    say(f"  {accepted} positions answered {workload.expect}, {written} written to the database")
    return dict(search.as_json(), accepted_total=accepted, written_total=written)


def _locations_stream(
    srv: server.Server, config: Config, tokens: list[str], database: server.Database
) -> dict[str, Any]:
    say(
        f"{database.kind}: {len(tokens)} officers' streams connecting ({config.stream_processes} process(es)); "
        "then their positions over the streams, step-up"
    )
    written_before = asyncio.run(_positions_written(database))
    srv.reset_peak()
    streams = OfficerStreams(srv.url, tokens, processes=config.stream_processes)
    accepted = 0

    def count(step: Any) -> None:
        nonlocal accepted
        accepted += step.ok

    try:
        say(
            f"  {streams.connected} streams open in {streams.connect_s:.0f} s ({streams.turned_away} turned away); "
            f"server {srv.rss_mb()} MB"
        )
        settle(srv)
        search = step_up(
            streams,
            StreamWorkload(),
            config.stream_rates,
            config.step_s,
            server_pid=srv.pid,
            slo_p99_ms=config.slo_p99_ms,
            after_step=count,
            progress=say,
            pause_s=1.5,
            settle=lambda: settle(srv),
        )
        still_open = streams.open_streams()
        peak = srv.peak_rss_mb()
    finally:
        streams.close()
    written = _written_since(database, written_before, accepted)
    say(f"  {accepted} positions acknowledged, {written} written to the database; {still_open} streams still open")
    return dict(
        search.as_json(),
        officers_connected=streams.connected,
        turned_away=streams.turned_away,
        connect_s=round(streams.connect_s, 1),
        still_open=still_open,
        peak_memory_mb=peak,
        accepted_total=accepted,
        written_total=written,
    )


def locations_only() -> int:
    """Only the officers' location scenario, on fresh databases: the figures of the stream and HTTP rows without
    the whole run (``python -m benchmarks.officerload``)."""
    config = Config.from_env()
    results: dict[str, Any] = {"commit": _git("rev-parse", "--short", "HEAD"), "loadavg_before": _loadavg()}
    for kind in config.databases:
        if kind == "postgres" and asyncio.run(server.postgres_problem()) is not None:
            say("postgres: skipped, unreachable")
            continue
        with _scratch(kind, officers=config.officers) as (database, tokens):
            srv = server.start(database, name="server-live")
            say(f"{kind}: server pid {srv.pid}, {srv.peak_rss_mb()} MB at start with {len(tokens)} officers")
            generator = Generator(srv.url, processes=config.generator_processes)
            try:
                srv.reset_peak()
                results[kind] = _locations(srv, generator, config, tokens, database)
                results[kind]["memory_mb"] = srv.peak_rss_mb()
            finally:
                generator.close()
                srv.stop()
    results["loadavg_after"] = _loadavg()
    print(json.dumps(results, indent=1, default=str), flush=True)
    return 0


# The whole run ----------------------------------------------------------------------------------------------------


def main() -> int:
    config = Config.from_env()
    say(
        f"Siaga benchmarks ({'quick' if config.quick else 'full'}): databases {config.databases}, steps of "
        f"{config.step_s} s, {config.officers} officers, {config.consoles} consoles, load average {_loadavg()}"
    )
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": os.environ.get("BENCH_COMMIT") or _git("rev-parse", "--short", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--", "src", "benchmarks")),
            "quick": config.quick,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_before": _loadavg(),
            "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        },
        "databases": {},
    }
    say("recommendation: nearest 5 available units, in-process on the server's tracker code")
    results["nearest"] = []
    for units in config.nearest_units:
        # A 100,000-unit search takes tens of milliseconds today: fewer queries keep the run short.
        queries = config.nearest_queries if units <= 10_000 else max(200, config.nearest_queries // 5)
        measured = nearest.measure(units, queries)
        results["nearest"].append(measured)
        latency = measured["latency_ms"]
        say(f"  {units} units: p50 {latency['p50']} ms, p99 {latency['p99']} ms, p99.9 {latency['p99.9']} ms")
    results["nearest_sparse"] = nearest.measure_sparse(max(50, config.nearest_queries // 20))
    for entry in results["nearest_sparse"]:
        say(f"  {entry['units']} units over two cities, {entry['where']}: p50 {entry['p50']} ms, p99 {entry['p99']} ms")
    for kind in config.databases:
        if kind == "postgres":
            problem = asyncio.run(server.postgres_problem())
            if problem is not None:
                say(f"postgres: skipped, unreachable at {server.POSTGRES_ADMIN_URL} ({problem})")
                results["databases"][kind] = {"skipped": problem}
                continue
        results["databases"][kind] = run_database(kind, config)
    if os.environ.get("BENCH_CHANNELS", "1") != "0":
        say("channels: an SOS by SMS through Gammu SMSD and MQTT panic buttons, each beside the app's press (SQLite)")
        try:
            results["channels"] = channels.run(quick=config.quick)
        except (OSError, SystemExit) as exc:  # gammu-smsd or mosquitto missing, a server that did not start
            say(f"channels: not measured ({exc})")
            results["channels"] = {"skipped": str(exc)}
        for line in channels.markdown(results["channels"]):
            say(line)
    results["meta"]["loadavg_after"] = _loadavg()
    results["meta"]["seconds"] = round(time.monotonic() - STARTED, 1)
    written = report.write(results, config.results)
    print(flush=True)
    print(written["markdown_text"], flush=True)
    say(f"results: {', '.join(str(p) for p in written['files'])}")
    if not config.quick and os.environ.get("BENCH_README", "1") != "0":
        report.update_readme(ROOT / "README.md", written["markdown_text"])
        say("README.md benchmark section updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
