"""What the server-backed hubs share: one listening connection, reconnected with backoff and probed end to end, and a
separate publishing client."""

from __future__ import annotations

import abc
import asyncio
import logging
import secrets
import time
from typing import ClassVar

from siaga import metrics
from siaga.hub.base import (
    _RECONNECTED,
    HubStatus,
    HubUnavailable,
    _check_channel,
    _check_message,
    _FanOut,
)

log = logging.getLogger("siaga.hub")

_FIRST_BACKOFF, _MAX_BACKOFF = 0.1, 5.0


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

    def status(self) -> HubStatus:
        """Up while the listening connection is open; ``answered_at``: its opening or the last probe that came back."""
        return HubStatus(up=self._running and self._connected, answered_at=self._answered_at)

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
            metrics.HUB_PUBLISH_FAILURES.inc()
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
        self._answered_at = time.monotonic()

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
            metrics.HUB_LAGGED.labels("reconnect").inc()
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
        sent = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                await self._send(self._probe_channel, token)
                answered = await waiter
            if answered:
                self._answered_at = time.monotonic()
                metrics.HUB_PROBE.observe(self._answered_at - sent)
            return answered
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


async def _cancel_and_wait(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled() and task.exception() is not None:
        log.error("hub task %s failed", task.get_name(), exc_info=task.exception())
