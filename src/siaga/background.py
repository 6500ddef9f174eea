"""A background loop that stops cleanly: it finishes the round it is in (and returns its database connection)
rather than being cancelled in the middle of a query."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("siaga.background")


class Loop:
    """Calls ``work`` every ``interval`` seconds, or at once when woken, until stopped. With ``woken_gap``, a round
    woken sooner than that after the last one finished waits out the rest of the gap first: wakes that come faster
    (a surge's every batch of presses) are served together by one round instead of a round each."""

    def __init__(
        self,
        name: str,
        work: Callable[[], Awaitable[object]],
        *,
        interval: float,
        first_after: float | None = None,
        woken_gap: float = 0.0,
    ) -> None:
        self.name = name
        self._work = work
        self._interval = interval
        self._woken_gap = woken_gap
        self._at_once = asyncio.Event()  # ends the wait for the gap
        self._first_after = interval if first_after is None else first_after  # the first round, after start
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.finished_at = time.monotonic()
        """When the last round finished, or the loop started (``time.monotonic()``): its age tells a stalled loop."""
        self.last_duration = 0.0
        """Seconds the last round took."""

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._stopping = False
        self.finished_at = time.monotonic()
        self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self, *, at_once: bool = False) -> None:
        """Run a round now (``at_once``: even within ``woken_gap``, as for work left over by a round)."""
        if at_once:
            self._at_once.set()
        self._wake.set()

    async def stop(self, *, grace: float = 5.0) -> None:
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        self._at_once.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        wait = self._first_after
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            wait = self._interval
            gap = self.finished_at + self._woken_gap - time.monotonic()
            if gap > 0:  # wakes meanwhile are served by this round
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._at_once.wait(), timeout=gap)
            self._wake.clear()
            self._at_once.clear()
            if self._stopping:
                break
            began = time.monotonic()
            try:
                await self._work()
            except Exception:  # the loop must go on; the failure is logged and the next round retries
                log.exception("background round failed", extra={"loop": self.name})
                await asyncio.sleep(min(self._interval, 1.0))
            self.finished_at = time.monotonic()
            self.last_duration = self.finished_at - began
