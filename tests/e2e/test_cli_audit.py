"""A change made at the server with the `siaga` command is audited like one made through the API: the log says the
command line made it, which operating-system user ran it, and what changed; and a change through the API is recorded
once, not once by the use case and again by the router."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.audit.models import AuditRecord
from tests.conftest import LAMPUNG_GEOJSON, Api
from tests.e2e.test_cli import env, migrated, prepared
from tests.servers import siaga

__all__ = ["env", "migrated"]  # the fixtures, used by name below

OS_USER = "petugas-server"  # who is logged in at the server's shell


def audit_log(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["SIAGA_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "SELECT action, actor_kind, actor_id, actor_name, target_type, target_id, detail FROM audit_log ORDER BY id"
        )
        return [{**dict(row), "detail": json.loads(row["detail"])} for row in rows]


def test_siaga_user_add_and_import_geojson_are_audited_as_the_command_line(
    env: dict[str, str], migrated: Path, tmp_path: Path
) -> None:
    prepared(env, migrated, agencies_to_add=(("POLSEK-1", "Polsek 1", "polsek"),))
    shell = {**env, "LOGNAME": OS_USER, "USER": OS_USER}
    assert audit_log(env) == []  # what the test laid down is no one's change

    added = siaga(
        "user",
        "add",
        "rina",
        "--name",
        "Rina",
        "--role",
        "operator",
        "--agency",
        "POLSEK-1",
        env={**shell, "SIAGA_NEW_PASSWORD": "a long enough password"},
        cwd=tmp_path,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    officer = siaga(
        *("user", "add", "asep", "--name", "Asep", "--role", "officer", "--agency", "POLSEK-1", "--unit", "P1-1"),
        env={**shell, "SIAGA_NEW_PASSWORD": "a long enough password"},
        cwd=tmp_path,
        timeout=120,
    )
    assert officer.returncode == 0, officer.stderr  # and a new unit for them
    codes = sorted(f["properties"]["kode"] for f in json.loads(LAMPUNG_GEOJSON.read_text())["features"])
    table = tmp_path / "table.csv"
    table.write_text("jurisdiction_code,agency_code,is_primary\n" + "".join(f"{c},POLSEK-1,1\n" for c in codes))
    imported = siaga(
        "import-geojson", str(LAMPUNG_GEOJSON), "--agency-table", str(table), env=shell, cwd=tmp_path, timeout=120
    )
    assert imported.returncode == 0, imported.stderr

    log = audit_log(env)
    assert {(r["actor_kind"], r["actor_id"], r["actor_name"]) for r in log} == {("cli", "cli", OS_USER)}
    created = [r["detail"] for r in log if r["action"] == "staff.create" and r["target_type"] == "staff"]
    assert created == [{"username": "rina", "role": "operator"}, {"username": "asep", "role": "officer"}]
    assert [r["target_type"] for r in log if r["action"] == "unit.create"] == ["unit"]
    [polygons] = [r for r in log if r["action"] == "jurisdiction.import"]
    assert sorted(polygons["detail"]["created"]) == codes
    assert polygons["detail"]["updated"] == []
    assert polygons["detail"]["source"] == LAMPUNG_GEOJSON.name
    served = {r["target_id"]: r["detail"] for r in log if r["action"] == "jurisdiction.agencies"}
    assert served == {c: {"agencies": [{"agency_code": "POLSEK-1", "is_primary": True}]} for c in codes}


async def records(api: Api, action: str) -> list[AuditRecord]:
    async with api.runtime.read_sessions() as session:
        return list((await session.scalars(select(AuditRecord).where(AuditRecord.action == action))).all())


async def test_the_same_changes_through_the_api_are_recorded_once_with_the_administrator(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    created = await api.post(
        admin,
        "/staff",
        {
            "username": "rina",
            "name": "Rina",
            "role": "operator",
            "agency_id": admin.extra["agency_id"],
            "password": "a long enough password",
        },
    )
    assert created.status_code == 201, created.text
    doc = json.loads(LAMPUNG_GEOJSON.read_text())
    imported = await api.post(admin, "/jurisdictions/import", doc)
    assert imported.status_code == 200, imported.text
    agency = await api.post(admin, "/agencies", {"code": "POLSEK-BARU", "name": "Polsek Baru", "kind": "polsek"})
    assert agency.status_code == 201, agency.text
    unit = await api.post(
        admin, "/units", {"agency_id": admin.extra["agency_id"], "callsign": "BARU-1", "kind": "patrol_car"}
    )
    assert unit.status_code == 201, unit.text

    [staff_record] = await records(api, "staff.create")
    [import_record] = await records(api, "jurisdiction.import")
    [agency_record] = await records(api, "agency.create")
    [unit_record] = await records(api, "unit.create")
    for record in (staff_record, import_record, agency_record, unit_record):
        assert (record.actor_kind, record.actor_id) == ("admin", f"staff:{admin.id}")
        assert record.client_ip  # where the request came from
    assert staff_record.target_id == str(created.json()["id"])
    assert staff_record.detail == {"username": "rina", "role": "operator"}
    assert sorted(import_record.detail["created"] + import_record.detail["updated"]) == sorted(
        f["properties"]["kode"] for f in doc["features"]
    )
    assert agency_record.target_id == "POLSEK-BARU"
    assert unit_record.target_id == str(unit.json()["id"])
