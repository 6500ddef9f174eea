"""The hub outbox: what a commit has to tell other processes waits for the hub in the background, pokes due meanwhile
coalesce, and a revoked session is never lost behind them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from prometheus_client import REGISTRY

from siaga.hub import HubStatus, Subscription
from siaga.realtime.outbox import HubOutbox
from tests.conftest import eventually

EVENTS, SESSIONS = "siaga.events", "siaga.sessions"


class HeldHub:
    """A hub whose publishes wait until released, and then take the message or raise ``failure``."""

    url = "held://"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.waiting = asyncio.Event()
        self.release = asyncio.Event()
        self.failure: Exception | None = None

    def status(self) -> HubStatus:
        return HubStatus(up=True, answered_at=0.0)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def publish(self, channel: str, message: str) -> None:
        self.waiting.set()
        await self.release.wait()
        if self.failure is not None:
            raise self.failure
        self.sent.append((channel, message))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        raise NotImplementedError
        yield


async def until(condition: Callable[[], bool]) -> None:
    async def check() -> bool:
        return condition()

    await eventually(check, within=10.0)


def publish_failures() -> float:
    return REGISTRY.get_sample_value("siaga_hub_publish_failures_total") or 0.0


async def test_pokes_coalesce_behind_a_slow_hub_and_a_revoked_session_still_goes_out() -> None:
    hub = HeldHub()
    outbox = HubOutbox(hub)
    outbox.start()
    try:
        outbox.put(EVENTS, "poke")
        await hub.waiting.wait()  # the first poke is with the hub, which does not answer yet
        for _ in range(100):
            outbox.put(EVENTS, "poke")  # returns at once: a writer never waits on the hub
        outbox.put(SESSIONS, "1")
        outbox.put(EVENTS, "poke")
        hub.release.set()
        await until(lambda: (SESSIONS, "1") in hub.sent and len(hub.sent) == 3)
        assert sorted(hub.sent) == [(EVENTS, "poke"), (EVENTS, "poke"), (SESSIONS, "1")]
    finally:
        await outbox.stop()


async def test_failures_are_counted_and_logged_once_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    hub = HeldHub()
    hub.failure = RuntimeError("the hub is not running")
    hub.release.set()
    outbox = HubOutbox(hub)
    before = publish_failures()
    outbox.start()
    try:
        with caplog.at_level(logging.INFO, logger="siaga.hub"):
            outbox.put(EVENTS, "poke")
            await until(lambda: publish_failures() == before + 1)
            outbox.put(SESSIONS, "1")
            await until(lambda: publish_failures() == before + 2)
            hub.failure = None
            outbox.put(EVENTS, "poke")
            await until(lambda: hub.sent == [(EVENTS, "poke")])
        messages = [record.getMessage() for record in caplog.records]
        assert sum("could not publish to the event hub" in m for m in messages) == 1
        assert "the event hub takes messages again" in messages
    finally:
        await outbox.stop()
