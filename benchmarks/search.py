"""Step-up search: raise the offered rate until a step misses the service level, then try once between."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from benchmarks.httpload import StepResult, Workload, wait_for_quiet
from benchmarks.officerload import StreamWorkload

MAX_ERROR_SHARE = 0.001  # more failed requests than this fails a step
SERVER_SATURATED = 0.85  # cores: the server is one Python process, so this is its ceiling
MIN_ACHIEVED = 0.95  # answered (with the expected status) at least this share of the offered rate


def verdict(step: StepResult, slo_p99_ms: float) -> str:
    """``held`` or why the step was not held: ``errors``, ``throughput`` or ``p99``."""
    if step.errors > step.scheduled * MAX_ERROR_SHARE:
        return "errors"
    if step.achieved_rate < step.rate * MIN_ACHIEVED:
        return "throughput"
    p99 = step.latency_ms["p99"]
    if p99 is None or p99 >= slo_p99_ms:
        return "p99"
    return "held"


@dataclass
class Search:
    workload: str
    slo_p99_ms: float
    steps: list[tuple[StepResult, str]] = field(default_factory=list)
    held_rate: float | None = None
    stopped_by: str | None = None
    generator_limited: bool = False

    def as_json(self) -> dict[str, Any]:
        """Every run of every rung (a missed rung ran twice), slowest rate first."""
        return {
            "workload": self.workload,
            "slo_p99_ms": self.slo_p99_ms,
            "held_rate": self.held_rate,
            "stopped_by": self.stopped_by,
            "generator_limited": self.generator_limited,
            "steps": [dict(step.as_json(), verdict=v) for step, v in sorted(self.steps, key=lambda s: s[0].rate)],
        }

    def step_at(self, rate: float) -> StepResult | None:
        """The better run at ``rate`` (held before missed), or None."""
        runs = [(v != "held", i, step) for i, (step, v) in enumerate(self.steps) if step.rate == rate]
        return min(runs, key=lambda r: (r[0], r[1]))[2] if runs else None


class Stepper(Protocol):
    """What offers a rate for a while: ``httpload.Generator`` (HTTP requests) or ``officerload.OfficerStreams``
    (messages on the officers' streams), each with its own kind of workload."""

    def step(self, workload: Any, rate: float, duration_s: float, *, server_pid: int | None = None) -> StepResult: ...


def step_up(
    generator: Stepper,
    workload: Workload | StreamWorkload,
    rates: Sequence[float],
    duration_s: float,
    *,
    server_pid: int,
    slo_p99_ms: float = 50.0,
    pause_s: float = 1.0,
    after_step: Callable[[StepResult], None] | None = None,
    progress: Callable[[str], None] = print,
    settle: Callable[[], None] | None = None,
) -> Search:
    """The highest of ``rates`` (and one rate between the last held and the first missed) whose step is held.

    A missed step in which the generator itself fell behind marks the result ``generator_limited``: the server may
    hold more than this machine can offer it."""
    search = Search(workload=workload.kind, slo_p99_ms=slo_p99_ms)
    missed: float | None = None

    def run(rate: float, *, tries: int = 1) -> str:
        waited, busy = wait_for_quiet()
        if waited > 1:
            progress(f"  (waited {waited:.0f} s for other work on the machine to calm down; {busy:.2f} cores busy)")
        step = generator.step(workload, rate, duration_s, server_pid=server_pid)
        if after_step is not None:
            after_step(step)
        result = verdict(step, slo_p99_ms)
        progress(describe(step, result))
        time.sleep(pause_s)
        search.steps.append((step, result))
        if result != "held" and settle is not None:
            settle()
        # One pause of a shared machine (or a collector) can sink a short step's p99: a rung is missed only when a
        # second run misses it too, and a run the generator itself sank (see generator_limited) does not count,
        # up to three more runs. Every run is kept.
        if result != "held" and tries < 2 + (2 if generator_limited(step, slo_p99_ms) else 0):
            progress("  (missed: once more)")
            return run(rate, tries=tries + 1)
        return result

    for rate in rates:
        result = run(rate)
        if result != "held":
            missed = rate
            search.stopped_by = result
            break
        search.held_rate = rate
    if missed is not None and search.held_rate is not None and missed / search.held_rate > 1.2:
        middle = round((missed + search.held_rate) / 2, -1)
        if run(middle) == "held":
            search.held_rate = middle
    if missed is not None:
        failing = [s for s, v in search.steps if v != "held"]
        search.generator_limited = any(generator_limited(s, slo_p99_ms) for s in failing)
    return search


def generator_limited(step: StepResult, slo_p99_ms: float) -> bool:
    """The generator fell behind by enough to miss the service level on its own (its start lag alone takes half
    the p99 budget) while the server still had CPU to spare: the step then says nothing about the server. A server
    process using a whole core (it runs on one) is the limit, whatever the generator did."""
    lag = step.send_lag_ms["p99"] or 0.0
    server_busy = (step.server_cpu or 0.0) >= SERVER_SATURATED
    return step.generator_saturated and lag >= slo_p99_ms / 2 and not server_busy


def describe(step: StepResult, result: str) -> str:
    latency = step.latency_ms
    load = f", others {step.other_cpu:.2f} cores" if step.other_cpu is not None else ""
    server = f", server {step.server_cpu:.2f} cores" if step.server_cpu is not None else ""
    behind = " GENERATOR BEHIND" if step.generator_saturated else ""
    return (
        f"  {step.workload:<8} {step.rate:>6.0f}/s: {step.ok}/{step.scheduled} ok, "
        f"{step.achieved_rate:.0f}/s answered, p50 {latency['p50']} ms, p99 {latency['p99']} ms, "
        f"max {latency['max']} ms, send lag p99 {step.send_lag_ms['p99']} ms, "
        f"generator {step.generator_cpu:.2f} cores{server}{load} -> {result}{behind}"
    )
