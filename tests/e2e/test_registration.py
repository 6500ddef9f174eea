"""Registration by phone through the API: one-time codes (6 digits, hashed, 5 minutes, single use, limited attempts,
limits per number and per client address), phone normalisation, sessions and logout, and the cancel/duress PINs."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from siaga.accounts import security
from siaga.accounts.models import AuthSession, OneTimeCode, Resident
from siaga.app import create_app
from siaga.db import utcnow
from siaga.notify.models import OutboundMessage
from siaga.notify.sms import DevSMS
from siaga.runtime import Runtime
from tests.conftest import Api, Person, new_phone

CODE = "/api/v1/residents/code"
VERIFY = "/api/v1/residents/verify"
ME = "/api/v1/residents/me"
PINS = "/api/v1/residents/me/pins"


# --- helpers ------------------------------------------------------------------------------------------------------


def _error(answer: httpx.Response, status: int) -> dict[str, Any]:
    """The error body of ``answer``, after checking its status and the shape every error has."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["message"]
    return error


def _sms_to(db: Runtime, phone: str) -> list[dict[str, str]]:
    assert isinstance(db.sms, DevSMS)
    return db.sms.read(to=phone)


def _code_in(body: str) -> str:
    codes: list[str] = re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])", body)
    assert len(codes) == 1, f"expected one 6-digit code in {body!r}"
    return codes[0]


def _last_code(db: Runtime, phone: str) -> str:
    messages = _sms_to(db, phone)
    assert messages, f"no SMS to {phone}"
    return _code_in(messages[-1]["body"])


def _other(code: str, step: int = 1) -> str:
    """A well-formed code that is not ``code``."""
    return f"{(int(code) + step) % 1_000_000:06d}"


async def _request(http: httpx.AsyncClient, phone: str) -> httpx.Response:
    return await http.post(CODE, json={"phone": phone})


async def _requested(http: httpx.AsyncClient, phone: str) -> str:
    """Request a code and return the number in E.164 form."""
    answer = await _request(http, phone)
    assert answer.status_code == 202, answer.text
    e164: str = answer.json()["phone"]
    return e164


async def _verify(http: httpx.AsyncClient, phone: str, code: str) -> httpx.Response:
    return await http.post(VERIFY, json={"phone": phone, "code": code})


async def _codes(db: Runtime, phone: str) -> list[OneTimeCode]:
    async with db.unit_of_work() as session:
        rows = await session.scalars(select(OneTimeCode).where(OneTimeCode.phone == phone).order_by(OneTimeCode.id))
        return list(rows.all())


async def _count(db: Runtime, model: type[Any], *where: Any) -> int:
    async with db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _backdate(db: Runtime, phone: str, by: timedelta) -> None:
    """Move every code of ``phone`` into the past, as if it had been requested ``by`` earlier."""
    async with db.unit_of_work() as session:
        for row in await session.scalars(select(OneTimeCode).where(OneTimeCode.phone == phone)):
            row.created_at -= by
            row.expires_at -= by


async def _resident_row(db: Runtime, resident_id: str) -> Resident:
    async with db.unit_of_work() as session:
        row = await session.get(Resident, uuid.UUID(resident_id))
        assert row is not None
        return row


@asynccontextmanager
async def _client_at(runtime: Runtime, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a Siaga app on ``runtime`` whose requests come from ``address``."""
    app = create_app(runtime.settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://siaga.test") as http:
            yield http


def _with_settings(db: Runtime, **overrides: Any) -> Runtime:
    """The same database and adapters with some settings changed."""
    return dataclasses.replace(db, settings=db.settings.model_copy(update=overrides))


# --- the code flow ------------------------------------------------------------------------------------------------


async def test_a_code_is_six_digits_sent_by_sms_stored_hashed_and_opens_a_session(
    client: httpx.AsyncClient, db: Runtime
) -> None:
    answer = await _request(client, "0812-3456-7890")
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"phone": "+6281234567890", "expires_in": 300}
    phone = "+6281234567890"

    messages = _sms_to(db, phone)
    assert len(messages) == 1
    code = _code_in(messages[0]["body"])
    assert re.fullmatch(r"[0-9]{6}", code)

    [row] = await _codes(db, phone)
    assert row.code_hash != code
    assert code not in row.code_hash
    assert len(row.code_hash) >= 32
    assert row.expires_at - row.created_at == timedelta(seconds=db.settings.otp_ttl_seconds) == timedelta(minutes=5)
    assert row.attempts == 0
    assert row.used_at is None
    assert row.client_ip == "127.0.0.1"
    # The outbox keeps no copy of the code once the provider has it.
    async with db.unit_of_work() as session:
        stored = (await session.scalars(select(OutboundMessage).where(OutboundMessage.recipient == phone))).all()
    assert [m.status for m in stored] == ["sent"]
    assert all(code not in m.body for m in stored)

    verified = await _verify(client, phone, code)
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["is_new"] is True
    assert body["token_type"] == "bearer"
    assert body["access_token"]
    headers = {"Authorization": f"Bearer {body['access_token']}"}

    me = await client.get(ME, headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == body["resident_id"]
    assert me.json()["phone"] == phone
    who = await client.get("/api/v1/auth/me", headers=headers)
    assert who.json()["kind"] == "resident"

    [row] = await _codes(db, phone)
    assert row.used_at is not None
    # The server keeps only a hash of the session token.
    async with db.unit_of_work() as session:
        hashes = (await session.scalars(select(AuthSession.token_hash))).all()
    assert body["access_token"] not in hashes
    assert security.hash_token(body["access_token"]) in hashes


async def test_codes_are_random(client: httpx.AsyncClient, db: Runtime) -> None:
    phones = [await _requested(client, new_phone()) for _ in range(8)]
    codes = {_last_code(db, phone) for phone in phones}
    assert len(codes) >= 7  # eight equal-ish codes would mean they are not random (1e-6 chance of a clash)


async def test_a_wrong_code_counts_down_and_then_even_the_right_code_fails(
    client: httpx.AsyncClient, db: Runtime
) -> None:
    phone = await _requested(client, new_phone())
    code = _last_code(db, phone)
    limit = db.settings.otp_max_attempts
    lefts = []
    for step in range(1, limit + 1):
        error = _error(await _verify(client, phone, _other(code, step)), 422)
        assert error["code"] == "otp.wrong"
        lefts.append(error["details"]["attempts_left"])
    assert lefts == list(range(limit - 1, -1, -1))
    [row] = await _codes(db, phone)
    assert row.attempts == limit

    error = _error(await _verify(client, phone, code), 422)
    assert error["code"] == "otp.attempts"
    assert await _count(db, Resident) == 0
    assert await _count(db, AuthSession) == 0


async def test_a_used_code_cannot_be_used_again(client: httpx.AsyncClient, db: Runtime) -> None:
    phone = await _requested(client, new_phone())
    code = _last_code(db, phone)
    assert (await _verify(client, phone, code)).status_code == 200
    error = _error(await _verify(client, phone, code), 422)
    assert error["code"] == "otp.used"
    assert await _count(db, AuthSession) == 1


async def test_the_right_code_sent_twice_at_once_opens_one_session(client: httpx.AsyncClient, db: Runtime) -> None:
    phone = await _requested(client, new_phone())
    code = _last_code(db, phone)
    answers = await asyncio.gather(*(_verify(client, phone, code) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 422, 422, 422], [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 422} == {"otp.used"}
    assert await _count(db, AuthSession) == 1
    assert await _count(db, Resident) == 1


async def test_an_expired_code_is_refused(client: httpx.AsyncClient, db: Runtime) -> None:
    phone = await _requested(client, new_phone())
    code = _last_code(db, phone)
    async with db.unit_of_work() as session:
        row = await session.scalar(select(OneTimeCode).where(OneTimeCode.phone == phone))
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    error = _error(await _verify(client, phone, code), 422)
    assert error["code"] == "otp.expired"
    assert await _count(db, Resident) == 0
    assert await _count(db, AuthSession) == 0


async def test_a_code_just_inside_its_five_minutes_still_works(client: httpx.AsyncClient, db: Runtime) -> None:
    phone = await _requested(client, new_phone())
    code = _last_code(db, phone)
    await _backdate(db, phone, timedelta(seconds=db.settings.otp_ttl_seconds - 20))
    assert (await _verify(client, phone, code)).status_code == 200


async def test_a_code_for_a_number_that_never_asked_is_refused(client: httpx.AsyncClient, db: Runtime) -> None:
    error = _error(await _verify(client, new_phone(), "123456"), 422)
    assert error["code"] == "otp.not_requested"
    assert await _count(db, Resident) == 0


async def test_a_code_for_another_number_does_not_work(client: httpx.AsyncClient, db: Runtime) -> None:
    mine = await _requested(client, new_phone())
    theirs = await _requested(client, new_phone())
    my_code, their_code = _last_code(db, mine), _last_code(db, theirs)
    if my_code == their_code:  # once in a million
        my_code = _other(their_code)
    error = _error(await _verify(client, theirs, my_code), 422)
    assert error["code"] == "otp.wrong"
    assert await _count(db, Resident) == 0


async def test_a_malformed_code_is_a_422_and_is_not_counted(client: httpx.AsyncClient, db: Runtime) -> None:
    phone = await _requested(client, new_phone())
    for bad in ["12345", "1234567", "abcdef", "", "١٢٣٤٥٦"]:
        error = _error(await _verify(client, phone, bad), 422)
        assert error["code"] == "request.invalid"
        assert "code" in {p["field"] for p in error["details"]["problems"]}
    [row] = await _codes(db, phone)
    assert row.attempts == 0
    assert (await _verify(client, phone, _last_code(db, phone))).status_code == 200


async def test_a_new_code_replaces_the_previous_one(client: httpx.AsyncClient, db: Runtime) -> None:
    phone = await _requested(client, new_phone())
    first = _last_code(db, phone)
    await _backdate(db, phone, timedelta(seconds=31))
    await _requested(client, phone)
    second = _last_code(db, phone)
    old, new = await _codes(db, phone)
    assert old.used_at is not None
    assert new.used_at is None
    if first != second:  # equal by chance once in a million
        error = _error(await _verify(client, phone, first), 422)
        assert error["code"] in {"otp.wrong", "otp.used"}
    assert (await _verify(client, phone, second)).status_code == 200


# --- limits -------------------------------------------------------------------------------------------------------


async def test_a_second_code_within_thirty_seconds_is_a_429_with_retry_after(
    client: httpx.AsyncClient, db: Runtime
) -> None:
    phone = await _requested(client, new_phone())
    answer = await _request(client, phone)
    error = _error(answer, 429)
    assert error["code"] == "otp.cooldown"
    retry_after = int(answer.headers["Retry-After"])
    assert 1 <= retry_after <= 31
    assert error["details"]["retry_after"] == retry_after
    assert len(await _codes(db, phone)) == 1
    assert len(_sms_to(db, phone)) == 1

    await _backdate(db, phone, timedelta(seconds=31))
    assert (await _request(client, phone)).status_code == 202


async def test_the_cooldown_applies_to_the_number_whatever_its_format(client: httpx.AsyncClient, db: Runtime) -> None:
    assert (await _request(client, "0812-3456-7890")).status_code == 202
    for spelling in ["+62 812 3456 7890", "6281234567890", "081234567890", "0062 812 3456 7890"]:
        error = _error(await _request(client, spelling), 429)
        assert error["code"] == "otp.cooldown", spelling
    assert len(await _codes(db, "+6281234567890")) == 1


async def test_two_code_requests_at_once_for_one_number_send_one_code(client: httpx.AsyncClient, db: Runtime) -> None:
    phone = new_phone()
    answers = await asyncio.gather(*(_request(client, phone) for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [202, 429, 429], [a.text for a in answers]
    e164 = next(a.json()["phone"] for a in answers if a.status_code == 202)
    assert len(await _codes(db, e164)) == 1
    assert len(_sms_to(db, e164)) == 1


async def test_a_number_gets_only_so_many_codes_an_hour(client: httpx.AsyncClient, db: Runtime) -> None:
    phone = new_phone()
    limit = db.settings.otp_per_number_per_hour
    e164 = ""
    for _ in range(limit):
        e164 = await _requested(client, phone)
        await _backdate(db, e164, timedelta(seconds=40))  # past the 30 s cooldown, well within the hour

    answer = await _request(client, phone)
    error = _error(answer, 429)
    assert error["code"] == "otp.number_limit"
    assert int(answer.headers["Retry-After"]) > 0
    assert len(await _codes(db, e164)) == limit
    assert len(_sms_to(db, e164)) == limit

    await _backdate(db, e164, timedelta(hours=1))
    assert (await _request(client, phone)).status_code == 202


async def test_a_client_address_gets_only_so_many_codes_an_hour(client: httpx.AsyncClient, db: Runtime) -> None:
    limit = db.settings.otp_per_client_per_hour
    for _ in range(limit):
        await _requested(client, new_phone())

    refused = new_phone()
    answer = await _request(client, refused)
    error = _error(answer, 429)
    assert error["code"] == "otp.client_limit"
    assert int(answer.headers["Retry-After"]) > 0
    assert await _count(db, OneTimeCode) == limit

    # The limit is per address: another client may still ask for a code, for the same number too.
    async with _client_at(db, "198.51.100.7") as elsewhere:
        e164 = await _requested(elsewhere, refused)
    [row] = await _codes(db, e164)
    assert row.client_ip == "198.51.100.7"


# --- phone numbers ------------------------------------------------------------------------------------------------


async def test_every_way_of_writing_a_number_is_the_same_resident(client: httpx.AsyncClient, db: Runtime) -> None:
    e164 = await _requested(client, "0812-3456-7890")
    assert e164 == "+6281234567890"
    first = await _verify(client, "+62 812 3456 7890", _last_code(db, e164))
    assert first.status_code == 200, first.text
    assert first.json()["is_new"] is True

    await _backdate(db, e164, timedelta(seconds=31))
    assert await _requested(client, "6281234567890") == e164
    second = await _verify(client, "081234567890", _last_code(db, e164))
    assert second.status_code == 200, second.text
    assert second.json()["is_new"] is False
    assert second.json()["resident_id"] == first.json()["resident_id"]

    await _backdate(db, e164, timedelta(seconds=31))
    assert await _requested(client, "0062 812-3456-7890") == e164
    third = await _verify(client, "+6281234567890", _last_code(db, e164))
    assert third.json()["resident_id"] == first.json()["resident_id"]

    assert await _count(db, Resident) == 1
    assert (await _resident_row(db, first.json()["resident_id"])).phone == e164


UNUSABLE_PHONES: list[tuple[str, str]] = [
    ("12345", "phone.invalid"),
    ("not a phone", "phone.invalid"),
    ("0812", "phone.invalid"),
    ("0812-3456-7890-1234", "phone.invalid"),
    ("022-2500000", "phone.not_mobile"),  # a Bandung landline
    ("+62 21 500 000", "phone.not_mobile"),  # a Jakarta landline
    ("0800-1-500-000", "phone.not_mobile"),  # toll-free
    ("+999 1234567", "phone.region"),
]


async def test_a_number_that_cannot_get_an_sms_is_a_422_and_nothing_is_sent(
    client: httpx.AsyncClient, db: Runtime, subtests: pytest.Subtests
) -> None:
    for phone, code in UNUSABLE_PHONES:
        with subtests.test(phone):
            error = _error(await _request(client, phone), 422)
            assert error["code"] == code
            assert error["details"]["field"] == "phone"
            assert "phone" in error["message"].lower()
    assert await _count(db, OneTimeCode) == 0
    assert await _count(db, OutboundMessage) == 0
    assert isinstance(db.sms, DevSMS)
    assert db.sms.read() == []


async def test_a_malformed_code_request_is_a_422(
    client: httpx.AsyncClient, db: Runtime, subtests: pytest.Subtests
) -> None:
    bodies: list[dict[str, Any]] = [{"phone": ""}, {"phone": "1" * 40}, {}, {"phone": 812345678}, {"phone": None}]
    for body in bodies:
        with subtests.test(str(body)):
            error = _error(await client.post(CODE, json=body), 422)
            assert error["code"] == "request.invalid"
            assert "phone" in {p["field"] for p in error["details"]["problems"]}
    assert await _count(db, OneTimeCode) == 0


# --- sessions -----------------------------------------------------------------------------------------------------


async def test_logout_revokes_the_token_and_only_that_one(api: Api, client: httpx.AsyncClient, db: Runtime) -> None:
    resident = await api.resident(pins=False)
    await _backdate(db, resident.phone, timedelta(seconds=31))
    await _requested(client, resident.phone)
    other = await _verify(client, resident.phone, _last_code(db, resident.phone))
    other_headers = {"Authorization": f"Bearer {other.json()['access_token']}"}
    assert other.json()["resident_id"] == resident.id

    assert (await client.get(ME, headers=resident.headers)).status_code == 200
    answer = await client.post("/api/v1/auth/logout", headers=resident.headers)
    assert answer.status_code == 204

    for path in [ME, "/api/v1/auth/me"]:
        error = _error(await client.get(path, headers=resident.headers), 401)
        assert error["code"] == "auth.invalid_token"
    again = _error(await client.post("/api/v1/auth/logout", headers=resident.headers), 401)
    assert again["code"] == "auth.invalid_token"
    assert (await client.get(ME, headers=other_headers)).status_code == 200


async def test_an_expired_session_is_refused(api: Api, client: httpx.AsyncClient, db: Runtime) -> None:
    resident = await api.resident(pins=False)
    async with db.unit_of_work() as session:
        row = await session.scalar(
            select(AuthSession).where(AuthSession.token_hash == security.hash_token(resident.token))
        )
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    db.principals.forget_all()  # the server remembers a session for a few seconds; this one "aged" at once
    error = _error(await client.get(ME, headers=resident.headers), 401)
    assert error["code"] == "auth.invalid_token"


# --- PINs ---------------------------------------------------------------------------------------------------------


async def _set_pins(api: Api, who: Person, **pins: str) -> httpx.Response:
    return await api.http.put(PINS, json=pins, headers=who.headers)


async def test_pins_are_stored_hashed(api: Api, db: Runtime) -> None:
    resident = await api.resident(pins=False)
    assert (await api.http.get(ME, headers=resident.headers)).json()["has_pins"] is False
    assert (await _set_pins(api, resident, cancel_pin="246813", duress_pin="135792")).status_code == 204
    row = await _resident_row(db, resident.id)
    assert row.cancel_pin_hash is not None
    assert row.duress_pin_hash is not None
    assert "246813" not in row.cancel_pin_hash
    assert "135792" not in row.duress_pin_hash
    assert row.cancel_pin_hash.startswith("$argon2")
    assert row.duress_pin_hash.startswith("$argon2")
    assert security.verify_secret(row.cancel_pin_hash, "246813")
    assert security.verify_secret(row.duress_pin_hash, "135792")
    profile = (await api.http.get(ME, headers=resident.headers)).json()
    assert profile["has_pins"] is True
    assert "246813" not in str(profile)
    assert "135792" not in str(profile)


async def test_a_duress_pin_equal_to_the_cancel_pin_is_refused(api: Api, db: Runtime) -> None:
    resident = await api.resident(pins=False)
    error = _error(await _set_pins(api, resident, cancel_pin="4321", duress_pin="4321"), 422)
    assert error["code"] == "request.invalid"
    assert "duress" in error["message"]
    row = await _resident_row(db, resident.id)
    assert row.cancel_pin_hash is None
    assert row.duress_pin_hash is None


async def test_a_malformed_pin_is_a_422(api: Api, db: Runtime, subtests: pytest.Subtests) -> None:
    resident = await api.resident(pins=False)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("short", {"cancel_pin": "123", "duress_pin": "9876"}),
        ("long", {"cancel_pin": "1234", "duress_pin": "987654321"}),
        ("letter", {"cancel_pin": "12a4", "duress_pin": "9876"}),
        ("missing-duress", {"cancel_pin": "1234"}),
        ("numbers", {"cancel_pin": 1234, "duress_pin": 9876}),
    ]
    for case, pins in cases:
        with subtests.test(case):
            error = _error(await api.http.put(PINS, json=pins, headers=resident.headers), 422)
            assert error["code"] == "request.invalid"
            assert (await _resident_row(db, resident.id)).cancel_pin_hash is None


async def test_changing_pins_needs_the_current_cancel_pin(api: Api, db: Runtime) -> None:
    resident = await api.resident()  # cancel 1234, duress 9999
    before = await _resident_row(db, resident.id)

    missing = _error(await _set_pins(api, resident, cancel_pin="5678", duress_pin="8765"), 422)
    assert missing["code"] == "pin.current_required"
    wrong = _error(await _set_pins(api, resident, cancel_pin="5678", duress_pin="8765", current_cancel_pin="0000"), 422)
    assert wrong["code"] == "pin.wrong"
    after = await _resident_row(db, resident.id)
    assert (after.cancel_pin_hash, after.duress_pin_hash) == (before.cancel_pin_hash, before.duress_pin_hash)

    changed = await _set_pins(api, resident, cancel_pin="5678", duress_pin="8765", current_cancel_pin="1234")
    assert changed.status_code == 204, changed.text
    row = await _resident_row(db, resident.id)
    assert security.verify_secret(row.cancel_pin_hash, "5678")
    assert security.verify_secret(row.duress_pin_hash, "8765")
    assert not security.verify_secret(row.cancel_pin_hash, "1234")
    assert row.pin_failures == 0

    alert = await api.press(resident)
    assert _error(await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "1234"}), 422)["code"] == (
        "pin.wrong"
    )
    cancelled = await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "5678"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"


async def test_the_duress_pin_does_not_authorise_a_pin_change(api: Api, db: Runtime) -> None:
    """Only the current cancel PIN may change the PINs. The duress PIN must not change them, and the phone must not
    be told they changed (it would then offer a cancel PIN that does not work)."""
    resident = await api.resident()  # cancel 1234, duress 9999
    answer = await _set_pins(api, resident, cancel_pin="5678", duress_pin="8765", current_cancel_pin="9999")
    row = await _resident_row(db, resident.id)
    assert security.verify_secret(row.cancel_pin_hash, "1234")
    assert security.verify_secret(row.duress_pin_hash, "9999")
    assert answer.status_code == 422, (
        f"{answer.status_code}: the PINs were not changed but the answer says {answer.text!r}"
    )
    assert answer.json()["error"]["code"] == "pin.wrong"


async def test_wrong_current_pins_lock_after_the_configured_number_of_attempts(api: Api, db: Runtime) -> None:
    """The PIN-change check uses settings.pin_max_attempts, like the cancel check."""
    strict = _with_settings(db, pin_max_attempts=2)
    resident = await api.resident()
    async with _client_at(strict, "127.0.0.1") as http:
        codes = []
        for _ in range(3):
            answer = await http.put(
                PINS,
                json={"cancel_pin": "5678", "duress_pin": "8765", "current_cancel_pin": "0000"},
                headers=resident.headers,
            )
            codes.append(answer.json()["error"]["code"])
    assert codes == ["pin.wrong", "pin.wrong", "pin.locked"]
    row = await _resident_row(db, resident.id)
    assert security.verify_secret(row.cancel_pin_hash, "1234")
