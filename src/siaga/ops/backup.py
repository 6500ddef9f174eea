"""Backups of the database while Siaga runs, their verification, and restoring one.

SQLite: the online backup API, copying a page range at a time from one read transaction (a snapshot: the writers
go on, and the copy is consistent as of its start; copied without that snapshot, a busy database restarts the copy
at every write and it never ends). PostgreSQL: ``pg_dump`` in its custom format, restored with ``pg_restore``.
A backup is verified before it is trusted: SQLite's integrity check, or ``pg_restore --list`` reading the whole
archive. Both kinds carry the schema's migration version.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

Progress = Callable[[str], None]

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
PAGES_PER_STEP = 4096  # 16 MB of 4 KB pages between two progress lines
# Tables whose rows make a database worth not overwriting by mistake.
PEOPLE_AND_ALERTS = ("residents", "staff", "alerts", "audit_log")


class BackupError(Exception):
    """A backup, a verification or a restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Verified:
    kind: str  # sqlite | postgresql
    schema_version: str
    summary: str


def _quiet(message: str) -> None:
    del message


# Where -------------------------------------------------------------------------------------------------------


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL; None for another database. An in-memory database has nothing to back up."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI for pg_dump and pg_restore, and the environment carrying the password (never on the command
    line, where other users of the machine could read it)."""
    url: URL = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


# Backup ------------------------------------------------------------------------------------------------------


def backup(database_url: str, target: Path, *, progress: Progress = _quiet) -> Verified:
    """Write a backup of the database to ``target`` (replaced only once the new one is complete and verified)."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        source = sqlite_file(database_url)
        if source is not None:
            _backup_sqlite(source, partial, progress)
        else:
            _backup_postgres(database_url, partial, progress)
        checked = verify(partial, progress=progress)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return checked


def _backup_sqlite(source: Path, target: Path, progress: Progress) -> None:
    if not source.exists():
        raise BackupError(f"no database at {source}")
    with _sqlite(source) as reader, _sqlite(target) as writer:
        # One read transaction for the whole copy: its snapshot is what is copied, whatever is written meanwhile.
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()

        def step(_status: int, remaining: int, total: int) -> None:
            progress(f"copied {total - remaining} of {total} pages ({100 * (total - remaining) // max(total, 1)}%)")

        reader.backup(writer, pages=PAGES_PER_STEP, progress=step)
        reader.execute("COMMIT")
        writer.execute("PRAGMA journal_mode=DELETE")  # one self-contained file; Siaga turns WAL on when it opens it


@contextlib.contextmanager
def _sqlite(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    address = f"file:{path}?mode=ro" if read_only else str(path)
    connection = sqlite3.connect(address, uri=read_only, timeout=30, isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not on PATH: install the PostgreSQL client (Debian: apt install postgresql-client)"
        )
    return found


def _major(version_line: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", version_line)
    if match is None:
        raise BackupError(f"cannot read a version from {version_line!r}")
    return int(match.group(1))


async def _server_major(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            number = await connection.scalar(text("SHOW server_version_num"))
    finally:
        await engine.dispose()
    return int(number) // 10000


def _backup_postgres(database_url: str, target: Path, progress: Progress) -> None:
    pg_dump = _tool("pg_dump")
    client = _major(subprocess.run([pg_dump, "--version"], capture_output=True, text=True, check=True).stdout)  # noqa: S603
    server = asyncio.run(_server_major(database_url))
    if client < server:
        raise BackupError(
            f"pg_dump {client} cannot dump a PostgreSQL {server} server: install postgresql-client-{server}"
        )
    dsn, env = _libpq(database_url)
    _run_tool([pg_dump, "--format=custom", "--verbose", f"--file={target}", dsn], env=env, progress=progress)


def _run_tool(command: list[str], *, env: dict[str, str] | None = None, progress: Progress) -> None:
    """Run pg_dump or pg_restore, passing on its per-table lines as progress; its last lines if it fails."""
    tail: list[str] = []
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as process:  # noqa: S603
        assert process.stderr is not None
        for line in process.stderr:
            line = line.rstrip()
            tail = [*tail[-9:], line]
            if "contents of table" in line or "processing data for table" in line:
                progress(line.split(": ", 1)[-1])
    if process.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed:\n" + "\n".join(tail))


# Verify ------------------------------------------------------------------------------------------------------


def verify(path: Path, *, progress: Progress = _quiet) -> Verified:
    """Check that ``path`` is a whole, readable Siaga backup; raise BackupError naming what is wrong."""
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    with path.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return _verify_sqlite(path, progress)
    if head.startswith(PG_CUSTOM_MAGIC):
        return _verify_postgres(path, progress)
    raise BackupError(f"{path} is neither a SQLite database nor a pg_dump custom-format archive")


def _verify_sqlite(path: Path, progress: Progress) -> Verified:
    progress("checking the copy's integrity")
    try:
        with _sqlite(path, read_only=True) as connection:
            problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"{path} is damaged: " + "; ".join(problems[:5]))
            version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            counts = {
                table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608 - our names
                for table in ("residents", "alerts", "audit_log")
            }
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable Siaga database: {exc}") from exc
    if version is None:
        raise BackupError(f"{path} has no schema version: not a Siaga database")
    summary = ", ".join(f"{count} {table}" for table, count in counts.items())
    return Verified(kind="sqlite", schema_version=str(version[0]), summary=summary)


def _verify_postgres(path: Path, progress: Progress) -> Verified:
    progress("reading the archive's table of contents")
    listed = subprocess.run([_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)  # noqa: S603
    if listed.returncode != 0:
        raise BackupError(f"{path} is not a readable pg_dump archive: {listed.stderr.strip()}")
    entries = [line for line in listed.stdout.splitlines() if line and not line.startswith(";")]
    tables = [line for line in entries if " TABLE DATA " in line]
    if not any(" alembic_version " in line for line in tables):
        raise BackupError(f"{path} has no schema version: not a dump of a Siaga database")
    # The archive's table of contents is at its start; read every byte of the data too (a cut-off copy fails).
    progress("reading every table's data")
    whole = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, arguments we built
        [_tool("pg_restore"), "--data-only", "--file=/dev/null", str(path)], capture_output=True, text=True
    )
    if whole.returncode != 0:
        raise BackupError(f"{path} is damaged: {whole.stderr.strip()}")
    return Verified(kind="postgresql", schema_version="(in the archive)", summary=f"{len(tables)} tables with data")


# Restore -----------------------------------------------------------------------------------------------------


async def rows_present(database_url: str) -> dict[str, int]:
    """Rows in the tables that hold people and alerts, for those that exist (a new database has none)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            names = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
            found = {}
            for table in PEOPLE_AND_ALERTS:
                if table in names:
                    found[table] = int(await connection.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0)  # noqa: S608
    finally:
        await engine.dispose()
    return {table: count for table, count in found.items() if count}


def restore(database_url: str, source: Path, *, overwrite: bool, progress: Progress = _quiet) -> Verified:
    """Replace the database's contents with the backup at ``source``, verified first. A database that holds
    people or alerts is overwritten only with ``overwrite``. Stop every Siaga process using it first."""
    checked = verify(source, progress=progress)
    target = sqlite_file(database_url)
    wanted = "sqlite" if target is not None else "postgresql"
    if checked.kind != wanted:
        raise BackupError(f"{source} is a {checked.kind} backup; the configured database is {wanted}")
    present = {} if target is not None and not target.exists() else asyncio.run(rows_present(database_url))
    if present and not overwrite:
        held = ", ".join(f"{count} {table}" for table, count in present.items())
        raise BackupError(
            f"the database already holds data ({held}); restoring replaces all of it. Run again with --overwrite "
            "if that is what you want (take a backup of it first)"
        )
    if target is not None:
        _restore_sqlite(source, target, progress)
    else:
        dsn, env = _libpq(database_url)
        progress("restoring into PostgreSQL in one transaction")
        _run_tool(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--verbose",
                f"--dbname={dsn}",
                str(source),
            ],
            env=env,
            progress=progress,
        )
    return checked


def _restore_sqlite(source: Path, target: Path, progress: Progress) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with _sqlite(source, read_only=True) as reader, _sqlite(target) as writer:

        def step(_status: int, remaining: int, total: int) -> None:
            progress(f"restored {total - remaining} of {total} pages")

        reader.backup(writer, pages=PAGES_PER_STEP, progress=step)
