"""On SQLite the SOS batch is written in a thread of its own, and the token check behind every request (and the
event feed) reads in others: a read must not wait while a batch is still being written and committed."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Connection, text

from siaga import db

pytestmark = pytest.mark.one_database("sqlite")


async def test_a_read_answers_while_a_write_holds_the_write_lock(database_url: str) -> None:
    engine = db.create_engine(database_url)
    core = db.CoreRunner(engine)
    inside, release = threading.Event(), threading.Event()

    def slow_batch(connection: Connection) -> int:
        connection.execute(text("DELETE FROM alerts WHERE 1 = 0"))  # BEGIN IMMEDIATE: the write lock is held
        inside.set()
        release.wait(120)  # a batch still writing, or waiting for its commit to reach the disk
        return 1

    def count(connection: Connection) -> int:
        return int(connection.execute(text("SELECT count(*) FROM alerts")).scalar_one())

    try:
        stored = await core.read(count)  # the database is shared with other tests: whatever they left
        batch = asyncio.ensure_future(core.write(slow_batch))
        assert await asyncio.to_thread(inside.wait, 120), "the batch never started"
        assert await asyncio.wait_for(core.read(count), 60) == stored
        assert not batch.done(), "the read waited for the batch"
        release.set()
        assert await batch == 1
    finally:
        release.set()
        core.close()
        await engine.dispose()
