"""`siaga webhook add/list/rotate/enable` at the server: the secret printed once (alone on standard output), a URL
inside the network refused saying why unless its network was opened, http refused outside development mode, each
change audited as the command line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.e2e.test_cli import env, migrated, prepared, run

__all__ = ["env", "migrated"]  # the fixtures, used by name below


def _rows(env: dict[str, str], query: str) -> list[sqlite3.Row]:
    with sqlite3.connect(env["SIAGA_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")) as db:
        db.row_factory = sqlite3.Row
        return db.execute(query).fetchall()


def test_an_administrator_adds_lists_rotates_and_enables_a_webhook_at_the_server(
    env: dict[str, str], migrated: Path
) -> None:
    prepared(env, migrated)
    shell = {**env, "LOGNAME": "petugas-server", "USER": "petugas-server"}
    add = ["webhook", "add", "Pusat 112", "--event", "alert.created", "--event", "device.trouble"]

    refused = run([*add, "--url", "https://10.20.1.5/siaga"], shell)
    assert refused.returncode == 1
    assert "webhook.unsafe_address" in refused.stderr
    assert "10.20.1.5 is a private address" in refused.stderr
    plain = run([*add, "--url", "http://10.20.1.5/siaga"], shell, SIAGA_WEBHOOK_ALLOWED_NETWORKS="10.20.0.0/16")
    assert (plain.returncode, "webhook.https_required" in plain.stderr) == (1, True)
    assert _rows(env, "SELECT id FROM webhook_subscriptions") == []

    made = run([*add, "--url", "https://10.20.1.5/siaga"], shell, SIAGA_WEBHOOK_ALLOWED_NETWORKS="10.20.0.0/16")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("whsec_")
    assert "not shown again" in made.stderr

    listed = run(["webhook", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert secret not in listed.stdout
    assert "alert.created,device.trouble" in listed.stdout
    assert "enabled" in listed.stdout
    [row] = _rows(env, "SELECT id, secret FROM webhook_subscriptions")
    assert row["secret"].startswith("v1:"), "the secret is not sealed"
    assert secret.removeprefix("whsec_") not in row["secret"]

    rotated = run(["webhook", "rotate", str(row["id"]), "--grace-hours", "1"], shell)
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip().startswith("whsec_")
    assert rotated.stdout.strip() != secret
    enabled = run(["webhook", "enable", str(row["id"])], shell)
    assert enabled.returncode == 0, enabled.stderr

    records = _rows(env, "SELECT action, actor_kind, actor_name, outcome FROM audit_log WHERE action LIKE 'webhook.%'")
    done = sorted((r["action"], r["actor_kind"], r["actor_name"], r["outcome"]) for r in records)
    assert done == [
        ("webhook.create", "cli", "petugas-server", "success"),
        ("webhook.rotate", "cli", "petugas-server", "success"),
        ("webhook.url_refused", "cli", "petugas-server", "refused"),
        ("webhook.url_refused", "cli", "petugas-server", "refused"),
    ]
