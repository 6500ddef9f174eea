"""The PostgreSQL hub: ``postgresql://`` (LISTEN/NOTIFY via asyncpg)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from siaga.hub.base import DEFAULT_MAX_QUEUE, HubUnavailable
from siaga.hub.remote import _RemoteHub

log = logging.getLogger("siaga.hub")

_PG_MAX_PAYLOAD = 7999  # NOTIFY payloads must be shorter than 8000 bytes in a default PostgreSQL build


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
