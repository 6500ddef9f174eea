"""Registering by SMS without the app (issue 16): ``DAFTAR <nama> <NIK>`` gets the same code SMS as the app, the
phone answers the code, and the number is a resident with that name and NIK; each wrong step gets a reply saying
what is wrong, and nothing is registered until the code is right. Through the whole inbound pipeline."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.accounts.models import Resident
from siaga.notify.sms import DevSMS
from siaga.runtime import Runtime
from siaga.sms import inbound
from tests.conftest import Api, new_phone

NIK = "3273024506900001"  # Coblong (32.73.02), a woman born 5 June 1990


def _number() -> str:
    return "+62" + new_phone()[1:]


async def _text(runtime: Runtime, sender: str, text: str) -> inbound.Handled:
    handled = await inbound.receive(runtime, gateway="dev", gateway_id=str(uuid.uuid4()), sender=sender, text=text)
    assert handled is not None, "the handler failed"
    return handled


def _codes_to(runtime: Runtime, phone: str) -> list[str]:
    assert isinstance(runtime.sms, DevSMS)
    return [
        re.findall(r"\d{6}", m["body"])[0] for m in runtime.sms.read(to=phone) if m["body"].startswith("Kode Siaga")
    ]


async def _resident(runtime: Runtime, phone: str) -> Resident | None:
    async with runtime.read_sessions() as session:
        return await session.scalar(select(Resident).where(Resident.phone == phone))


async def test_daftar_then_the_code_registers_the_number_with_its_name_and_nik(api: Api) -> None:
    runtime = api.runtime
    phone = _number()

    asked = await _text(runtime, phone, "daftar Siti Aminah 3273.0245.0690.0001")

    assert asked.handler == "register.daftar"
    assert "Balas dengan kode itu" in asked.reply
    assert "Siti Aminah" in asked.reply
    [code] = _codes_to(runtime, phone)  # the app's own code SMS
    assert await _resident(runtime, phone) is None  # nothing until the phone answers

    done = await _text(runtime, phone, code)

    assert done.handler == "register.code_reply"
    assert done.reply.startswith("SIAGA: Pendaftaran Siti Aminah selesai")
    resident = await _resident(runtime, phone)
    assert resident is not None
    assert (resident.name, resident.nik, resident.nik_kecamatan, resident.sex) == ("Siti Aminah", NIK, "327302", "F")
    # Registered once: the same code again is nobody's any more (no DAFTAR waits... it was used).
    again = await _text(runtime, phone, "DAFTAR Siti Aminah " + NIK)
    assert again.reply.startswith("SIAGA: Nomor ini sudah terdaftar")


async def test_a_wrong_code_is_counted_and_said_and_the_right_one_still_registers(api: Api) -> None:
    runtime = api.runtime
    phone = _number()
    await _text(runtime, phone, f"DAFTAR Ujang {NIK}")
    [code] = _codes_to(runtime, phone)
    wrong = "000000" if code != "000000" else "111111"

    refused = await _text(runtime, phone, wrong)

    assert refused.handler == "register.code_reply"
    assert re.match(r"SIAGA: Kode salah\. Sisa \d+ percobaan\.", refused.reply)
    assert await _resident(runtime, phone) is None
    accepted = await _text(runtime, phone, f"KODE {code}")
    assert accepted.reply.startswith("SIAGA: Pendaftaran Ujang selesai")


async def test_a_wrong_nik_or_a_missing_one_gets_a_reply_and_no_code(api: Api) -> None:
    runtime = api.runtime
    phone = _number()

    bad_nik = await _text(runtime, phone, "DAFTAR Ujang 3273020513900001")  # birth month 13
    no_nik = await _text(runtime, phone, "DAFTAR Ujang")
    nothing = await _text(runtime, phone, "DAFTAR")

    assert bad_nik.reply == (
        "SIAGA: NIK 3273020513900001 tidak valid (tanggal lahir tidak sah). Periksa KTP Anda dan kirim lagi: "
        "DAFTAR <nama> <NIK>"
    )
    assert no_nik.reply.startswith("SIAGA: Untuk mendaftar kirim DAFTAR <nama> <NIK 16 angka>")
    assert nothing.reply == no_nik.reply
    assert _codes_to(runtime, phone) == []
    assert await _resident(runtime, phone) is None


async def test_six_digits_from_a_number_without_a_daftar_are_not_a_registration(api: Api) -> None:
    runtime = api.runtime
    phone = _number()

    handled = await _text(runtime, phone, "482193")

    assert handled.handler != "register.code_reply"
    assert await _resident(runtime, phone) is None


async def test_a_number_that_raised_an_sos_before_registering_keeps_its_account(api: Api) -> None:
    runtime = api.runtime
    phone = _number()
    await _text(runtime, phone, "TOLONG di pasar")
    bare = await _resident(runtime, phone)
    assert bare is not None
    assert bare.name is None

    await _text(runtime, phone, f"DAFTAR Siti {NIK}")
    [code] = _codes_to(runtime, phone)
    await _text(runtime, phone, code)

    registered = await _resident(runtime, phone)
    assert registered is not None
    assert (registered.id, registered.name, registered.nik) == (bare.id, "Siti", NIK)


async def test_at_a_counter_staff_register_a_phone_that_answers_the_code(api: Api) -> None:
    runtime = api.runtime
    supervisor = await api.staff(Role.SUPERVISOR, "POLSEK-COBLONG")
    phone = new_phone()
    form = {"phone": phone, "name": "Ujang Loket", "nik": NIK}

    bad_nik = await api.post(supervisor, "/residents/counter/code", {**form, "nik": "3273020513900001"})
    assert bad_nik.status_code == 422, bad_nik.text
    assert bad_nik.json()["error"]["code"] == "nik.birth_date"
    asked = await api.post(supervisor, "/residents/counter/code", form)
    assert asked.status_code == 202, asked.text
    e164 = asked.json()["phone"]
    [code] = _codes_to(runtime, e164)  # the app's own code SMS, and only for the good NIK
    wrong = await api.post(supervisor, "/residents/counter", {**form, "code": "000000" if code != "000000" else "1"})
    assert wrong.status_code == 422, wrong.text
    assert await _resident(runtime, e164) is None

    registered = await api.post(supervisor, "/residents/counter", {**form, "code": code})

    assert registered.status_code == 201, registered.text
    assert (registered.json()["name"], registered.json()["nik"], registered.json()["phone"]) == (
        "Ujang Loket",
        NIK,
        e164,
    )
    again = await api.post(supervisor, "/residents/counter", {**form, "code": code})
    assert again.status_code == 422  # the code is used up
