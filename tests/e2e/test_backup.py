"""Backups taken while a real server takes SOS presses, restored into a new database: every press the server had
answered (201, or 200 for a press joining the resident's open alert) before the backup began is in the restored
copy. On SQLite (the online backup API) and PostgreSQL
(pg_dump and pg_restore). A restore refuses to overwrite a database that holds data unless told to, and a damaged
backup is refused before anything is touched."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from siaga.alerts.models import Alert, AlertPress
from siaga.audit.models import AuditRecord
from siaga.cli import app
from tests.conftest import _create_postgres_database, _drop_postgres_database, sos_body
from tests.servers import Server, registered_resident, serve_env, start, stop

RESIDENTS = 12
PRESSERS = 4  # presses in flight at once


@dataclass
class Deployment:
    url: str  # the database
    folder: Path
    env: dict[str, str]
    server: Server
    scratch: list[str] = field(default_factory=list)  # PostgreSQL databases to drop afterwards

    async def new_database(self, tmp_path: Path) -> str:
        """An empty database of the same kind (not migrated: a restore brings its own schema)."""
        if self.url.startswith("sqlite"):
            return f"sqlite+aiosqlite:///{tmp_path / f'restored-{uuid.uuid4().hex[:6]}.db'}"
        url = await _create_postgres_database()
        self.scratch.append(url)
        return url

    async def siaga(self, *args: str, database_url: str | None = None) -> Ran:
        """Run a ``siaga`` command as a person would, with this deployment's settings (in this process: a new
        interpreter for each command would cost seconds on a busy machine)."""
        return await _siaga(args, {**self.env, "SIAGA_DATABASE_URL": database_url or self.url}, self.folder)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def _siaga(args: tuple[str, ...], env: dict[str, str], folder: Path) -> Ran:
    runner = CliRunner()
    here = Path.cwd()

    def run() -> Ran:
        os.chdir(folder)
        try:
            result = runner.invoke(app, list(args), env={k: v for k, v in env.items() if k.startswith("SIAGA_")})
        finally:
            os.chdir(here)
        return Ran(result.exit_code, result.stdout, result.stderr)

    return await asyncio.to_thread(run)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deployment]:
    """A seeded database and a real ``siaga serve`` on it, shared by this module's tests (seeding takes a while)."""
    tmp_path = tmp_path_factory.mktemp("deployment")
    url = (
        f"sqlite+aiosqlite:///{tmp_path / 'siaga.db'}"
        if request.param == "sqlite"
        else await _create_postgres_database()
    )
    env = serve_env(url, SIAGA_OTP_PER_CLIENT_PER_HOUR="1000")
    seeded = await _siaga(("demo", "--no-serve"), env, tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    server = await asyncio.to_thread(start, env, tmp_path, "server")
    deployment = Deployment(url=url, folder=tmp_path, env=env, server=server)
    try:
        yield deployment
    finally:
        stop(server)
        for scratch in [*deployment.scratch, *([] if url.startswith("sqlite") else [url])]:
            await _drop_postgres_database(scratch)


@dataclass
class Load:
    """Residents pressing SOS without pause; every press the server answered (stored), in order."""

    http: httpx.AsyncClient
    tokens: list[str]
    answered: list[str] = field(default_factory=list)
    stopping: bool = False

    async def press(self, worker: int) -> None:
        turn = worker
        while not self.stopping:
            token = self.tokens[turn % len(self.tokens)]
            turn += PRESSERS
            body = sos_body(description=f"tekanan {turn}")
            answer = await self.http.post("/api/v1/alerts", json=body, headers={"Authorization": f"Bearer {token}"})
            # 201: a new alert; 200: joined the resident's open alert (stored as a press of it). Both are durable.
            assert answer.status_code in {200, 201}, answer.text
            self.answered.append(body["id"])


async def _stored(database_url: str) -> set[str]:
    """Every press id a database holds: the alerts, and the presses that joined an alert already open."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            alerts = (await connection.scalars(select(Alert.id))).all()
            joined = (await connection.scalars(select(AlertPress.id))).all()
            audited = (await connection.scalars(select(AuditRecord.id))).all()
    finally:
        await engine.dispose()
    assert audited  # a whole database, not only its alerts
    return {str(i) for i in [*alerts, *joined]}


async def test_a_backup_under_load_restores_every_press_answered_before_it(
    deployment: Deployment, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=deployment.server.url, timeout=60) as http:
        tokens = [await registered_resident(http, deployment.folder) for _ in range(RESIDENTS)]
        load = Load(http=http, tokens=tokens)
        pressers = [asyncio.create_task(load.press(i)) for i in range(PRESSERS)]
        try:
            while len(load.answered) < 50:
                await asyncio.sleep(0.05)
                assert not any(p.done() for p in pressers), [p.exception() for p in pressers if p.done()]
            answered_before = list(load.answered)
            backup = tmp_path / "siaga.backup"
            taken = await deployment.siaga("backup", str(backup))
            after = len(load.answered)
            while len(load.answered) < after + 20:  # and the server goes on taking presses
                await asyncio.sleep(0.05)
                assert not any(p.done() for p in pressers), [p.exception() for p in pressers if p.done()]
        finally:
            load.stopping = True
            await asyncio.gather(*pressers)
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert "a good" in taken.stdout
    assert "%" in taken.stdout or "table" in taken.stdout  # progress was shown

    verified = await deployment.siaga("backup", "--verify", str(backup))
    assert verified.returncode == 0, verified.stderr

    # Restored into a new database: every press answered before the backup began is there.
    fresh = await deployment.new_database(tmp_path)
    restored = await deployment.siaga("restore", str(backup), database_url=fresh)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    stored = await _stored(fresh)
    missing = [i for i in answered_before if i not in stored]
    assert not missing, f"{len(missing)} of {len(answered_before)} answered presses missing from the restored copy"
    assert stored <= await _stored(deployment.url)  # and nothing that never was

    # The live database holds data: a restore over it is refused without --overwrite, and changes nothing.
    refused = await deployment.siaga("restore", str(backup))
    assert refused.returncode == 1
    assert "already holds data" in refused.stderr
    assert "--overwrite" in refused.stderr
    assert set(load.answered) <= await _stored(deployment.url)


async def test_a_damaged_backup_is_refused_before_anything_is_touched(deployment: Deployment, tmp_path: Path) -> None:
    backup = tmp_path / "whole.backup"
    taken = await deployment.siaga("backup", str(backup))
    assert taken.returncode == 0, taken.stdout + taken.stderr
    damaged = tmp_path / "damaged.backup"
    data = backup.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])

    checked = await deployment.siaga("backup", "--verify", str(damaged))
    assert checked.returncode == 1
    assert "damaged" in checked.stderr or "not a readable" in checked.stderr, checked.stderr
    fresh = await deployment.new_database(tmp_path)
    refused = await deployment.siaga("restore", str(damaged), database_url=fresh)
    assert refused.returncode == 1
    assert await _tables(fresh) == set()  # nothing was written


async def _tables(database_url: str) -> set[str]:
    from sqlalchemy import inspect

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
