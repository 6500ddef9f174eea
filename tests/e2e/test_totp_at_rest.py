"""Staff TOTP secrets are encrypted at rest (issue 14, item 6): a copy of the staff table cannot make codes, a login
with the factor still works, a secret stored in plaintext before is sealed at its next use, and a server given
another key says clearly why it cannot read the factor. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyotp
import pytest
from pydantic import SecretStr
from sqlalchemy import select, text

from siaga.accounts import totp
from siaga.accounts.domain import Role
from siaga.accounts.models import Staff
from siaga.audit.actor import ActorContext
from siaga.config import DEV_SECRET_KEY, Settings
from tests.conftest import Api
from tests.e2e.test_cli import env, migrated, prepared, run
from tests.e2e.test_second_factor import bearer, enrol, log_in, new_staff, next_code, required

__all__ = ["env", "migrated", "required"]  # the fixtures, used by name below


async def stored_secret(api: Api, username: str) -> str:
    async with api.runtime.read_sessions() as session:
        row = (await session.execute(text("SELECT totp_secret FROM staff WHERE username = :u"), {"u": username})).one()
    return str(row[0])


async def test_a_stored_secret_cannot_be_read_from_the_database_and_the_login_still_works(required: Api) -> None:
    api = required
    username = await new_staff(api, Role.SUPERVISOR)
    app, _ = await enrol(api, (await log_in(api, username))["access_token"])
    stored = await stored_secret(api, username)
    assert app.secret not in stored
    assert stored.startswith("v1:")
    # Sealing is not a fixed transformation: the same secret sealed again looks different.
    settings = api.runtime.settings
    async with api.runtime.read_sessions() as session:
        staff_id = int(await session.scalar(select(Staff.id).where(Staff.username == username)) or 0)
    assert totp.seal_secret(app.secret, staff_id=staff_id, settings=settings) != stored

    step = await log_in(api, username)
    assert step["login_step"] == "code"
    done = await api.http.post("/api/v1/auth/code", json={"code": next_code(app)}, headers=bearer(step["access_token"]))
    assert done.status_code == 200, done.text
    assert done.json()["login_step"] is None


async def test_a_secret_stored_in_plaintext_before_still_works_and_is_sealed_at_its_next_use(required: Api) -> None:
    api = required
    username = await new_staff(api, Role.ADMIN)
    app, _ = await enrol(api, (await log_in(api, username))["access_token"])
    async with api.runtime.unit_of_work() as session:  # as a server before encryption stored it
        await session.execute(
            text("UPDATE staff SET totp_secret = :s WHERE username = :u"), {"s": app.secret, "u": username}
        )
    step = await log_in(api, username)
    done = await api.http.post("/api/v1/auth/code", json={"code": next_code(app)}, headers=bearer(step["access_token"]))
    assert done.status_code == 200, done.text
    stored = await stored_secret(api, username)
    assert stored.startswith("v1:")
    assert app.secret not in stored


async def test_another_key_cannot_read_a_secret_and_says_which_setting_to_fix(required: Api) -> None:
    api = required
    username = await new_staff(api, Role.SUPERVISOR)
    app, _ = await enrol(api, (await log_in(api, username))["access_token"])
    other = api.runtime.settings.model_copy(update={"totp_key": SecretStr("another-key-" + "x" * 40)})
    async with api.runtime.unit_of_work() as session:
        staff = await session.scalar(select(Staff).where(Staff.username == username))
        assert staff is not None
        with pytest.raises(totp.FactorKeyError, match="SIAGA_TOTP_KEY"):
            await totp.take_totp(session, staff=staff, code=next_code(app), settings=other)
        # The right key still opens it; a sealed secret copied onto another account does not open there.
        right = api.runtime.settings
        assert totp.open_secret(str(staff.totp_secret), staff_id=staff.id, settings=right) == app.secret
        with pytest.raises(totp.FactorKeyError):
            totp.open_secret(str(staff.totp_secret), staff_id=staff.id + 1, settings=right)


def test_only_development_mode_derives_the_key_from_the_development_secret() -> None:
    production = {"secret_key": "k" * 40, "sms_adapter": "http", "sms_http_url": "http://sms.invalid"}
    with pytest.raises(ValueError, match="SIAGA_TOTP_KEY is the development default"):
        Settings(_env_file=None, dev_mode=False, totp_key=DEV_SECRET_KEY, **production)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="SIAGA_TOTP_KEY must be at least 32 characters"):
        Settings(_env_file=None, dev_mode=False, totp_key="short", **production)  # type: ignore[call-arg]
    Settings(_env_file=None, dev_mode=False, totp_key="t" * 40, **production)  # type: ignore[call-arg]
    # Unset, the key comes from SIAGA_SECRET_KEY, itself refused as the development default outside development.
    derived = Settings(_env_file=None, dev_mode=False, **production)  # type: ignore[call-arg]
    sealed = totp.seal_secret(pyotp.random_base32(), staff_id=1, settings=derived)
    with pytest.raises(totp.FactorKeyError):
        totp.open_secret(sealed, staff_id=1, settings=derived.model_copy(update={"secret_key": SecretStr("j" * 40)}))


async def test_a_factor_the_servers_key_cannot_open_is_a_clear_503_at_login_not_a_500(required: Api) -> None:
    """The key changed by mistake (a new SIAGA_TOTP_KEY, a lost SIAGA_SECRET_KEY): the staff member is told their
    second factor cannot be checked now and to ask an administrator; the server's log names the setting."""
    api = required
    username = await new_staff(api, Role.SUPERVISOR)
    app, _ = await enrol(api, (await log_in(api, username))["access_token"])
    other = api.runtime.settings.model_copy(update={"totp_key": SecretStr("another-key-" + "x" * 40)})
    async with api.runtime.unit_of_work() as session:  # as if sealed under a key this server no longer has
        staff = await session.scalar(select(Staff).where(Staff.username == username))
        assert staff is not None
        staff.totp_secret = totp.seal_secret(app.secret, staff_id=staff.id, settings=other)

    step = await log_in(api, username)
    answer = await api.http.post(
        "/api/v1/auth/code", json={"code": next_code(app)}, headers=bearer(step["access_token"])
    )

    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "auth.factor_unreadable"
    # The administrator's check finds the same account before anyone else tries to log in.
    async with api.runtime.unit_of_work() as session:
        report = await totp.seal_all(session, settings=api.runtime.settings, by=ActorContext.command_line("test"))
    assert username in report.unreadable


def test_the_command_line_seals_every_plaintext_factor_and_names_those_the_key_cannot_open(
    env: dict[str, str], migrated: Path
) -> None:
    prepared(env, migrated, agencies_to_add=(("CC", "Pusat", "command_centre"),))
    for name in ("rina", "budi"):
        added = run(
            ["user", "add", name, "--name", name.title(), "--role", "supervisor", "--agency", "CC"],
            env,
            SIAGA_NEW_PASSWORD="a long enough password",
        )
        assert added.returncode == 0, added.stderr
    path = Path(env["SIAGA_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    secrets = {"rina": pyotp.random_base32(), "budi": pyotp.random_base32()}
    with sqlite3.connect(path) as db:  # as a server before encryption stored them
        for name, secret in secrets.items():
            db.execute("UPDATE staff SET totp_secret = ? WHERE username = ?", (secret, name))

    sealed = run(["user", "seal-factors"], env)

    assert sealed.returncode == 0, sealed.stderr
    assert "2 secret(s) encrypted now, 0 already encrypted and readable" in sealed.stdout
    with sqlite3.connect(path) as db:
        stored = dict(db.execute("SELECT username, totp_secret FROM staff WHERE totp_secret IS NOT NULL"))
        audited = db.execute("SELECT actor_kind FROM audit_log WHERE action = 'staff.factors_sealed'").fetchall()
    assert set(stored) == {"rina", "budi"}
    assert all(value.startswith("v1:") and secrets[name] not in value for name, value in stored.items())
    assert audited == [("cli",)]

    again = run(["user", "seal-factors"], env)
    assert "0 secret(s) encrypted now, 2 already encrypted and readable" in again.stdout
    wrong = run(["user", "seal-factors"], env, SIAGA_TOTP_KEY="a-key-that-is-not-the-one-" + "y" * 20)
    assert wrong.returncode == 1
    assert "budi" in wrong.stderr
    assert "rina" in wrong.stderr
    assert "siaga user reset-factor" in wrong.stderr
