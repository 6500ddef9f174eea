"""SOS presses during a login flood from one address (issue 14, item 10): ``python -m benchmarks.loginflood``.

A scratch database (``BENCH_DATABASES``, SQLite by default) is migrated and seeded with Bandung and residents, and a
real ``siaga serve`` (production Argon2 parameters) takes residents' presses at ``BENCH_SOS_RATE`` a second for
``BENCH_STEP_S`` seconds twice: alone, then while one address (this machine) sends ``BENCH_FLOOD_RATE`` staff logins
a second with wrong passwords for a handful of names (no credentials needed, as an attacker would). Both are open-model
schedules (``benchmarks.httpload``): a press's latency counts from when it was due, so a stalled server cannot hide.
The presses' p50/p95/p99, the logins' answers (from the answers' statuses, and from the audit log once the server
has stopped: how many passwords were checked, how many logins were refused and why), the server's CPU (its event
loop's thread apart from its other threads: argon2's, the database's), the other processes' (the database server's)
and the machine's load average at each step are printed and written to ``benchmarks/results/loginflood.json``."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from benchmarks import hist, population, server
from benchmarks.httpload import Generator, StepResult, Workload, wait_for_quiet
from benchmarks.run import _scratch
from siaga.audit.models import AuditRecord
from siaga.db import create_engine, session_factory

ROOT = Path(__file__).resolve().parents[1]


def _presses(step: StepResult) -> dict[str, Any]:
    latency = hist.merge([step.latency_encoded])
    return {
        "rate": step.rate,
        "scheduled": step.scheduled,
        "ok": step.ok,
        "statuses": step.statuses,
        "p50_ms": step.latency_ms["p50"],
        "p95_ms": round(latency.get_value_at_percentile(95.0) / 1000, 3),
        "p99_ms": step.latency_ms["p99"],
        "max_ms": step.latency_ms["max"],
        "server_cpu": None if step.server_cpu is None else round(step.server_cpu, 3),
        "other_cpu": None if step.other_cpu is None else round(step.other_cpu, 3),
        "machine_cpu": None if step.machine_cpu is None else round(step.machine_cpu, 3),
        "generator_saturated": step.generator_saturated,
        "generator_cpu": round(step.generator_cpu, 3),
        "send_lag_p99_ms": step.send_lag_ms["p99"],
    }


def _server_problems(log: Path) -> dict[str, Any]:
    """What went wrong in the server meanwhile: its error lines counted by their last words (e.g. a connection pool
    that ran out), and the first one."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if "Error" in line or "timed out" in line]
    counts: dict[str, int] = {}
    for line in lines:
        key = line.strip()[-120:]
        counts[key] = counts.get(key, 0) + 1
    top = sorted(counts.items(), key=lambda item: -item[1])[:5]
    return {"lines": len(lines), "most_common": top, "first": lines[0][-300:] if lines else None}


def _say(message: str) -> None:
    print(message, flush=True)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


def _thread_cpu_seconds(pid: int, tid: int) -> float | None:
    """User + system CPU seconds of one thread of a process (from /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _with_event_loop_cpu(pid: int, run: Callable[[], T]) -> tuple[T, float | None, list[float]]:
    """``run()``, with the cores the server's main thread (its event loop: HTTP, the routes, the SOS writer's
    Python side) used meanwhile, and the machine's 1-minute load average before and after."""
    load = [os.getloadavg()[0]]
    before, began = _thread_cpu_seconds(pid, pid), time.monotonic()
    result = run()
    after, wall = _thread_cpu_seconds(pid, pid), time.monotonic() - began
    load.append(os.getloadavg()[0])
    cores = None if before is None or after is None or wall <= 0 else round((after - before) / wall, 3)
    return result, cores, [round(value, 2) for value in load]


async def _login_outcomes(database: server.Database) -> dict[str, int]:
    """What became of the flood's logins, from the audit log (read once the server has stopped and recorded its last
    refusals): passwords checked, logins counted in the database and refused there, logins refused from memory, and
    (where this version records them) logins refused as busy, by whose turn was taken."""
    engine = create_engine(database.url)
    try:
        async with session_factory(engine)() as session:
            details = await session.scalars(
                select(AuditRecord.detail).where(AuditRecord.action == "staff.login", AuditRecord.outcome == "failure")
            )
            outcomes: Counter[str] = Counter()
            for detail in details:
                reason, refused = detail.get("reason"), detail.get("refused")
                if reason == "bad_credentials":
                    outcomes["password_checked"] += 1
                elif reason == "throttled" and refused is None:
                    outcomes["counted_then_refused"] += 1
                elif reason == "throttled":
                    outcomes["refused_from_memory"] += int(refused)
                elif reason == "busy":
                    outcomes[f"busy_{detail.get('turn')}"] += int(refused)
    finally:
        await engine.dispose()
    return dict(sorted(outcomes.items()))


def measure(kind: str, *, sos_rate: float, flood_rate: float, seconds: float) -> dict[str, Any]:
    with _scratch(kind, officers=0) as (database, _):
        srv = server.start(database, name="server-loginflood")
        try:
            residents = asyncio.run(population.seed_residents(database, int(sos_rate * seconds * 2) + 10))
            sos = Workload("sos", "/api/v1/alerts", 201, tuple(residents), run_tag=random.getrandbits(32))
            login = Workload("login", "/api/v1/auth/login", 401)
            presses, flood = Generator(srv.url), Generator(srv.url)
            try:
                wait_for_quiet()
                _say(f"{kind}: {sos_rate:.0f} presses/s for {seconds:.0f} s, alone")
                alone, alone_loop, alone_load = _with_event_loop_cpu(
                    srv.pid, lambda: presses.step(sos, sos_rate, seconds, server_pid=srv.pid, timeout_s=30)
                )
                wait_for_quiet()
                _say(f"{kind}: the same, with {flood_rate:.0f} logins/s from one address")

                def both() -> tuple[StepResult, StepResult]:
                    t0 = time.monotonic() + 1.0
                    with ThreadPoolExecutor(2) as pool:
                        during = pool.submit(
                            presses.step, sos, sos_rate, seconds, server_pid=srv.pid, timeout_s=30, t0=t0
                        )
                        logins = pool.submit(flood.step, login, flood_rate, seconds, timeout_s=30, t0=t0)
                        return during.result(), logins.result()

                (pressed, flooded), during_loop, during_load = _with_event_loop_cpu(srv.pid, both)
            finally:
                presses.close()
                flood.close()
        finally:
            srv.stop()
            problems = _server_problems(srv.log_path)
        outcomes = asyncio.run(_login_outcomes(database))
    recorded = sum(count for name, count in outcomes.items() if name != "password_checked")
    outcomes["refusals_not_in_audit"] = flooded.statuses.get("429", 0) - recorded
    return {
        "database": kind,
        "seconds": seconds,
        "alone": {**_presses(alone), "event_loop_cpu": alone_loop, "load_average": alone_load},
        "during_flood": {**_presses(pressed), "event_loop_cpu": during_loop, "load_average": during_load},
        "server_problems": problems,
        "logins": {
            "rate": flood_rate,
            "scheduled": flooded.scheduled,
            "statuses": flooded.statuses,
            "audited": outcomes,
            "p50_ms": flooded.latency_ms["p50"],
            "p99_ms": flooded.latency_ms["p99"],
            "generator_cpu": round(flooded.generator_cpu, 3),
        },
        "load_average": os.getloadavg()[0],
    }


def main() -> int:
    sos_rate = float(os.environ.get("BENCH_SOS_RATE", 20))
    flood_rate = float(os.environ.get("BENCH_FLOOD_RATE", 200))
    seconds = float(os.environ.get("BENCH_STEP_S", 20))
    results = []
    for kind in os.environ.get("BENCH_DATABASES", "sqlite").split(","):
        result = measure(kind, sos_rate=sos_rate, flood_rate=flood_rate, seconds=seconds)
        results.append(result)
        for label in ("alone", "during_flood"):
            p = result[label]
            _say(
                f"  {label:<13} {p['ok']}/{p['scheduled']} stored, p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms, "
                f"p99 {p['p99_ms']} ms, max {p['max_ms']} ms, server {p['server_cpu']} cores "
                f"(event loop {p['event_loop_cpu']}), other processes {p['other_cpu']} cores, "
                f"generator {p['generator_cpu']} cores, sent up to {p['send_lag_p99_ms']} ms late (p99), "
                f"load average {p['load_average'][0]} -> {p['load_average'][1]}"
            )
        logins = result["logins"]
        flooding = f"generator {logins['generator_cpu']} cores"
        _say(f"  logins        {logins['statuses']}, p50 {logins['p50_ms']} ms, p99 {logins['p99_ms']} ms, {flooding}")
        _say(f"  audited       {logins['audited']}")
        _say(f"  machine       load average {result['load_average']:.2f} (other processes share the cores)")
        problems = result["server_problems"]
        _say(f"  server        {problems['lines']} error lines: {problems['most_common']}")
    out = Path(os.environ.get("BENCH_RESULTS", ROOT / "benchmarks" / "results")) / "loginflood.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    _say(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
