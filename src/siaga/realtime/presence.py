"""Which officers have their phone's stream open: they hear of an offer on it, and the others get it by SMS as well
(``dispatch.offer_sms``).

Each process counts the officer streams it holds, and tells the others through the database: a row per officer
(``dispatch.models.OfficerStream``), written as soon as a first stream of theirs opens here, renewed every
``RENEW_S`` while it stays open, and removed when the last one here closes. A process that dies leaves rows that
stop being renewed; ``offer_sms`` trusts a row for ``offer_sms.STREAM_FRESH`` only. Another process's stream of the
same officer renews the row again within ``RENEW_S`` of one closing here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import Counter

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.db import transaction, utcnow
from siaga.dispatch.models import OfficerStream

log = logging.getLogger("siaga.streams")

RENEW_S = 15.0  # well within offer_sms.STREAM_FRESH


class OfficersStreaming:
    """Staff ids with an open officer stream here, counted (a phone may hold two for a moment as it reconnects)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._open: Counter[int] = Counter()
        self._opened: set[int] = set()  # first opened here since their row was last written
        self._closed: set[int] = set()
        self._changed = asyncio.Event()
        self._renewed = -math.inf  # when every open officer's row was last written (the event loop's clock)
        self._task: asyncio.Task[None] | None = None

    def opened(self, staff_id: int) -> None:
        self._open[staff_id] += 1
        if self._open[staff_id] == 1:
            self._closed.discard(staff_id)
            self._opened.add(staff_id)
            self._changed.set()

    def closed(self, staff_id: int) -> None:
        self._open[staff_id] -= 1
        if self._open[staff_id] <= 0:
            del self._open[staff_id]
            self._opened.discard(staff_id)
            self._closed.add(staff_id)
            self._changed.set()

    def __contains__(self, staff_id: object) -> bool:
        return staff_id in self._open

    def __len__(self) -> int:
        return len(self._open)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="officer-streams")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        with contextlib.suppress(Exception):  # the rows lapse by themselves if the database is away
            await self.tell(list(self._open))

    async def tell(self, closed: list[int] | None = None, *, renew: bool = True) -> None:
        """Write the rows of the officers whose first stream here opened since (with ``renew``: of every officer with
        a stream open here, renewed) and remove those whose last one closed (``closed``: every stream here closed, as
        at stop). The rows go as one statement run for each, compiled once however many there are: a statement of
        10,000 rows' values, built anew for each number of rows, held the event loop and the write lock."""
        gone = sorted(self._closed if closed is None else set(closed) | self._closed)
        written = (set(self._open) if renew else set(self._opened)) - set(gone)
        if not written and not gone:
            return
        async with transaction(self.sessions) as session:
            if gone:
                await session.execute(delete(OfficerStream).where(OfficerStream.staff_id.in_(gone)))
            if written:
                now = utcnow()
                insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
                statement = insert(OfficerStream)
                renewed = statement.on_conflict_do_update(
                    index_elements=["staff_id"], set_={"seen_at": statement.excluded.seen_at}
                )
                await session.execute(renewed, [{"staff_id": s, "seen_at": now} for s in sorted(written)])
        self._closed -= set(gone)
        self._opened -= written

    async def _run(self) -> None:
        """Write each opened or closed officer soon after, and every open officer's row every ``RENEW_S``."""
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, self._renewed + RENEW_S - loop.time())):
                    await self._changed.wait()
            self._changed.clear()
            began = loop.time()
            renew = began - self._renewed >= RENEW_S
            try:
                await self.tell(renew=renew)
            except Exception:  # the database is away: what was not written is written next round
                log.warning("could not record the officers' open streams", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            if renew:
                self._renewed = began
