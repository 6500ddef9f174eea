"""What every hub shares: the Hub protocol, its errors, channel and message checks, and the fan-out of messages into
bounded per-subscriber inboxes that raise ``HubLagged`` where messages may be missing."""

from __future__ import annotations

import abc
import asyncio
import re
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from siaga import metrics

DEFAULT_MAX_QUEUE = 10_000
# PostgreSQL identifiers stop at 63 bytes, so that is the limit everywhere: code stays portable between backends.
_CHANNEL = re.compile(r"[a-z0-9_.]{1,63}")


class HubLagged(Exception):
    """Raised from a subscription's iterator when messages may have been lost (overflow or the backend reconnected).
    The subscription stays usable after it: iterate again."""


class HubUnavailable(ConnectionError):
    """The hub's backend could not be reached in time: ``publish`` during an outage, or ``start`` with it down."""


class Subscription(Protocol):
    """One subscriber's stream of messages on one channel, in the order they were published."""

    def __aiter__(self) -> AsyncIterator[str]: ...


@dataclass(frozen=True, slots=True)
class HubStatus:
    """Whether the hub's backend answers now, and when it last proved it did (``time.monotonic()``)."""

    up: bool
    answered_at: float


class Hub(Protocol):
    """Publish small text messages on named channels; every subscriber of a channel, in any process, receives them."""

    url: str

    def status(self) -> HubStatus: ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, channel: str, message: str) -> None: ...
    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]: ...


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
            metrics.HUB_LAGGED.labels("overflow").inc()
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
        self._answered_at = time.monotonic()

    def status(self) -> HubStatus:
        """An in-process hub answers whenever it runs; a server-backed one says when its backend last answered."""
        if self._running:
            self._answered_at = time.monotonic()
        return HubStatus(up=self._running, answered_at=self._answered_at)

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
