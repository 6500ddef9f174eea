"""Database plumbing: the declarative base, the async engine and session factory, and SQLite's durability settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

READ_ONLY_OPTION = "siaga_read_only"
T = TypeVar("T")

# An integer primary key that is a 64-bit BIGSERIAL on PostgreSQL and SQLite's rowid alias on SQLite.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores text without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def create_engine(
    url: str, *, echo: bool = False, sqlite_foreign_keys: bool = True, hide_parameters: bool = False
) -> AsyncEngine:
    """An async engine. On SQLite: WAL, synchronous=FULL (an acknowledged SOS survives power loss),
    foreign keys on, and write transactions that take the lock at BEGIN so concurrent writers queue instead of failing.
    """
    if url.startswith("sqlite"):
        # A file database keeps as many connections as a surge uses at once: each new aiosqlite connection starts a
        # thread, which held the event loop for up to a tenth of a second while presses waited (the default pool
        # keeps five and closes every connection beyond them when it is returned).
        pooled = {} if _in_memory(url) else {"pool_size": 20, "max_overflow": 20}
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": 30}, hide_parameters=hide_parameters, **pooled
        )
        _configure_sqlite(engine, foreign_keys=sqlite_foreign_keys)
        return engine
    engine = create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, hide_parameters=hide_parameters)
    _ping_idle_connections(engine)
    return engine


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"


# A pooled connection unused for this long is pinged before it is handed out (one round trip), and replaced if its
# server end is gone (a database restart, a failover, a firewall that drops idle connections).
PING_IDLE_S = 5.0
_IDLE_SINCE = "siaga_idle_since"


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """SQLAlchemy's ``pool_pre_ping`` pings at every checkout: under load that was an eighth of the server's CPU and a
    round trip before every press's first statement. Only a connection idle for ``PING_IDLE_S`` is pinged; one in
    steady use is not, and if its server end dies anyway the error invalidates the pool (every older connection is
    replaced at its next checkout), and the SOS writer stores the failed batch's presses again one by one."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_S:
            return  # new, or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # whatever the reason, this connection is not handed out: the pool opens another
            raise DisconnectionError("an idle database connection did not answer a ping") from error


def _configure_sqlite(engine: AsyncEngine | Engine, *, foreign_keys: bool) -> None:
    target = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(target, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event own transaction starts instead of the driver's implicit BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(target, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that later writes can fail with
        # SQLITE_BUSY instead of waiting, which would turn a busy moment into a lost press. Read-only sessions
        # (see read_session_factory) begin deferred so they never queue behind writers.
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (responses are built from them)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def _reading(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` for reads that write nothing. On SQLite they begin deferred, so they never queue behind writers,
    and their statements share one snapshot. On PostgreSQL each statement runs on its own, outside a transaction:
    under READ COMMITTED a transaction's statements each see their own snapshot anyway, so nothing changes but the
    cost. A token check is one round trip instead of three (BEGIN, the query, ROLLBACK), and it is on every press."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(**{READ_ONLY_OPTION: True}, isolation_level="AUTOCOMMIT")
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for lookups that write nothing (token checks, snapshots): see ``_reading``."""
    return async_sessionmaker(_reading(engine), expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with factory() as session, session.begin():
        yield session


# Opens one unit of work: a session in a transaction, committed when the block succeeds. The runtime's
# (``Runtime.unit_of_work``) also tells the rest of Siaga what the transaction did, after the commit.
UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def units_of_work(factory: async_sessionmaker[AsyncSession]) -> UnitOfWork:
    """Plain transactions of ``factory``, with nothing told after the commit (the command line, tests)."""
    return partial(transaction, factory)


class CoreRunner:
    """Runs a synchronous function of a Core ``Connection``, for the hot paths (the SOS batch, the event feed, the
    token check behind every request) that would otherwise pay the async driver's round trips on every statement.

    On SQLite the function runs on a plain sqlite3 connection configured like the async engine's (WAL,
    synchronous=FULL, BEGIN IMMEDIATE for writes): writes in one worker thread of their own, reads in two others, so
    that a read never waits for a batch's commit. A call costs one hop to a thread, where the async driver costs
    several per statement (a cursor, the statement, the fetch, the cursor's close), and on a busy server each hop
    waits for the GIL. On PostgreSQL it runs through the async engine (``run_sync``), asyncpg being cheap per
    statement already; reads as ``_reading`` says."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = _reading(engine)
        self._sync: Engine | None = None
        self._sync_reader: Engine | None = None
        self._writes: ThreadPoolExecutor | None = None
        self._reads: ThreadPoolExecutor | None = None
        if engine.dialect.name == "sqlite":
            url = engine.url.set(drivername="sqlite")
            self._sync = create_sync_engine(
                url, connect_args={"timeout": 30}, hide_parameters=engine.sync_engine.hide_parameters
            )
            _configure_sqlite(self._sync, foreign_keys=True)
            self._sync_reader = self._sync.execution_options(**{READ_ONLY_OPTION: True})
            self._writes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="siaga-core")
            self._reads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="siaga-core-read")

    async def write(self, work: Callable[[Connection], T]) -> T:
        """``work`` in one transaction, committed when it returns (rolled back if it raises)."""
        if self._sync is not None and self._writes is not None:
            sync = self._sync

            def run() -> T:
                with sync.begin() as connection:
                    return work(connection)

            return await asyncio.get_running_loop().run_in_executor(self._writes, run)
        async with self._engine.begin() as connection:
            return await connection.run_sync(work)

    async def read(self, work: Callable[[Connection], T]) -> T:
        """``work`` reading only (on SQLite in a deferred transaction, which never takes the write lock)."""
        if self._sync_reader is not None and self._reads is not None:
            sync = self._sync_reader

            def run() -> T:
                with sync.connect() as connection:
                    return work(connection)

            return await asyncio.get_running_loop().run_in_executor(self._reads, run)
        async with self._reader.connect() as connection:
            return await connection.run_sync(work)

    def close(self) -> None:
        for threads in (self._writes, self._reads):
            if threads is not None:
                threads.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()
