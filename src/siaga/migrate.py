"""Run Alembic migrations from code (``siaga db upgrade``, tests, the demo).

Migrations run once per release, as a step of their own: several processes starting together may all call
``upgrade``, and a lock makes them take turns, so the first applies the migrations and the others find nothing
left to do. On PostgreSQL the lock is an advisory lock held by the migrating transaction; on SQLite it is a file
lock beside the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from sqlalchemy import text
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock's key for "Siaga's schema is being migrated" (any constant no other code uses).
POSTGRES_LOCK_KEY = 0x51A6A_0001


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s_%%(rev)s")
    return config


def _sqlite_path(database_url: str) -> Path | None:
    if database_url.startswith("sqlite") and "///" in database_url:
        path = database_url.split("///", 1)[1]
        if path and path != ":memory:":
            return Path(path)
    return None


@contextlib.contextmanager
def _sqlite_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<database>.migrate-lock`` (waits while another migrator holds it)."""
    with (path.parent / f"{path.name}.migrate-lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _upgrade_on(connection: Connection, database_url: str, revision: str) -> None:
    config = alembic_config(database_url)
    config.attributes["connection"] = connection  # env.py migrates in this connection's transaction
    command.upgrade(config, revision)


async def _upgrade_postgres(database_url: str, revision: str) -> None:
    from siaga.db import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            # Held until this transaction ends: a second migrator waits here, then reads the version this one wrote.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK_KEY})
            await connection.run_sync(_upgrade_on, database_url, revision)
            await connection.commit()
    finally:
        await engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` to ``revision``, once however many processes ask at the same time.
    Creates a SQLite file's folder if needed."""
    path = _sqlite_path(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _sqlite_lock(path):
            command.upgrade(alembic_config(database_url), revision)
    elif database_url.startswith("postgresql"):
        asyncio.run(_upgrade_postgres(database_url, revision))
    else:
        command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """The same from inside a running event loop (Alembic's env starts its own loop)."""
    await asyncio.to_thread(upgrade, database_url, revision)


def behind(database_url: str) -> str | None:
    """Why the database is older than this release's schema (it needs ``siaga db upgrade``), or None if it is not.
    A database newer than this release (during a rolling upgrade) is not behind."""
    from siaga.db import create_engine

    script = ScriptDirectory.from_config(alembic_config(database_url))
    path = _sqlite_path(database_url)
    if path is not None and not path.exists():
        return f"there is no database at {path} (this release needs {script.get_current_head()})"

    async def current() -> tuple[str, ...]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())
        finally:
            await engine.dispose()

    applied = asyncio.run(current())
    wanted = script.get_current_head()
    if not applied:
        return f"the database has no schema yet (this release needs {wanted})"
    try:
        known = {rev.revision for head in applied for rev in script.iterate_revisions(head, "base")}
    except ResolutionError:
        return None  # a revision this release does not know: a newer release migrated it
    if wanted in known:
        return None
    return f"the database is at {', '.join(applied)}; this release needs {wanted}"


def revision(database_url: str, message: str) -> None:
    """Autogenerate a new migration against the database at ``database_url`` (developers only)."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
