"""Console WebSockets for press-to-console latency: many consoles per process, each a small WebSocket client on an
asyncio protocol that reads frames without building objects for them.

A console takes the receive time of each chunk of bytes, finds the ``created`` events of the benchmark's alerts in
it, and reads the alert's index from its id (see ``httpload.alert_id``). The latency is the receive time minus the
press's *scheduled* time (both on the machine's monotonic clock), so it covers the generator, the HTTP request, the
commit, the feed, and the fan-out to every console. Each process also measures its own event-loop lag and CPU, so a
console process that falls behind is reported as such, not blamed on the server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import multiprocessing
import os
import resource
import struct
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from benchmarks import hist
from benchmarks.httpload import parse_alert_id

CREATED = b'"kind":"created"'
ALERT = b'"alert":{'
ALERT_ID = b'"id":"'
TOO_SLOW = b'"stream.too_slow"'
SNAPSHOT = b'"type":"snapshot'  # the snapshot and its pages
SNAPSHOT_MORE = b'"more":true'  # on every page of a snapshot but its last


@dataclass
class _Armed:
    t0: float
    rate: float
    latency: Any = field(default_factory=hist.new)
    received: int = 0
    expected: int | None = None  # known once the presses are answered; then ``complete`` is set on reaching it
    complete: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Shared:
    run_tag: int
    armed: dict[int, _Armed] = field(default_factory=dict)
    frames: int = 0  # WebSocket frames received (a batch is one)
    too_slow: int = 0


class _Console(asyncio.Protocol):
    def __init__(self, shared: _Shared, host: str, path: str) -> None:
        self.shared = shared
        self.host, self.path = host, path
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.opened: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.fragments = bytearray()
        self.snapshot: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports do not subclass asyncio's
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(  # type: ignore[attr-defined]
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            ok = self.buffer[9:12] == b"101"
            del self.buffer[: end + 4]
            self.upgraded = ok
            if not self.opened.done():
                self.opened.set_result(ok)
            if not ok:
                self.close()
                return
        self._frames(now)

    def _frames(self, now: float) -> None:
        buffer = self.buffer
        offset = 0
        size = len(buffer)
        while size - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            length = second & 0x7F
            header = 2
            if length == 126:
                if size - offset < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, offset + 2)
                header = 4
            elif length == 127:
                if size - offset < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, offset + 2)
                header = 10
            if size - offset < header + length:
                break
            payload = bytes(buffer[offset + header : offset + header + length])
            offset += header + length
            opcode = first & 0x0F
            if opcode in (0, 1, 2):
                if not first & 0x80:
                    self.fragments += payload
                    continue
                if self.fragments:
                    payload, self.fragments = bytes(self.fragments) + payload, bytearray()
                self._message(payload, now)
            elif opcode == 9:
                self._send(0xA, payload)  # pong
            elif opcode == 8:
                self._send(0x8, payload[:2])
                self.close()
                break
        del buffer[:offset]

    def _message(self, payload: bytes, now: float) -> None:
        shared = self.shared
        shared.frames += 1
        if not self.snapshot.done() and SNAPSHOT in payload[:40] and SNAPSHOT_MORE not in payload[:120]:
            self.snapshot.set_result(None)
        # A frame is one message or a batch of several: every created event in it counts.
        created = payload.find(CREATED)
        while created >= 0:
            at = payload.find(ALERT, created)
            at = payload.find(ALERT_ID, at) if at >= 0 else -1
            if at < 0:
                break
            start = at + len(ALERT_ID)
            self._created(payload[start : start + 36].decode(), now)
            created = payload.find(CREATED, start)
        if TOO_SLOW in payload:
            shared.too_slow += 1

    def _created(self, alert_id: str, now: float) -> None:
        shared = self.shared
        parsed = parse_alert_id(alert_id)
        if parsed is None or parsed[0] != shared.run_tag:
            return
        armed = shared.armed.get(parsed[1])
        if armed is not None:
            hist.record_seconds(armed.latency, now - (armed.t0 + parsed[2] / armed.rate))
            armed.received += 1
            if armed.expected is not None and armed.received >= armed.expected:
                armed.complete.set()

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_result(False)
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _loop_lag(lag: Any, stop: asyncio.Event) -> None:
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(0.01)
        hist.record_seconds(lag, max(0.0, time.monotonic() - before - 0.01))


def console_main(link: Connection, host: str, port: int, tokens: list[str], run_tag: int) -> None:
    """A console process: connect every token's console stream, then follow the conductor's commands."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        shared = _Shared(run_tag=run_tag)

        async def connect(token: str) -> _Console | None:
            """One console stream, ready once its snapshot (open alerts and the unit board) has arrived; None if
            the server closed it first."""
            path = f"/api/v1/stream/console?token={token}"
            try:
                _, console = await loop.create_connection(
                    lambda: _Console(shared, f"{host}:{port}", path),
                    host,
                    port,
                )
            except OSError:
                return None
            try:
                await asyncio.wait_for(console.opened, 120)
            except TimeoutError:  # not even the handshake answered: turned away like the others, not a crash
                console.close()
                return None
            await asyncio.wait(
                {asyncio.ensure_future(console.snapshot), asyncio.ensure_future(console.closed)},
                timeout=300,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if console.snapshot.done() and not console.closed.done():
                return console
            console.close()
            return None

        # All at once first, as consoles do when their server restarts; those the server turned away reconnect a
        # few at a time, as a console page does. The time until all have their snapshot is reported (connect_s); it is
        # not part of the press-to-console latency.
        began = time.monotonic()
        first = await asyncio.gather(*(connect(t) for t in tokens))
        consoles = [c for c in first if c is not None]
        burst_failures = len(tokens) - len(consoles)
        waiting = [t for t, c in zip(tokens, first, strict=True) if c is None]
        gate = asyncio.Semaphore(4)

        async def again(token: str) -> _Console | None:
            async with gate:
                return await connect(token)

        for _ in range(3):
            if not waiting:
                break
            retried = await asyncio.gather(*(again(t) for t in waiting))
            consoles.extend(c for c in retried if c is not None)
            waiting = [t for t, c in zip(waiting, retried, strict=True) if c is None]
        link.send(("ready", len(consoles), burst_failures, time.monotonic() - began))
        lag = hist.new()
        stop = asyncio.Event()
        ticker = asyncio.create_task(_loop_lag(lag, stop))
        cpu_at_arm, wall_at_arm = _cpu_seconds(), time.monotonic()
        try:
            while True:
                command = await loop.run_in_executor(None, link.recv)
                if command is None:
                    return
                verb, step = command[0], command[1]
                if verb == "arm":
                    shared.armed[step] = _Armed(t0=command[2], rate=command[3])
                    lag = hist.new()
                    ticker.cancel()
                    ticker = asyncio.create_task(_loop_lag(lag, stop))
                    cpu_at_arm = _cpu_seconds()
                    wall_at_arm = time.monotonic()
                elif verb == "collect":
                    # Wait for every console's copy of every stored press, or the deadline.
                    armed = shared.armed.pop(step, _Armed(0.0, 1.0))
                    armed.expected = command[2]
                    if armed.received < armed.expected:
                        shared.armed[step] = armed  # still counting until complete or the deadline
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(armed.complete.wait(), command[3])
                        shared.armed.pop(step, None)
                    wall = time.monotonic() - wall_at_arm
                    link.send(
                        {
                            "latency": hist.encode(armed.latency),
                            "received": armed.received,
                            "loop_lag": hist.encode(lag),
                            "cpu": (_cpu_seconds() - cpu_at_arm) / wall if wall > 0 else 0.0,
                            "open": sum(1 for c in consoles if not c.closed.done()),
                            "too_slow": shared.too_slow,
                            "frames": shared.frames,
                        }
                    )
        finally:
            stop.set()
            ticker.cancel()
            for console in consoles:
                console.close()

    asyncio.run(serve())


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_SHARES: dict[str, int] = {}


def process_share(process: multiprocessing.process.BaseProcess) -> int:
    return _SHARES.get(process.name, 0)


class Consoles:
    """Console processes, ``per_process`` WebSockets each."""

    def __init__(self, url: str, tokens: list[str], *, run_tag: int, processes: int = 2) -> None:
        host, port = url.removeprefix("http://").split(":")
        context = multiprocessing.get_context("spawn")
        self._links: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
        shares = [tokens[i::processes] for i in range(processes)]
        for share in shares:
            if not share:
                continue
            ours, theirs = context.Pipe()
            process = context.Process(
                target=console_main,
                args=(theirs, host, int(port), share, run_tag),
                daemon=True,
                name=f"siaga-bench-consoles-{len(self._links)}",
            )
            process.start()
            self._links.append((process, ours))
            _SHARES[process.name] = len(share)
        self.connected = 0
        self.burst_failures = 0
        self.connect_s = 0.0  # from the burst to the last console's snapshot (reconnections included)
        for started, link in self._links:
            if not link.poll(330):
                raise RuntimeError("console process did not connect within 330 s")
            answer = link.recv()
            if started.exitcode is not None or answer[0] != "ready":
                raise RuntimeError(f"console process failed: {answer!r}")
            self.connected += int(answer[1])
            self.burst_failures += int(answer[2])
            self.connect_s = max(self.connect_s, float(answer[3]))

    def arm(self, step: int, t0: float, rate: float) -> None:
        for _, link in self._links:
            link.send(("arm", step, t0, rate))

    def collect(self, step: int, *, stored: int, grace_s: float) -> dict[str, Any]:
        """What the consoles saw of ``step``, once each has every one of the ``stored`` presses (or after
        ``grace_s``)."""
        answers = []
        for process, link in self._links:
            link.send(("collect", step, stored * process_share(process), grace_s))
        for _, link in self._links:
            answers.append(link.recv())
        latency = hist.merge([a["latency"] for a in answers])
        lag = hist.merge([a["loop_lag"] for a in answers])
        return {
            "latency_ms": hist.summary_ms(latency),
            "received": sum(a["received"] for a in answers),
            "console_loop_lag_ms": hist.summary_ms(lag),
            "console_cpu": round(max(a["cpu"] for a in answers), 3),
            "consoles_open": sum(a["open"] for a in answers),
            "too_slow_closes": sum(a["too_slow"] for a in answers),
            "latency_encoded": hist.encode(latency),
        }

    def close(self) -> None:
        for process, link in self._links:
            with contextlib.suppress(OSError):
                link.send(None)
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
