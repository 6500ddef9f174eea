"""Migrations as a deployment runs them: once per release, by several processes starting together without racing,
to a schema that is exactly the one the code's models describe; a production server refuses an unmigrated database
instead of migrating it behind the operator's back."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from siaga import migrate
from siaga.db import create_engine
from siaga.tables import metadata
from tests.conftest import _create_postgres_database, _drop_postgres_database
from tests.servers import siaga

MIGRATORS = 4
HEAD = str(ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head())


def _env(database_url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")},
        "SIAGA_DATABASE_URL": database_url,
        "SIAGA_SECRET_KEY": "migration-test-secret-key-0123456789-abcdefgh",
        "SIAGA_SMS_ADAPTER": "http",
        "SIAGA_SMS_HTTP_URL": "http://127.0.0.1:9/send",
    }


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database nobody has migrated yet."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'var' / 'siaga.db'}"
        return
    url = await _create_postgres_database()
    try:
        yield url
    finally:
        await _drop_postgres_database(url)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "render_as_batch": connection.dialect.name == "sqlite"},
    )
    return list(compare_metadata(context, metadata))


async def _schema(database_url: str) -> tuple[list[str], list[Any]]:
    """The versions recorded in alembic_version, and what autogenerate finds between the models and the database."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            versions = list((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars())
            return versions, await connection.run_sync(_differences)
    finally:
        await engine.dispose()


async def test_several_processes_migrating_at_once_leave_one_correct_schema(
    fresh_database: str, tmp_path: Path
) -> None:
    env = _env(fresh_database)
    logs = [tmp_path / f"migrator-{index}.log" for index in range(MIGRATORS)]
    processes = []
    for log in logs:
        with log.open("wb") as out:
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "siaga", "db", "upgrade", env=env, cwd=tmp_path, stdout=out, stderr=out
                )
            )
    codes = await asyncio.wait_for(asyncio.gather(*(process.wait() for process in processes)), timeout=300)
    assert codes == [0] * MIGRATORS, "\n\n".join(log.read_text() for log in logs)
    versions, differences = await _schema(fresh_database)
    assert versions == [HEAD]
    assert differences == []


async def test_the_models_and_the_migrations_describe_the_same_schema(database_url: str) -> None:
    # database_url is migrated by the migrations alone; autogenerate would write a migration for any difference.
    versions, differences = await _schema(database_url)
    assert versions == [HEAD]
    assert differences == [], "the models and the migrations disagree: add a migration (siaga.migrate.revision)"


def test_a_production_server_refuses_a_database_that_was_not_migrated(fresh_database: str, tmp_path: Path) -> None:
    env = _env(fresh_database)
    refused = siaga("serve", "--port", "9", env=env, cwd=tmp_path, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert "siaga db upgrade" in refused.stderr
    assert HEAD in refused.stderr


@pytest.mark.parametrize(
    "database_url",
    ["postgresql+asyncpg://siaga@127.0.0.1:9/siaga", "sqlite+aiosqlite:///{folder}/not-a-folder/siaga.db"],
    ids=["postgres-down", "sqlite-unwritable"],
)
@pytest.mark.parametrize("command", [["serve", "--port", "9"], ["db", "upgrade"]], ids=["serve", "upgrade"])
def test_a_database_that_cannot_be_reached_is_one_clear_line(
    database_url: str, command: list[str], tmp_path: Path
) -> None:
    (tmp_path / "not-a-folder").write_text("a file where a folder should be")
    refused = siaga(*command, env=_env(database_url.format(folder=tmp_path)), cwd=tmp_path, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "database at" in refused.stderr


async def test_serving_waits_for_a_release_migration_but_not_during_a_rolling_upgrade(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'siaga.db'}"
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    first = str(script.get_base())
    await migrate.upgrade_async(url, first)
    older = await asyncio.to_thread(migrate.behind, url)
    assert older is not None  # a release's new schema must be migrated before serving
    assert HEAD in older
    await migrate.upgrade_async(url)
    assert await asyncio.to_thread(migrate.behind, url) is None
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:  # as if the next release had migrated already
            await connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    finally:
        await engine.dispose()
    assert await asyncio.to_thread(migrate.behind, url) is None  # the old processes keep serving until restarted
