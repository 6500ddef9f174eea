"""A staff password an attacker would guess first is refused, whoever sets it: an administrator creating an account
or giving a new password through the API, or someone at the server with ``siaga user``. The refusal says why, with a
code the apps translate."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from siaga.accounts.domain import Role
from tests.conftest import PASSWORD, Api
from tests.e2e.test_cli import env, migrated, prepared, run
from tests.e2e.test_staff_lifecycle import can_log_in

__all__ = ["env", "migrated"]  # the fixtures, used by name below

# Long enough, and all among the first an attacker tries.
GUESSABLE = ["aaaaaaaaaa", "1234567890", "password12", "qwertyuiop", "iloveyou123"]


@pytest.mark.parametrize("password", GUESSABLE)
async def test_an_administrator_cannot_create_an_account_with_a_guessable_password(api: Api, password: str) -> None:
    admin = await api.staff(Role.ADMIN)
    username = f"op.{uuid.uuid4().hex[:8]}"
    account = {"username": username, "name": "Operator Baru", "role": "operator", "agency_id": admin.extra["agency_id"]}

    refused = await api.post(admin, "/staff", {**account, "password": password})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("staff.password_weak", "password")
    assert "easy to guess" in error["message"]
    listed = await api.get(admin, "/staff", q=username)
    assert listed.json() == []

    created = await api.post(admin, "/staff", {**account, "password": "lampu merah di simpang dago"})
    assert created.status_code == 201, created.text


async def test_a_password_made_of_the_accounts_own_name_is_refused(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    account = {"username": "budi.santoso", "name": "Budi Santoso", "role": "operator"}
    refused = await api.post(
        admin, "/staff", {**account, "agency_id": admin.extra["agency_id"], "password": "budi.santoso2026"}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "staff.password_weak"


async def test_a_guessable_new_password_is_refused_and_the_old_one_still_works(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG")
    for password in GUESSABLE:
        answer = await api.http.put(
            f"/api/v1/staff/{officer.id}/password", json={"password": password}, headers=admin.headers
        )
        assert answer.status_code == 422, (password, answer.text)
        assert answer.json()["error"]["code"] == "staff.password_weak"
    assert await can_log_in(api, officer, PASSWORD)
    assert not await can_log_in(api, officer, "password12")


def test_siaga_user_refuses_a_guessable_password_and_says_why(env: dict[str, str], migrated: Path) -> None:
    prepared(env, migrated, agencies_to_add=(("POLSEK-1", "Polsek 1", "polsek"),))
    add = ["user", "add", "rina", "--name", "Rina", "--role", "operator", "--agency", "POLSEK-1"]

    refused = run(add, env, SIAGA_NEW_PASSWORD="1234567890")
    assert refused.returncode == 2
    assert "staff.password_weak" in refused.stderr
    assert "rina" not in run(["user", "list"], env).stdout

    assert run(add, env, SIAGA_NEW_PASSWORD="lampu merah di simpang dago").returncode == 0
    reset = run(["user", "password", "rina"], env, SIAGA_NEW_PASSWORD="password12")
    assert reset.returncode == 2
    assert "staff.password_weak" in reset.stderr
