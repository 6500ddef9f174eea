"""The HTTP SMS provider's signed webhook, against Siaga served on a real port and a stand-in provider on another: a
signed inbound SOS is raised and answered through the provider, a retried webhook is one message, and an unsigned,
badly signed or stale request is refused with nothing kept. A delivery receipt that says a message about an alert
failed shows on the alert, as every failed delivery does."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import Webhook

from siaga.accounts.domain import Role
from siaga.accounts.identity import mask_phone
from siaga.accounts.models import Resident
from siaga.alerts.models import Alert, AlertEvent
from siaga.app import create_app
from siaga.db import utcnow
from siaga.notify import service as notify
from siaga.notify.models import OutboundMessage
from siaga.runtime import Runtime
from siaga.sms.models import InboundMessage
from tests.conftest import Api, Person, eventually, make_settings
from tests.integration.test_sms_delivery import Gateway, gateway
from tests.residents import made_residents
from tests.servers import in_process

__all__ = ["gateway"]  # the stand-in provider's fixture, used by name
SECRET = "whsec_" + base64.b64encode(b"the provider's signing secret, 32b").decode()
COBLONG_NIK = "3273021507900001"


@pytest.fixture
async def siaga(db: Runtime, gateway: Gateway) -> AsyncIterator[Api]:
    """Siaga with the http SMS adapter (sending to the stand-in provider), served by uvicorn on a real port."""
    settings = make_settings(
        db.settings.database_url, sms_adapter="http", sms_http_url=gateway.url, sms_webhook_secret=SECRET
    )
    runtime = Runtime.build(settings)
    try:
        async with in_process(create_app(settings, runtime=runtime)) as url, httpx.AsyncClient(base_url=url) as http:
            yield Api(http=http, runtime=runtime)
    finally:
        await runtime.close()


def _signed(
    event: dict[str, Any], *, skew: timedelta = timedelta(0), secret: str = SECRET
) -> tuple[bytes, dict[str, str]]:
    """The event signed as the provider would, `skew` away from now (taken when sent, not when tests are collected:
    a long run must not bring a stamp ten minutes ahead back within the webhook's tolerance)."""
    body = json.dumps(event).encode()
    webhook_id, when = f"msg_{uuid.uuid4().hex}", datetime.now(UTC) + skew
    signature = Webhook(secret).sign(webhook_id, when, body)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    return body, headers


async def _post(api: Api, event: dict[str, Any], **signing: Any) -> httpx.Response:
    body, headers = _signed(event, **signing)
    return await api.http.post("/api/v1/sms/webhook", content=body, headers=headers)


def _received(provider_id: str, sender: str, text: str) -> dict[str, Any]:
    return {"type": "sms.received", "data": {"id": provider_id, "from": sender, "text": text}}


async def _resident(api: Api) -> str:
    [person] = await made_residents(api, 1)
    async with api.runtime.unit_of_work() as session:
        await session.execute(
            update(Resident)
            .where(Resident.phone == person.phone)
            .values(name="Ujang", nik=COBLONG_NIK, nik_kecamatan=COBLONG_NIK[:6])
        )
    return person.phone


async def _alerts_of(runtime: Runtime, phone: str) -> list[Alert]:
    async with runtime.read_sessions() as session:
        resident_id = await session.scalar(select(Resident.id).where(Resident.phone == phone))
        return list((await session.scalars(select(Alert).where(Alert.resident_id == resident_id))).all())


async def test_a_signed_sos_is_raised_answered_through_the_provider_and_a_retry_is_one_message(
    siaga: Api, gateway: Gateway
) -> None:
    phone = await _resident(siaga)

    first = await _post(siaga, _received("prov-1", phone, "TOLONG di pasar"))
    again = await _post(siaga, _received("prov-1", phone, "TOLONG di pasar"))  # the provider retried its webhook

    assert first.status_code == 200, first.text
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    [alert] = await _alerts_of(siaga.runtime, phone)
    assert (alert.channel, alert.description, alert.placement) == ("sms", "di pasar", "kecamatan")

    async def replied() -> list[dict[str, Any]]:
        return [r["body"] for r in gateway.received if r["body"]["to"] == phone]

    [reply] = await eventually(replied, what="the confirmation through the provider")
    assert reply["text"].startswith("SIAGA: SOS Anda diterima pusat komando")


@pytest.mark.parametrize(
    ("signing", "status", "code"),
    [
        ({"secret": "whsec_" + base64.b64encode(b"someone else's secret").decode()}, 401, "sms.webhook_signature"),
        ({"skew": timedelta(minutes=-10)}, 400, "sms.webhook_stale"),
        ({"skew": timedelta(minutes=10)}, 400, "sms.webhook_stale"),
    ],
)
async def test_a_badly_signed_or_stale_webhook_is_refused_and_nothing_kept(
    siaga: Api, signing: dict[str, Any], status: int, code: str
) -> None:
    answer = await _post(siaga, _received("prov-forged", "+6281299990000", "SOS"), **signing)

    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert not await _count(siaga.runtime, InboundMessage)
    assert not await _alerts_of(siaga.runtime, "+6281299990000")


async def test_an_unsigned_webhook_is_refused(siaga: Api) -> None:
    body = json.dumps(_received("prov-2", "+6281299990001", "SOS")).encode()
    answer = await siaga.http.post("/api/v1/sms/webhook", content=body, headers={"content-type": "application/json"})

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "sms.webhook_unsigned"
    assert not await _count(siaga.runtime, InboundMessage)


async def test_a_signed_webhook_that_is_not_an_sms_event_says_what_is_wrong(siaga: Api) -> None:
    answer = await _post(siaga, {"type": "sms.received", "data": {"id": "prov-3", "text": "SOS"}})

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "sms.webhook_payload"
    assert "from" in answer.json()["error"]["message"]
    assert not await _count(siaga.runtime, InboundMessage)


async def test_a_failed_delivery_receipt_shows_on_the_alert(siaga: Api, gateway: Gateway) -> None:
    phone = await _resident(siaga)
    assert (await _post(siaga, _received("prov-4", phone, "SOS"))).status_code == 200
    [alert] = await _alerts_of(siaga.runtime, phone)
    async with siaga.runtime.unit_of_work() as session:  # a message about the alert (as a contact's alarm is)
        queued = await notify.queue_sms(
            session, to="+6281311112222", body="SIAGA: ...", purpose="test", adapter="http", alert_id=str(alert.id)
        )

    async def sent() -> str | None:
        async with siaga.runtime.read_sessions() as session:
            row = await session.get(OutboundMessage, queued.id)
            return row.provider_id if row is not None and row.status == "sent" else None

    provider_id = await eventually(sent, what="the message handed to the provider")
    receipt = {"type": "sms.delivery", "data": {"id": provider_id, "status": "failed", "error": "absent subscriber"}}
    answer = await _post(siaga, receipt)

    assert answer.status_code == 200, answer.text
    assert answer.json()["known"] is True
    async with siaga.runtime.read_sessions() as session:
        row = await session.get(OutboundMessage, queued.id)
        assert row is not None
        assert (row.status, row.last_error) == ("failed", "absent subscriber")
        stored = await session.get(Alert, alert.id)
        assert stored is not None
        assert stored.delivery_failed
        failures = await session.scalar(
            select(func.count())
            .select_from(AlertEvent)
            .where(AlertEvent.alert_id == alert.id, AlertEvent.kind == "delivery_failed")
        )
        assert failures == 1
    unknown = await _post(siaga, {"type": "sms.delivery", "data": {"id": "not-ours", "status": "delivered"}})
    assert unknown.json()["known"] is False


async def _count(runtime: Runtime, model: type[InboundMessage]) -> int:
    async with runtime.read_sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def _sms_on_timeline(api: Api, operator: Person, alert_id: uuid.UUID) -> list[dict[str, Any]]:
    answer = await api.get(operator, f"/alerts/{alert_id}/timeline")
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json() if e["kind"] in {"sms", "delivery_failed"}]


async def test_every_sms_about_an_alert_is_on_its_timeline_with_its_retries_receipts_and_final_failure(
    siaga: Api, gateway: Gateway
) -> None:
    phone = await _resident(siaga)
    masked = mask_phone(phone)
    operator = await siaga.staff(Role.OPERATOR, "POLSEK-COBLONG")
    gateway.status = 503  # the provider refuses the confirmation at first
    assert (await _post(siaga, _received("prov-9", phone, "TOLONG di pasar"))).status_code == 200
    [alert] = await _alerts_of(siaga.runtime, phone)

    # The SOS that came in, and its confirmation's first try failing: shown with the number masked.
    async def first_try_failed() -> list[dict[str, Any]] | None:
        events = await _sms_on_timeline(siaga, operator, alert.id)
        return events if any(e["kind"] == "delivery_failed" for e in events) else None

    received, failed = await eventually(first_try_failed, what="the confirmation's failed first try on the timeline")
    assert received["kind"] == "sms"
    assert {k: received["data"][k] for k in ("direction", "number", "purpose", "status")} == {
        "direction": "in",
        "number": masked,
        "purpose": "sos",
        "status": "received",
    }
    assert failed["data"]["message"].startswith("out:")
    assert (failed["data"]["number"], failed["data"]["attempt"], failed["data"]["final"]) == (masked, 1, False)
    message_id = int(failed["data"]["message"].removeprefix("out:"))
    async with siaga.runtime.read_sessions() as session:
        row = await session.get(OutboundMessage, message_id)
        assert row is not None
        assert (row.status, row.purpose, row.alert_id, row.recipient) == ("failed", "sms_reply", str(alert.id), phone)
        assert row.next_attempt_at >= row.created_at + notify.backoff(1)  # tried again after a wait, not at once

    # The provider is back: the retry (its wait cut short) goes, and the provider's receipt says it was delivered.
    gateway.status = 200
    async with siaga.runtime.unit_of_work() as session:
        await session.execute(
            update(OutboundMessage).where(OutboundMessage.id == message_id).values(next_attempt_at=utcnow())
        )
    await notify.retry_due(siaga.runtime.unit_of_work, siaga.runtime.senders)

    async def sent() -> str | None:
        async with siaga.runtime.read_sessions() as session:
            row = await session.get(OutboundMessage, message_id)
            return row.provider_id if row is not None and row.status == "sent" else None

    provider_id = await eventually(sent, what="the retry handed to the provider")
    delivered = {"type": "sms.delivery", "data": {"id": provider_id, "status": "delivered"}}
    assert (await _post(siaga, delivered)).json()["known"] is True
    events = await _sms_on_timeline(siaga, operator, alert.id)
    reply = [e["data"] for e in events if e["kind"] == "sms" and e["data"]["message"] == f"out:{message_id}"]
    assert [(r["status"], r["attempt"], r["number"], r["purpose"]) for r in reply] == [
        ("sent", 2, masked, "sms_reply"),
        ("delivered", 2, masked, "sms_reply"),
    ]
    assert phone not in json.dumps(events)  # the number only masked

    # A message whose last try fails: the console sees that it is final.
    async with siaga.runtime.unit_of_work() as session:
        last = await notify.queue_sms(
            session, to=phone, body="SIAGA: ...", purpose="sms_officer_coming", adapter="http", alert_id=str(alert.id)
        )
        await session.flush()
        await session.execute(
            update(OutboundMessage).where(OutboundMessage.id == last.id).values(attempts=notify.MAX_ATTEMPTS - 1)
        )
    gateway.status = 503
    await notify.deliver(siaga.runtime.unit_of_work, siaga.runtime.senders, [last.id])

    async def final() -> dict[str, Any] | None:
        events = await _sms_on_timeline(siaga, operator, alert.id)
        found = [e["data"] for e in events if e["data"].get("message") == f"out:{last.id}"]
        return found[-1] if found else None

    shown = await eventually(final, what="the final failure on the timeline")
    assert (shown["final"], shown["attempt"], shown["purpose"]) == (True, notify.MAX_ATTEMPTS, "sms_officer_coming")
    state = (await siaga.get(operator, f"/alerts/{alert.id}")).json()
    assert state["delivery_failed"] is True
