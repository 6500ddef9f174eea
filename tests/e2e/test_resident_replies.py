"""A resident writes back to the command centre from their alert's chat: the reply is on the timeline as theirs,
audited, live on the console and on the phone, written once however often the phone's outbox sends it, and refused
clearly when it is too long, too many, not theirs, or the alert is cancelled (a duress PIN's alert just the same)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from siaga.accounts.domain import Role
from siaga.alerts.domain import REPLIES_PER_MINUTE, REPLY_MAX_CHARS
from siaga.alerts.models import Alert, AlertEvent
from siaga.audit.models import AuditRecord
from siaga.db import utcnow
from tests.conftest import Api, Person
from tests.e2e.test_streams import COBLONG, Live, live, stream

__all__ = ["live"]  # the fixture, used by name


def keyed(who: Person, key: str) -> dict[str, str]:
    return {**who.headers, "Idempotency-Key": key}


async def replies_on(api: Api, alert_id: str) -> list[AlertEvent]:
    async with api.runtime.read_sessions() as session:
        rows = await session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == uuid.UUID(alert_id), AlertEvent.kind == "resident_replied")
        )
        return list(rows.all())


async def audited(api: Api, alert_id: str) -> list[AuditRecord]:
    async with api.runtime.read_sessions() as session:
        rows = await session.scalars(
            select(AuditRecord).where(AuditRecord.action == "alert.resident_replied", AuditRecord.target_id == alert_id)
        )
        return list(rows.all())


async def test_a_reply_reaches_the_console_and_the_phone_live_and_is_written_once(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    siti = await api.resident(name="Siti")

    async with stream(live, "console", operator) as console, stream(live, "resident", siti) as phone:
        alert = await api.press(siti, lat=COBLONG[0], lon=COBLONG[1])
        alert_id = alert["id"]
        await phone.until(lambda m: m["type"] == "alert_status" and m["state"] == "new")

        path = f"/api/v1/alerts/{alert_id}/replies"
        text = "Saya bersembunyi di kamar mandi lantai 2"
        # The phone's outbox sends it, loses the answer, and sends it again under the same key.
        sent = [
            await api.http.post(path, json={"text": text}, headers=keyed(siti, "reply-0001-siti")) for _ in range(2)
        ]
        for answer in sent:
            assert answer.status_code == 200, answer.text
            chat = answer.json()["chat"]
            assert [(m["sender"], m["text"]) for m in chat] == [("resident", text)]
            assert answer.json()["replies_close_at"] is None  # open: no end yet

        seen = await console.event("resident_replied", alert_id)
        assert seen["event"]["actor_kind"] == "resident"
        # Named as the session knows them (a session read just before the profile was named still says the number).
        assert seen["event"]["actor_name"] in {"Siti", siti.phone}
        assert seen["event"]["data"]["text"] == text
        told = await phone.until(lambda m: m["type"] == "alert_status" and m.get("said") is not None)
        assert (told["said"]["sender"], told["said"]["text"]) == ("resident", text)
        assert told["said"]["id"] == chat[0]["id"]

    assert len(await replies_on(api, alert_id)) == 1
    records = await audited(api, alert_id)
    assert [(r.actor_kind, r.actor_id) for r in records] == [("resident", siti.id)]
    # The operator's timeline names the resident as its writer.
    timeline = await api.get(operator, f"/alerts/{alert_id}/timeline")
    replied = [e for e in timeline.json() if e["kind"] == "resident_replied"]
    assert [(e["actor_kind"], e["data"]["text"]) for e in replied] == [("resident", text)]
    # A new key is a new message.
    again = await api.http.post(
        f"/api/v1/alerts/{alert_id}/replies", json={"text": "Masih di sini"}, headers=keyed(siti, "reply-0002-siti")
    )
    assert [m["text"] for m in again.json()["chat"]] == [text, "Masih di sini"]


async def test_only_the_resident_replies_on_their_own_alert_with_a_short_text(api: Api) -> None:
    siti = await api.resident(name="Siti")
    alert = await api.press(siti)
    path = f"/alerts/{alert['id']}/replies"

    other = await api.resident(name="Budi")
    assert (await api.post(other, path, {"text": "halo"})).status_code == 404
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    refused = await api.post(operator, path, {"text": "halo"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "auth.residents_only"

    long = await api.post(siti, path, {"text": "x" * (REPLY_MAX_CHARS + 1)})
    assert long.status_code == 422, long.text
    error = long.json()["error"]
    assert error["code"] == "request.invalid"
    assert [(p["field"], p["type"]) for p in error["details"]["problems"]] == [("text", "string_too_long")]
    blank = await api.post(siti, path, {"text": "   "})
    assert blank.status_code == 422, blank.text
    assert [(p["field"], p["type"]) for p in blank.json()["error"]["details"]["problems"]] == [
        ("text", "string_too_short")
    ]
    # Text is cleaned where it enters, as every input is: a NUL byte and half an emoji do not cost the message.
    raw = json.dumps({"text": "tolong\x00 \ud83d"})  # as a phone may send it: escaped, so it is valid JSON text
    headers = {**siti.headers, "Content-Type": "application/json"}
    cleaned = await api.http.post(f"/api/v1{path}", content=raw, headers=headers)
    assert cleaned.status_code == 200, cleaned.text
    assert cleaned.json()["chat"][-1]["text"] == "tolong \ufffd"
    assert len(await replies_on(api, alert["id"])) == 1


async def test_a_resident_is_held_to_a_few_messages_a_minute(api: Api) -> None:
    siti = await api.resident(name="Siti")
    alert = await api.press(siti)
    path = f"/alerts/{alert['id']}/replies"
    for n in range(REPLIES_PER_MINUTE):
        answer = await api.post(siti, path, {"text": f"pesan {n}"})
        assert answer.status_code == 200, answer.text
    over = await api.post(siti, path, {"text": "satu lagi"})
    assert over.status_code == 429, over.text
    error = over.json()["error"]
    assert error["code"] == "alert.reply_rate_limited"
    assert 1 <= error["details"]["retry_after"] <= 60
    assert len(await replies_on(api, alert["id"])) == REPLIES_PER_MINUTE
    # Another resident is not held back by Siti's messages.
    budi = await api.resident(name="Budi")
    theirs = await api.press(budi, lat=COBLONG[0] + 0.01, lon=COBLONG[1])
    assert (await api.post(budi, f"/alerts/{theirs['id']}/replies", {"text": "halo"})).status_code == 200


async def _refusal(api: Api, who: Person, alert_id: str) -> dict[str, Any]:
    answer = await api.post(who, f"/alerts/{alert_id}/replies", {"text": "halo?"})
    assert answer.status_code == 409, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_cancelled_alert_takes_no_reply_and_a_duress_pins_alert_is_refused_just_the_same(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    cancelled_by = await api.resident(name="Siti")
    cancelled = await api.press(cancelled_by)
    assert (await api.post(cancelled_by, f"/alerts/{cancelled['id']}/cancel", {"pin": "1234"})).status_code == 200
    coerced = await api.resident(name="Dewi")
    duress = await api.press(coerced, lat=COBLONG[0] + 0.01, lon=COBLONG[1])
    before = await api.post(coerced, f"/alerts/{duress['id']}/replies", {"text": "sebelum"})
    assert before.status_code == 200, before.text
    assert (await api.post(coerced, f"/alerts/{duress['id']}/cancel", {"pin": "9999"})).status_code == 200

    refused = await _refusal(api, cancelled_by, cancelled["id"])
    assert refused["error"]["code"] == "alert.closed"
    assert await _refusal(api, coerced, duress["id"]) == refused
    # The phone reads both as cancelled, with no time left to reply; the reply written before the PIN stays in its chat.
    for who, alert in ((cancelled_by, cancelled), (coerced, duress)):
        view = (await api.get(who, f"/alerts/{alert['id']}")).json()
        assert view["state"] == "cancelled"
        assert view["replies_close_at"] is not None
        assert view["replies_close_at"] <= view["closed_at"]
    assert [m["text"] for m in (await api.get(coerced, f"/alerts/{duress['id']}")).json()["chat"]] == ["sebelum"]
    # The console still sees the duress alert open, and its timeline everything.
    staff_view = (await api.get(operator, f"/alerts/{duress['id']}")).json()
    assert staff_view["state"] != "cancelled"


async def test_a_resolved_alert_takes_replies_for_a_while(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    siti = await api.resident(name="Siti")
    alert = await api.press(siti)
    alert_id = alert["id"]
    assert (await api.post(operator, f"/alerts/{alert_id}/acknowledge")).status_code == 200
    resolved = await api.post(operator, f"/alerts/{alert_id}/resolve", {"outcome": "genuine", "report": "Korban aman"})
    assert resolved.status_code == 200, resolved.text

    thanks = await api.post(siti, f"/alerts/{alert_id}/replies", {"text": "Terima kasih, Pak"})
    assert thanks.status_code == 200, thanks.text
    assert thanks.json()["replies_close_at"] > thanks.json()["closed_at"]

    async with api.runtime.unit_of_work() as session:
        await session.execute(
            update(Alert).where(Alert.id == uuid.UUID(alert_id)).values(closed_at=utcnow() - timedelta(hours=1))
        )
    late = await _refusal(api, siti, alert_id)
    assert late["error"]["code"] == "alert.reply_window_over"
    assert late["error"]["details"]["minutes"] == 30


async def test_the_command_centre_writes_to_one_resident_and_never_after_a_duress_pin(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    siti = await api.resident(name="Siti")
    alert = await api.press(siti)
    path = f"/alerts/{alert['id']}/messages"
    sent = await api.post(operator, path, {"text": "Petugas menuju lokasi Anda"})
    assert sent.status_code == 200, sent.text
    replied = await api.post(siti, f"/alerts/{alert['id']}/replies", {"text": "Baik, terima kasih"})
    chat = [(m["sender"], m["text"]) for m in replied.json()["chat"]]
    assert chat == [("centre", "Petugas menuju lokasi Anda"), ("resident", "Baik, terima kasih")]
    # Residents do not write as the command centre.
    assert (await api.post(siti, path, {"text": "halo"})).status_code == 403

    coerced = await api.resident(name="Dewi")
    duress = await api.press(coerced, lat=COBLONG[0] + 0.01, lon=COBLONG[1])
    assert (await api.post(coerced, f"/alerts/{duress['id']}/cancel", {"pin": "9999"})).status_code == 200
    silent = await api.post(operator, f"/alerts/{duress['id']}/messages", {"text": "Kami datang"})
    assert silent.status_code == 422, silent.text
    assert silent.json()["error"]["code"] == "alert.duress_silent"
    assert (await api.get(coerced, f"/alerts/{duress['id']}")).json()["chat"] == []
