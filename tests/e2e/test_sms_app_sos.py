"""The resident app's SOS by SMS when there is no data (issue 16): the app's signed SMS raises the press it carries
(its own id, position and category, channel ``sms``) through the one door; the same press over data, before or after,
is one alert; and a message that does not verify (tampered, from another number, garbled) is raised all the same,
flagged, never dropped. The key it is signed with comes with the sign-in and is kept sealed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from siaga.accounts import sms_keys
from siaga.accounts.domain import Role
from siaga.accounts.models import OneTimeCode, Resident
from siaga.alerts.domain import Category
from siaga.alerts.models import Alert, AlertEvent
from siaga.db import utcnow
from siaga.runtime import Runtime
from siaga.sms import inbound, progress, sos_message
from siaga.sms.sos_message import AppSOS
from tests.conftest import Api, Person, new_phone, sos_body
from tests.integration.test_dispatch import COBLONG, city

__all__ = ["city"]  # the fixture, used by name
PRESSED = datetime(2026, 12, 4, 12, 0, 5, tzinfo=UTC)


async def _sign_up(api: Api, *, language: str = "id") -> tuple[Person, str]:
    """A resident registered in the app, and the SMS key the app was given at sign-in."""
    resident = await api.resident(name="Warga SMS", pins=False)
    if language != "id":
        changed = await api.http.patch("/api/v1/residents/me", json={"language": language}, headers=resident.headers)
        assert changed.status_code == 200, changed.text
    return resident, str(resident.extra["sms_key"])


def _message(
    key: str, alert_id: uuid.UUID, *, where: tuple[float, float] | None = COBLONG, silent: bool = False
) -> str:
    sos = AppSOS(
        silent=silent,
        alert_id=alert_id,
        category=Category.KRIMINALITAS,
        pressed_at=PRESSED,
        lat=where[0] if where else None,
        lon=where[1] if where else None,
        accuracy_m=15 if where else None,
    )
    return sos_message.compose(sos, key.encode("ascii"))


async def text_siaga(runtime: Runtime, sender: str, text: str) -> str:
    """An SMS arriving from a gateway, through the whole inbound pipeline: the reply to its sender."""
    handled = await inbound.receive(runtime, gateway="dev", gateway_id=str(uuid.uuid4()), sender=sender, text=text)
    assert handled is not None, "the SMS's handling failed"
    assert handled.handler == "app_sos.handle", handled
    return handled.reply


async def _flags(api: Api, alert_id: uuid.UUID) -> list[str]:
    async with api.runtime.read_sessions() as session:
        events = await session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id, AlertEvent.kind == "flagged")
        )
        return sorted(e.data["reason"] for e in events)


async def _alerts_of(api: Api, phone: str) -> list[Alert]:
    async with api.runtime.read_sessions() as session:
        resident = await session.scalar(select(Resident.id).where(Resident.phone == phone))
        return list((await session.scalars(select(Alert).where(Alert.resident_id == resident))).all())


async def test_the_apps_sms_raises_its_press_and_the_same_press_over_data_is_a_retry(city: Api) -> None:
    api = city
    resident, key = await _sign_up(api)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    body = sos_body(lat=COBLONG[0], lon=COBLONG[1])
    alert_id = uuid.UUID(body["id"])

    reply = await text_siaga(api.runtime, resident.phone, _message(key, alert_id))

    assert reply.startswith("SIAGA: SOS Anda sudah diterima")
    seen = await api.get(operator, f"/alerts/{alert_id}")
    assert seen.status_code == 200, seen.text
    alert: dict[str, Any] = seen.json()
    assert (alert["channel"], alert["agency_code"]) == ("sms", "POLSEK-COBLONG")
    assert (alert["lat"], alert["lon"], alert["accuracy_m"]) == (COBLONG[0], COBLONG[1], 15)
    assert alert["category"] == "kriminalitas"
    assert await _flags(api, alert_id) == []  # verified: nothing for the operator to doubt

    # The data path delivers the same press afterwards: answered as the press already stored.
    late = await api.http.post("/api/v1/alerts", json=body, headers=resident.headers)
    assert late.status_code == 200, late.text
    assert late.json()["id"] == str(alert_id)
    # The same SMS delivered again (a replay) is the same alert too.
    assert (await text_siaga(api.runtime, resident.phone, _message(key, alert_id))).startswith("SIAGA: SOS Anda")
    listed = await api.get(operator, "/alerts", active="true")
    assert [a["id"] for a in listed.json() if a["resident"]["id"] == resident.id] == [str(alert_id)]
    assert [a.id for a in await _alerts_of(api, resident.phone)] == [alert_id]


async def test_the_sms_after_the_press_over_data_is_the_same_alert_and_answered(city: Api) -> None:
    api = city
    resident, key = await _sign_up(api, language="en")
    pressed = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    alert_id = uuid.UUID(pressed["id"])

    reply = await text_siaga(api.runtime, resident.phone, _message(key, alert_id))

    assert reply.startswith("SIAGA: your SOS has reached the command centre")
    alerts = await _alerts_of(api, resident.phone)
    assert [(a.id, a.channel) for a in alerts] == [(alert_id, "app")]
    assert await _flags(api, alert_id) == []


async def test_a_silent_press_by_sms_is_raised_silent_and_gets_no_reply(city: Api) -> None:
    api = city
    resident, key = await _sign_up(api)
    alert_id = uuid.uuid4()

    reply = await text_siaga(api.runtime, resident.phone, _message(key, alert_id, silent=True))

    assert reply == ""  # nothing that would make the phone ring or light up
    [alert] = await _alerts_of(api, resident.phone)
    assert (alert.id, alert.silent) == (alert_id, True)
    # Nor later, when officers are on their way.
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-SILENT-1")
    await api.on_duty(officer)
    assert (await api.post(operator, f"/alerts/{alert_id}/acknowledge")).status_code == 200
    dispatched = await api.post(operator, f"/alerts/{alert_id}/dispatch", {"unit_id": officer.unit_id})
    assert dispatched.status_code == 200, dispatched.text
    assert await progress.tell_officer_coming(api.runtime) == 0


async def test_a_tampered_sms_is_raised_flagged_unverified(city: Api) -> None:
    api = city
    resident, key = await _sign_up(api)
    alert_id = uuid.uuid4()
    fields = _message(key, alert_id).split(" ")
    fields[2] = "-6.90000"  # the position changed on the way

    await text_siaga(api.runtime, resident.phone, " ".join(fields))
    await text_siaga(api.runtime, resident.phone, " ".join(fields))  # the same message again: the same alert

    [alert] = await _alerts_of(api, resident.phone)
    assert (alert.channel, alert.lat) == ("sms", -6.9)
    # Not under the press's own id, which an unverified message could otherwise take from the real press.
    assert alert.id != alert_id
    assert await _flags(api, alert.id) == ["unverified_sms"]


async def test_a_copy_sent_from_another_number_is_an_sos_of_that_number_flagged(city: Api) -> None:
    api = city
    resident, key = await _sign_up(api)
    pressed = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    stranger = "+62" + new_phone()[1:]

    reply = await text_siaga(api.runtime, stranger, _message(key, uuid.UUID(pressed["id"])))

    assert reply.startswith("SIAGA: SOS Anda")
    # The resident's alert is untouched; the stranger's number has an alert of its own, flagged for the operator.
    assert [a.id for a in await _alerts_of(api, resident.phone)] == [uuid.UUID(pressed["id"])]
    theirs = await _alerts_of(api, stranger)
    assert len(theirs) == 1
    assert (theirs[0].channel, theirs[0].lat) == ("sms", COBLONG[0])
    assert await _flags(api, theirs[0].id) == ["unregistered_number", "unverified_sms"]


@pytest.mark.parametrize(
    "text",
    ["SIAGA1 tolong saya di pasar Cihapit", "SIAGA1 BSHR2LR2JNGF3DTPPKFZYDI6F4 -6.91474 107.6"],
)
async def test_a_garbled_sms_is_raised_with_its_text_and_placed_in_the_nik_kecamatan(city: Api, text: str) -> None:
    api = city
    resident, _ = await _sign_up(api)
    changed = await api.http.patch(
        "/api/v1/residents/me", json={"nik": "3273024506900001"}, headers=resident.headers
    )  # a NIK of Coblong (32.73.02)
    assert changed.status_code == 200, changed.text

    assert (await text_siaga(api.runtime, resident.phone, text)).startswith("SIAGA: SOS Anda")

    [alert] = await _alerts_of(api, resident.phone)
    assert (alert.channel, alert.description, alert.placement) == ("sms", text, "kecamatan")
    assert await _flags(api, alert.id) == ["no_location", "unverified_sms"]


async def test_the_key_comes_with_each_sign_in_and_is_stored_sealed(city: Api) -> None:
    api = city
    resident, key = await _sign_up(api)
    assert len(key) == 43
    # Signing in again (a new phone, past the 30 s between codes) gives the same key: the code proved the number.
    async with api.runtime.unit_of_work() as session:
        await session.execute(
            update(OneTimeCode)
            .where(OneTimeCode.phone == resident.phone)
            .values(created_at=utcnow() - timedelta(minutes=1))
        )
    asked = await api.http.post("/api/v1/residents/code", json={"phone": resident.phone})
    assert asked.status_code == 202, asked.text
    again = await api.http.post(
        "/api/v1/residents/verify", json={"phone": resident.phone, "code": api.last_code(resident.phone)}
    )
    assert again.json()["sms_key"] == key
    # The profile does not repeat it.
    profile = await api.http.get("/api/v1/residents/me", headers=resident.headers)
    assert profile.json()["sms_key"] is None
    async with api.runtime.read_sessions() as session:
        stored = await session.scalar(select(Resident).where(Resident.phone == resident.phone))
    assert stored is not None
    assert stored.sms_key is not None
    assert key not in stored.sms_key
    assert sms_keys.key_of(stored, settings=api.runtime.settings) == key


async def test_a_resident_from_before_keys_gets_one_at_the_next_profile_fetch_once(city: Api) -> None:
    api = city
    resident, _ = await _sign_up(api)
    async with api.runtime.unit_of_work() as session:
        row = await session.scalar(select(Resident).where(Resident.phone == resident.phone))
        assert row is not None
        row.sms_key = None  # as every resident was before SMS keys

    first = await api.http.get("/api/v1/residents/me", headers=resident.headers)
    second = await api.http.get("/api/v1/residents/me", headers=resident.headers)

    key = first.json()["sms_key"]
    assert isinstance(key, str)
    assert second.json()["sms_key"] is None
    alert_id = uuid.uuid4()
    await text_siaga(api.runtime, resident.phone, _message(key, alert_id))
    assert await _flags(api, alert_id) == []
    async with api.runtime.read_sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Alert).where(Alert.id == alert_id))
    assert count == 1


async def test_the_apps_learn_the_centres_sms_number_only_where_one_is_set(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    unset = await api.http.get("/api/v1/config/web")
    assert unset.json()["sms_number"] is None  # as in make demo: the app offers no SMS

    runtime = api.runtime
    monkeypatch.setattr(runtime, "settings", runtime.settings.model_copy(update={"sms_sos_number": "+628112000112"}))
    served = await api.http.get("/api/v1/config/web")
    assert served.json()["sms_number"] == "+628112000112"
