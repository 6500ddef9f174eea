"""`siaga user` looks after staff accounts from the server's shell: list and search, edit, deactivate, reactivate and
a new password, each audited with "cli" as the actor."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.e2e.test_cli import env, migrated, prepared, run

__all__ = ["env", "migrated"]  # the fixtures, used by name below

PASSWORD_ENV = {"SIAGA_NEW_PASSWORD": "a long enough password"}


def audit_rows(env: dict[str, str]) -> list[tuple[str, str, str]]:
    path = Path(env["SIAGA_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT action, actor_kind, actor_id FROM audit_log WHERE target_type = 'staff' ORDER BY id")
        return [(str(a), str(k), str(i)) for a, k, i in rows]


def test_an_administrator_looks_after_staff_from_the_command_line(env: dict[str, str], migrated: Path) -> None:
    prepared(env, migrated, agencies_to_add=(("POLSEK-1", "Polsek 1", "polsek"), ("POLSEK-2", "Polsek 2", "polsek")))
    for name in ("rina", "budi", "sari"):
        added = run(
            ["user", "add", name, "--name", name.title(), "--role", "operator", "--agency", "POLSEK-1"],
            env,
            **PASSWORD_ENV,
        )
        assert added.returncode == 0, added.stderr

    found = run(["user", "list", "--search", "BUD"], env)
    assert found.returncode == 0, found.stderr
    assert "budi" in found.stdout
    assert "rina" not in found.stdout
    assert "1-1 of 1" in found.stdout
    paged = run(["user", "list", "--limit", "2", "--offset", "2"], env)
    assert "3-3 of 3" in paged.stdout

    edited = run(
        [
            "user",
            "edit",
            "budi",
            "--name",
            "Bripka Budi",
            "--role",
            "officer",
            "--agency",
            "POLSEK-2",
            "--unit",
            "P2-1",
        ],
        env,
    )
    assert edited.returncode == 0, edited.stderr
    assert "officer budi updated: Bripka Budi" in edited.stdout
    refused = run(["user", "edit", "sari", "--role", "officer"], env)
    assert refused.returncode == 1
    assert "staff.unit_required" in refused.stderr

    assert run(["user", "deactivate", "rina"], env).returncode == 0
    inactive = run(["user", "list", "--inactive"], env)
    assert "rina" in inactive.stdout
    assert "(deactivated)" in inactive.stdout
    assert "budi" not in inactive.stdout
    assert run(["user", "activate", "rina"], env).returncode == 0
    assert run(["user", "password", "rina"], env, SIAGA_NEW_PASSWORD="short").returncode == 2
    assert run(["user", "password", "rina"], env, SIAGA_NEW_PASSWORD="another long password").returncode == 0
    missing = run(["user", "deactivate", "nobody"], env)
    assert missing.returncode == 1
    assert "staff.not_found" in missing.stderr

    assert [action for action, _, _ in audit_rows(env)] == [
        "staff.create",
        "staff.create",
        "staff.create",
        "staff.update",
        "staff.deactivate",
        "staff.activate",
        "staff.password_reset",
    ]
    assert {(kind, actor) for _, kind, actor in audit_rows(env)} == {("cli", "cli")}


def test_an_officer_gets_a_phone_and_the_language_of_their_sms_from_the_command_line(
    env: dict[str, str], migrated: Path
) -> None:
    prepared(env, migrated, agencies_to_add=(("POLSEK-1", "Polsek 1", "polsek"),))
    command = ["user", "add", "asep", "--name", "Asep", "--role", "officer", "--agency", "POLSEK-1", "--unit", "P1-1"]
    added = run([*command, "--phone", "0812-3456-7890", "--language", "en"], env, **PASSWORD_ENV)
    assert added.returncode == 0, added.stderr
    wrong = run(["user", "edit", "asep", "--language", "fr"], env)
    assert wrong.returncode == 2
    assert "language must be id (Bahasa Indonesia) or en (English)" in wrong.stderr
    assert run(["user", "edit", "asep", "--language", "id"], env).returncode == 0

    path = Path(env["SIAGA_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT phone, language FROM staff WHERE username = 'asep'").fetchall() == [
            ("+6281234567890", "id")
        ]
        [detail] = db.execute("SELECT detail FROM audit_log WHERE action = 'staff.update'").fetchone()
    assert '"language": ["en", "id"]' in detail
