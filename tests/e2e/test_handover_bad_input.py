"""What a partner sends Siaga, and what Siaga refuses: an EIDO signed by a partner raises one alert (again: the same
alert, updated); unsigned, stale (a replay), badly signed, malformed or a message id reused for another message is a
clear 4xx, recorded in the audit log, with nothing of it kept. Handing over is for the command centre, only to an
enabled partner allowed the alert's agency; partners' secrets are never shown after creation."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from siaga.accounts.domain import Role
from siaga.alerts.models import Alert, AlertEvent
from siaga.audit.models import AuditRecord
from siaga.partners import eido
from siaga.partners.models import Partner, PartnerIncident, PartnerMessage
from siaga.runtime import Runtime
from tests.conftest import Api, Person
from tests.unit.test_eido import facts

ENDPOINT = "/api/v1/partners/eido"


async def a_partner(api: Api, admin: Person, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "kota-112",
        "label": "Bandung Siaga 112",
        "url": "https://127.0.0.1:9/api/v1/partners/eido",
        **fields,
    }
    made = await api.post(admin, "/partners", body)
    assert made.status_code == 201, made.text
    created: dict[str, Any] = made.json()
    return created


def incident(**changes: Any) -> bytes:
    """A partner's EIDO: a fire in Coblong (near ITB)."""
    document = eido.build(facts(**changes), eido.Issuer(host="112.bandung.example"), now=datetime.now(UTC))
    return json.dumps(document).encode()


def signed(secret: str, body: bytes, *, message_id: str | None = None, at: datetime | None = None) -> dict[str, str]:
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


async def counts(runtime: Runtime) -> tuple[int, int, int]:
    async with runtime.read_sessions() as session:
        alerts = await session.scalar(select(func.count()).select_from(Alert).where(Alert.channel == "partner"))
        incidents = await session.scalar(select(func.count()).select_from(PartnerIncident))
        messages = await session.scalar(select(func.count()).select_from(PartnerMessage))
    return alerts or 0, incidents or 0, messages or 0


async def test_a_signed_eido_raises_one_alert_and_the_same_incident_again_updates_it(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    secret = (await a_partner(api, admin))["incoming_secret"]
    body = incident()
    headers = signed(secret, body)
    first = await api.http.post(ENDPOINT, content=body, headers=headers)
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["status"] == "created"

    operator = await api.staff(Role.OPERATOR)
    alert = (await api.get(operator, f"/alerts/{receipt['alert_id']}")).json()
    assert alert["channel"] == "partner"
    assert alert["category"] == "kebakaran"
    assert alert["jurisdiction_name"] == "Coblong"
    assert "Diserahkan oleh Bandung Siaga 112" in alert["description"]
    assert "Siti Rahma" in alert["description"]

    # The same message again (the partner did not get the answer): answered as then, applied once.
    replayed = await api.http.post(ENDPOINT, content=body, headers=headers)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == {**receipt, "replay": True}
    # The same incident in a new message: the alert is updated, never a second one.
    update = incident(notes=[eido.Note(datetime.now(UTC), "Operator 112", "Dua orang terjebak")])
    updated = await api.http.post(ENDPOINT, content=update, headers=signed(secret, update))
    assert updated.status_code == 200, updated.text
    assert updated.json()["status"] == "updated"
    assert updated.json()["alert_id"] == receipt["alert_id"]
    assert await counts(db) == (1, 1, 2)
    timeline = (await api.get(operator, f"/alerts/{receipt['alert_id']}/timeline")).json()
    [event] = [e for e in timeline if e["kind"] == "partner_updated"]
    assert "Dua orang terjebak" in event["data"]["text"]
    assert event["actor_name"] == "Bandung Siaga 112"

    # A second incident from the same partner is an alert of its own (a partner's incidents never join).
    other = incident(alert_id=uuid.uuid4(), category="kesehatan")
    second = await api.http.post(ENDPOINT, content=other, headers=signed(secret, other))
    assert second.status_code == 201, second.text
    assert second.json()["alert_id"] != receipt["alert_id"]


def _tampered(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = signed(secret, body)
    return body.replace(b"kebakaran", b"lainnya"), headers


def _unsigned(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, {"content-type": "application/json"}


def _stale(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed(secret, body, at=datetime.now(UTC) - timedelta(minutes=10))


def _wrong_secret(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed("whsec_" + "A" * 43 + "=", body)


def _malformed(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    document = json.loads(body)
    del document["agencyComponent"]
    broken = json.dumps(document).encode()
    return broken, signed(secret, broken)


def _not_json(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return b"{not json", signed(secret, b"{not json")


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (_tampered, 401, "partners.signature"),
        (_wrong_secret, 401, "partners.signature"),
        (_unsigned, 400, "partners.unsigned"),
        (_stale, 400, "partners.stale"),
        (_malformed, 422, "partners.eido_invalid"),
        (_not_json, 400, "partners.eido_json"),
    ],
)
async def test_a_bad_partner_request_is_refused_recorded_and_nothing_of_it_kept(
    api: Api, db: Runtime, make: Any, status: int, code: str
) -> None:
    admin = await api.staff(Role.ADMIN)
    secret = (await a_partner(api, admin))["incoming_secret"]
    body, headers = make(secret, incident())
    answer = await api.http.post(ENDPOINT, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert await counts(db) == (0, 0, 0)
    async with db.read_sessions() as session:
        recorded = (await session.scalars(select(AuditRecord).where(AuditRecord.action == "access.denied"))).all()
    assert [(r.detail.get("code"), r.outcome) for r in recorded] == [(code, "denied")]


async def test_a_malformed_eido_says_which_field_is_wrong(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    secret = (await a_partner(api, admin))["incoming_secret"]
    document = json.loads(incident())
    document["eidoVersion"] = "0.9"
    body = json.dumps(document).encode()
    answer = await api.http.post(ENDPOINT, content=body, headers=signed(secret, body))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == {"field": "$.eidoVersion", "problem": "must be '1.0', got '0.9'"}


async def test_a_message_id_reused_for_another_message_is_a_conflict(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    secret = (await a_partner(api, admin))["incoming_secret"]
    body = incident()
    headers = signed(secret, body, message_id="msg_same")
    assert (await api.http.post(ENDPOINT, content=body, headers=headers)).status_code == 201
    other = incident(alert_id=uuid.uuid4())
    reused = await api.http.post(ENDPOINT, content=other, headers=signed(secret, other, message_id="msg_same"))
    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["code"] == "partners.message_reused"
    assert await counts(db) == (1, 1, 1)


async def test_a_disabled_partner_is_not_heard(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    secret = (await a_partner(api, admin))["incoming_secret"]
    off = await api.http.patch("/api/v1/partners/kota-112", json={"enabled": False}, headers=admin.headers)
    assert off.status_code == 200, off.text
    body = incident()
    answer = await api.http.post(ENDPOINT, content=body, headers=signed(secret, body))
    assert answer.status_code == 401
    assert await counts(db) == (0, 0, 0)


async def test_partners_are_kept_by_administrators_and_their_secrets_shown_once(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    assert (await api.post(operator, "/partners", {"name": "x", "url": "https://x.example"})).status_code == 403
    created = await a_partner(api, admin)
    assert created["outgoing_secret"].startswith("whsec_")
    assert created["incoming_secret"].startswith("whsec_")
    listed = await api.get(operator, "/partners")
    assert listed.status_code == 200
    assert [p["name"] for p in listed.json()] == ["kota-112"]
    assert "whsec_" not in listed.text
    async with db.read_sessions() as session:
        stored = await session.scalar(select(Partner))
        audit = (await session.scalars(select(AuditRecord).where(AuditRecord.action == "partner.create"))).all()
    assert stored is not None
    assert created["outgoing_secret"] not in stored.outgoing_secret  # sealed at rest
    assert len(audit) == 1
    assert "whsec_" not in json.dumps(audit[0].detail)
    taken = await api.post(admin, "/partners", {"name": "kota-112", "url": "https://y.example"})
    assert taken.status_code == 409


async def test_handing_over_is_refused_to_a_partner_not_allowed_the_alerts_agency(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    await a_partner(api, admin, agencies=["BDG-CC"])  # only the command centre's own alerts
    operator = await api.staff(Role.OPERATOR)
    alert = await api.press(await api.resident())  # in Coblong: Polsek Coblong's
    refused = await api.post(operator, f"/alerts/{alert['id']}/handover", {"partner": "kota-112"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "partners.agency_not_allowed"
    unknown = await api.post(operator, f"/alerts/{alert['id']}/handover", {"partner": "nobody"})
    assert unknown.status_code == 404
    officer = await api.staff(Role.OFFICER)
    assert (await api.post(officer, f"/alerts/{alert['id']}/handover", {"partner": "kota-112"})).status_code == 403
    async with db.read_sessions() as session:
        events = await session.scalar(select(func.count()).select_from(AlertEvent).where(AlertEvent.kind == "handover"))
    assert events == 0
