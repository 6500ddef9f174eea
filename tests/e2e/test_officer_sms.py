"""Officers by SMS, against a running server: an officer whose phone has no open stream gets each offer by SMS with a
short code, and answers it by SMS (accept, en route, on scene, resolved) through the same use cases as the officer
app; wrong numbers, stale and unknown codes and offers already taken are answered clearly."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from siaga.accounts.domain import Role
from siaga.accounts.identity import mask_phone
from siaga.alerts.models import Alert
from siaga.app import create_app
from siaga.audit.models import AuditRecord
from siaga.db import utcnow
from siaga.dispatch import offer_sms
from siaga.dispatch.models import OfficerStream
from siaga.notify.models import OutboundMessage
from siaga.notify.sms import DevSMS, HttpSMS
from siaga.runtime import Runtime
from siaga.sms import inbound
from siaga.sms.inbound import InboundSMS
from siaga.sms.officers import answer_offer
from tests.conftest import Api, Person, app_for, eventually, make_settings, new_phone
from tests.e2e.test_sms_gammu import Gateway, gateway
from tests.e2e.test_streams import Live, on_duty_near, stream
from tests.gammu import modem
from tests.residents import made_residents
from tests.servers import in_process

COBLONG = (-6.8915, 107.6107)  # near ITB, in Kecamatan Coblong (POLSEK-COBLONG)
NEAR = (-6.8945, 107.6107)  # about 330 m south of it
GSM_WAIT = 30.0  # generous: the daemon reads its dummy phone every second, Siaga its inbox twice a second
__all__ = ["gateway", "modem"]  # the fixtures, used by name
OFFER = re.compile(r"^SIAGA (\d{4}): kriminalitas di Coblong (\d+) m\. Balas 1 \1 untuk terima$")


@pytest.fixture
async def live(db: Runtime) -> AsyncIterator[Live]:
    """Siaga served by uvicorn on a real port, its unit tracker holding only this database's units."""
    tracker = db.units.tracker
    for point in tracker.all():
        tracker.remove(point.unit_id)
    async with in_process(app_for(db)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        await db.units.reload()
        yield Live(api=Api(http=http, runtime=db), ws=url.replace("http://", "ws://") + "/api/v1/stream")


async def direct_offers(api: Api, admin: Person, *, size: int = 3) -> None:
    body = {"direct_offers": True, "offer_size": size, "offer_timeout_seconds": 600, "offer_radius_m": 3000}
    answer = await api.http.put("/api/v1/agencies/POLSEK-COBLONG/dispatch-settings", json=body, headers=admin.headers)
    assert answer.status_code == 200, answer.text


async def officer_with_phone(api: Api, admin: Person, callsign: str, *, language: str = "id") -> Person:
    """An officer of POLSEK-COBLONG whose number (and language) the administrator put on their staff record."""
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign=callsign, name=f"Petugas {callsign}")
    record = {"phone": new_phone(), "language": language}
    answer = await api.http.patch(f"/api/v1/staff/{officer.id}", json=record, headers=admin.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["language"] == language
    officer.phone = answer.json()["phone"]
    assert officer.phone.startswith("+62")
    return officer


async def one_on_duty(live: Live, callsign: str) -> tuple[Person, Person]:
    """Direct offers on, an operator of Polsek Coblong, and one officer with a phone on patrol near ITB."""
    admin = await live.api.staff(Role.ADMIN)
    await direct_offers(live.api, admin)
    operator = await live.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    officer = await officer_with_phone(live.api, admin, callsign)
    await on_duty_near(live, officer, *NEAR)
    return operator, officer


async def two_on_duty(live: Live, first: str, second: str, *, language: str = "id") -> tuple[Person, Person, Person]:
    """An administrator with direct offers on, and two officers with phones on patrol near ITB (the second reading
    its SMS in ``language``)."""
    admin = await live.api.staff(Role.ADMIN)
    await direct_offers(live.api, admin)
    one = await officer_with_phone(live.api, admin, first)
    two = await officer_with_phone(live.api, admin, second, language=language)
    await on_duty_near(live, one, *NEAR)
    await on_duty_near(live, two, *NEAR)
    return admin, one, two


def texts_to(api: Api, phone: str) -> list[str]:
    assert isinstance(api.runtime.sms, DevSMS)
    return [m["body"] for m in api.runtime.sms.read(to=phone)]


async def offer_code(api: Api, officer: Person) -> str:
    """The code of the offer SMS the officer got (waits for it)."""

    async def texted() -> str | None:
        offers = [m for m in map(OFFER.match, texts_to(api, officer.phone)) if m]
        return offers[-1][1] if offers else None

    return await eventually(texted, what=f"the offer SMS to {officer.name}")


async def reply(api: Api, phone: str, text: str) -> str:
    """An SMS from ``phone`` through the one inbound pipeline, as a gateway hands it over; returns the answer SMS."""
    handled = await inbound.receive(api.runtime, gateway="dev", gateway_id=uuid.uuid4().hex, sender=phone, text=text)
    assert handled is not None, f"handling {text!r} failed"
    assert handled.handler.startswith("officers."), f"{text!r} was not taken as an officer's reply"
    return handled.reply


async def alert_state(api: Api, viewer: Person, alert_id: str) -> dict[str, Any]:
    answer = await api.get(viewer, f"/alerts/{alert_id}")
    assert answer.status_code == 200, answer.text
    alert: dict[str, Any] = answer.json()
    return alert


async def test_an_officer_with_no_stream_takes_an_offer_by_sms_and_reports_by_sms(live: Live) -> None:
    api = live.api
    operator, asep = await one_on_duty(live, "COBLONG-SMS-1")
    async with stream(live, "console", operator) as console:
        alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
        code = await offer_code(api, asep)
        sms = OFFER.match(texts_to(api, asep.phone)[-1])
        assert sms is not None
        assert 250 <= int(sms[2]) <= 400  # the offer's distance, to ten metres

        accepted = await reply(api, asep.phone, f"1 {code}")
        assert accepted.startswith(f"SIAGA {code}: Anda ditugaskan: kriminalitas di Coblong. Peta: ")
        dispatched = await console.event("dispatched", alert["id"])
        assert dispatched["alert"]["unit_id"] == asep.unit_id
        assert (dispatched["event"]["actor_kind"], dispatched["event"]["actor_name"]) == ("officer", asep.name)

        assert (
            await reply(api, asep.phone, f"2 {code}")
            == f"SIAGA {code}: tercatat dalam perjalanan. Balas 3 {code} saat tiba"
        )
        await console.event("en_route", alert["id"])
        assert (await reply(api, asep.phone, f"3-{code}")).startswith(f"SIAGA {code}: tercatat tiba di lokasi")
        await console.event("on_scene", alert["id"])
        assert await reply(api, asep.phone, f"4 {code} pelaku kabur, korban aman") == (
            f"SIAGA {code}: tercatat selesai. Terima kasih"
        )
        await console.event("resolved", alert["id"])
    shown = await alert_state(api, operator, alert["id"])
    assert (shown["state"], shown["unit_id"], shown["report"]) == (
        "resolved",
        asep.unit_id,
        "pelaku kabur, korban aman",
    )
    # The code is over with its alert: a late status reply is told so, and changes nothing.
    assert await reply(api, asep.phone, f"2 {code}") == f"SIAGA {code}: kejadian ini sudah ditutup"
    assert await reply(api, asep.phone, f"3 {code}") == f"SIAGA {code}: kejadian ini sudah ditutup"

    async def answered() -> list[str] | None:  # each answer reached the officer's phone, after the offer: an officer
        texts = texts_to(api, asep.phone)  # at work is never cut off by the limits on replies to one number
        return texts if len(texts) == 7 else None

    texts = await eventually(answered, what="the answers to reach the officer's phone")
    assert texts[0] == sms[0]
    assert {accepted, f"SIAGA {code}: kejadian ini sudah ditutup"} <= set(texts[1:])

    async with api.runtime.read_sessions() as session:
        records = (
            await session.scalars(
                select(AuditRecord).where(AuditRecord.target_id == alert["id"]).order_by(AuditRecord.id)
            )
        ).all()
        sent = (await session.scalars(select(OutboundMessage).where(OutboundMessage.recipient == asep.phone))).all()
    by_officer = [(r.action, r.actor_kind, r.client_ip) for r in records if r.actor_id == f"staff:{asep.id}"]
    assert by_officer == [
        ("offer.accept", "officer", "sms"),
        ("alert.en_route", "officer", "sms"),
        ("alert.on_scene", "officer", "sms"),
        ("alert.resolved", "officer", "sms"),
    ]
    # The offer's SMS is one of notify's recorded messages, about its alert.
    assert [(m.purpose, m.alert_id, m.status) for m in sent if m.purpose == "officer_offer"] == [
        ("officer_offer", alert["id"], "sent")
    ]


async def test_two_officers_racing_by_sms_and_by_app_one_wins_and_the_other_is_told(live: Live) -> None:
    api = live.api
    admin, by_sms, by_app = await two_on_duty(live, "COBLONG-SMS-2", "COBLONG-APP-2")
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    code = await offer_code(api, by_sms)
    offers = (await api.get(by_app, "/offers")).json()
    assert [o["alert_id"] for o in offers] == [alert["id"]]

    texted, app = await asyncio.gather(
        reply(api, by_sms.phone, f"1 {code}"), api.post(by_app, f"/offers/{offers[0]['id']}/accept")
    )
    winner = (await alert_state(api, admin, alert["id"]))["unit_id"]
    if winner == by_sms.unit_id:
        assert texted.startswith(f"SIAGA {code}: Anda ditugaskan")
        assert app.status_code == 409, app.text
        assert app.json()["error"]["code"] in {"offer.taken", "alert.taken"}
    else:
        assert winner == by_app.unit_id
        assert app.status_code == 200, app.text
        assert texted == f"SIAGA {code}: sudah diambil unit lain. Terima kasih"
    # Asked again afterwards, the SMS officer hears the same.
    again = await reply(api, by_sms.phone, f"1 {code}")
    if winner == by_sms.unit_id:
        assert again == f"SIAGA {code}: unit Anda sudah menerima tawaran ini"
    else:
        assert again == f"SIAGA {code}: sudah diambil unit lain. Terima kasih"


async def test_wrong_numbers_unknown_and_stale_codes_get_a_clear_answer_and_change_nothing(live: Live) -> None:
    api = live.api
    admin = await api.staff(Role.ADMIN)
    await direct_offers(api, admin, size=1)
    asep = await officer_with_phone(api, admin, "COBLONG-SMS-3")
    other = await officer_with_phone(api, admin, "COBLONG-SMS-4")  # off duty: never offered
    resident = await api.resident()
    await on_duty_near(live, asep, *NEAR)
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    code = await offer_code(api, asep)
    unknown = next(c for c in ("1000", "9999", "5555") if c != code)

    assert (await reply(api, resident.phone, f"1 {code}")).startswith(
        "SIAGA: nomor ini tidak terdaftar sebagai nomor petugas"
    )
    assert await reply(api, other.phone, f"1 {code}") == f"SIAGA {code}: kode ini bukan untuk nomor Anda"
    assert (
        await reply(api, asep.phone, f"1 {unknown}") == f"SIAGA {unknown}: kode tidak dikenal atau sudah tidak berlaku"
    )
    assert await reply(api, asep.phone, f"2 {code}") == (
        f"SIAGA {code}: kejadian ini tidak ditugaskan ke unit Anda. Balas 1 {code} untuk terima"
    )
    assert (await alert_state(api, admin, alert["id"]))["state"] == "new"

    # The offer runs out (as the clock would make it): the code is stale, and says so.
    async with api.runtime.unit_of_work() as session:
        past = utcnow() - timedelta(seconds=1)
        await session.execute(update(Alert).where(Alert.id == uuid.UUID(alert["id"])).values(offer_due_at=past))
    api.runtime.timers.wake()

    async def expired() -> bool:
        return [o for o in (await api.get(asep, "/offers")).json() if o["alert_id"] == alert["id"]] == []

    await eventually(expired, what="the offer to expire")
    assert await reply(api, asep.phone, f"1 {code}") == (
        f"SIAGA {code}: tawaran sudah habis waktu dan diteruskan ke unit lain"
    )
    shown = await alert_state(api, admin, alert["id"])
    assert (shown["state"], shown["unit_id"]) == ("new", None)
    # Messages that are not an officer's reply are left to the other handlers.
    message = InboundSMS(id=0, sender=asep.phone, text="TOLONG di pasar", received_at=utcnow(), gateway="dev")
    assert await answer_offer(api.runtime, message) is None


async def test_an_offer_code_is_never_one_a_live_offer_holds_however_few_are_free(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With three codes in all: the two offers of one alert, texted together, get two different codes, and the
    offer of the next alert, to a third officer, gets the one code left."""
    monkeypatch.setattr(offer_sms, "_CODES", range(1000, 1003))
    api = live.api
    admin, one, two = await two_on_duty(live, "COBLONG-SMS-10", "COBLONG-SMS-11")
    await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    first, second = await offer_code(api, one), await offer_code(api, two)
    assert first != second
    assert {first, second} < {"1000", "1001", "1002"}

    three = await officer_with_phone(api, admin, "COBLONG-SMS-12")
    await on_duty_near(live, three, *NEAR)
    await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    assert await offer_code(api, three) == ({"1000", "1001", "1002"} - {first, second}).pop()


async def test_an_officer_with_an_open_stream_gets_no_offer_sms(live: Live) -> None:
    api = live.api
    _, watching, away = await two_on_duty(live, "COBLONG-APP-5", "COBLONG-SMS-5", language="en")
    async with stream(live, "officer", watching) as phone:
        alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
        offered = await phone.event("offered", alert["id"])
        assert {watching.unit_id, away.unit_id} <= set(offered["event"]["data"]["unit_ids"])

        # Both offers were made together: the SMS to the one away means the other's was decided too.
        async def texted() -> list[str]:
            return texts_to(api, away.phone)

        [english] = await eventually(texted, what="the offer SMS to the officer away")
        found = re.fullmatch(r"SIAGA (\d{4}): crime in Coblong, \d+ m away\. Reply 1 \1 to accept", english)
        assert found is not None, english
        assert texts_to(api, watching.phone) == []
    # Their answers are in their language too.
    answered = await reply(api, away.phone, f"1 {found[1]}")
    assert answered.startswith(f"SIAGA {found[1]}: assigned to you: crime in Coblong. Map: ")


async def test_an_officer_streaming_to_another_process_gets_no_offer_sms(live: Live) -> None:
    api = live.api
    admin, watching, away = await two_on_duty(live, "COBLONG-APP-6", "COBLONG-SMS-6")
    # A second Siaga process on the same database (its own timers idle, so the offer is made here).
    settings = make_settings(api.runtime.settings.database_url, timer_interval_seconds=3600)
    other = Runtime.build(settings)

    async def seen_streaming() -> bool:
        async with api.runtime.read_sessions() as session:
            return await session.get(OfficerStream, int(watching.id)) is not None

    try:
        async with in_process(create_app(settings, runtime=other)) as url:
            elsewhere = Live(api=api, ws=url.replace("http://", "ws://") + "/api/v1/stream")
            async with stream(elsewhere, "officer", watching):
                await eventually(seen_streaming, what="the other process to say the officer's stream is open")
                alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])

                async def texted() -> list[str]:
                    return texts_to(api, away.phone)

                [offer] = await eventually(texted, what="the offer SMS to the officer away")
                assert OFFER.match(offer) is not None
                assert texts_to(api, watching.phone) == []
                assert (await alert_state(api, admin, alert["id"]))["state"] == "new"
            # Closed there, the officer is texted again from the next offer on.
            await eventually(lambda: _not(seen_streaming), what="the other process to say the stream closed")
    finally:
        await other.close()


async def _not(check: Callable[[], Awaitable[bool]]) -> bool:
    return not await check()


async def test_an_officer_takes_an_offer_through_a_real_gsm_modem(gateway: Gateway) -> None:
    """Gammu SMSD on its dummy phone: the offer goes out through the modem, the officer's answer comes in through it,
    the console sees the alert taken, and the confirmation goes back out."""
    live, modem = gateway.live, gateway.modem
    api = live.api
    operator, asep = await one_on_duty(live, "COBLONG-GSM-7")
    [resident] = await made_residents(api, 1)  # signed up without a code SMS: the modem is for the officer
    async with stream(live, "console", operator) as console:
        alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])

        async def offered() -> str | None:
            found = re.search(OFFER.pattern.strip("^$"), modem.sent_to(asep.phone))
            return found[1] if found else None

        code = await eventually(offered, within=GSM_WAIT, what="the offer to leave through the modem")
        modem.deliver(asep.phone, f"1 {code}")
        dispatched = await console.event("dispatched", alert["id"])
        assert dispatched["alert"]["unit_id"] == asep.unit_id

        async def confirmed() -> bool:
            return f"SIAGA {code}: Anda ditugaskan" in modem.sent_to(asep.phone)

        await eventually(confirmed, within=GSM_WAIT, what="the confirmation to leave through the modem")

    # Each of the three SMS is on the alert's timeline: the offer out, the officer's answer in, the confirmation out.
    async def three() -> list[tuple[str, str, str]] | None:
        answer = await api.get(operator, f"/alerts/{alert['id']}/timeline")
        sms = [e["data"] for e in answer.json() if e["kind"] == "sms"]
        shown = sorted((d["direction"], d["purpose"], d["number"]) for d in sms)
        return shown if len(shown) >= 3 else None

    masked = mask_phone(asep.phone)
    assert await eventually(three, within=GSM_WAIT, what="the three SMS on the timeline") == [
        ("in", "officer_reply", masked),
        ("out", "officer_offer", masked),
        ("out", "sms_reply", masked),
    ]


async def test_an_offer_sms_that_does_not_get_through_shows_on_the_console(live: Live) -> None:
    api = live.api
    operator, asep = await one_on_duty(live, "COBLONG-SMS-8")
    resident = await api.resident()
    api.runtime.sms = HttpSMS(url="http://127.0.0.1:9/sms", token="t", sender="SIAGA", timeout=5.0)  # nobody there
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])

    async def failed() -> list[dict[str, Any]]:
        answer = await api.get(operator, f"/alerts/{alert['id']}/timeline")
        return [e for e in answer.json() if e["kind"] == "delivery_failed" and e["data"]["purpose"] == "officer_offer"]

    [shown] = await eventually(failed, what="the failed offer SMS on the alert's timeline")
    assert (shown["data"]["channel"], shown["data"]["attempt"], shown["data"]["final"]) == ("sms", 1, False)
    assert (await alert_state(api, operator, alert["id"]))["delivery_failed"] is True
    async with api.runtime.read_sessions() as session:
        [message] = (
            await session.scalars(
                select(OutboundMessage).where(
                    OutboundMessage.recipient == asep.phone, OutboundMessage.purpose == "officer_offer"
                )
            )
        ).all()
    assert (message.status, message.alert_id) == ("failed", alert["id"])  # kept, and tried again with backoff
