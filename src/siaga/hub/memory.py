"""The in-process hub: ``memory://``."""

from __future__ import annotations

import asyncio

from siaga.hub.base import DEFAULT_MAX_QUEUE, _check_channel, _check_message, _FanOut


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
