"""The open-model HTTP load generator.

Requests are *scheduled* at a constant arrival rate, whether or not earlier ones have been answered (an open model:
residents do not wait for each other before pressing SOS). Each latency is measured from the request's scheduled
time, not from when it was actually sent, so a server (or a generator) that stalls cannot hide its tail: this is the
correction for coordinated omission.

The client is a small HTTP/1.1 keep-alive client on asyncio protocols (no per-request objects beyond a future),
because on a 2-core machine the generator competes with the server for CPU. It watches itself: how late each request
actually started against its schedule (``send_lag``) and how much CPU it used. A step in which the generator fell
behind is marked ``generator_saturated``; its numbers then describe the pair, not the server.

Work can be spread over several generator processes; each takes every n-th request of the same schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing
import random
import resource
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Literal

from benchmarks import hist

# The generator is behind when requests start this late (p99), or when a process is this busy.
SATURATED_LAG_S = 0.010
SATURATED_CPU = 0.90
BANDUNG = (-6.965, -6.865, 107.56, 107.70)  # lat/lon box well inside Kota Bandung's kecamatan

Kind = Literal["sos", "noop", "location", "login", "osmand"]


@dataclass(frozen=True, slots=True)
class Workload:
    """What to send: ``kind`` decides the body; tokens are used round-robin."""

    kind: Kind
    path: str
    expect: int
    tokens: tuple[str, ...] = ()
    run_tag: int = 0  # 32 bits, part of every alert id this run makes


@dataclass(frozen=True, slots=True)
class StepPlan:
    step: int
    rate: float
    count: int
    t0: float  # time.monotonic() at which request 0 is due (the clock is shared by every process on the machine)
    timeout_s: float
    first_token: int = 0  # request i of this step uses token first_token + i: a resident presses once per run

    def scheduled_at(self, index: int) -> float:
        return self.t0 + index / self.rate


@dataclass
class WorkerOutcome:
    latency: bytes
    send_lag: bytes
    statuses: dict[str, int]
    ok_indices: list[int]
    cpu_s: float
    wall_s: float
    last_done: float


@dataclass
class StepResult:
    """One step at one offered rate, all generator processes merged."""

    workload: str
    step_id: int
    rate: float
    duration_s: float
    scheduled: int
    ok: int
    statuses: dict[str, int]
    latency_ms: dict[str, Any]
    send_lag_ms: dict[str, Any]
    achieved_rate: float
    generator_cpu: float  # the busiest generator process, as a fraction of one core
    generator_saturated: bool
    server_cpu: float | None = None  # fraction of one core used by the server process during the step
    machine_cpu: float | None = None  # cores busy on the whole machine during the step
    other_cpu: float | None = None  # cores used by processes other than the server and the generator
    ok_indices: list[int] = field(default_factory=list, repr=False)
    latency_encoded: bytes = field(default=b"", repr=False)

    @property
    def errors(self) -> int:
        return self.scheduled - self.ok

    def as_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "duration_s": self.duration_s,
            "scheduled": self.scheduled,
            "ok": self.ok,
            "statuses": self.statuses,
            "achieved_rate": round(self.achieved_rate, 1),
            "latency_ms": self.latency_ms,
            "send_lag_ms": self.send_lag_ms,
            "generator_cpu": round(self.generator_cpu, 3),
            "generator_saturated": self.generator_saturated,
            "server_cpu": _round(self.server_cpu),
            "machine_cpu": _round(self.machine_cpu),
            "other_cpu": _round(self.other_cpu),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def alert_id(run_tag: int, step: int, index: int) -> uuid.UUID:
    """An alert id that names its run, step and index, so a console can tell when it was scheduled."""
    return uuid.UUID(f"{run_tag & 0xFFFFFFFF:08x}-{step & 0xFFFF:04x}-4000-8000-{index:012x}")


def parse_alert_id(text: str) -> tuple[int, int, int] | None:
    """(run_tag, step, index) of an id made by :func:`alert_id`, or None."""
    if len(text) != 36 or text[14:19] != "4000-" or text[19:24] != "8000-":
        return None
    try:
        return int(text[0:8], 16), int(text[9:13], 16), int(text[24:36], 16)
    except ValueError:
        return None


def body_for(workload: Workload, plan: StepPlan, index: int) -> bytes:
    rng = random.Random(plan.step * 1_000_003 + index)
    lat = rng.uniform(BANDUNG[0], BANDUNG[1])
    lon = rng.uniform(BANDUNG[2], BANDUNG[3])
    if workload.kind == "login":  # a staff login with a wrong password, for a few names (none needs to exist)
        return json.dumps({"username": f"tamu.{index % 97}", "password": "bukan-kata-sandi-ini"}).encode()
    if workload.kind == "osmand":  # a tracker's report as Traccar Client sends it: the query string, no body
        stamp = int(time.time())
        return f"lat={lat:.6f}&lon={lon:.6f}&timestamp={stamp}&speed={rng.uniform(0, 25):.1f}&batt=80".encode()
    if workload.kind == "location":
        payload: dict[str, Any] = {"lat": lat, "lon": lon, "accuracy_m": 8.0, "speed_mps": rng.uniform(0, 12)}
    else:
        payload = {
            "id": str(alert_id(workload.run_tag, plan.step, index)),
            "category": rng.choice(("kriminalitas", "kecelakaan", "kesehatan", "kebakaran")),
            "location": {"lat": lat, "lon": lon, "accuracy_m": 15.0},
            "battery": rng.randint(5, 100),
        }
    return json.dumps(payload, separators=(",", ":")).encode()


def request_bytes(workload: Workload, host: str, body: bytes, token: str | None) -> bytes:
    if workload.kind == "osmand":  # the token is the tracker's device id; a tracker signs in to nothing
        line = f"POST {workload.path}?id={token}&{body.decode()} HTTP/1.1"
        return f"{line}\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST {workload.path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{auth}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


# The HTTP/1.1 client --------------------------------------------------------------------------------------------


class ResponseError(Exception):
    """The server's answer could not be read as HTTP/1.1 with a Content-Length."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bool]] | None = None
        self.closed = False
        self.used = 0
        self.got_bytes = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports do not subclass asyncio's

    def send(self, data: bytes) -> asyncio.Future[tuple[int, bool]]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.got_bytes = False
        self.used += 1
        self.transport.write(data)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            waiter.set_exception(ResponseError("no content-length in the answer"))
            self.close()
            return
        stop = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : stop if stop >= 0 else len(head)])
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        status = int(self.buffer[9:12])
        del self.buffer[:total]
        waiter.set_result((status, b"\r\nconnection: close" not in head))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed before the answer"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Pool:
    """At most ``limit`` connections to one server; idle ones are reused."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Connection, self.host, self.port)
        return protocol

    async def request(self, data: bytes) -> int:
        """Send one request; the answer's status. A reused connection the server closed meanwhile is retried once
        on a new one (every request the benchmarks send is safe to repeat: an SOS id is idempotent)."""
        async with self._slots:
            for attempt in range(2):
                connection = None
                while self._idle and connection is None:
                    candidate = self._idle.pop()
                    connection = None if candidate.closed else candidate
                fresh = connection is None
                if connection is None:
                    connection = await self._connect()
                try:
                    status, keep = await connection.send(data)
                except ConnectionError:
                    if fresh or connection.got_bytes or attempt == 1:
                        raise
                    continue
                except BaseException:
                    connection.close()
                    raise
                if keep and not connection.closed:
                    self._idle.append(connection)
                else:
                    connection.close()
                return status
        raise AssertionError("unreachable")

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


# One step in one process ----------------------------------------------------------------------------------------


async def run_step(pool: Pool, workload: Workload, plan: StepPlan, *, worker: int, workers: int) -> WorkerOutcome:
    """Send this process's share of the step's schedule and measure it."""
    host = f"{pool.host}:{pool.port}"
    tokens = workload.tokens
    schedule = [
        (
            index,
            plan.scheduled_at(index),
            request_bytes(
                workload,
                host,
                body_for(workload, plan, index),
                tokens[(plan.first_token + index) % len(tokens)] if tokens else None,
            ),
        )
        for index in range(worker, plan.count, workers)
    ]
    latency, lag = hist.new(), hist.new()
    statuses: Counter[str] = Counter()
    ok_indices: list[int] = []
    last_done = plan.t0
    running: set[asyncio.Task[None]] = set()

    async def one(index: int, due: float, data: bytes) -> None:
        nonlocal last_done
        hist.record_seconds(lag, time.monotonic() - due)
        try:
            async with asyncio.timeout(max(0.001, due + plan.timeout_s - time.monotonic())):
                status = await pool.request(data)
        except TimeoutError:
            statuses["timeout"] += 1
            hist.record_seconds(latency, time.monotonic() - due)  # at least this long: kept in the tail
            return
        except (OSError, ResponseError) as exc:
            statuses[f"error:{type(exc).__name__}"] += 1
            hist.record_seconds(latency, time.monotonic() - due)
            return
        done = time.monotonic()
        hist.record_seconds(latency, done - due)
        statuses[str(status)] += 1
        if status == workload.expect:
            ok_indices.append(index)
            last_done = max(last_done, done)

    started_cpu = _cpu_seconds()
    started = time.monotonic()
    launched_in_a_row = 0
    for index, due, data in schedule:
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
            launched_in_a_row = 0
        elif launched_in_a_row >= 32:  # behind schedule: still let answers be read between launches
            await asyncio.sleep(0)
            launched_in_a_row = 0
        task = asyncio.create_task(one(index, due, data))
        running.add(task)
        task.add_done_callback(running.discard)
        launched_in_a_row += 1
    if running:
        await asyncio.gather(*running)
    return WorkerOutcome(
        latency=hist.encode(latency),
        send_lag=hist.encode(lag),
        statuses=dict(statuses),
        ok_indices=ok_indices,
        cpu_s=_cpu_seconds() - started_cpu,
        wall_s=time.monotonic() - started,
        last_done=last_done,
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _use_uvloop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def worker_main(connection: Connection, host: str, port: int, limit: int) -> None:
    """A generator process: run each step it is sent until it is sent None."""
    _use_uvloop()

    async def serve() -> None:
        pool = Pool(host, port, limit)
        loop = asyncio.get_running_loop()
        connection.send("ready")
        try:
            while True:
                message = await loop.run_in_executor(None, connection.recv)
                if message is None:
                    return
                workload, plan, worker, workers = message
                try:
                    connection.send(await run_step(pool, workload, plan, worker=worker, workers=workers))
                except Exception as exc:  # tell the conductor rather than leave it waiting
                    connection.send(RuntimeError(f"generator process failed: {type(exc).__name__}: {exc}"))
        finally:
            pool.close()

    asyncio.run(serve())


# The generator, seen from the conductor ---------------------------------------------------------------------------


class Generator:
    """Generator processes against one server; ``step`` runs one rate on all of them and merges what they saw."""

    def __init__(self, url: str, *, processes: int = 1, connections: int = 512) -> None:
        host, port = url.removeprefix("http://").split(":")
        context = multiprocessing.get_context("spawn")
        self._links: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
        for _ in range(max(1, processes)):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=worker_main, args=(theirs, host, int(port), connections), daemon=True, name="siaga-bench-gen"
            )
            process.start()
            self._links.append((process, ours))
        for _, link in self._links:  # started and imported: the first step's schedule is not eaten by start-up
            if link.recv() != "ready":
                raise RuntimeError("a generator process did not start")
        self._step = 0
        self._tokens_used = 0

    @property
    def pids(self) -> list[int]:
        return [p.pid for p, _ in self._links if p.pid is not None]

    def step(
        self,
        workload: Workload,
        rate: float,
        duration_s: float,
        *,
        timeout_s: float = 10.0,
        server_pid: int | None = None,
        step_id: int | None = None,
        lead_s: float | None = None,
        t0: float | None = None,
    ) -> StepResult:
        """Run ``rate`` requests a second for ``duration_s`` and wait for every answer (or its timeout)."""
        self._step += 1
        count = max(1, math.ceil(rate * duration_s))
        lead = lead_s if lead_s is not None else 0.5 + count / 20_000
        plan = StepPlan(
            step=step_id if step_id is not None else self._step,
            rate=rate,
            count=count,
            t0=t0 if t0 is not None else time.monotonic() + lead,
            timeout_s=timeout_s,
            first_token=self._tokens_used,
        )
        self._tokens_used += count
        server_before = process_cpu_seconds(server_pid) if server_pid else None
        machine_before = machine_busy_seconds()
        sampled = time.monotonic()
        workers = len(self._links)
        for worker, (_, link) in enumerate(self._links):
            link.send((workload, plan, worker, workers))
        outcomes: list[WorkerOutcome] = []
        for _, link in self._links:
            answer = link.recv()
            if isinstance(answer, Exception):
                raise answer
            outcomes.append(answer)
        server_after = process_cpu_seconds(server_pid) if server_pid else None
        machine_after = machine_busy_seconds()
        wall = time.monotonic() - sampled  # includes the lead before t0: every reading below covers the same span
        result = merge_outcomes(workload, plan, outcomes)
        if server_before is not None and server_after is not None:
            result.server_cpu = (server_after - server_before) / wall
        if machine_before is not None and machine_after is not None and wall > 0:
            result.machine_cpu = (machine_after - machine_before) / wall
            ours = sum(o.cpu_s for o in outcomes) / wall + (result.server_cpu or 0.0)
            result.other_cpu = max(0.0, result.machine_cpu - ours)
        return result

    def close(self) -> None:
        for process, link in self._links:
            with contextlib.suppress(OSError):
                link.send(None)
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


def merge_outcomes(workload: Workload, plan: StepPlan, outcomes: list[WorkerOutcome]) -> StepResult:
    statuses: Counter[str] = Counter()
    ok_indices: list[int] = []
    for outcome in outcomes:
        statuses.update(outcome.statuses)
        ok_indices.extend(outcome.ok_indices)
    latency = hist.merge([o.latency for o in outcomes])
    lag = hist.merge([o.send_lag for o in outcomes])
    duration = plan.count / plan.rate
    span = max([duration] + [o.last_done - plan.t0 for o in outcomes])
    cpu = max((o.cpu_s / o.wall_s if o.wall_s > 0 else 0.0) for o in outcomes)
    lag_summary = hist.summary_ms(lag)
    lag_p99 = lag_summary["p99"] or 0.0
    return StepResult(
        workload=workload.kind,
        step_id=plan.step,
        rate=plan.rate,
        duration_s=round(duration, 3),
        scheduled=plan.count,
        ok=len(ok_indices),
        statuses=dict(sorted(statuses.items())),
        latency_ms=hist.summary_ms(latency),
        send_lag_ms=lag_summary,
        achieved_rate=len(ok_indices) / span if span > 0 else 0.0,
        generator_cpu=cpu,
        generator_saturated=lag_p99 / 1000 > SATURATED_LAG_S or cpu > SATURATED_CPU,
        ok_indices=sorted(ok_indices),
        latency_encoded=hist.encode(latency),
    )


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (from /proc), or None where /proc cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the line)
    return ticks / _CLOCK_TICKS


def machine_busy_seconds() -> float | None:
    """CPU seconds every core of the machine has spent busy (from /proc/stat), or None."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / _CLOCK_TICKS


def wait_for_quiet(*, below: float = 0.6, limit_s: float = 20.0, window_s: float = 0.5) -> tuple[float, float]:
    """Wait (at most ``limit_s``) until the machine's busy cores over ``window_s`` fall below ``below``: other work
    on a shared machine comes in bursts, and a step is better measured between them. Returns (waited seconds, the
    last busy reading)."""
    began = time.monotonic()
    busy = 0.0
    while True:
        before, at = machine_busy_seconds(), time.monotonic()
        time.sleep(window_s)
        after = machine_busy_seconds()
        if before is None or after is None:
            return 0.0, 0.0
        busy = (after - before) / (time.monotonic() - at)
        if busy < below or time.monotonic() - began >= limit_s:
            return time.monotonic() - began, busy


def _clock_ticks() -> int:
    import os

    return int(os.sysconf("SC_CLK_TCK"))


_CLOCK_TICKS = _clock_ticks()
