"""Staff second factor (issue 14, item 6): administrators and supervisors enrol a TOTP code before they can do
anything, then log in with password and code; a recovery code stands in for a lost phone once; code guesses count
against the login limits; an administrator (or ``siaga user``) resets a factor and the account's sessions end.
Everything is audited. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from siaga.accounts import service as accounts
from siaga.accounts.domain import Role
from siaga.accounts.models import RecoveryCode, Staff
from siaga.agencies import service as agencies
from siaga.audit.models import AuditRecord
from siaga.config import Settings
from tests.conftest import PASSWORD, Api, make_settings
from tests.e2e.test_cli import env, migrated, prepared, run

__all__ = ["env", "migrated"]  # the fixtures, used by name below


@pytest.fixture
def required(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    """The API of a Siaga whose settings are a deployment's: administrators and supervisors need a second factor."""
    runtime = api.runtime
    monkeypatch.setattr(runtime, "settings", runtime.settings.model_copy(update={"staff_second_factor": "required"}))
    return api


async def new_staff(api: Api, role: Role) -> str:
    username = f"{role.value}.{uuid.uuid4().hex[:8]}"
    async with api.runtime.unit_of_work() as session:
        agency = await agencies.agency_by_code(session, "BDG-CC")
        await accounts.create_staff(
            session, username=username, name=username.title(), role=role, agency_id=agency.id, password=PASSWORD
        )
    return username


async def log_in(api: Api, username: str) -> dict[str, Any]:
    answer = await api.http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def enrol(api: Api, token: str) -> tuple[pyotp.TOTP, dict[str, Any]]:
    """Enrol a factor with a session (halfway through a login, or whole): the authenticator app, and the answer."""
    setup = await api.http.post("/api/v1/auth/factor", headers=bearer(token))
    assert setup.status_code == 200, setup.text
    app = pyotp.TOTP(setup.json()["secret"])
    confirmed = await api.http.post("/api/v1/auth/factor/confirm", json={"code": app.now()}, headers=bearer(token))
    assert confirmed.status_code == 200, confirmed.text
    return app, confirmed.json()


def next_code(app: pyotp.TOTP) -> str:
    """The code of the next 30-second step: accepted now (a step either side is), and newer than any code taken."""
    return app.at(time.time() + 30)


async def audit(api: Api, action: str, username: str) -> list[AuditRecord]:
    async with api.runtime.read_sessions() as session:
        rows = await session.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id))
        return [r for r in rows.all() if r.detail.get("username") == username or r.actor_name == username]


async def test_a_supervisor_enrols_before_anything_else_then_logs_in_with_password_and_code(required: Api) -> None:
    api = required
    username = await new_staff(api, Role.SUPERVISOR)
    first = await log_in(api, username)
    assert first["login_step"] == "enrol"
    halfway = bearer(first["access_token"])
    # The password alone reaches nothing: not the alerts, not the residents, not even who they are.
    for path in ("/alerts", "/residents", "/auth/me"):
        assert (await api.http.get(f"/api/v1{path}", headers=halfway)).status_code == 401, path
    refused = await api.http.post("/api/v1/auth/code", json={"code": "123456"}, headers=halfway)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "auth.login_step"

    setup = (await api.http.post("/api/v1/auth/factor", headers=halfway)).json()
    assert setup["qr_svg"].startswith("<svg")
    assert setup["uri"].startswith("otpauth://totp/Siaga:")
    app = pyotp.TOTP(setup["secret"])
    wrong = await api.http.post(
        "/api/v1/auth/factor/confirm", json={"code": f"{(int(app.now()) + 1) % 1_000_000:06d}"}, headers=halfway
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["code"] == "auth.bad_code"
    enrolment_code = app.now()
    confirmed = await api.http.post("/api/v1/auth/factor/confirm", json={"code": enrolment_code}, headers=halfway)
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    whole = bearer(confirmed.json()["session"]["access_token"])
    assert (await api.http.get("/api/v1/residents", headers=whole)).status_code == 200
    assert (await api.http.get("/api/v1/auth/me", headers=halfway)).status_code == 401  # the step's token ended
    # Recovery codes are kept only as hashes.
    async with api.runtime.read_sessions() as session:
        stored = list((await session.scalars(select(RecoveryCode.code_hash))).all())
    assert len(stored) == 10
    assert all(h.startswith("$argon2") for h in stored)
    assert not set(codes) & set(stored)
    assert await audit(api, "staff.factor_enrolled", username)

    # The next login takes two steps; the code used at enrolment cannot be used again.
    second = await log_in(api, username)
    assert second["login_step"] == "code"
    step = bearer(second["access_token"])
    assert (await api.http.get("/api/v1/alerts", headers=step)).status_code == 401
    replay = await api.http.post("/api/v1/auth/code", json={"code": enrolment_code}, headers=step)
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "auth.bad_code"
    done = await api.http.post("/api/v1/auth/code", json={"code": next_code(app)}, headers=step)
    assert done.status_code == 200, done.text
    assert done.json()["login_step"] is None
    assert done.json()["role"] == "supervisor"
    assert (await api.http.get("/api/v1/residents", headers=bearer(done.json()["access_token"]))).status_code == 200
    logins = await audit(api, "staff.login", username)
    assert [r.detail.get("second_factor") for r in logins] == ["enrolled", "totp"]
    failed = await audit(api, "staff.factor_failed", username)
    assert [(r.outcome, r.detail["reason"]) for r in failed] == [("failure", "bad_code")]


async def test_operators_may_enrol_and_a_recovery_code_works_once(required: Api) -> None:
    api = required
    username = await new_staff(api, Role.OPERATOR)
    first = await log_in(api, username)
    assert first["login_step"] is None  # optional for operators
    app, enrolled = await enrol(api, first["access_token"])
    assert enrolled["session"] is None  # a whole session stays as it is
    recovery = enrolled["recovery_codes"][3]

    step = bearer((await log_in(api, username))["access_token"])
    used = await api.http.post("/api/v1/auth/code", json={"code": f"  {recovery.upper()} "}, headers=step)
    assert used.status_code == 200, used.text
    assert (await api.http.get("/api/v1/alerts", headers=bearer(used.json()["access_token"]))).status_code == 200
    [record] = await audit(api, "staff.recovery_code_used", username)
    assert record.detail["left"] == 9

    again = bearer((await log_in(api, username))["access_token"])
    reused = await api.http.post("/api/v1/auth/code", json={"code": recovery}, headers=again)
    assert reused.status_code == 401
    assert (await api.http.post("/api/v1/auth/code", json={"code": next_code(app)}, headers=again)).status_code == 200


async def test_code_guesses_count_against_the_login_limit(required: Api) -> None:
    api = required
    username = await new_staff(api, Role.ADMIN)
    app, _enrolled = await enrol(api, (await log_in(api, username))["access_token"])
    step = bearer((await log_in(api, username))["access_token"])
    right = next_code(app)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    answers = [
        (await api.http.post("/api/v1/auth/code", json={"code": wrong}, headers=step)).status_code
        for _ in range(accounts.LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT + 1)
    ]
    assert answers == [401] * accounts.LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT + [429]
    # Past the limit even the right code is not checked: guessing all million codes is out of reach.
    late = await api.http.post("/api/v1/auth/code", json={"code": right}, headers=step)
    assert late.status_code == 429
    assert late.json()["error"]["code"] == "auth.throttled"
    failed = await audit(api, "staff.factor_failed", username)
    assert len(failed) == accounts.LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT + 2
    assert failed[-1].detail["reason"] == "throttled"


async def test_an_administrator_resets_a_lost_factor_and_the_sessions_end(api: Api, monkeypatch: Any) -> None:
    admin = await api.staff(Role.ADMIN)  # enrolled or not, this one has a whole session
    operator = await api.staff(Role.OPERATOR)
    runtime = api.runtime
    monkeypatch.setattr(runtime, "settings", runtime.settings.model_copy(update={"staff_second_factor": "required"}))
    username = await new_staff(api, Role.SUPERVISOR)
    _, enrolled = await enrol(api, (await log_in(api, username))["access_token"])
    session = bearer(enrolled["session"]["access_token"])
    async with runtime.read_sessions() as db:
        staff_id = await db.scalar(select(Staff.id).where(Staff.username == username))

    listed = await api.get(admin, "/staff", q=username)
    assert listed.json()[0]["second_factor"] is True
    refused = await api.http.delete(f"/api/v1/staff/{staff_id}/factor", headers=operator.headers)
    assert refused.status_code == 403
    reset = await api.http.delete(f"/api/v1/staff/{staff_id}/factor", headers=admin.headers)
    assert reset.status_code == 204, reset.text
    assert (await api.http.get("/api/v1/auth/me", headers=session)).status_code == 401
    [record] = await audit(api, "staff.factor_reset", username)
    assert record.actor_id == f"staff:{admin.id}"
    assert record.detail["sessions_ended"] == 1
    assert (await api.get(admin, "/staff", q=username)).json()[0]["second_factor"] is False
    assert (await log_in(api, username))["login_step"] == "enrol"  # enrols again at the next login


def test_siaga_user_reset_factor_from_the_server(env: dict[str, str], migrated: Path) -> None:
    prepared(
        env,
        migrated,
        agencies_to_add=(("POLRES-1", "Polres 1", "polres"),),
        staff=(("rina", "Rina", "supervisor", "POLRES-1"),),
    )
    path = Path(env["SIAGA_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(path) as db:  # as if Rina had enrolled a factor
        db.execute("UPDATE staff SET totp_secret = 'JBSWY3DPEHPK3PXP', totp_enrolled_at = '2026-12-01 08:00:00'")
    reset = run(["user", "reset-factor", "rina"], env)
    assert reset.returncode == 0, reset.stderr
    assert "second factor reset for rina" in reset.stdout
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT totp_secret, totp_enrolled_at FROM staff").fetchall() == [(None, None)]
        audited = db.execute("SELECT actor_kind FROM audit_log WHERE action = 'staff.factor_reset'").fetchall()
    assert audited == [("cli",)]


def test_the_exemption_is_for_development_only() -> None:
    assert make_settings("sqlite+aiosqlite:///x.db").requires_second_factor is False  # dev mode: the demo
    production = {"secret_key": "k" * 40, "sms_adapter": "http", "sms_http_url": "http://sms.invalid"}
    assert Settings(**production).requires_second_factor is True
    with pytest.raises(ValueError, match="SIAGA_STAFF_SECOND_FACTOR"):
        Settings(**production, staff_second_factor="optional")
