"""SOS ingest with group commit: presses arriving together are stored in one transaction and answered together.

Every press is durable before its 201, and a durable commit costs a flush to disk (SQLite) or a WAL sync
(PostgreSQL), which caps one-commit-per-press ingest at the disk's sync rate. Here one writer task per process takes
every press waiting and hands them, as one batch, to a write function that stores them together in one transaction
(a few multi-row statements for the whole batch, see ``alerts.raising``) and returns once it is committed; only then
are they answered. The write function answers each press on its own: a press it refuses (a 409, a 422) gets its own
error while the others are stored. If the batch fails as a whole, each press is tried again alone, so one bad press
never costs another its alert.
Nothing waits to fill a batch: while one commit runs, the next presses queue, and that queue is the next batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError

from siaga import metrics

log = logging.getLogger("siaga.ingest")

MAX_BATCH = 200

Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class Stored:
    """What one press's use case gives back from inside the transaction (the router's view of it)."""

    view: Any
    replay: bool


Outcome = Stored | BaseException
# Stores a batch in one transaction and returns after its commit: one outcome per item, in order (an exception is that
# item's own error). Raises if nothing of the batch could be stored.
Write = Callable[[Sequence[Item]], Awaitable[list[Outcome]]]


@dataclass(slots=True)
class _Job(Generic[Item]):
    item: Item
    done: asyncio.Future[Stored] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Raced(Exception):
    """The same press was stored by another transaction (or earlier in the batch): read the stored one."""


class GroupCommit(Generic[Item]):
    """The process's SOS writer. ``submit`` resolves once the press is committed (or with its own error)."""

    def __init__(self, write: Write[Item]) -> None:
        self._write = write
        self._queue: asyncio.Queue[_Job[Item]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._batch: list[_Job[Item]] = []
        self.last_batch_at = time.monotonic()
        """When the writer last finished a batch (or started): ``time.monotonic()``."""
        self.batch_started_at: float | None = None
        """When the batch in flight was taken (None while the writer waits for presses)."""

    @property
    def alive(self) -> bool:
        """The writer task runs (presses are stored in batches; otherwise each is stored alone, more slowly)."""
        return self._worker is not None and not self._worker.done()

    @property
    def waiting(self) -> int:
        """Presses queued for the next batch."""
        return self._queue.qsize()

    def start(self) -> None:
        if self._worker is None:
            self.last_batch_at = time.monotonic()
            self._worker = asyncio.create_task(self._run(), name="siaga-ingest")

    async def stop(self, *, grace_s: float = 10.0) -> None:
        """Finish what is queued (up to ``grace_s``), then stop. A press cut off is not dropped: its caller stores
        it alone (a press is idempotent, so one that was in fact committed is simply found stored)."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), timeout=grace_s)
        except TimeoutError:
            log.warning("the SOS writer did not finish in %.0f s; the presses left are stored one by one", grace_s)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        left = [*self._batch, *(self._queue.get_nowait() for _ in range(self._queue.qsize()))]
        self._batch = []
        for job in left:
            self._queue.task_done()  # answered below: the next stop must not wait for them
            if not job.done.done():
                job.done.set_exception(_NotRunning())

    async def submit(self, item: Item) -> Stored:
        """Store one press and wait for the commit."""
        if self._worker is None or self._worker.done():
            return await self._alone(item)
        job = _Job(item=item)
        await self._queue.put(job)
        try:
            return await asyncio.shield(job.done)
        except _NotRunning:
            return await self._alone(item)

    async def _alone(self, item: Item) -> Stored:
        try:
            outcome = (await self._write([item]))[0]
        except IntegrityError as error:
            raise Raced() from error
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._batch = batch
            self.batch_started_at = time.monotonic()
            metrics.WRITER_BATCH.observe(len(batch))
            try:
                await self._commit(batch)
            except Exception:  # the writer must outlive any one batch
                log.exception("an SOS batch failed; its presses are stored one by one")
                for job in batch:
                    if not job.done.done():
                        await self._settle_alone(job)
            self._batch = []
            self.batch_started_at, self.last_batch_at = None, time.monotonic()
            for _ in batch:
                self._queue.task_done()

    async def _commit(self, batch: list[_Job[Item]]) -> None:
        try:
            outcomes = await self._write([job.item for job in batch])
        except Exception:
            # The batch's statements or its commit failed (a press stored by another process at the same moment,
            # say): nothing of the batch is stored. Each press is tried alone and answered for itself.
            log.warning("an SOS batch of %d could not be committed; storing each alone", len(batch), exc_info=True)
            for job in batch:
                await self._settle_alone(job)
            return
        for job, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                job.done.set_exception(outcome)
            else:
                job.done.set_result(outcome)

    async def _settle_alone(self, job: _Job[Item]) -> None:
        try:
            job.done.set_result(await self._alone(job.item))
        except Exception as error:
            job.done.set_exception(error)


class _NotRunning(Exception):
    """The writer stopped before this press was taken."""
