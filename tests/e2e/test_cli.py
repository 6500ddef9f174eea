"""The `siaga` command as an administrator uses it: migrations, imports, accounts, and refusing unsafe settings."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from siaga import migrate
from siaga.accounts import service as accounts
from siaga.accounts.domain import Role
from siaga.agencies import service as agencies
from siaga.agencies.models import AgencyKind
from siaga.db import create_engine, session_factory, transaction
from tests.conftest import LAMPUNG_GEOJSON

SIAGA = [sys.executable, "-m", "siaga"]


def run(args: list[str], env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SIAGA, *args], env={**env, **extra}, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")}
    return {
        **clean,
        "SIAGA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'siaga.db'}",
        "SIAGA_SECRET_KEY": "cli-test-secret-key-0123456789-abcdefghij",
        "SIAGA_SMS_ADAPTER": "http",
        "SIAGA_SMS_HTTP_URL": "http://127.0.0.1:9/send",
    }


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database to copy (``siaga db upgrade`` as a command has its own tests below)."""
    path = tmp_path_factory.mktemp("cli-migrated") / "siaga.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def prepared(
    env: dict[str, str],
    migrated: Path,
    *,
    agencies_to_add: tuple[tuple[str, str, str], ...] = (),
    staff: tuple[tuple[str, str, str, str], ...] = (),
) -> None:
    """Set up the database the commands under test work on, in this process: migrated, with these agencies
    (code, name, kind) and staff (username, name, role, agency code; the password is ``a long enough password``).
    Each of these steps as a command is tested on its own; starting a process for each cost a test seconds."""
    path = Path(env["SIAGA_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated, path)

    async def add() -> None:
        engine = create_engine(env["SIAGA_DATABASE_URL"])
        try:
            async with transaction(session_factory(engine)) as session:
                for code, name, kind in agencies_to_add:
                    await agencies.create_agency(session, code=code, name=name, kind=AgencyKind(kind), parent_code=None)
                for username, name, role, agency in staff:
                    owner = await agencies.agency_by_code(session, agency)
                    await accounts.create_staff(
                        session,
                        username=username,
                        name=name,
                        role=Role(role),
                        agency_id=owner.id,
                        password="a long enough password",
                    )
        finally:
            await engine.dispose()

    asyncio.run(add())


def test_development_defaults_are_refused_outside_development_mode(env: dict[str, str]) -> None:
    no_key = {k: v for k, v in env.items() if k != "SIAGA_SECRET_KEY"}
    result = run(["db", "upgrade"], no_key)
    assert result.returncode == 2
    assert "SIAGA_SECRET_KEY is the development default" in result.stderr
    recorder = run(["db", "upgrade"], env, SIAGA_SMS_ADAPTER="dev")
    assert recorder.returncode == 2
    assert "SIAGA_SMS_ADAPTER=dev" in recorder.stderr
    short = run(["db", "upgrade"], env, SIAGA_SECRET_KEY="short")
    assert short.returncode == 2
    assert "at least 32 characters" in short.stderr


def test_an_administrator_sets_up_a_city_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    # Once: that running it again changes nothing is test_migrations_run_on_postgresql_too's, on both databases.
    assert run(["db", "upgrade"], env).returncode == 0

    created = run(["agency", "add", "POLRESTA-BL", "--name", "Polresta Bandar Lampung", "--kind", "polres"], env)
    assert created.returncode == 0, created.stderr
    for index in (1, 2):
        result = run(
            [
                "agency",
                "add",
                f"POLSEK-{index}",
                "--name",
                f"Polsek {index}",
                "--kind",
                "polsek",
                "--parent",
                "POLRESTA-BL",
            ],
            env,
        )
        assert result.returncode == 0, result.stderr

    lampung = LAMPUNG_GEOJSON
    codes = sorted(f["properties"]["kode"] for f in json.loads(lampung.read_text())["features"])
    table = tmp_path / "table.csv"
    table.write_text(
        "jurisdiction_code,agency_code,is_primary\n"
        + "".join(f"{c},POLSEK-{i % 2 + 1},1\n" for i, c in enumerate(codes))
    )
    imported = run(["import-geojson", str(lampung), "--agency-table", str(table)], env)
    assert imported.returncode == 0, imported.stderr
    assert "20 created, 0 updated" in imported.stdout
    assert "20 kecamatan -> agency row(s)" in imported.stdout
    again = run(["import-geojson", str(lampung)], env)
    assert "0 created, 20 updated" in again.stdout

    officer = run(
        ["user", "add", "asep", "--name", "Bripka Asep", "--role", "officer", "--agency", "POLSEK-1", "--unit", "BL-1"],
        env,
        SIAGA_NEW_PASSWORD="a long enough password",
    )
    assert officer.returncode == 0, officer.stderr
    assert "officer asep created" in officer.stdout
    duplicate = run(
        ["user", "add", "asep", "--name", "X", "--role", "operator", "--agency", "POLSEK-1"],
        env,
        SIAGA_NEW_PASSWORD="a long enough password",
    )
    assert duplicate.returncode == 1
    assert "staff.username_taken" in duplicate.stderr
    unknown = run(
        ["user", "add", "rina", "--name", "Rina", "--role", "operator", "--agency", "NOWHERE"],
        env,
        SIAGA_NEW_PASSWORD="a long enough password",
    )
    assert unknown.returncode == 1
    assert "agency 'NOWHERE' does not exist" in unknown.stderr


def test_a_broken_geojson_file_is_refused_with_the_reason(env: dict[str, str], migrated: Path, tmp_path: Path) -> None:
    prepared(env, migrated)
    broken = tmp_path / "broken.geojson"
    broken.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}}]}))
    result = run(["import-geojson", str(broken)], env)
    assert result.returncode == 1
    assert "features[0]" in result.stderr


def test_the_development_sms_outbox_shows_the_code(env: dict[str, str], tmp_path: Path) -> None:
    dev = {**env, "SIAGA_DEV_MODE": "1", "SIAGA_SMS_ADAPTER": "dev"}
    outbox = tmp_path / "var" / "dev-sms.jsonl"
    outbox.parent.mkdir(parents=True, exist_ok=True)
    outbox.write_text(
        json.dumps({"at": "2026-11-23T01:00:00+00:00", "to": "+6281234567890", "body": "Kode Siaga Anda: 042917."})
        + "\n"
    )
    listed = run(["sms"], dev)
    assert "+6281234567890" in listed.stdout
    code = run(["sms", "--to", "+6281234567890", "--code"], dev)
    assert code.stdout.strip() == "042917"
    missing = run(["sms", "--to", "+6289999999999", "--code"], dev)
    assert missing.returncode == 1


def test_migrations_run_on_postgresql_too(database_url: str, env: dict[str, str]) -> None:
    # The session's databases are already migrated; running again must be a no-op on each.
    result = run(["db", "upgrade"], env, SIAGA_DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr


def test_serving_in_development_mode_says_so_loudly(env: dict[str, str]) -> None:
    import socket

    with socket.socket() as taken:  # a port in use: the server says what it is, fails to bind, and stops
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        dev = run(["serve", "--no-upgrade", "--port", port], env, SIAGA_DEV_MODE="1", SIAGA_SMS_ADAPTER="dev")
        production = run(["serve", "--no-upgrade", "--port", port], env)
    assert "DEVELOPMENT MODE" in dev.stderr, dev.stderr
    assert "DEVELOPMENT MODE" not in production.stderr, production.stderr
