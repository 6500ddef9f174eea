"""The officers' stream load generator (``benchmarks.officerload``), checked on what it must get right: it keeps its
schedule when the server stalls (an open model) and counts the stall from each message's scheduled time; and against
a real ``siaga serve`` every position it counts as acknowledged reaches ``unit_positions``, while a refusal (an
officer off duty) is counted as one, not as an acknowledgement."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from benchmarks import population, server
from benchmarks.officerload import OfficerStreams, StreamWorkload
from benchmarks.run import _positions_written
from benchmarks.search import verdict
from websockets.asyncio.server import ServerConnection, serve


def _compact(message: dict[str, object]) -> str:
    return json.dumps(message, separators=(",", ":"))  # as the server writes its messages


class _StallingStream:
    """A stub officer stream: hello and snapshot on connect, an ack for every positions message, except that its
    whole loop stalls for ``stall_s`` on the ``stall_on``-th message, like a server stuck in a long pause."""

    def __init__(self, *, stall_on: int, stall_s: float) -> None:
        self.stall_on, self.stall_s = stall_on, stall_s
        self.seen = 0
        self.port = server.free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    async def _handle(self, connection: ServerConnection) -> None:
        await connection.send(_compact({"type": "hello", "stream": "officer", "cursor": 0}))
        await connection.send(_compact({"type": "snapshot", "cursor": 0, "alerts": [], "units": []}))
        async for text in connection:
            message = json.loads(text)
            self.seen += 1
            if self.seen == self.stall_on:
                time.sleep(self.stall_s)  # noqa: ASYNC251 - on purpose: the whole server stalls
            ack = {"type": "positions_ack", "seq": message["seq"], "accepted": len(message["points"]), "refused": None}
            await connection.send(_compact(ack))

    async def _serve(self) -> None:
        async with serve(self._handle, "127.0.0.1", self.port):
            self.ready.set()
            await self.stop.wait()

    def _run(self) -> None:
        self.loop.run_until_complete(self._serve())
        self.loop.close()

    def __enter__(self) -> _StallingStream:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


def test_a_stalled_stream_shows_in_the_tail_and_the_schedule_is_kept() -> None:
    with _StallingStream(stall_on=10, stall_s=0.6) as stub:
        streams = OfficerStreams(f"http://127.0.0.1:{stub.port}", [f"token-{i}" for i in range(8)], processes=1)
        try:
            assert streams.connected == 8
            step = streams.step(StreamWorkload(), 100, 1.0)
        finally:
            streams.close()
    assert step.scheduled == 100
    assert step.ok == 100, step.statuses
    assert step.latency_ms["count"] == 100
    # Messages due during the stall still went out on schedule, and each counts the stall from its scheduled time.
    assert step.latency_ms["max"] >= 500
    assert step.latency_ms["p90"] < step.latency_ms["max"]
    assert step.send_lag_ms["p50"] < 500
    assert verdict(step, 50.0) == "p99"


@pytest.fixture(scope="module")
def city_with_officers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[server.Server, list[str]]]:
    folder = tmp_path_factory.mktemp("officer-bench")
    database = asyncio.run(server.create_database("sqlite", folder))
    server.siaga(database, "db", "upgrade")
    asyncio.run(population.seed_city(database))
    tokens = asyncio.run(population.seed_officers(database, 12))
    running = server.start(database)
    try:
        yield running, tokens
    finally:
        running.stop(kill=True)


def test_positions_over_the_streams_are_acknowledged_written_and_refusals_counted(
    city_with_officers: tuple[server.Server, list[str]],
) -> None:
    siaga, tokens = city_with_officers
    # One officer ends the shift (through the API, as the phone would): the server refuses that officer's positions.
    off = httpx.delete(f"{siaga.url}/api/v1/officers/me/duty", headers={"Authorization": f"Bearer {tokens[-1]}"})
    assert off.status_code == 200, off.text
    before = asyncio.run(_positions_written(siaga.database))
    streams = OfficerStreams(siaga.url, tokens, processes=2)
    try:
        assert (streams.connected, streams.turned_away) == (12, 0)
        step = streams.step(StreamWorkload(), 60, 1.0, server_pid=siaga.pid, timeout_s=30)
        assert streams.open_streams() == 12
    finally:
        streams.close()
    assert step.scheduled == 60
    # Each process sends its messages from its officers in turn: the officer off duty got 60 / 12 of them.
    assert step.statuses == {"ack": 55, "refused:officer.off_duty": 5}, step.statuses
    assert step.ok == 55
    assert step.latency_ms["count"] == 60
    assert step.server_cpu is not None
    assert verdict(step, 50.0) == "errors"

    written = 0
    for _ in range(100):  # the server writes positions in batches every half second
        written = asyncio.run(_positions_written(siaga.database)) - before
        if written >= step.ok:
            break
        time.sleep(0.1)
    assert written == step.ok
