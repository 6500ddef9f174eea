"""A hub that accepts connections and never answers costs SOS presses nothing: they are stored and answered, and a
console stream on the same process still shows them (it follows the process's own feed, not the hub)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from siaga.accounts.domain import Role
from siaga.alerts.models import Alert
from siaga.app import create_app
from siaga.db import create_engine, read_session_factory, session_factory
from siaga.hub import RedisHub
from siaga.runtime import Runtime
from tests.conftest import Api, make_settings
from tests.e2e.test_streams import Live, stream
from tests.servers import in_process

_REDIS_URL = urlsplit(os.environ.get("SIAGA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
REDIS = (_REDIS_URL.hostname or "127.0.0.1", _REDIS_URL.port or 6379)
HUB_TIMEOUT = 600.0  # a publish waits this long for the hung server: far beyond the test's deadline
DEADLINE = 30.0  # generous for a busy machine; a press held up by the hub would wait HUB_TIMEOUT
PRESSES = 6


class HangingRedis:
    """A TCP server in front of the machine's Redis. It passes bytes both ways until ``hang()``; from then on it
    accepts connections and reads what they send, but never answers, as a stuck server or a black-holed network
    would. The hub has to start against a server that answers: a hub that never started fails fast."""

    def __init__(self) -> None:
        self.hung = False
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._pumps: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    def hang(self) -> None:
        self.hung = True

    async def close(self) -> None:
        """Drop every connection (what waits on the hung server fails at once) and stop listening."""
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        if self.hung:
            self._pump(reader, None)
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(*REDIS)
        self._writers.append(upstream_writer)
        self._pump(reader, upstream_writer)
        self._pump(upstream_reader, writer)

    def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None) -> None:
        async def run() -> None:
            with contextlib.suppress(OSError):
                while data := await reader.read(65536):
                    if writer is not None and not self.hung:
                        writer.write(data)
                        await writer.drain()

        task = asyncio.create_task(run())
        self._pumps.add(task)
        task.add_done_callback(self._pumps.discard)


@asynccontextmanager
async def served_on_hanging_redis(db: Runtime) -> AsyncIterator[tuple[Live, HangingRedis]]:
    """A Siaga app of its own on the test database, on uvicorn, its hub a Redis hub through ``HangingRedis`` with a
    long publish timeout."""
    front = HangingRedis()
    await front.start()
    settings = make_settings(db.settings.database_url, hub_url=front.url)
    engine = create_engine(settings.database_url)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        read_sessions=read_session_factory(engine),
        sms=db.sms,
        push=None,
        hub=RedisHub(front.url, timeout=HUB_TIMEOUT),
    )
    try:
        async with in_process(create_app(settings, runtime=runtime)) as url:
            try:
                async with httpx.AsyncClient(base_url=url, timeout=HUB_TIMEOUT) as http:
                    ws = url.replace("http://", "ws://") + "/api/v1/stream"
                    yield Live(api=Api(http=http, runtime=runtime), ws=ws), front
            finally:
                await front.close()  # whatever still waits on the hub fails now, so the server stops promptly
    finally:
        await front.close()
        await runtime.close()


async def test_presses_are_stored_answered_and_streamed_while_the_hub_hangs(db: Runtime) -> None:
    async with served_on_hanging_redis(db) as (live, front):
        api = live.api
        assert api.runtime.hub.status().up, "the hub must be running before it hangs, or nothing would wait on it"
        operator = await api.staff(Role.OPERATOR)
        residents = [await api.resident(name=f"Warga {n}") for n in range(PRESSES)]
        async with stream(live, "console", operator) as console:
            front.hang()
            async with asyncio.timeout(DEADLINE):
                alerts = await asyncio.gather(*(api.press(resident) for resident in residents))
                ids = {uuid.UUID(alert["id"]) for alert in alerts}
                async with api.runtime.read_sessions() as session:
                    stored = await session.scalar(select(func.count()).select_from(Alert).where(Alert.id.in_(ids)))
                assert stored == PRESSES
                # The console on this process shows every press: its stream follows the local feed.
                shown: set[str] = set()
                while len(shown) < PRESSES:
                    created = await console.event("created")
                    shown.add(created["alert"]["id"])
                assert shown == {alert["id"] for alert in alerts}
