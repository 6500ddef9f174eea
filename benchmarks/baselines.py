"""The database's raw durable commit rate: one small INSERT and a COMMIT, in a loop, with the durability Siaga uses
(SQLite: WAL, synchronous=FULL, BEGIN IMMEDIATE; PostgreSQL: its default synchronous commit with fsync), by one
writer and by several at once. It is what the disk and the database allow before any application code runs, so
ingest is reported as a ratio of it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.server import Database

TABLE = "bench_commit"


def _sqlite_writer(path: Path, seconds: float, counts: list[int], slot: int, start: threading.Barrier) -> None:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA busy_timeout=30000")
        start.wait()
        stop = time.monotonic() + seconds
        done = 0
        while time.monotonic() < stop:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(f"INSERT INTO {TABLE} (at, payload) VALUES (?, ?)", (time.time(), "x" * 200))
            connection.execute("COMMIT")
            done += 1
        counts[slot] = done
    finally:
        connection.close()


def sqlite_commit_rate(path: Path, *, writers: int, seconds: float) -> float:
    """Commits a second into the SQLite file at ``path`` (a scratch table, dropped afterwards)."""
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, at REAL, payload TEXT)")
    counts = [0] * writers
    start = threading.Barrier(writers + 1)
    threads = [
        threading.Thread(target=_sqlite_writer, args=(path, seconds, counts, i, start), daemon=True)
        for i in range(writers)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    setup.execute(f"DROP TABLE {TABLE}")
    setup.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    setup.close()
    return sum(counts) / elapsed


async def postgres_commit_rate(dsn: str, *, writers: int, seconds: float) -> float:
    """Commits a second into the PostgreSQL database at ``dsn`` (autocommit INSERTs; a scratch table)."""
    import asyncpg

    setup = await asyncpg.connect(dsn)
    await setup.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, at double precision, payload text)"
    )
    connections = [await asyncpg.connect(dsn) for _ in range(writers)]
    statement = f"INSERT INTO {TABLE} (at, payload) VALUES ($1, $2)"

    async def writer(connection: Any, stop: float) -> int:
        done = 0
        while time.monotonic() < stop:
            await connection.execute(statement, time.time(), "x" * 200)
            done += 1
        return done

    began = time.monotonic()
    try:
        counts = await asyncio.gather(*(writer(c, began + seconds) for c in connections))
        elapsed = time.monotonic() - began
    finally:
        for connection in connections:
            await connection.close()
        await setup.execute(f"DROP TABLE {TABLE}")
        await setup.close()
    return sum(counts) / elapsed


async def _postgres_settings(dsn: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        names = ("fsync", "synchronous_commit", "wal_sync_method", "commit_delay", "server_version")
        values = [f"{name}={await connection.fetchval(f'SHOW {name}')}" for name in names]
    finally:
        await connection.close()
    return ", ".join(values)


def commit_rates(database: Database, *, seconds: float, concurrent: int) -> dict[str, Any]:
    """One writer and ``concurrent`` writers, on the benchmark's own database."""
    if database.kind == "sqlite":
        assert database.sqlite_file is not None
        one = sqlite_commit_rate(database.sqlite_file, writers=1, seconds=seconds)
        many = sqlite_commit_rate(database.sqlite_file, writers=concurrent, seconds=seconds)
        settings = "WAL, synchronous=FULL, BEGIN IMMEDIATE (Python's sqlite3)"
    else:
        one = asyncio.run(postgres_commit_rate(database.asyncpg_dsn, writers=1, seconds=seconds))
        many = asyncio.run(postgres_commit_rate(database.asyncpg_dsn, writers=concurrent, seconds=seconds))
        shown = asyncio.run(_postgres_settings(database.asyncpg_dsn))
        settings = f"{shown} (asyncpg, autocommit INSERT)"
    return {
        "one_writer_per_s": round(one, 1),
        "concurrent_writers": concurrent,
        "concurrent_per_s": round(many, 1),
        "seconds": seconds,
        "settings": settings,
    }
