"""The Redis hub: ``redis://`` (pub/sub via redis.asyncio)."""

from __future__ import annotations

import asyncio
import logging
import math

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from siaga.hub.base import DEFAULT_MAX_QUEUE, HubUnavailable
from siaga.hub.remote import _cancel_and_wait, _RemoteHub

log = logging.getLogger("siaga.hub")


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
