"""An integrator that cannot sign hands incidents over as EIDO with an API key that has the scope eido:receive: the
same endpoint partners sign for, through the one use case that raises alerts, the same incident from the same key
always the same alert. A key without the scope, or revoked, is refused, recorded, and nothing of its EIDO kept."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from siaga.accounts.domain import Role
from siaga.alerts.models import Alert
from siaga.audit.models import AuditRecord
from siaga.partners import eido
from siaga.runtime import Runtime
from tests.conftest import Api, Person, eventually
from tests.e2e.test_api_keys import _bearer, _make_key
from tests.e2e.test_handover_bad_input import ENDPOINT, incident


async def partner_alerts(runtime: Runtime) -> int:
    async with runtime.read_sessions() as session:
        return await session.scalar(select(func.count()).select_from(Alert).where(Alert.channel == "partner")) or 0


async def _key(api: Api, admin: Person, scopes: list[str]) -> dict[str, Any]:
    return await _make_key(api, admin, "BDG-CC", scopes)


async def test_a_key_with_eido_receive_raises_one_alert_and_the_same_incident_again_updates_it(
    api: Api, db: Runtime
) -> None:
    admin = await api.staff(Role.ADMIN)
    key = await _key(api, admin, ["eido:receive"])
    body = incident()
    first = await api.http.post(ENDPOINT, content=body, headers={"content-type": "application/json", **_bearer(key)})
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["status"] == "created"
    assert receipt["incident_id"] == json.loads(body)["$id"]

    # Raised as every channel raises: routed by category and place, on the console with who handed it over.
    operator = await api.staff(Role.OPERATOR)
    alert = (await api.get(operator, f"/alerts/{receipt['alert_id']}")).json()
    assert alert["channel"] == "partner"
    assert alert["category"] == "kebakaran"
    assert alert["jurisdiction_name"] == "Coblong"
    assert alert["state"] == "new"
    assert f"Diserahkan oleh {key['name']}" in alert["description"]
    assert "Siti Rahma" in alert["description"]

    # The same incident again (a retry, or news of it): the same alert, updated, never a second one.
    update = incident(notes=[eido.Note(datetime.now(UTC), "Operator 112", "Dua orang terjebak di lantai dua")])
    again = await api.http.post(ENDPOINT, content=update, headers=_bearer(key))
    assert again.status_code == 200, again.text
    assert again.json() == {**receipt, "status": "updated", "replay": False}
    assert await partner_alerts(db) == 1
    timeline = (await api.get(operator, f"/alerts/{receipt['alert_id']}/timeline")).json()
    [event] = [e for e in timeline if e["kind"] == "partner_updated"]
    assert "Dua orang terjebak di lantai dua" in event["data"]["text"]
    assert event["actor_name"] == key["name"]

    # Another incident is another alert; the audit log names the key as who raised and updated.
    other = incident(alert_id=uuid.uuid4(), category="kesehatan")
    second = await api.http.post(ENDPOINT, content=other, headers=_bearer(key))
    assert second.status_code == 201, second.text
    assert second.json()["alert_id"] != receipt["alert_id"]
    assert await partner_alerts(db) == 2
    async with db.read_sessions() as session:
        records = (await session.scalars(select(AuditRecord).where(AuditRecord.target_id == receipt["alert_id"]))).all()
    assert {r.action for r in records if r.actor_id == f"apikey:{key['id']}"} >= {"alert.partner_update"}


async def test_the_same_incident_sent_twice_at_once_is_one_alert(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    key = await _key(api, admin, ["eido:receive"])
    body = incident()
    answers = await asyncio.gather(*(api.http.post(ENDPOINT, content=body, headers=_bearer(key)) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
    assert {a.json()["alert_id"] for a in answers} == {answers[0].json()["alert_id"]}
    assert await partner_alerts(db) == 1


async def _denied(db: Runtime, key: dict[str, Any]) -> list[AuditRecord]:
    async with db.read_sessions() as session:
        found = await session.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "access.denied", AuditRecord.actor_id == f"apikey:{key['id']}"
            )
        )
        return list(found.all())


async def test_a_key_without_eido_receive_is_refused_and_nothing_is_kept(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    key = await _key(api, admin, ["alerts:read", "alerts:raise"])
    answer = await api.http.post(ENDPOINT, content=incident(), headers=_bearer(key))
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["code"] == "auth.scope"
    assert error["message"] == "this needs an API key with the scope eido:receive"
    assert error["details"] == {"scope": "eido:receive"}
    assert await partner_alerts(db) == 0
    [denied] = await eventually(lambda: _denied(db, key), what="the refusal to be recorded")
    assert denied.detail["code"] == "auth.scope"


async def test_a_revoked_key_is_refused(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    key = await _key(api, admin, ["eido:receive"])
    revoked = await api.post(admin, f"/apikeys/{key['id']}/revoke", {})
    assert revoked.status_code == 200, revoked.text
    answer = await api.http.post(ENDPOINT, content=incident(), headers=_bearer(key))
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "auth.invalid_key"
    assert await partner_alerts(db) == 0


async def test_a_malformed_eido_from_a_key_says_what_is_wrong_and_nothing_is_kept(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    key = await _key(api, admin, ["eido:receive"])
    document = json.loads(incident())
    del document["agencyComponent"]
    answer = await api.http.post(ENDPOINT, content=json.dumps(document).encode(), headers=_bearer(key))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "partners.eido_invalid"
    not_json = await api.http.post(ENDPOINT, content=b"{not json", headers=_bearer(key))
    assert not_json.status_code == 400
    assert not_json.json()["error"]["code"] == "partners.eido_json"
    assert await partner_alerts(db) == 0
