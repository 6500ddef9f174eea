"""The benchmarks' load generator, checked on what it must get right: it keeps its schedule when the server stalls
(an open model), measures each latency from the scheduled time so a stall shows in the tail, and against a real
``siaga serve`` every press it counts as stored was answered 201 and survives a SIGKILL."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from benchmarks import population, server
from benchmarks.httpload import Generator, Workload, alert_id, parse_alert_id
from benchmarks.run import _stored_alert_ids
from benchmarks.search import verdict


def test_alert_ids_carry_their_run_step_and_index() -> None:
    made = alert_id(0xDEADBEEF, 7, 123_456)
    assert made.version == 4
    assert parse_alert_id(str(made)) == (0xDEADBEEF, 7, 123_456)
    assert parse_alert_id("3f1c2c1e-0000-4000-9000-000000000001") is None  # someone else's id


class _StallingServer:
    """A stub HTTP server that answers 201 at once, except that its whole loop stalls for ``stall_s`` on the
    ``stall_on``-th request, like a server stuck in a long commit."""

    def __init__(self, *, stall_on: int, stall_s: float) -> None:
        self.stall_on, self.stall_s = stall_on, stall_s
        self.seen = 0
        self.port = server.free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                self.seen += 1
                if self.seen == self.stall_on:
                    time.sleep(self.stall_s)  # noqa: ASYNC251 - on purpose: the whole server stalls
                writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        listening = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self.ready.set()
        self.loop.run_forever()
        listening.close()
        self.loop.run_until_complete(listening.wait_closed())
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    def __enter__(self) -> _StallingServer:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_a_stalled_server_shows_in_the_tail_and_the_schedule_is_kept() -> None:
    with _StallingServer(stall_on=10, stall_s=0.6) as stub:
        generator = Generator(f"http://127.0.0.1:{stub.port}")
        try:
            step = generator.step(Workload("noop", "/api/v1/noop", 201), 100, 1.0)
        finally:
            generator.close()
    assert step.scheduled == 100
    assert step.ok == 100, step.statuses
    assert step.latency_ms["count"] == 100
    # Requests due during the stall were still sent on schedule (an open model) and each counts the stall from its
    # scheduled time: the first one waited the whole stall, and the tail holds it.
    assert step.latency_ms["max"] >= 500
    assert step.latency_ms["p90"] < step.latency_ms["max"]
    assert step.send_lag_ms["p50"] < 500  # the generator itself was not stalled
    assert verdict(step, 50.0) == "p99"


@pytest.fixture(scope="module")
def siaga_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Server]:
    folder = tmp_path_factory.mktemp("bench")
    database = asyncio.run(server.create_database("sqlite", folder))
    server.siaga(database, "db", "upgrade")
    asyncio.run(population.seed_city(database))
    running = server.start(database)
    try:
        yield running
    finally:
        running.stop(kill=True)


def test_a_tiny_bench_against_a_real_server_stores_every_answered_press(siaga_server: server.Server) -> None:
    # A resident per press: a resident's second press while their alert is active joins it (answered 200).
    residents = asyncio.run(population.seed_residents(siaga_server.database, 10))
    generator = Generator(siaga_server.url)
    try:
        noop = generator.step(Workload("noop", "/api/v1/noop", 201), 40, 0.5, server_pid=siaga_server.pid)
        sos = Workload("sos", "/api/v1/alerts", 201, tuple(residents), run_tag=0x5AFE)
        pressed = generator.step(sos, 20, 0.5, server_pid=siaga_server.pid, timeout_s=30)
    finally:
        generator.close()
    assert noop.ok == noop.scheduled == 20, noop.statuses
    assert pressed.ok == pressed.scheduled == 10, pressed.statuses
    assert pressed.latency_ms["count"] == 10
    assert pressed.server_cpu is not None
    answered = {str(alert_id(0x5AFE, pressed.step_id, i)) for i in pressed.ok_indices}
    siaga_server.stop(kill=True)
    assert answered <= asyncio.run(_stored_alert_ids(siaga_server.database))
