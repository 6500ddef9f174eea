"""Integrators' API keys: an administrator makes one (shown once, kept only as a hash), a dashboard reads its
agency's alerts with it, a device gateway raises a site's panic with it, and it is refused for what it may not do,
once revoked, and past its own rate, which never touches people's requests."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.accounts.models import ApiKey
from siaga.agencies import service as agencies
from siaga.audit.models import AuditRecord
from tests.conftest import Api, Person, eventually

COBLONG = (-6.8915, 107.6107)  # near ITB: POLSEK-COBLONG's
SUKAJADI = (-6.8871, 107.5855)  # POLSEK-SUKAJADI's


async def _agency(api: Api, code: str) -> int:
    async with api.runtime.read_sessions() as session:
        return (await agencies.agency_by_code(session, code)).id


async def _make_key(api: Api, admin: Person, agency: str, scopes: list[str], **more: Any) -> dict[str, Any]:
    body = {"name": f"Sistem {uuid.uuid4().hex[:6]}", "agency_id": await _agency(api, agency), "scopes": scopes}
    answer = await api.post(admin, "/apikeys", {**body, **more})
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def _bearer(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['key']}"}


async def _site_with_button(api: Api, admin: Person, agency: str, where: tuple[float, float]) -> str:
    site = {
        "name": f"Bank {uuid.uuid4().hex[:6]}",
        "lat": where[0],
        "lon": where[1],
        "agency_id": await _agency(api, agency),
    }
    made = await api.post(admin, "/devices/sites", site)
    assert made.status_code == 201, made.text
    name = f"teller-{uuid.uuid4().hex[:8]}"
    added = await api.post(admin, "/devices", {"site_id": made.json()["id"], "name": name, "label": "Teller 2"})
    assert added.status_code == 201, added.text
    return name


async def _denials(api: Api, actor_id: str) -> list[AuditRecord]:
    async with api.runtime.read_sessions() as session:
        found = await session.scalars(
            select(AuditRecord).where(AuditRecord.action == "access.denied", AuditRecord.actor_id == actor_id)
        )
        return list(found.all())


async def test_a_key_is_shown_once_and_kept_only_as_a_hash(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    made = await _make_key(api, admin, "POLSEK-COBLONG", ["alerts:read"])
    key = made["key"]
    assert key.startswith(made["prefix"])
    assert made["prefix"].startswith("sk_siaga_")
    assert len(key) > 60

    listed = (await api.get(admin, "/apikeys")).json()
    [mine] = [k for k in listed if k["id"] == made["id"]]
    assert "key" not in mine
    assert key not in str(listed)
    assert mine["scopes"] == ["alerts:read"]
    assert mine["revoked_at"] is None
    assert mine["created_by"].startswith(admin.name)

    async with api.runtime.read_sessions() as session:
        row = await session.get(ApiKey, made["id"])
        assert row is not None
        assert key not in str([getattr(row, c.key) for c in ApiKey.__table__.columns])
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        created = await session.scalar(
            select(AuditRecord).where(AuditRecord.action == "apikey.created", AuditRecord.target_id == str(row.id))
        )
    assert created is not None
    assert created.actor_id == f"staff:{admin.id}"
    assert key not in str(created.detail)
    assert created.detail["scopes"] == ["alerts:read"]


async def test_a_key_reads_its_agencys_alerts_and_no_others(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    made = await _make_key(api, admin, "POLSEK-COBLONG", ["alerts:read"])
    ours = await api.press(await api.resident(name="Warga Coblong"), lat=COBLONG[0], lon=COBLONG[1])
    theirs = await api.press(await api.resident(name="Warga Sukajadi"), lat=SUKAJADI[0], lon=SUKAJADI[1])

    listed = await api.http.get("/api/v1/alerts", headers=_bearer(made))
    assert listed.status_code == 200, listed.text
    ids = {a["id"] for a in listed.json()}
    assert ours["id"] in ids
    assert theirs["id"] not in ids
    one = await api.http.get(f"/api/v1/alerts/{ours['id']}", headers=_bearer(made))
    assert one.status_code == 200
    assert one.json()["agency_code"] == "POLSEK-COBLONG"
    assert "Warga Coblong" not in one.text
    hidden = await api.http.get(f"/api/v1/alerts/{theirs['id']}", headers=_bearer(made))
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "alert.not_found"

    async with api.runtime.read_sessions() as session:
        reads = await session.scalars(select(AuditRecord).where(AuditRecord.actor_id == f"apikey:{made['id']}"))
        by_action = {r.action: r for r in reads.all()}
    assert by_action["alert.list"].actor_kind == "apikey"
    assert by_action["alert.list"].actor_name == made["name"]
    assert by_action["alert.read"].target_id == ours["id"]
    denied = await eventually(lambda: _denials(api, f"apikey:{made['id']}"), what="the hidden read to be recorded")
    assert denied[0].target_id == theirs["id"]


async def test_a_key_sees_the_alert_but_not_the_resident(api: Api) -> None:
    """An integrator acts on an alert (where, what, who answers it) and never learns who raised it: no name, phone,
    NIK, medical notes or words, no position once the alert is closed, and no resident's history. A person's session
    still reads the whole alert."""
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    made = await _make_key(api, admin, "POLSEK-COBLONG", ["alerts:read"])
    siti = await api.resident(name="Siti Rahayu Integrasi")
    nik, notes, words = "3273024506900001", "Alergi penisilin", "Tolong ada orang masuk rumah lewat dapur"
    profile = await api.http.patch(
        "/api/v1/residents/me", json={"nik": nik, "medical_notes": notes}, headers=siti.headers
    )
    assert profile.status_code == 200, profile.text
    pressed = await api.press(siti, lat=COBLONG[0], lon=COBLONG[1], description=words)
    personal = [siti.name, siti.phone, siti.phone.removeprefix("+"), siti.id, nik, notes, words]

    staff = await api.get(operator, f"/alerts/{pressed['id']}")
    assert staff.status_code == 200, staff.text
    assert staff.json()["resident"]["name"] == siti.name
    assert staff.json()["resident"]["nik"] == nik
    assert staff.json()["resident"]["medical_notes"] == notes
    assert staff.json()["description"] == words

    one = await api.http.get(f"/api/v1/alerts/{pressed['id']}", headers=_bearer(made))
    listed = await api.http.get("/api/v1/alerts", headers=_bearer(made))
    assert one.status_code == 200, one.text
    assert listed.status_code == 200, listed.text
    [in_list] = [a for a in listed.json() if a["id"] == pressed["id"]]
    for answer in (one.text, listed.text):
        assert not [p for p in personal if p in answer], answer
    for seen in (one.json(), in_list):
        assert seen["state"] == "new"
        assert seen["category"] == "kriminalitas"
        assert seen["agency_code"] == "POLSEK-COBLONG"
        assert seen["position"]["lat"] == COBLONG[0]
        assert seen["position"]["lon"] == COBLONG[1]
        assert "resident" not in seen
        assert "description" not in seen

    history = await api.http.get("/api/v1/alerts", params={"resident_id": siti.id}, headers=_bearer(made))
    assert history.status_code == 403, history.text
    assert history.json()["error"]["code"] == "alert.resident_history_not_for_keys"
    assert siti.name not in history.text
    own_history = await api.get(operator, "/alerts", resident_id=siti.id)
    assert own_history.status_code == 200, own_history.text
    assert [a["id"] for a in own_history.json()] == [pressed["id"]]

    cancelled = await api.post(siti, f"/alerts/{pressed['id']}/cancel", {"pin": "1234"})
    assert cancelled.status_code == 200, cancelled.text
    closed = await api.http.get(f"/api/v1/alerts/{pressed['id']}", headers=_bearer(made))
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "cancelled"
    assert closed.json()["closed_at"] is not None
    assert closed.json()["position"] is None
    assert str(COBLONG[0]) not in closed.text
    assert not [p for p in personal if p in closed.text], closed.text
    assert (await api.get(operator, f"/alerts/{pressed['id']}")).json()["lat"] == COBLONG[0]


async def test_a_gateway_raises_a_sites_panic_that_the_console_sees(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    button = await _site_with_button(api, admin, "POLSEK-COBLONG", COBLONG)
    gateway = await _make_key(api, admin, "POLSEK-COBLONG", ["alerts:raise"])
    press = {"device": button, "event_id": "evt-0001", "type": "panic", "battery": 77, "text": "Zona 3"}

    raised = await api.http.post("/api/v1/gateway/alerts", json=press, headers=_bearer(gateway))
    assert raised.status_code == 201, raised.text
    assert raised.json()["status"] == "received"
    alert_id = raised.json()["alert_id"]

    seen = await api.get(operator, f"/alerts/{alert_id}")
    assert seen.status_code == 200, seen.text
    alert = seen.json()
    assert alert["channel"] == "gateway"
    assert alert["category"] == "kriminalitas"
    assert "Teller 2" in alert["description"]
    assert "Zona 3" in alert["description"]

    again = await api.http.post("/api/v1/gateway/alerts", json=press, headers=_bearer(gateway))
    assert again.status_code == 200
    assert again.json() == {"alert_id": alert_id, "status": "duplicate"}
    second = await api.http.post(
        "/api/v1/gateway/alerts", json={**press, "event_id": "evt-0002"}, headers=_bearer(gateway)
    )
    assert second.status_code == 200
    assert second.json() == {"alert_id": alert_id, "status": "joined"}

    elsewhere = await _site_with_button(api, admin, "POLSEK-SUKAJADI", SUKAJADI)
    refused = await api.http.post(
        "/api/v1/gateway/alerts", json={**press, "device": elsewhere}, headers=_bearer(gateway)
    )
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "gateway.unknown_device"
    unknown = await api.http.post(
        "/api/v1/gateway/alerts", json={**press, "device": "nope-x"}, headers=_bearer(gateway)
    )
    assert unknown.status_code == 404


async def test_what_a_key_may_not_do_is_refused_and_recorded_without_the_key(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    reader = await _make_key(api, admin, "BDG-CC", ["alerts:read"])
    button = await _site_with_button(api, admin, "BDG-CC", COBLONG)

    no_scope = await api.http.post(
        "/api/v1/gateway/alerts", json={"device": button, "event_id": "e1"}, headers=_bearer(reader)
    )
    assert no_scope.status_code == 403
    assert no_scope.json()["error"]["code"] == "auth.scope"
    assert "alerts:raise" in no_scope.json()["error"]["message"]
    for method, path in [("GET", "/residents/me"), ("GET", "/units"), ("GET", "/staff"), ("GET", "/apikeys")]:
        answer = await api.http.request(method, f"/api/v1{path}", headers=_bearer(reader))
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["error"]["code"] == "auth.api_key_refused", path
    person = await api.staff(Role.OPERATOR)
    not_a_key = await api.post(person, "/gateway/alerts", {"device": button, "event_id": "e1"})
    assert not_a_key.status_code == 403
    assert not_a_key.json()["error"]["code"] == "auth.api_key_only"

    denied = await eventually(lambda: _denials(api, f"apikey:{reader['id']}"), what="the refusals to be recorded")
    assert denied[0].actor_kind == "apikey"
    assert all(reader["key"] not in str(r.detail) for r in denied)


async def test_a_revoked_key_is_refused_at_once(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    made = await _make_key(api, admin, "BDG-CC", ["alerts:read"])
    assert (await api.http.get("/api/v1/alerts", headers=_bearer(made))).status_code == 200  # now remembered

    revoked = await api.post(admin, f"/apikeys/{made['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    refused = await api.http.get("/api/v1/alerts", headers=_bearer(made))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "auth.invalid_key"
    assert made["key"] not in refused.text
    assert made["prefix"] in refused.json()["error"]["message"]
    assert (await api.post(admin, f"/apikeys/{made['id']}/revoke")).status_code == 409

    forged = made["key"][:-4] + "aaaa"  # its public id, not its secret
    assert (await api.http.get("/api/v1/alerts", headers={"Authorization": f"Bearer {forged}"})).status_code == 401

    async def recorded() -> list[AuditRecord]:
        async with api.runtime.read_sessions() as session:
            found = await session.scalars(
                select(AuditRecord).where(
                    AuditRecord.action.in_(["apikey.revoked", "access.denied"]), AuditRecord.actor_id != "cli"
                )
            )
            records = list(found.all())
        return records if len([r for r in records if r.action == "access.denied"]) >= 2 else []

    records = await eventually(recorded, what="the revocation and the refused key to be recorded")
    assert any(r.action == "apikey.revoked" and r.target_id == str(made["id"]) for r in records)
    refusals = [r for r in records if r.action == "access.denied"]
    assert {r.detail["code"] for r in refusals} == {"auth.invalid_key"}
    assert all(made["key"] not in str(r.detail) and forged not in str(r.detail) for r in refusals)


async def test_a_key_over_its_rate_gets_429_and_people_are_not_slowed(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    button = await _site_with_button(api, admin, "BDG-CC", COBLONG)
    busy = await _make_key(api, admin, "BDG-CC", ["alerts:read", "alerts:raise"], requests_per_minute=3)
    calm = await _make_key(api, admin, "BDG-CC", ["alerts:read"], requests_per_minute=3)

    answers = [await api.http.get("/api/v1/alerts", headers=_bearer(busy)) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    over = answers[3]
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "apikey.rate_limited"
    assert int(over.headers["Retry-After"]) >= 1

    assert (await api.get(operator, "/alerts")).status_code == 200  # a person is not counted with the key
    assert (await api.http.get("/api/v1/alerts", headers=_bearer(calm))).status_code == 200  # nor another key
    # An alarm is never held back by the gateway's rate.
    raised = await api.http.post(
        "/api/v1/gateway/alerts", json={"device": button, "event_id": "over-1"}, headers=_bearer(busy)
    )
    assert raised.status_code == 201, raised.text

    async def used() -> bool:
        async with api.runtime.read_sessions() as session:
            row = await session.get(ApiKey, busy["id"])
            return row is not None and row.last_used_at is not None

    await eventually(used, what="the key's last use to be recorded")
    listed = await api.get(admin, "/apikeys")
    assert next(k for k in listed.json() if k["id"] == busy["id"])["last_used_at"] is not None


async def test_bad_keys_and_bodies_get_clear_answers(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.staff(Role.ADMIN)
    cc = await _agency(api, "BDG-CC")
    for body, field in [
        ({"name": "x", "agency_id": cc, "scopes": []}, "scopes"),
        ({"name": "x", "agency_id": cc, "scopes": ["alerts:write"]}, "scopes"),
        ({"name": "", "agency_id": cc, "scopes": ["alerts:read"]}, "name"),
        ({"name": "x", "agency_id": cc, "scopes": ["alerts:read"], "requests_per_minute": 0}, "requests_per_minute"),
    ]:
        answer = await api.post(admin, "/apikeys", body)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.text
    missing = await api.post(admin, "/apikeys", {"name": "x", "agency_id": 999_999, "scopes": ["alerts:read"]})
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "apikey.unknown_agency"
    assert (await api.post(admin, "/apikeys/999999/revoke")).status_code == 404
    garbage = await client.get("/api/v1/alerts", headers={"Authorization": "Bearer sk_siaga_not-a-key"})
    assert garbage.status_code == 401
    assert garbage.json()["error"]["code"] == "auth.invalid_key"
    gateway = await _make_key(api, admin, "BDG-CC", ["alerts:raise"])
    bad = await client.post("/api/v1/gateway/alerts", json={"device": "x y", "event_id": ""}, headers=_bearer(gateway))
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "request.invalid"


async def test_a_key_is_refused_by_every_endpoint_but_those_of_its_scopes(api: Api) -> None:
    """Every endpoint in the OpenAPI document that answers 401 without a token answers a key with every scope 403,
    but those its scopes open."""
    admin = await api.staff(Role.ADMIN)
    key = await _make_key(
        api, admin, "BDG-CC", ["alerts:read", "alerts:raise", "eido:receive"], requests_per_minute=10_000
    )
    document = (await api.http.get("/openapi.json")).json()
    opened = {  # what integrators' keys reach; every other endpoint is for people
        ("GET", "/api/v1/alerts"),  # alerts:read
        ("GET", "/api/v1/alerts/{alert_id}"),  # alerts:read
        ("GET", "/api/v1/alerts/{alert_id}/cap"),  # alerts:read (siaga.cap)
        ("GET", "/api/v1/cap/feed.atom"),  # alerts:read (siaga.cap)
        ("POST", "/api/v1/gateway/alerts"),  # alerts:raise
    }
    refused, checked = [], 0
    for path, operations in document["paths"].items():
        concrete = re.sub(r"\{[^}]*id\}", str(uuid.uuid4()), path)
        concrete = re.sub(r"\{[^}]+\}", "x", concrete)
        for method in operations:
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            anonymous = await api.http.request(method.upper(), concrete, json={})
            if anonymous.status_code != 401:
                continue  # not behind a sign-in (a login, a code, a signed webhook, a tracker's report)
            checked += 1
            answer = await api.http.request(method.upper(), concrete, json={}, headers=_bearer(key))
            allowed = (method.upper(), path) in opened
            if allowed == (answer.status_code == 403):
                refused.append(f"{method.upper()} {path}: {answer.status_code} {answer.text[:120]}")
    assert checked > 50
    assert not refused, "\n".join(refused)
