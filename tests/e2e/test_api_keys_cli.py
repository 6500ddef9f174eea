"""`siaga apikey add/list/revoke` at the server: the key printed once (alone on standard output, so a script can
keep it), listed without it, revoked, each change audited as the command line."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from tests.e2e.test_cli import env, migrated, prepared, run

__all__ = ["env", "migrated"]  # the fixtures, used by name below


def _rows(env: dict[str, str], query: str) -> list[sqlite3.Row]:
    with sqlite3.connect(env["SIAGA_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")) as db:
        db.row_factory = sqlite3.Row
        return db.execute(query).fetchall()


def test_an_administrator_makes_lists_and_revokes_a_key_at_the_server(env: dict[str, str], migrated: Path) -> None:
    prepared(env, migrated, agencies_to_add=(("POLSEK-1", "Polsek 1", "polsek"),))
    shell = {**env, "LOGNAME": "petugas-server", "USER": "petugas-server"}

    made = run(["apikey", "add", "Gateway Bank Uji", "--agency", "POLSEK-1", "--scope", "alerts:raise"], shell)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("sk_siaga_")
    assert "not shown again" in made.stderr

    listed = run(["apikey", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert key not in listed.stdout
    assert "Gateway Bank Uji" in listed.stdout
    assert "alerts:raise" in listed.stdout
    assert "active" in listed.stdout
    [row] = _rows(env, "SELECT id, key_hash FROM api_keys")
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()

    revoked = run(["apikey", "revoke", str(row["id"])], shell)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in run(["apikey", "list"], env).stdout
    again = run(["apikey", "revoke", str(row["id"])], env)
    assert again.returncode == 1
    assert "apikey.already_revoked" in again.stderr

    bad = run(["apikey", "add", "X", "--agency", "POLSEK-1", "--scope", "alerts:write"], env)
    assert bad.returncode == 1
    assert "apikey.unknown_scope" in bad.stderr

    audit = _rows(env, "SELECT action, actor_kind, actor_name, detail FROM audit_log ORDER BY id")
    assert [(r["action"], r["actor_kind"], r["actor_name"]) for r in audit] == [
        ("apikey.created", "cli", "petugas-server"),
        ("apikey.revoked", "cli", "petugas-server"),
    ]
    assert all(key not in r["detail"] for r in audit)
    assert json.loads(audit[0]["detail"])["scopes"] == ["alerts:raise"]
