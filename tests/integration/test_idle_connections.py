"""PostgreSQL connections whose server end is gone (a restart, a failover, a firewall dropping idle connections): an
idle one is replaced before it is used, and a busy one costs at most the statement that finds it gone."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from siaga import db
from tests.conftest import eventually

pytestmark = pytest.mark.one_database("postgres")


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")) or 0)


async def _terminate(database_url: str, pid: int) -> None:
    """End that server process, as a restart would, and wait until it is gone."""
    admin = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)

        async def gone() -> bool:
            return not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)

        await eventually(gone, what="the terminated backend to leave pg_stat_activity")
    finally:
        await admin.close()


async def test_an_idle_connection_whose_server_end_is_gone_is_replaced_unseen(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_IDLE_S", 0.0)  # every pooled connection counts as idle
    engine = db.create_engine(database_url)
    try:
        first = await _backend_pid(engine)
        await _terminate(database_url, first)
        second = await _backend_pid(engine)  # the same pooled connection, pinged, found dead and replaced
        assert second != first
    finally:
        await engine.dispose()


async def test_a_connection_in_use_a_moment_ago_is_not_pinged_and_the_pool_recovers_after_one_statement(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_IDLE_S", 3600.0)  # nothing counts as idle: no ping
    engine = db.create_engine(database_url)
    try:
        first = await _backend_pid(engine)
        await _terminate(database_url, first)
        with pytest.raises(DBAPIError) as failed:
            await _backend_pid(engine)
        assert failed.value.connection_invalidated
        assert await _backend_pid(engine) not in (0, first)
    finally:
        await engine.dispose()
