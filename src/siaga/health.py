"""Is this process alive, and is it ready to take SOS presses? What ``/livez`` and ``/readyz`` answer, and what the
metrics report as ``siaga_ready``.

Ready means: the database answers, the event hub's backend answers, the SOS writer runs and is not stuck on a batch,
and the timer sweep (offers and escalations) finished a round recently. Each check reports its age: the seconds since
that part last proved it works. A process that is not ready still stores presses (each alone if its writer died, with
streams polling the database if its hub is down); readiness tells a load balancer or an operator to prefer another.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from siaga.runtime import Runtime

DATABASE_TIMEOUT_S = 3.0
WRITER_STALL_S = 30.0  # a batch in flight longer than this is stuck (a commit takes milliseconds)
SWEEP_STALE_S = 60.0  # or ten sweep intervals, if longer


@dataclass(frozen=True, slots=True)
class Check:
    """One part of the process: whether it works, and seconds since it last proved it."""

    name: str
    ok: bool
    age_s: float
    detail: str


class Readiness:
    """The checks of one running Siaga. Remembers when the database last answered, for the age of a failing check."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._database_answered_at = time.monotonic()

    async def checks(self) -> list[Check]:
        database = await self._database()
        now = time.monotonic()
        return [database, self._hub(now), self._writer(now), self._sweep(now)]

    async def _database(self) -> Check:
        began = time.monotonic()
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT_S), self.runtime.read_sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure (refused, timed out, broken pool) means the database is not usable
            age = time.monotonic() - self._database_answered_at
            return Check("database", False, round(age, 3), f"no answer: {type(exc).__name__}")
        self._database_answered_at = now = time.monotonic()
        return Check("database", True, 0.0, f"answered in {(now - began) * 1000:.1f} ms")

    def _hub(self, now: float) -> Check:
        status = self.runtime.hub.status()
        scheme = self.runtime.hub.url.split("://", 1)[0]  # never the rest: it may hold a password
        detail = f"{scheme} hub answers" if status.up else f"{scheme} hub is down; streams poll the database"
        return Check("hub", status.up, round(max(0.0, now - status.answered_at), 3), detail)

    def _writer(self, now: float) -> Check:
        writer = self.runtime.ingest
        age = round(max(0.0, now - writer.last_batch_at), 3)
        if not writer.alive:
            return Check("sos_writer", False, age, "the SOS writer is not running; presses are stored one by one")
        busy = writer.batch_started_at
        if busy is not None and now - busy > WRITER_STALL_S:
            return Check("sos_writer", False, age, f"a batch has been committing for {now - busy:.0f} s")
        return Check("sos_writer", True, age, f"{writer.waiting} presses waiting")

    def _sweep(self, now: float) -> Check:
        loop = self.runtime.timers.loop
        age = round(max(0.0, now - loop.finished_at), 3)
        limit = max(SWEEP_STALE_S, 10 * self.runtime.settings.timer_interval_seconds)
        if not loop.alive:
            return Check("timer_sweep", False, age, "the timer sweep is not running")
        if age > limit:
            return Check("timer_sweep", False, age, f"no round finished for {age:.0f} s")
        return Check("timer_sweep", True, age, f"last round took {loop.last_duration * 1000:.1f} ms")
