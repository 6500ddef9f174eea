"""The event hub: tells every Siaga process that something happened, so each can fan out to its WebSocket clients.

Messages are small text notices (the newest event id, an officer's position); the database holds the truth. A hub is
chosen by URL: ``memory://`` (one process), ``postgresql://`` (LISTEN/NOTIFY) or ``redis://`` (pub/sub). Each hub
holds ONE listening connection and fans messages out to bounded per-subscriber queues, so a slow subscriber never
blocks the listener, a publisher or anyone else. When a subscriber may have missed messages (its queue overflowed, or
the backend connection dropped and came back), its iteration raises ``HubLagged`` once: re-read the database from
the last event you saw, then iterate again.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import math
import re
import secrets
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import asyncpg  # type: ignore[import-untyped]
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("siaga.hub")

DEFAULT_MAX_QUEUE = 10_000
# PostgreSQL identifiers stop at 63 bytes, so that is the limit everywhere: code stays portable between backends.
_CHANNEL = re.compile(r"[a-z0-9_.]{1,63}")
_PG_MAX_PAYLOAD = 7999  # NOTIFY payloads must be shorter than 8000 bytes in a default PostgreSQL build
_FIRST_BACKOFF, _MAX_BACKOFF = 0.1, 5.0


class HubLagged(Exception):
    """Raised from a subscription's iterator when messages may have been lost (overflow or the backend reconnected).
    The subscription stays usable after it: iterate again."""


class HubUnavailable(ConnectionError):
    """The hub's backend could not be reached in time: ``publish`` during an outage, or ``start`` with it down."""


class Subscription(Protocol):
    """One subscriber's stream of messages on one channel, in the order they were published."""

    def __aiter__(self) -> AsyncIterator[str]: ...


class Hub(Protocol):
    """Publish small text messages on named channels; every subscriber of a channel, in any process, receives them."""

    url: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, channel: str, message: str) -> None: ...
    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]: ...


def hub_from_url(url: str) -> Hub:
    """memory:// (in-process, the default), postgresql://... or postgres://... (LISTEN/NOTIFY via asyncpg; also accept
    the SQLAlchemy form postgresql+asyncpg://), redis://host:port/db (pub/sub via redis.asyncio). ValueError with a
    clear message for anything else."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "memory":
        return MemoryHub(url)
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        return PostgresHub(url)
    if scheme in ("redis", "rediss"):
        return RedisHub(url)
    # Only the scheme goes in the message: the rest of a URL may hold a password.
    raise ValueError(
        f"unknown hub URL scheme {scheme!r}: use memory://, postgresql://user@host/db or redis://host:port/db"
    )


def _check_channel(channel: str) -> None:
    if not isinstance(channel, str) or _CHANNEL.fullmatch(channel) is None:
        raise ValueError(f"invalid hub channel name {channel!r}: use 1-63 characters from a-z, 0-9, '_' and '.'")


def _check_message(message: str) -> None:
    if not isinstance(message, str):
        raise TypeError(f"hub messages are text, not {type(message).__name__}")


@dataclass(frozen=True, slots=True)
class _Gap:
    """A place in a subscriber's queue where messages may be missing."""

    reason: str


_RECONNECTED = _Gap("the hub reconnected to its backend; messages sent meanwhile may be missing")


class _Inbox:
    """One subscriber's bounded queue: the Subscription its owner iterates."""

    __slots__ = ("_closed", "_items", "_limit", "_queued", "_ready")

    def __init__(self, limit: int) -> None:
        self._items: deque[str | _Gap] = deque()
        self._limit = limit
        self._queued = 0
        self._closed = False
        self._ready = asyncio.Event()

    def deliver(self, message: str) -> None:
        if self._closed:
            return
        if self._queued >= self._limit:
            # Never block the listener for one reader: drop the backlog, and the reader re-reads the database.
            self._items.clear()
            self._queued = 0
            self._items.append(_Gap(f"the subscriber fell more than {self._limit} messages behind"))
        self._items.append(message)
        self._queued += 1
        self._ready.set()

    def mark_gap(self, gap: _Gap) -> None:
        if self._closed or (self._items and isinstance(self._items[-1], _Gap)):
            return
        self._items.append(gap)
        self._ready.set()

    def close(self) -> None:
        self._closed = True
        self._items.clear()
        self._queued = 0
        self._ready.set()

    def __aiter__(self) -> _Inbox:
        return self

    async def __anext__(self) -> str:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        item = self._items.popleft()
        if isinstance(item, _Gap):
            raise HubLagged(item.reason)
        self._queued -= 1
        return item


class _FanOut(abc.ABC):
    """What every backend shares: the channels this process listens to and the fan-out into subscribers' inboxes."""

    def __init__(self, url: str, *, max_queue: int) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.url = url
        self._max_queue = max_queue
        self._inboxes: dict[str, set[_Inbox]] = {}
        self._running = False

    @property
    def subscriber_count(self) -> int:
        """Subscriptions open on this hub right now (for metrics and leak checks)."""
        return sum(len(inboxes) for inboxes in self._inboxes.values())

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """Receive every message published on ``channel`` from the moment this block is entered until it is left.

        Iterating raises ``HubLagged`` where messages may be missing and ends when the hub stops."""
        _check_channel(channel)
        self._require_running()
        inbox = _Inbox(self._max_queue)
        self._inboxes.setdefault(channel, set()).add(inbox)
        try:
            await self._channel_wanted(channel)
            yield inbox
        finally:
            inbox.close()
            inboxes = self._inboxes.get(channel)
            # After stop() (or a restart) the inbox is no longer registered: nothing to undo.
            if inboxes is not None and inbox in inboxes:
                inboxes.remove(inbox)
                if not inboxes:
                    del self._inboxes[channel]
                    await self._channel_unwanted(channel)

    @abc.abstractmethod
    async def _channel_wanted(self, channel: str) -> None:
        """Make sure messages on ``channel`` reach this process before the subscriber is handed its subscription."""

    @abc.abstractmethod
    async def _channel_unwanted(self, channel: str) -> None:
        """The last subscriber of ``channel`` left."""

    def _require_running(self) -> None:
        if not self._running:
            raise RuntimeError("the hub is not running: await hub.start() first")

    def _dispatch(self, channel: str, message: str) -> None:
        for inbox in self._inboxes.get(channel, ()):
            inbox.deliver(message)

    def _close_inboxes(self) -> None:
        for inboxes in self._inboxes.values():
            for inbox in inboxes:
                inbox.close()
        self._inboxes = {}


class MemoryHub(_FanOut):
    """In-process hub for a single Siaga process (development, tests). Two instances never see each other."""

    def __init__(self, url: str = "memory://", *, max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        super().__init__(url, max_queue=max_queue)

    async def start(self) -> None:
        """Start accepting subscribers and messages. Idempotent."""
        self._running = True

    async def stop(self) -> None:
        """End every subscription's iteration. Idempotent."""
        self._running = False
        self._close_inboxes()

    async def publish(self, channel: str, message: str) -> None:
        """Queue ``message`` for every current subscriber of ``channel``."""
        _check_channel(channel)
        _check_message(message)
        self._require_running()
        self._dispatch(channel, message)
        # Yield once, as a network round trip would, so a publisher in a tight loop lets subscribers keep up.
        await asyncio.sleep(0)

    async def _channel_wanted(self, channel: str) -> None:
        pass

    async def _channel_unwanted(self, channel: str) -> None:
        pass


class _RemoteHub(_FanOut):
    """A hub backed by a server: one listening connection (reconnected with backoff, probed end to end) plus a
    separate publishing client, so a busy listener never holds up ``publish``."""

    _backend: ClassVar[str]
    _connection_errors: ClassVar[tuple[type[BaseException], ...]]

    def __init__(self, url: str, *, max_queue: int, timeout: float, probe_interval: float) -> None:
        super().__init__(url, max_queue=max_queue)
        suffix = secrets.token_hex(4)
        self.listener_name = f"siaga-hub-{suffix}"
        """Names this hub's listening connection on the server (application_name / CLIENT SETNAME)."""
        self._probe_channel = f"siaga_hub_probe_{suffix}"
        self._timeout = timeout
        self._probe_interval = probe_interval
        self._failures: tuple[type[BaseException], ...] = (TimeoutError, HubUnavailable, *self._connection_errors)
        self._lock = asyncio.Lock()  # one LISTEN/UNLISTEN at a time on the listening connection
        self._lifecycle = asyncio.Lock()
        self._listening: set[str] = set()
        self._connected = False
        self._lost = asyncio.Event()
        self._probe_waiter: tuple[str, asyncio.Future[bool]] | None = None
        self._supervisor: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect the publisher and the listening connection. Idempotent. ``HubUnavailable`` if the server is down."""
        async with self._lifecycle:
            if self._running:
                return
            try:
                async with asyncio.timeout(self._timeout):
                    await self._open_publisher()
                await self._open_listener()
            except BaseException as exc:
                await self._close_connections()
                if isinstance(exc, self._failures):
                    raise HubUnavailable(f"the {self._backend} hub cannot connect: {exc!r}") from exc
                raise
            self._running = True
            self._supervisor = asyncio.create_task(self._supervise(), name=f"{self.listener_name}-supervisor")

    async def stop(self) -> None:
        """Disconnect; every subscription's iteration ends. Idempotent."""
        async with self._lifecycle:
            if not self._running:
                return
            self._running = False
            self._connected = False
            self._close_inboxes()
            if self._supervisor is not None:
                await _cancel_and_wait(self._supervisor)
                self._supervisor = None
            await self._close_connections()

    async def publish(self, channel: str, message: str) -> None:
        """Send ``message`` to every subscriber of ``channel`` in every process on this backend.

        Raises ``HubUnavailable`` (a ``ConnectionError``) if the server does not take it within the timeout."""
        _check_channel(channel)
        _check_message(message)
        self._check_payload(message)
        self._require_running()
        try:
            async with asyncio.timeout(self._timeout):
                try:
                    await self._send(channel, message)
                except self._connection_errors:
                    # A pooled connection may have died while idle; one fresh attempt tells that from an outage.
                    await self._send(channel, message)
        except self._failures as exc:
            raise HubUnavailable(
                f"could not publish on {channel!r} through {self._backend} within {self._timeout:g}s: {exc!r}"
            ) from exc

    def _check_payload(self, message: str) -> None:
        """Refuse what the backend would refuse, before any I/O."""

    async def _channel_wanted(self, channel: str) -> None:
        if channel not in self._listening and self._connected:
            await self._sync_guarded()

    async def _channel_unwanted(self, channel: str) -> None:
        if channel in self._listening and self._connected:
            await self._sync_guarded()

    async def _sync_guarded(self) -> None:
        # While disconnected there is nothing to do: the reconnect listens to every wanted channel, then tells
        # every subscriber (this one too) that it lagged.
        lost = self._lost  # this connection's; by the time a command times out, a newer one may be up
        try:
            async with self._lock:
                if self._connected and lost is self._lost:
                    await self._sync_channels()
        except self._failures as exc:
            if lost is self._lost:
                log.warning("hub %s: listening connection failed: %r", self.listener_name, exc)
                self._mark_lost()

    async def _sync_channels(self) -> None:
        """Listen to exactly the wanted channels (plus the probe), one command at a time. Holds ``_lock``."""
        while True:
            wanted = self._inboxes.keys() | {self._probe_channel}
            if missing := wanted - self._listening:
                channel = min(missing)
                async with asyncio.timeout(self._timeout):
                    await self._listen(channel)
                self._listening.add(channel)
            elif extra := self._listening - wanted:
                channel = min(extra)
                self._listening.discard(channel)
                async with asyncio.timeout(self._timeout):
                    await self._unlisten(channel)
            else:
                return

    async def _open_listener(self) -> None:
        self._lost = asyncio.Event()
        async with asyncio.timeout(self._timeout):
            await self._connect_listener()
        async with self._lock:
            self._listening = set()
            self._connected = True
            await self._sync_channels()

    def _mark_lost(self) -> None:
        self._connected = False
        self._lost.set()
        if self._probe_waiter is not None and not self._probe_waiter[1].done():
            self._probe_waiter[1].set_result(False)

    def _receive(self, channel: str, message: str) -> None:
        """A message arrived on the listening connection."""
        if channel == self._probe_channel:
            if self._probe_waiter is not None and self._probe_waiter[0] == message and not self._probe_waiter[1].done():
                self._probe_waiter[1].set_result(True)
            return
        self._dispatch(channel, message)

    async def _supervise(self) -> None:
        """Keep the listening connection alive for as long as the hub runs."""
        while True:
            await self._watch()
            self._connected = False
            log.warning("hub %s lost its %s listening connection; reconnecting", self.listener_name, self._backend)
            await self._close_listener_quietly()
            await self._reconnect()
            for inboxes in self._inboxes.values():
                for inbox in inboxes:
                    inbox.mark_gap(_RECONNECTED)
            log.info("hub %s reconnected to %s", self.listener_name, self._backend)

    async def _watch(self) -> None:
        """Return when the listening connection is lost or a probe does not come back."""
        while True:
            try:
                async with asyncio.timeout(self._probe_interval):
                    await self._lost.wait()
                return
            except TimeoutError:
                pass
            if not await self._probe():
                return

    async def _probe(self) -> bool:
        """Publish a token to a channel only this hub listens to: a connection that is silently dead (a half-open
        TCP connection, a failover without a reset) never brings it back."""
        token = secrets.token_hex(8)
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._probe_waiter = (token, waiter)
        try:
            async with asyncio.timeout(self._timeout):
                await self._send(self._probe_channel, token)
                return await waiter
        except Exception as exc:  # whatever went wrong, health is unproven: start afresh
            log.warning("hub %s: probe failed: %r", self.listener_name, exc)
            return False
        finally:
            self._probe_waiter = None

    async def _reconnect(self) -> None:
        delay = _FIRST_BACKOFF
        while True:
            await asyncio.sleep(delay)
            try:
                await self._open_listener()
                return
            except Exception as exc:
                self._connected = False
                await self._close_listener_quietly()
                delay = min(delay * 2, _MAX_BACKOFF)
                log.warning("hub %s: reconnect failed (%r); next try in %.1fs", self.listener_name, exc, delay)

    async def _close_connections(self) -> None:
        await self._close_listener_quietly(graceful=True)
        try:
            await self._close_publisher()
        except Exception:
            log.exception("hub %s: error while closing the publisher", self.listener_name)

    async def _close_listener_quietly(self, *, graceful: bool = False) -> None:
        # The supervisor must outlive any failure here, or nobody would reconnect.
        try:
            await self._close_listener(graceful=graceful)
        except Exception:
            log.exception("hub %s: error while closing the listening connection", self.listener_name)

    @abc.abstractmethod
    async def _open_publisher(self) -> None: ...

    @abc.abstractmethod
    async def _close_publisher(self) -> None: ...

    @abc.abstractmethod
    async def _send(self, channel: str, message: str) -> None: ...

    @abc.abstractmethod
    async def _connect_listener(self) -> None:
        """Open the listening connection; arrange for ``_mark_lost`` when it drops."""

    @abc.abstractmethod
    async def _close_listener(self, *, graceful: bool) -> None:
        """Close the listening connection: politely on stop, at once when it is presumed dead."""

    @abc.abstractmethod
    async def _listen(self, channel: str) -> None:
        """Return once the server confirms that ``channel``'s messages will reach the listening connection."""

    @abc.abstractmethod
    async def _unlisten(self, channel: str) -> None: ...


class PostgresHub(_RemoteHub):
    """LISTEN/NOTIFY: one asyncpg connection listens (``application_name`` is ``listener_name``); a pool of up to
    four publishes with ``SELECT pg_notify($1, $2)``. Payloads must be under 8000 bytes. Not through pgbouncer in
    transaction mode: LISTEN needs a session of its own."""

    _backend = "PostgreSQL"
    _connection_errors = (
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.OperatorInterventionError,
    )

    def __init__(
        self,
        url: str,
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        timeout: float = 5.0,
        probe_interval: float = 15.0,
    ) -> None:
        super().__init__(url, max_queue=max_queue, timeout=timeout, probe_interval=probe_interval)
        scheme, rest = url.split("://", 1)
        self._dsn = f"postgresql://{rest}" if scheme.lower() == "postgresql+asyncpg" else url
        self._pool: Any = None
        self._listener: Any = None

    def _check_payload(self, message: str) -> None:
        size = len(message.encode())
        if size > _PG_MAX_PAYLOAD:
            raise ValueError(
                f"hub message is {size} bytes; PostgreSQL NOTIFY takes at most {_PG_MAX_PAYLOAD}: "
                "publish an id and let subscribers read the rest from the database"
            )
        if "\x00" in message:
            raise ValueError("PostgreSQL NOTIFY payloads cannot contain NUL characters")

    async def _open_publisher(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=1,
            max_size=4,
            timeout=self._timeout,
            server_settings={"application_name": f"{self.listener_name}-publish"},
        )

    async def _close_publisher(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), self._timeout)
        except Exception:
            pool.terminate()

    async def _send(self, channel: str, message: str) -> None:
        if self._pool is None:
            raise HubUnavailable("the publishing pool is closed")
        async with self._pool.acquire() as connection:
            try:
                await connection.execute("SELECT pg_notify($1, $2)", channel, message)
            except asyncio.CancelledError:
                # Timed out (or cancelled): asyncpg would first cancel the query on the server, which hangs in the
                # very outage that made us give up. The connection's state is unknown anyway: drop it.
                connection.terminate()
                raise

    async def _connect_listener(self) -> None:
        connection = await asyncpg.connect(
            self._dsn, timeout=self._timeout, server_settings={"application_name": self.listener_name}
        )
        connection.add_termination_listener(self._on_terminated)
        self._listener = connection

    def _on_terminated(self, connection: object) -> None:
        # Closing a replaced or stopped connection calls this too; only the current one matters.
        if connection is self._listener:
            log.warning("hub %s: PostgreSQL closed the listening connection", self.listener_name)
            self._mark_lost()

    async def _close_listener(self, *, graceful: bool) -> None:
        connection, self._listener = self._listener, None
        if connection is None:
            return
        if not graceful:
            connection.terminate()
            return
        try:
            await connection.close(timeout=self._timeout)
        except Exception:
            connection.terminate()

    def _on_notify(self, connection: object, pid: int, channel: str, payload: str) -> None:
        self._receive(channel, payload)

    async def _listen(self, channel: str) -> None:
        # asyncpg quotes the channel as an identifier for LISTEN; the name is validated already.
        await self._current_listener().add_listener(channel, self._on_notify)

    async def _unlisten(self, channel: str) -> None:
        await self._current_listener().remove_listener(channel, self._on_notify)

    def _current_listener(self) -> Any:
        if self._listener is None or self._listener.is_closed():
            raise HubUnavailable("the listening connection is closed")
        return self._listener


class RedisHub(_RemoteHub):
    """Pub/sub: one raw connection subscribes (``CLIENT SETNAME`` is ``listener_name``) and a task reads it; a
    client with its own pool publishes. Redis channels ignore the database number: every db on a server shares them."""

    _backend = "Redis"
    _connection_errors = (OSError, RedisConnectionError, RedisTimeoutError)

    def __init__(
        self,
        url: str,
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        timeout: float = 5.0,
        probe_interval: float = 15.0,
    ) -> None:
        super().__init__(url, max_queue=max_queue, timeout=timeout, probe_interval=probe_interval)
        self._client: aioredis.Redis | None = None
        self._listener_pool: ConnectionPool | None = None
        self._listener: AbstractConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._confirmation: tuple[bytes, str, asyncio.Future[None]] | None = None

    async def _open_publisher(self) -> None:
        # redis-py's own retries would reconnect (and re-subscribe) behind our back; the hub does that itself.
        self._client = aioredis.Redis.from_url(
            self.url,
            socket_connect_timeout=self._timeout,
            socket_timeout=self._timeout,
            retry=Retry(NoBackoff(), 0),
            client_name=f"{self.listener_name}-publish",
        )
        await self._client.ping()
        # Only a factory for the listening connection, so URL options (TLS, password, unix socket) carry over.
        self._listener_pool = ConnectionPool.from_url(
            self.url,
            socket_connect_timeout=self._timeout,
            socket_timeout=None,
            retry=Retry(NoBackoff(), 0),
            client_name=self.listener_name,
            # RESP2: messages arrive as plain replies to read, not as RESP3 pushes routed to a logging handler.
            protocol=2,
        )

    async def _close_publisher(self) -> None:
        client, self._client = self._client, None
        pool, self._listener_pool = self._listener_pool, None
        if client is not None:
            await client.aclose()
        if pool is not None:
            await pool.disconnect()

    async def _send(self, channel: str, message: str) -> None:
        if self._client is None:
            raise HubUnavailable("the publishing client is closed")
        await self._client.publish(channel, message)

    async def _connect_listener(self) -> None:
        if self._listener_pool is None:
            raise HubUnavailable("the hub is stopped")
        pool = self._listener_pool
        connection = pool.connection_class(**pool.connection_kwargs)
        try:
            await connection.connect()  # type: ignore[no-untyped-call]  # unannotated in redis-py
        except BaseException:
            await connection.disconnect(nowait=True)
            raise
        self._listener = connection
        self._reader = asyncio.create_task(self._read(connection), name=f"{self.listener_name}-reader")
        self._reader.add_done_callback(self._on_reader_done)

    async def _read(self, connection: AbstractConnection) -> None:
        while True:
            reply = await connection.read_response(timeout=math.inf, disconnect_on_error=False)
            if not isinstance(reply, list) or len(reply) != 3:
                continue
            kind, channel = reply[0], reply[1].decode("ascii", "replace")
            if kind == b"message":
                # Someone else's binary payload must not kill the reader.
                self._receive(channel, reply[2].decode("utf-8", "replace"))
            elif kind in (b"subscribe", b"unsubscribe"):
                pending = self._confirmation
                if pending is not None and pending[:2] == (kind, channel) and not pending[2].done():
                    pending[2].set_result(None)

    def _on_reader_done(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if task is self._reader:
            log.warning("hub %s: Redis listening connection ended: %r", self.listener_name, error)
            self._mark_lost()

    def _mark_lost(self) -> None:
        super()._mark_lost()
        self._abandon_confirmation()

    def _abandon_confirmation(self) -> None:
        # Whoever waits for a (un)subscribe confirmation learns now, not after a timeout, that none will come.
        if self._confirmation is not None and not self._confirmation[2].done():
            self._confirmation[2].set_exception(HubUnavailable("the listening connection was lost"))

    async def _close_listener(self, *, graceful: bool) -> None:
        reader, self._reader = self._reader, None
        connection, self._listener = self._listener, None
        self._abandon_confirmation()
        if reader is not None:
            await _cancel_and_wait(reader)
        if connection is not None:
            await connection.disconnect(nowait=not graceful)

    async def _listen(self, channel: str) -> None:
        await self._command(b"subscribe", "SUBSCRIBE", channel)

    async def _unlisten(self, channel: str) -> None:
        await self._command(b"unsubscribe", "UNSUBSCRIBE", channel)

    async def _command(self, kind: bytes, command: str, channel: str) -> None:
        connection = self._listener
        # redis-py would silently reconnect a closed connection on send, without the subscriptions: refuse instead.
        if connection is None or not connection.is_connected or self._lost.is_set():
            raise HubUnavailable("the listening connection is down")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmation = (kind, channel, waiter)
        try:
            await connection.send_command(command, channel, check_health=False)
            await waiter  # the reader task sees the server's confirmation
        finally:
            self._confirmation = None


async def _cancel_and_wait(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled() and task.exception() is not None:
        log.error("hub task %s failed", task.get_name(), exc_info=task.exception())
