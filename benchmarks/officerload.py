"""Officers' positions over their open stream: the open-model load generator for ``/api/v1/stream/officer``.

Thousands of officers are connected at once, each over its own WebSocket, authenticated once when it connects. A
step sends ``rate`` position messages a second (``{"type": "positions", "seq": N, "points": [one point]}``) spread
evenly over the connected officers, whether or not earlier ones were answered (an open model, as in
``httpload``). Each message's latency runs from its *scheduled* send time to its ``positions_ack``, into an
HdrHistogram, so neither a stalled server nor a stalled generator can hide its tail. A message not acknowledged
within the step's timeout counts as a timeout at that latency.

The client is websockets' sans-I/O protocol under a bare asyncio protocol: one object per connection, no task per
connection or per message, because on a 2-core machine the generator competes with the server for CPU. Officers
are spread over several processes (multiprocessing spawn); each process checks itself as ``httpload`` does: how
late each message actually went out against its schedule (``send_lag``) and how busy the process was. A step in
which a process fell behind is marked ``generator_saturated``.

``seq`` carries the step and the message's index (``step << 32 | index``), so an ack names the message it answers
and its scheduled time follows from the step's plan, without a table of messages in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from benchmarks import hist
from benchmarks.httpload import (
    BANDUNG,
    StepPlan,
    StepResult,
    WorkerOutcome,
    _cpu_seconds,
    _use_uvloop,
    machine_busy_seconds,
    merge_outcomes,
    process_cpu_seconds,
)
from siaga.realtime.schemas import unbatch

PATH = "/api/v1/stream/officer"
ACK = b'"positions_ack"'
SNAPSHOT = b'"type":"snapshot"'
INDEX_BITS = 32
CONNECT_AT_ONCE = 32  # connections each process opens at a time (each costs the server a login and an audit row)


@dataclass(frozen=True, slots=True)
class StreamWorkload:
    """What ``step_up`` offers: position messages on the officers' streams (nothing to choose but the name)."""

    kind: str = "stream"
    path: str = PATH


def position_message(plan: StepPlan, index: int) -> str:
    """Message ``index`` of a step: one position somewhere in Bandung, as the officer app sends it."""
    rng = random.Random(plan.step * 1_000_003 + index)
    point = {
        "lat": round(rng.uniform(BANDUNG[0], BANDUNG[1]), 6),
        "lon": round(rng.uniform(BANDUNG[2], BANDUNG[3]), 6),
        "accuracy_m": 8.0,
        "speed_mps": round(rng.uniform(0, 12), 2),
        "battery": rng.randint(20, 100),
        "recorded_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    seq = (plan.step << INDEX_BITS) | index
    return json.dumps({"type": "positions", "seq": seq, "points": [point]}, separators=(",", ":"))


# One step, as seen by one process ---------------------------------------------------------------------------------


@dataclass
class _Step:
    plan: StepPlan
    expected: int
    answered: bytearray  # one byte per index of the whole step: 1 once answered (a second ack is not counted)
    latency: Any = field(default_factory=hist.new)
    statuses: Counter[str] = field(default_factory=Counter)
    ok_indices: list[int] = field(default_factory=list)
    acks: int = 0
    last_done: float = 0.0
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def on_ack(self, message: dict[str, Any], now: float) -> None:
        seq = message.get("seq")
        if seq is None:  # the server could not read the message at all: it says why, without a seq
            self.statuses[f"refused:{message.get('refused')}"] += 1
            return
        index = seq & ((1 << INDEX_BITS) - 1)
        if seq >> INDEX_BITS != self.plan.step or index >= len(self.answered) or self.answered[index]:
            return  # a late answer to an earlier step, or a duplicate
        self.answered[index] = 1
        hist.record_seconds(self.latency, now - self.plan.scheduled_at(index))
        if message.get("accepted"):
            self.statuses["ack"] += 1
            self.ok_indices.append(index)
            self.last_done = max(self.last_done, now)
        else:
            self.statuses[f"refused:{message.get('refused')}"] += 1
        self.acks += 1
        if self.acks >= self.expected:
            self.complete.set()


@dataclass
class _Shared:
    step: _Step | None = None
    messages: int = 0
    closed: int = 0


# One officer's connection ------------------------------------------------------------------------------------------


class _Officer(asyncio.Protocol):
    """One officer's stream: websockets' sans-I/O client protocol fed straight from the socket."""

    def __init__(self, shared: _Shared, url: str) -> None:
        self.shared = shared
        self.ws = ClientProtocol(parse_uri(url), max_size=None)
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[bool] = loop.create_future()
        self.snapshot: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.fragments = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports do not subclass asyncio's
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Frame):
                self._frame(event, now)
            elif isinstance(event, Response) and not self.opened.done():
                self.opened.set_result(self.ws.handshake_exc is None)
        self._flush()  # pongs to the server's pings, the answer to a close

    def _frame(self, frame: Frame, now: float) -> None:
        if frame.opcode is Opcode.TEXT or frame.opcode is Opcode.CONT:
            if not frame.fin:
                self.fragments += frame.data
                return
            payload = bytes(self.fragments) + frame.data if self.fragments else bytes(frame.data)
            self.fragments = bytearray()
            self._message(payload, now)
        elif frame.opcode is Opcode.CLOSE:
            self.close()

    def _message(self, payload: bytes, now: float) -> None:
        self.shared.messages += 1
        if ACK in payload:  # alone, or anywhere in a batch of what was waiting
            step = self.shared.step
            if step is not None:
                for message in unbatch(json.loads(payload)):
                    if message.get("type") == "positions_ack":
                        step.on_ack(message, now)
        elif not self.snapshot.done() and SNAPSHOT in payload[:40]:
            self.snapshot.set_result(None)

    def send(self, text: str) -> bool:
        """Send one message now; False if the connection is gone."""
        if self.closed.done() or self.ws.state is not State.OPEN:
            return False
        self.ws.send_text(text.encode())
        self._flush()
        return True

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        for chunk in self.ws.data_to_send():
            if chunk:
                transport.write(chunk)
            else:
                transport.close()  # the protocol's end of stream (after a close handshake)

    def connection_lost(self, exc: Exception | None) -> None:
        self.ws.receive_eof()
        if not self.opened.done():
            self.opened.set_result(False)
        if not self.closed.done():
            self.closed.set_result(None)
            self.shared.closed += 1

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


# A generator process ------------------------------------------------------------------------------------------------


async def _connect_all(host: str, port: int, tokens: list[str], shared: _Shared) -> tuple[list[_Officer], int]:
    """Every token's officer stream, open once its snapshot has arrived, a few at a time; (open, turned away)."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def one(token: str) -> _Officer | None:
        url = f"ws://{host}:{port}{PATH}?token={token}"
        async with gate:
            for attempt in range(3):
                try:
                    _, officer = await loop.create_connection(lambda: _Officer(shared, url), host, port)
                    if await asyncio.wait_for(officer.opened, 120):
                        await asyncio.wait(
                            {officer.snapshot, officer.closed}, timeout=120, return_when=asyncio.FIRST_COMPLETED
                        )
                        if officer.snapshot.done() and not officer.closed.done():
                            return officer
                    officer.close()
                except (OSError, TimeoutError):
                    pass
                await asyncio.sleep(0.5 * (attempt + 1))
        return None

    opened = await asyncio.gather(*(one(t) for t in tokens))
    officers = [o for o in opened if o is not None]
    return officers, len(tokens) - len(officers)


async def run_step(officers: list[_Officer], shared: _Shared, plan: StepPlan, *, worker: int, workers: int) -> Any:
    """Send this process's share of the step's schedule (message ``i`` goes out from process ``i % workers``, from
    its officers in turn) and wait for every answer or the timeout."""
    schedule = [
        (index, plan.scheduled_at(index), position_message(plan, index)) for index in range(worker, plan.count, workers)
    ]
    step = _Step(plan=plan, expected=len(schedule), answered=bytearray(plan.count), last_done=plan.t0)
    shared.step = step
    lag = hist.new()
    started_cpu, started = _cpu_seconds(), time.monotonic()
    in_a_row = 0
    live = [o for o in officers if not o.closed.done()]
    for number, (index, due, text) in enumerate(schedule):
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
            in_a_row = 0
        elif in_a_row >= 32:  # behind schedule: still read answers between sends
            await asyncio.sleep(0)
            in_a_row = 0
        hist.record_seconds(lag, time.monotonic() - due)
        in_a_row += 1
        if not live or not live[number % len(live)].send(text):
            step.statuses["closed"] += 1
            step.answered[index] = 1
            step.acks += 1
            hist.record_seconds(step.latency, plan.timeout_s)
    if step.acks < step.expected:
        last_due = schedule[-1][1] if schedule else plan.t0
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(step.complete.wait(), max(0.0, last_due + plan.timeout_s - time.monotonic()))
    shared.step = None
    missing = step.expected - step.acks
    if missing > 0:
        step.statuses["timeout"] += missing
        for _ in range(missing):  # at least this long: kept in the tail
            hist.record_seconds(step.latency, plan.timeout_s)
    return WorkerOutcome(
        latency=hist.encode(step.latency),
        send_lag=hist.encode(lag),
        statuses=dict(step.statuses),
        ok_indices=step.ok_indices,
        cpu_s=_cpu_seconds() - started_cpu,
        wall_s=time.monotonic() - started,
        last_done=step.last_done,
    )


def worker_main(link: Connection, host: str, port: int, tokens: list[str]) -> None:
    """A generator process: connect its officers, then run each step it is sent until it is sent None."""
    _use_uvloop()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        shared = _Shared()
        began = time.monotonic()
        officers, refused = await _connect_all(host, port, tokens, shared)
        link.send(("ready", len(officers), refused, time.monotonic() - began))
        try:
            while True:
                message = await loop.run_in_executor(None, link.recv)
                if message is None:
                    return
                if message == "open":
                    link.send(sum(1 for o in officers if not o.closed.done()))
                    continue
                plan, worker, workers = message
                try:
                    link.send(await run_step(officers, shared, plan, worker=worker, workers=workers))
                except Exception as exc:  # tell the conductor rather than leave it waiting
                    link.send(RuntimeError(f"officer stream process failed: {type(exc).__name__}: {exc}"))
        finally:
            for officer in officers:
                officer.close()

    asyncio.run(serve())


# The conductor's side ------------------------------------------------------------------------------------------------


class OfficerStreams:
    """``tokens``' officer streams, open in ``processes`` generator processes; ``step`` offers one rate."""

    def __init__(self, url: str, tokens: list[str], *, processes: int = 2, connect_timeout_s: float = 900) -> None:
        host, port = url.removeprefix("http://").split(":")
        context = multiprocessing.get_context("spawn")
        self._links: list[tuple[Any, Connection]] = []
        count = max(1, min(processes, len(tokens)))
        began = time.monotonic()
        for number in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=worker_main,
                args=(theirs, host, int(port), tokens[number::count]),
                daemon=True,
                name=f"siaga-bench-officers-{number}",
            )
            process.start()
            self._links.append((process, ours))
        self.connected = 0
        self.turned_away = 0
        for process, link in self._links:
            if not link.poll(connect_timeout_s):
                self.close()
                raise RuntimeError(f"officer streams did not connect within {connect_timeout_s:.0f} s")
            answer = link.recv()
            if process.exitcode is not None or answer[0] != "ready":
                raise RuntimeError(f"officer stream process failed: {answer!r}")
            self.connected += int(answer[1])
            self.turned_away += int(answer[2])
        self.connect_s = time.monotonic() - began
        self._step = 0x4000  # clear of the ids other scenarios' steps use

    @property
    def pids(self) -> list[int]:
        return [p.pid for p, _ in self._links if p.pid is not None]

    def open_streams(self) -> int:
        """How many of the streams are still open."""
        for _, link in self._links:
            link.send("open")
        return sum(int(link.recv()) for _, link in self._links)

    def step(
        self,
        workload: StreamWorkload,
        rate: float,
        duration_s: float,
        *,
        timeout_s: float = 10.0,
        server_pid: int | None = None,
    ) -> StepResult:
        """Offer ``rate`` position messages a second for ``duration_s``; wait for every ack (or its timeout)."""
        self._step += 1
        count = max(1, math.ceil(rate * duration_s))
        plan = StepPlan(
            step=self._step, rate=rate, count=count, t0=time.monotonic() + 0.5 + count / 20_000, timeout_s=timeout_s
        )
        server_before = process_cpu_seconds(server_pid) if server_pid else None
        machine_before = machine_busy_seconds()
        sampled = time.monotonic()
        for worker, (_, link) in enumerate(self._links):
            link.send((plan, worker, len(self._links)))
        outcomes: list[WorkerOutcome] = []
        for _, link in self._links:
            answer = link.recv()
            if isinstance(answer, Exception):
                raise answer
            outcomes.append(answer)
        server_after = process_cpu_seconds(server_pid) if server_pid else None
        machine_after = machine_busy_seconds()
        wall = time.monotonic() - sampled
        result = merge_outcomes(workload, plan, outcomes)  # type: ignore[arg-type]  # only its kind is read
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
            process.join(timeout=20)
            if process.is_alive():
                process.kill()


def main() -> int:
    """``python -m benchmarks.officerload``: only the officers' location scenario (stream, then HTTP) on fresh
    databases (``BENCH_DATABASES``, ``BENCH_OFFICERS``, ``BENCH_STREAM_RATES``, ... as for ``python -m
    benchmarks``); prints the results as JSON."""
    from benchmarks import run

    return run.locations_only()


if __name__ == "__main__":
    raise SystemExit(main())
