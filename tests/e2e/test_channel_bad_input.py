"""Bad input, channel by channel (issue 16): each channel fed malformed, duplicated, replayed and out-of-order
messages, against the real components (the signed SMS webhook and a stand-in provider on real ports, the officers'
SMS replies through the one inbound pipeline to a running server, the machine's Mosquitto, the OsmAnd endpoint).
Each case asserts what a person sees: one alert, a state that never goes backwards, the answer text, a refusal
recorded with the device. What the channels' own modules already prove is not repeated here (test_sms_webhook,
test_sms_gammu, test_officer_sms, test_panic_devices, test_trackers)."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from siaga.accounts.domain import Role
from siaga.devices import domain
from siaga.devices.bridge import BrokerAddress
from siaga.devices.models import DeviceMessage
from siaga.notify import service as notify
from siaga.notify.models import OutboundMessage
from siaga.responders.models import UnitStatus
from siaga.runtime import Runtime
from siaga.sms.models import InboundMessage
from tests.conftest import Api, eventually
from tests.e2e.test_officer_sms import COBLONG, alert_state, live, offer_code, one_on_duty, reply
from tests.e2e.test_panic_devices import (
    BROKER_URL,
    DEADLINE,
    bridge_on,
    broker,
    event_topic,
    forget_session,
    messages_of,
    publish,
    register,
    site_alerts,
    unique,
)
from tests.e2e.test_sms_webhook import SECRET, _alerts_of, _received, _resident, siaga
from tests.e2e.test_streams import Live
from tests.e2e.test_trackers import Site, site, unit_at
from tests.e2e.test_trackers import register as register_tracker
from tests.integration.test_sms_delivery import Gateway, gateway

__all__ = ["broker", "gateway", "live", "siaga", "site"]  # the fixtures, used by name


# --- The SMS provider's signed webhook


def _signed_as(event: dict[str, Any], webhook_id: str, when: datetime) -> tuple[bytes, dict[str, str]]:
    """The event as the provider signs it under its own webhook id (Standard Webhooks: a retry keeps the id and is
    signed again with the time it is sent)."""
    body = json.dumps(event).encode()
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(SECRET).sign(webhook_id, when, body),
        "content-type": "application/json",
    }
    return body, headers


async def _inbound_count(api: Api, sender: str) -> int:
    async with api.runtime.read_sessions() as session:
        query = select(func.count()).select_from(InboundMessage).where(InboundMessage.sender == sender)
        return int(await session.scalar(query) or 0)


async def test_a_webhook_delivered_twice_or_replayed_later_is_one_message_one_alert_one_reply(
    siaga: Api, gateway: Gateway
) -> None:
    phone = await _resident(siaga)
    webhook_id = f"msg_{uuid.uuid4().hex}"
    event = _received("prov-twice", phone, "TOLONG di terminal")
    body, headers = _signed_as(event, webhook_id, datetime.now(UTC))

    answers = [await siaga.http.post("/api/v1/sms/webhook", content=body, headers=headers) for _ in range(2)]
    # The provider's retry a minute later: the same webhook id, signed again with the new time.
    later_body, later_headers = _signed_as(event, webhook_id, datetime.now(UTC) + timedelta(minutes=1))
    answers.append(await siaga.http.post("/api/v1/sms/webhook", content=later_body, headers=later_headers))

    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    assert len({a.json()["message_id"] for a in answers}) == 1
    assert await _inbound_count(siaga, phone) == 1
    [alert] = await _alerts_of(siaga.runtime, phone)
    assert alert.description == "di terminal"

    async def replied() -> list[str]:
        return [r["body"]["text"] for r in gateway.received if r["body"]["to"] == phone]

    [confirmation] = await eventually(replied, what="the one confirmation through the provider")
    assert confirmation.startswith("SIAGA: SOS Anda diterima pusat komando")
    # Every message handed to the provider is sent by now (the one above): the replays queued none.
    async with siaga.runtime.read_sessions() as session:
        queued = await session.scalar(
            select(func.count()).select_from(OutboundMessage).where(OutboundMessage.recipient == phone)
        )
    assert queued == 1


async def test_receipts_out_of_order_never_move_a_message_backwards(siaga: Api, gateway: Gateway) -> None:
    """A receipt for a message Siaga has not sent (yet, or ever) is answered ``known: false`` and changes nothing; a
    ``failed`` heard after ``delivered`` is old news (the message reached the phone: it is not sent again); a
    ``delivered`` heard after ``failed`` leaves the message failed, to be sent again (a failure counts as the attempt:
    the product errs towards the resident getting it twice, never towards not at all)."""
    unknown = await siaga.http.post(
        "/api/v1/sms/webhook",
        **_as_request(_signed_as(_delivery("prov-not-yet", "delivered"), f"msg_{uuid.uuid4().hex}", _now())),
    )
    assert (unknown.status_code, unknown.json()["known"]) == (200, False)

    async with siaga.runtime.unit_of_work() as session:
        first = await notify.queue_sms(session, to="+6281311113333", body="SIAGA: satu", purpose="test", adapter="http")
        second = await notify.queue_sms(session, to="+6281311114444", body="SIAGA: dua", purpose="test", adapter="http")
    ids = {first.id: await _provider_id(siaga, first.id), second.id: await _provider_id(siaga, second.id)}

    for message_id, order in ((first.id, ("delivered", "failed")), (second.id, ("failed", "delivered"))):
        for status in order:
            signed = _signed_as(_delivery(ids[message_id], status), f"msg_{uuid.uuid4().hex}", _now())
            answer = await siaga.http.post("/api/v1/sms/webhook", **_as_request(signed))
            assert (answer.status_code, answer.json()["known"]) == (200, True), answer.text
    async with siaga.runtime.read_sessions() as session:
        delivered_first = await session.get(OutboundMessage, first.id)
        failed_first = await session.get(OutboundMessage, second.id)
    assert delivered_first is not None
    assert failed_first is not None
    assert delivered_first.status == "delivered"
    assert failed_first.status == "failed"


def _now() -> datetime:
    return datetime.now(UTC)


def _delivery(provider_id: str, status: str) -> dict[str, Any]:
    return {"type": "sms.delivery", "data": {"id": provider_id, "status": status, "error": "absent subscriber"}}


def _as_request(signed: tuple[bytes, dict[str, str]]) -> dict[str, Any]:
    return {"content": signed[0], "headers": signed[1]}


async def _provider_id(api: Api, message_id: int) -> str:
    async def sent() -> str | None:
        async with api.runtime.read_sessions() as session:
            row = await session.get(OutboundMessage, message_id)
            return row.provider_id if row is not None and row.status == "sent" else None

    return await eventually(sent, what=f"message {message_id} handed to the provider")


# --- Officers' SMS replies, out of order and twice


async def test_officer_replies_out_of_order_or_twice_are_answered_and_never_move_the_alert_back(live: Live) -> None:
    api = live.api
    operator, asep = await one_on_duty(live, "COBLONG-SMS-BAD")
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    code = await offer_code(api, asep)

    async def state() -> str:
        shown: str = (await alert_state(api, operator, alert["id"]))["state"]
        return shown

    # On scene before accepting: told to accept first; nothing moves.
    assert await reply(api, asep.phone, f"3 {code}") == (
        f"SIAGA {code}: kejadian ini tidak ditugaskan ke unit Anda. Balas 1 {code} untuk terima"
    )
    assert await state() == "new"
    assert (await reply(api, asep.phone, f"1 {code}")).startswith(f"SIAGA {code}: Anda ditugaskan")
    assert await reply(api, asep.phone, f"1 {code}") == f"SIAGA {code}: unit Anda sudah menerima tawaran ini"
    assert await state() == "dispatched"
    # Straight to on scene (the officer forgot 2), then en route late, then on scene again: recorded once, told so.
    assert (await reply(api, asep.phone, f"3 {code}")).startswith(f"SIAGA {code}: tercatat tiba di lokasi")
    assert await reply(api, asep.phone, f"2 {code}") == f"SIAGA {code}: unit Anda sudah tercatat tiba di lokasi"
    assert await reply(api, asep.phone, f"3 {code}") == f"SIAGA {code}: unit Anda sudah tercatat tiba di lokasi"
    assert await state() == "on_scene"
    assert await reply(api, asep.phone, f"4 {code} aman") == f"SIAGA {code}: tercatat selesai. Terima kasih"
    for late in (f"4 {code} aman", f"3 {code}"):
        assert await reply(api, asep.phone, late) == f"SIAGA {code}: kejadian ini sudah ditutup", late
    assert await reply(api, asep.phone, f"1 {code}") == f"SIAGA {code}: unit Anda sudah menerima tawaran ini"
    shown = await alert_state(api, operator, alert["id"])
    assert (shown["state"], shown["unit_id"], shown["report"]) == ("resolved", asep.unit_id, "aman")
    timeline = (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
    moves = [e["kind"] for e in timeline if e["kind"] in {"dispatched", "en_route", "on_scene", "resolved"}]
    assert moves == ["dispatched", "on_scene", "resolved"]


# --- Fixed panic buttons over MQTT


async def test_a_button_s_wrong_shapes_interleaved_and_replayed_events_are_one_alert_and_recorded(
    api: Api, db: Runtime, broker: BrokerAddress
) -> None:
    admin = await api.staff(Role.ADMIN)
    coblong = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    site, device = await register(api, admin)
    topic = event_topic(device)
    wrong_shapes = ["[]", "42", '"panic"', '{"id": "w-1", "type": ["panic"]}']
    in_order = [
        json.dumps({"id": 7, "type": "panic"}),  # a number for an id: read as "7"
        json.dumps({"id": "t-1", "type": "test"}),
        json.dumps({"id": "p-2", "type": "panic"}),
        json.dumps({"type": "low_battery", "battery": 8}),
        json.dumps({"id": "p-1", "type": "panic"}),  # an older press, held up somewhere, after the newer one
        json.dumps({"id": "t-2", "type": "test"}),
    ]
    client_id = unique("siaga-test-")
    try:
        async with bridge_on(db, BROKER_URL, client_id):
            for payload in [*wrong_shapes, *in_order]:
                await publish(broker, topic, payload)

            async def all_recorded() -> list[DeviceMessage] | None:
                found = await messages_of(db, device)
                return found if len(found) >= len(wrong_shapes) + len(in_order) else None

            await eventually(all_recorded, within=DEADLINE, what="every message recorded")
        # Siaga's bridge restarted; the button, never having heard back, publishes p-2 again.
        async with bridge_on(db, BROKER_URL, client_id) as bridge:
            await publish(broker, topic, json.dumps({"id": "p-2", "type": "panic"}))
            await eventually(lambda: _true(bridge.handled >= 1), within=DEADLINE, what="the replay handled")
    finally:
        await forget_session(broker, client_id)
    recorded = await messages_of(db, device)
    refused = [(m.payload, m.outcome, m.error) for m in recorded[: len(wrong_shapes)]]
    assert refused == [
        ("[]", "refused", "device.payload_not_object"),
        ("42", "refused", "device.unknown_type"),
        ('"panic"', "refused", "device.unknown_type"),
        ('{"id": "w-1", "type": ["panic"]}', "refused", "device.unknown_type"),
    ]
    kept = [(m.event_id, m.outcome) for m in recorded[len(wrong_shapes) :] if m.event_id]
    assert kept == [("7", "alert"), ("t-1", "test"), ("p-2", "alert"), ("p-1", "alert"), ("t-2", "test")]
    [alert] = await site_alerts(db, site)  # the presses, in any order and again, are the site's one alert
    assert alert.id == domain.alert_id(uuid.UUID(device["id"]), "7")
    assert alert.press_count == 3
    troubles = (await api.get(coblong, "/devices/troubles")).json()
    assert [t["kind"] for t in troubles if t["device_id"] == device["id"]] == ["low_battery"]


async def test_a_panic_with_unreadable_fields_is_raised_without_them_and_recorded_with_the_device(
    api: Api, db: Runtime, broker: BrokerAddress, caplog: pytest.LogCaptureFixture
) -> None:
    """A button's firmware that sends a battery of 400 % or an id with a space still had its panic pressed: the alert
    is raised (nobody presses a wall button twice to get past a parser), and the record and the log say what was
    wrong with which device."""
    admin = await api.staff(Role.ADMIN)
    site, device = await register(api, admin)
    client_id = unique("siaga-test-")
    caplog.set_level(logging.WARNING, logger="siaga.devices")
    try:
        async with bridge_on(db, BROKER_URL, client_id):
            await publish(broker, event_topic(device), '{"id": "lantai 2", "type": "panic", "battery": 400}')
            alerts = await eventually(lambda: site_alerts(db, site), within=DEADLINE, what="the panic raised")

            async def recorded() -> list[DeviceMessage]:
                return await messages_of(db, device)

            [message] = await eventually(recorded, within=DEADLINE, what="the panic recorded")
    finally:
        await forget_session(broker, client_id)
    assert [(a.channel, a.category) for a in alerts] == [("device", "kriminalitas")]
    assert (message.outcome, message.event_id, message.error) == (
        "alert",
        None,
        "device.bad_event_id,device.bad_battery",
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "siaga.devices"]
    assert any(device["name"] in line and "device.bad_battery" in line for line in lines), lines


async def test_a_panic_on_the_topic_of_no_registered_button_is_recorded_and_logged_with_its_name(
    db: Runtime, broker: BrokerAddress, caplog: pytest.LogCaptureFixture
) -> None:
    """A button nobody registered (or one removed) has no site to raise an alert at: its message is recorded and logged
    under the name it used, for an administrator to find and register."""
    ghost = unique("ghost-")
    topic = f"siaga/devices/{ghost}/event"
    client_id = unique("siaga-test-")
    caplog.set_level(logging.WARNING, logger="siaga.devices")

    async def recorded() -> list[DeviceMessage]:
        async with db.read_sessions() as session:
            return list((await session.scalars(select(DeviceMessage).where(DeviceMessage.topic == topic))).all())

    try:
        async with bridge_on(db, BROKER_URL, client_id):
            await publish(broker, topic, json.dumps({"id": "g-1", "type": "panic"}))
            [message] = await eventually(recorded, within=DEADLINE, what="the stranger's message recorded")
    finally:
        await forget_session(broker, client_id)
    assert (message.outcome, message.device_id, message.alert_id) == ("unknown_device", None, None)
    assert any(ghost in r.getMessage() for r in caplog.records if r.name == "siaga.devices")


async def _true(value: bool) -> bool:
    return value


# --- GPS trackers (OsmAnd)


async def test_a_tracker_s_unreadable_time_is_a_clear_400_and_a_clock_ahead_never_pins_its_unit(site: Site) -> None:
    api = site.live.api
    admin = await api.staff(Role.ADMIN)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-T9")
    assert officer.unit_id is not None
    await api.on_duty(officer)
    device = (await register_tracker(api, admin, unit_callsign="COBLONG-T9"))["device_id"]
    for stamp in ("kemarin", "-5", "1e400", "1999-12-31T23:00:00Z", "2026-13-01 00:00:00"):
        answer = await site.http.get(
            "/osmand", params={"id": device, "lat": "-6.88", "lon": "107.62", "timestamp": stamp}
        )
        assert answer.status_code == 400, (stamp, answer.text)
        error = answer.json()["error"]
        assert (error["code"], error["details"]["field"]) == ("tracker.invalid", "timestamp"), stamp
        assert "timestamp" in error["message"]
    # A tracker whose clock runs a year ahead, then its next reports with the clock put right: they move the unit.
    ahead = datetime.now(UTC) + timedelta(days=365)
    for lat, lon, at in (("-6.8811", "107.6211", ahead), ("-6.8812", "107.6212", None)):
        stamp = (at or datetime.now(UTC)).isoformat()  # the right time: after the first report was answered
        answer = await site.http.get("/osmand", params={"id": device, "lat": lat, "lon": lon, "timestamp": stamp})
        assert answer.status_code == 200, answer.text
    await eventually(lambda: unit_at(api, officer.unit_id or 0, -6.8812, 107.6212), what="the unit moved on")
    async with api.runtime.read_sessions() as session:
        status = await session.get(UnitStatus, officer.unit_id)
    assert status is not None
    assert (status.lat, status.lon) == (-6.8812, 107.6212)


async def test_a_tracker_s_sos_with_an_unreadable_value_is_still_raised_once_and_logged_with_the_device(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """A tracker resends a report until it is answered 200: refusing an SOS for a bad time or position would lose it
    for good. It is raised without what it got wrong (at its position if that is readable), once however often it
    comes, and the log names the device and what was wrong."""
    api = site.live.api
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    bad_time, bad_place = await api.resident(), await api.resident()
    timed = (await register_tracker(api, admin, resident_phone=bad_time.phone))["device_id"]
    placed = (await register_tracker(api, admin, resident_phone=bad_place.phone))["device_id"]
    with caplog.at_level(logging.WARNING, logger="siaga.trackers"):
        for _ in range(2):
            query = {
                "id": timed,
                "lat": str(COBLONG[0]),
                "lon": str(COBLONG[1]),
                "timestamp": "kemarin",
                "alarm": "sos",
            }
            answer = await site.http.get("/osmand", params=query)
            assert (answer.status_code, answer.content) == (200, b""), answer.text
            body = {
                "device_id": placed,
                "location": {"timestamp": "nanti", "coords": {"latitude": "utara", "longitude": 107.6}, "alarm": "sos"},
            }
            answer = await site.http.post("/osmand", json=body)
            assert (answer.status_code, answer.content) == (200, b""), answer.text

    async def raised() -> dict[str, list[dict[str, Any]]] | None:
        alerts = (await api.get(operator, "/alerts", active="true")).json()
        found = {p.id: [a for a in alerts if a["resident"]["id"] == p.id] for p in (bad_time, bad_place)}
        return found if all(found.values()) else None

    found = await eventually(raised, what="both SOS raised")
    [at_position], [without_fix] = found[bad_time.id], found[bad_place.id]
    assert (at_position["channel"], at_position["lat"], at_position["lon"]) == ("tracker", *COBLONG)
    timeline = (await api.get(operator, f"/alerts/{without_fix['id']}/timeline")).json()
    assert any(e["kind"] == "flagged" and e["data"].get("reason") == "no_location" for e in timeline), timeline
    lines = [r.getMessage() for r in caplog.records if r.name == "siaga.trackers"]
    assert any(timed in line and "timestamp" in line for line in lines), lines
    assert any(placed in line and "latitude" in line for line in lines), lines
