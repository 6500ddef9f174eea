"""Garbage collection for a server that holds thousands of open connections.

Python's cycle collector walks every tracked object in its oldest generation on a full collection. With 10,000
officers' streams open the server holds a few million such objects, and a full collection stopped the event loop for
1-2 s (and a middle-generation one for 50-80 ms) in the middle of the officers' position load: every press and
every position ack waited for it.

Objects that have lived a few seconds (connections, the tracker, caches, the app itself) mostly live on. So every
``freeze_every_s`` the keeper moves what is tracked into the permanent generation (``gc.freeze()``, a constant-time
list splice), and collections only ever walk what is newer. Objects frozen are still freed by reference counting the
moment nothing refers to them; only garbage held in a reference cycle waits, and every ``reclaim_every_s`` the
keeper unfreezes and collects it all at once, logging how long that took.
"""

from __future__ import annotations

import gc
import logging
import time

from siaga.background import Loop

log = logging.getLogger("siaga.heap")


class HeapKeeper:
    def __init__(self, *, freeze_every_s: float, reclaim_every_s: float) -> None:
        self.freeze_every_s = freeze_every_s
        self.reclaim_every_s = reclaim_every_s
        self._freezer = Loop("heap-freeze", self._freeze, interval=freeze_every_s or 1.0)
        self._last_reclaim = time.monotonic()
        self.running = False

    @property
    def enabled(self) -> bool:
        return self.freeze_every_s > 0

    def start(self) -> None:
        if not self.enabled or self.running:
            return
        gc.collect()  # what start-up left behind goes now, not into the permanent generation
        gc.freeze()
        self._last_reclaim = time.monotonic()
        self._freezer.start()
        self.running = True

    async def stop(self) -> None:
        if not self.running:
            return
        await self._freezer.stop()
        self.running = False
        gc.unfreeze()  # back to the ordinary generations: cycles among them are collected as usual

    async def _freeze(self) -> None:
        if time.monotonic() - self._last_reclaim >= self.reclaim_every_s:
            self.reclaim()
        gc.freeze()

    def reclaim(self) -> tuple[int, float]:
        """Unfreeze and collect everything: the reference cycles that became garbage while frozen. Returns how
        many objects were freed and how many milliseconds the collection held the process."""
        began = time.perf_counter()
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        held_ms = (time.perf_counter() - began) * 1000
        self._last_reclaim = time.monotonic()
        (log.warning if held_ms > 200 else log.info)(
            "heap reclaim", extra={"freed_objects": freed, "held_ms": round(held_ms, 1)}
        )
        return freed, held_ms
