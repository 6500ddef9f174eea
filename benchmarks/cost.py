"""Server CPU per request: the cost of one SOS press and one location update, as a ratio to the no-op endpoint.

Throughput on a busy 2-core machine moves with whatever else runs; the server's own CPU seconds per request barely
do. Each workload is sent at a rate the server holds easily, and the server process's CPU time (user + system, from
/proc) over the step is divided by the requests it answered. ``python -m benchmarks.cost`` prints a table;
``BENCH_DATABASES`` and ``BENCH_COST_N`` scale it.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from typing import Any

from benchmarks import population, server
from benchmarks.httpload import Generator, Workload, process_cpu_seconds, wait_for_quiet
from benchmarks.run import _scratch


def _measure(generator: Generator, srv: server.Server, workload: Workload, count: int, rate: float) -> dict[str, Any]:
    wait_for_quiet()
    before = process_cpu_seconds(srv.pid) or 0.0
    step = generator.step(workload, rate, count / rate, server_pid=srv.pid)
    time.sleep(0.8)  # background work the requests caused (position batches, the event feed) is part of the cost
    after = process_cpu_seconds(srv.pid) or 0.0
    ok = max(step.ok, 1)
    return {
        "workload": workload.kind,
        "answered": step.ok,
        "errors": step.errors,
        "cpu_ms_per_request": round((after - before) * 1000 / ok, 3),
    }


def measure(kind: str, *, count: int, officers: int = 200) -> list[dict[str, Any]]:
    with _scratch(kind, officers=officers) as (database, officer_tokens):
        srv = server.start(database, name="server-cost")
        try:
            residents = asyncio.run(population.seed_residents(srv.database, 20_000))
            generator = Generator(srv.url)
            try:
                run_tag = random.getrandbits(32)
                workloads = [
                    (Workload("noop", "/api/v1/noop", 201), 100.0),
                    (Workload("sos", "/api/v1/alerts", 201, tuple(residents), run_tag=run_tag), 20.0),
                    (Workload("location", "/api/v1/officers/me/location", 202, tuple(officer_tokens)), 100.0),
                ]
                # A warm-up of each (imports, caches, the first connections), then the measured run.
                for workload, rate in workloads:
                    _measure(generator, srv, workload, max(20, count // 10), rate)
                return [_measure(generator, srv, workload, count, rate) for workload, rate in workloads]
            finally:
                generator.close()
        finally:
            srv.stop()


def main() -> int:
    count = int(os.environ.get("BENCH_COST_N", "300"))
    for kind in os.environ.get("BENCH_DATABASES", "sqlite,postgres").split(","):
        rows = measure(kind, count=count)
        noop = next(r["cpu_ms_per_request"] for r in rows if r["workload"] == "noop") or 1.0
        print(f"{kind}: server CPU per request ({count} requests each)")
        for row in rows:
            ratio = row["cpu_ms_per_request"] / noop
            print(
                f"  {row['workload']:9} {row['cpu_ms_per_request']:8.2f} ms  {ratio:6.1f} x no-op  "
                f"({row['answered']} answered, {row['errors']} errors)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
