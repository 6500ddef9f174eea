"""The event hub on each backend (memory, the machine's PostgreSQL and Redis): delivery, order, isolation between
processes, slow subscribers, leaving, stopping, limits and reconnects. The servers are shared, so every test uses
channels of its own."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from siaga.hub import (
    Hub,
    HubLagged,
    HubUnavailable,
    MemoryHub,
    PostgresHub,
    RedisHub,
    Subscription,
    hub_from_url,
)

POSTGRES_URL = os.environ.get("SIAGA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SIAGA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("SIAGA_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"
URLS = {"memory": "memory://", "postgres": POSTGRES_URL, "redis": REDIS_URL}
DEADLINE = 10.0  # generous: these tests prove outcomes, never speed

BACKENDS = ["memory", pytest.param("postgres", marks=pytest.mark.postgres), "redis"]
SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres), "redis"]
_problems: dict[str, str | None] = {}


def postgres_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _problem(backend: str) -> str | None:
    """Why the backend's server cannot be used, or None."""
    try:
        if backend == "postgres":
            connection = await asyncio.wait_for(asyncpg.connect(postgres_dsn()), 5)
            await connection.close()
        elif backend == "redis":
            client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
            try:
                await asyncio.wait_for(client.ping(), 5)
            finally:
                await client.aclose()
    except (OSError, TimeoutError, asyncpg.PostgresError, RedisError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def require(backend: str) -> str:
    """The backend's URL; skip when its server is unreachable, or fail where services are required (CI)."""
    if backend not in _problems:
        _problems[backend] = await _problem(backend)
    problem = _problems[backend]
    if problem is not None:
        message = f"{backend} unreachable at {URLS[backend]} ({problem})"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message}, but services are required here (CI or SIAGA_REQUIRE_SERVICES=1)")
        pytest.skip(f"{message}; set SIAGA_TEST_{backend.upper()}_URL")
    return URLS[backend]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def url(backend: str) -> str:
    return await require(backend)


@pytest.fixture(params=SERVERS)
async def server(request: pytest.FixtureRequest) -> str:
    """A backend with a server behind it (not memory)."""
    name: str = request.param
    await require(name)
    return name


@pytest.fixture
async def hub(url: str) -> AsyncIterator[Hub]:
    hub = hub_from_url(url)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


def new_channel() -> str:
    return f"test.hub_{uuid.uuid4().hex[:16]}"


def subscriber_count(hub: Hub) -> int:
    assert isinstance(hub, MemoryHub | PostgresHub | RedisHub)
    return hub.subscriber_count


async def receive(subscription: Subscription, count: int = 1, deadline: float = DEADLINE) -> list[str]:
    """The next ``count`` messages, failing if they do not arrive within the deadline."""

    async def take() -> list[str]:
        messages: list[str] = []
        async for message in subscription:
            messages.append(message)
            if len(messages) == count:
                break
        return messages

    return await asyncio.wait_for(take(), deadline)


async def next_item(subscription: Subscription) -> str:
    return await asyncio.wait_for(anext(aiter(subscription)), DEADLINE)


async def test_a_message_reaches_every_subscriber_of_its_channel_and_no_other(hub: Hub) -> None:
    alerts, positions = new_channel(), new_channel()
    async with hub.subscribe(alerts) as first, hub.subscribe(alerts) as second, hub.subscribe(positions) as other:
        await hub.publish(alerts, '{"event_id": 41}')
        await hub.publish(positions, "marker")

        assert await receive(first) == ['{"event_id": 41}']
        assert await receive(second) == ['{"event_id": 41}']
        # One publisher, one listening connection: had "other" been sent the alert, it would come before the marker.
        assert await receive(other) == ["marker"]


async def test_one_publishers_messages_arrive_in_order(hub: Hub) -> None:
    channel = new_channel()
    sent = [f'{{"event_id": {n}}}' for n in range(500)]
    async with hub.subscribe(channel) as subscription:
        for message in sent:
            await hub.publish(channel, message)
        assert await receive(subscription, len(sent)) == sent


async def test_two_hubs_on_one_server_see_each_others_messages(backend: str, url: str, hub: Hub) -> None:
    other = hub_from_url(url)  # as a second Siaga process would hold
    await other.start()
    try:
        channel = new_channel()
        async with hub.subscribe(channel) as mine, other.subscribe(channel) as theirs:
            if backend == "memory":
                # In-process by design: two instances are two separate worlds.
                await other.publish(channel, "theirs only")
                await hub.publish(channel, "mine only")
                assert await receive(mine) == ["mine only"]
                assert await receive(theirs) == ["theirs only"]
            else:
                await hub.publish(channel, "from a")
                await other.publish(channel, "from b")
                assert sorted(await receive(mine, 2)) == ["from a", "from b"]
                assert sorted(await receive(theirs, 2)) == ["from a", "from b"]
    finally:
        await other.stop()


async def test_a_subscriber_that_never_reads_holds_up_no_one_and_is_told_it_lagged(backend: str, url: str) -> None:
    # An inbox of 200 (the default holds 10,000) overflows after hundreds of messages rather than tens of thousands.
    max_queue = 200
    hub = {"memory": MemoryHub, "postgres": PostgresHub, "redis": RedisHub}[backend](url, max_queue=max_queue)
    await hub.start()
    channel = new_channel()
    total = 2 * max_queue
    sent = [str(n) for n in range(total)]
    try:
        async with hub.subscribe(channel) as slow, hub.subscribe(channel) as fast:
            fast_reader = asyncio.create_task(receive(fast, total, deadline=60))
            for message in sent:
                await hub.publish(channel, message)
            assert await fast_reader == sent

            with pytest.raises(HubLagged):
                await next_item(slow)
            # Still usable: what follows the gap is in order, and it reaches messages published from now on.
            await hub.publish(channel, "after")
            after_gap: list[str] = []
            while not after_gap or after_gap[-1] != "after":
                try:
                    after_gap.append(await next_item(slow))
                except HubLagged:
                    continue  # it may fall behind again while catching up; a subscriber re-reads and carries on
            numbers = [int(message) for message in after_gap[:-1]]
            assert numbers == sorted(numbers)
            assert all(number >= total // 2 for number in numbers)
    finally:
        await hub.stop()


async def test_leaving_the_block_unsubscribes(hub: Hub) -> None:
    channel = new_channel()
    async with hub.subscribe(channel) as subscription:
        assert subscriber_count(hub) == 1
        await hub.publish(channel, "while subscribed")
        assert await receive(subscription) == ["while subscribed"]

    assert subscriber_count(hub) == 0
    await hub.publish(channel, "after leaving")  # nobody listens any more, which is fine
    with pytest.raises(StopAsyncIteration):
        await next_item(subscription)
    # And the server forgot the channel too.
    if isinstance(hub, RedisHub):
        admin = aioredis.Redis.from_url(REDIS_URL)
        try:
            assert await admin.pubsub_numsub(channel) == [(channel.encode(), 0)]
        finally:
            await admin.aclose()
    if isinstance(hub, PostgresHub):
        assert await listener_last_query(hub.listener_name) == f'UNLISTEN "{channel}"'


async def test_subscribing_and_leaving_is_safe_while_messages_flow(hub: Hub) -> None:
    channel = new_channel()
    sent = [str(n) for n in range(300)]
    async with hub.subscribe(channel) as steady:
        done = asyncio.Event()

        async def come_and_go() -> None:
            while not done.is_set():
                async with hub.subscribe(channel):
                    await asyncio.sleep(0)
                async with hub.subscribe(new_channel()):
                    await asyncio.sleep(0)

        visitor = asyncio.create_task(come_and_go())
        for message in sent:
            await hub.publish(channel, message)
        received = await receive(steady, len(sent))
        done.set()
        await asyncio.wait_for(visitor, DEADLINE)
        assert received == sent
    assert subscriber_count(hub) == 0


async def test_stop_ends_every_subscription(url: str) -> None:
    hub = hub_from_url(url)
    await hub.start()
    await hub.start()  # idempotent
    channel = new_channel()
    async with hub.subscribe(channel) as first, hub.subscribe(new_channel()) as second:

        async def read_to_the_end(subscription: Subscription) -> list[str]:
            return [message async for message in subscription]

        readers = [asyncio.create_task(read_to_the_end(s)) for s in (first, second)]
        await asyncio.sleep(0.05)  # let both wait for a message
        await hub.stop()
        assert await asyncio.wait_for(asyncio.gather(*readers), DEADLINE) == [[], []]
    await hub.stop()  # idempotent
    with pytest.raises(RuntimeError, match="start"):
        await hub.publish(channel, "too late")


@pytest.mark.postgres
async def test_postgresql_refuses_payloads_over_its_limit() -> None:
    hub = hub_from_url(await require("postgres"))
    await hub.start()
    try:
        channel = new_channel()
        async with hub.subscribe(channel) as subscription:
            with pytest.raises(ValueError, match="8000 bytes"):
                await hub.publish(channel, "x" * 8000)
            with pytest.raises(ValueError, match="8000 bytes"):
                await hub.publish(channel, "é" * 4000)  # 4000 characters, 8000 bytes
            largest = "x" * 7999
            await hub.publish(channel, largest)
            assert await receive(subscription) == [largest]
    finally:
        await hub.stop()


async def test_invalid_channel_names_are_refused(hub: Hub) -> None:
    for name in ["", "Alerts", "has space", 'quo"te', "semi;colon", "dash-ed", "ünicode", "x" * 64]:
        with pytest.raises(ValueError, match="channel name"):
            await hub.publish(name, "x")
        with pytest.raises(ValueError, match="channel name"):
            async with hub.subscribe(name):
                pass
    assert subscriber_count(hub) == 0
    await hub.publish("agency.42_console", "a valid name")


@pytest.mark.parametrize(
    "url", ["mysql://localhost/siaga", "http://localhost", "sqlite+aiosqlite:///siaga.db", "redis", "", "memory"]
)
def test_unknown_url_schemes_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="unknown hub URL scheme"):
        hub_from_url(url)


def test_every_documented_url_form_picks_its_backend() -> None:
    assert isinstance(hub_from_url("memory://"), MemoryHub)
    for url in ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+asyncpg://u@h/db"]:
        assert isinstance(hub_from_url(url), PostgresHub)
    assert isinstance(hub_from_url("redis://127.0.0.1:6379/0"), RedisHub)


@pytest.mark.parametrize("url", ["postgresql://postgres@127.0.0.1:1/test", "redis://127.0.0.1:1/0"])
async def test_an_unreachable_server_is_reported_not_waited_for(url: str) -> None:
    hub = hub_from_url(url)
    with pytest.raises(HubUnavailable) as raised:
        await asyncio.wait_for(hub.start(), DEADLINE)
    assert isinstance(raised.value, ConnectionError)
    with pytest.raises(RuntimeError):
        await hub.publish("alerts", "x")


async def test_a_killed_listening_connection_comes_back_and_says_messages_may_be_missing(server: str) -> None:
    hub = hub_from_url(URLS[server])
    assert isinstance(hub, PostgresHub | RedisHub)
    await hub.start()
    try:
        channel = new_channel()
        async with hub.subscribe(channel) as subscription:
            await hub.publish(channel, "before")
            assert await receive(subscription) == ["before"]

            await KILL_LISTENER[server](hub.listener_name)

            with pytest.raises(HubLagged, match="reconnected"):
                await next_item(subscription)
            await hub.publish(channel, "after")
            assert await receive(subscription) == ["after"]
    finally:
        await hub.stop()


async def test_an_outage_fails_publishes_in_time_then_the_hub_recovers(server: str) -> None:
    upstream = urlsplit(URLS[server])
    proxy = Partition(upstream.hostname or "127.0.0.1", upstream.port or DEFAULT_PORTS[server])
    port = await proxy.start()
    hub_class = PostgresHub if server == "postgres" else RedisHub
    hub = hub_class(through(URLS[server], port), timeout=1.0, probe_interval=0.2)
    probe_failed = LogWatch("probe failed")
    logging.getLogger("siaga.hub").addHandler(probe_failed)
    await hub.start()
    try:
        channel = new_channel()
        async with hub.subscribe(channel) as subscription:
            await asyncio.sleep(0.5)  # several probes come back: a healthy connection is left alone
            await hub.publish(channel, "before")
            assert await receive(subscription) == ["before"]

            proxy.cut()
            with pytest.raises(HubUnavailable):
                await asyncio.wait_for(hub.publish(channel, "during"), DEADLINE)
            # Nothing was reset, so only the probe can notice that the listening connection went deaf.
            await asyncio.wait_for(probe_failed.heard.wait(), DEADLINE)
            proxy.mend()

            with pytest.raises(HubLagged, match="reconnected"):
                await asyncio.wait_for(anext(aiter(subscription)), 3 * DEADLINE)
            await hub.publish(channel, "after")
            assert await receive(subscription) == ["after"]
    finally:
        await hub.stop()
        await proxy.close()
        logging.getLogger("siaga.hub").removeHandler(probe_failed)


class Partition:
    """A TCP relay to a server that a test can cut like a network partition: bytes vanish, nothing is reset. Mending
    it drops every relayed connection, as a partition that heals after the peers gave up would."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def cut(self) -> None:
        self._cut = True

    def mend(self) -> None:
        self._cut = False
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        self.mend()
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self._cut:
            return  # accepted, and then silence
        try:
            server_reader, server_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(server_writer)
        for source, sink in ((reader, server_writer), (server_reader, writer)):
            pipe = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                if not self._cut:
                    sink.write(data)
                    await sink.drain()
        except OSError:
            pass
        finally:
            sink.transport.abort()


DEFAULT_PORTS = {"postgres": 5432, "redis": 6379}


def through(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the relay's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


class LogWatch(logging.Handler):
    """Sets ``heard`` when the hub logs a line containing ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.heard = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.heard.set()


async def kill_postgres_listener(name: str) -> None:
    connection = await asyncpg.connect(postgres_dsn())
    try:
        killed = await connection.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE query ILIKE 'LISTEN%' AND application_name = $1",
            name,
        )
    finally:
        await connection.close()
    assert killed == 1


async def kill_redis_listener(name: str) -> None:
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        ids = [client["id"] for client in await admin.client_list(_type="pubsub") if client.get("name") == name]
        assert len(ids) == 1, f"expected one pub/sub connection named {name}, found {len(ids)}"
        await admin.client_kill_filter(_id=ids[0])
    finally:
        await admin.aclose()


KILL_LISTENER = {"postgres": kill_postgres_listener, "redis": kill_redis_listener}


async def listener_last_query(name: str) -> str:
    connection = await asyncpg.connect(postgres_dsn())
    try:
        query: str = await connection.fetchval("SELECT query FROM pg_stat_activity WHERE application_name = $1", name)
    finally:
        await connection.close()
    return query
