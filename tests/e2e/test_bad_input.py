"""Bad input through the API: each mistake is a clear 4xx with a stable code and a message naming the field, and
nothing half-written stays in the database."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from siaga.accounts import security
from siaga.accounts.models import EmergencyContact, Resident
from siaga.alerts.models import Alert, AlertEvent, AlertLocation
from siaga.audit.models import AuditRecord
from siaga.runtime import Runtime
from tests.conftest import Api, Person, new_phone, sos_body

ALERTS = "/api/v1/alerts"
ME = "/api/v1/residents/me"

# A valid Kota Bandung NIK (32.73.01, Sukasari): a woman born 12 March 1990 (day 12 + 40), serial 0001.
GOOD_NIK = "3273015203900001"


async def _rows(db: Runtime, model: type[Any]) -> int:
    async with db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _alert_rows(db: Runtime) -> dict[str, int]:
    return {model.__tablename__: await _rows(db, model) for model in (Alert, AlertEvent, AlertLocation)}


async def _alert_audits(db: Runtime) -> int:
    async with db.unit_of_work() as session:
        query = select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "alert.create")
        return int(await session.scalar(query) or 0)


NOTHING = {"alerts": 0, "alert_events": 0, "alert_locations": 0}


def _error(answer: httpx.Response, status: int) -> dict[str, Any]:
    """The error body of ``answer``, after checking its status and the shape every error has."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
    return error


def _fields(error: dict[str, Any]) -> set[str]:
    return {problem["field"] for problem in error["details"].get("problems", [])}


async def _assert_no_alert_written(db: Runtime) -> None:
    assert await _alert_rows(db) == NOTHING
    assert await _alert_audits(db) == 0


def _raw_body(**location: str) -> str:
    """A press as JSON text with the location's values written literally (NaN and Infinity are not JSON)."""
    inner = ", ".join(f'"{key}": {value}' for key, value in location.items())
    return f'{{"id": "{uuid.uuid4()}", "category": "kriminalitas", "location": {{{inner}}}, "battery": 80}}'


# --- the SOS press ----------------------------------------------------------------------------------------------


NON_FINITE: list[tuple[str, dict[str, str], str]] = [
    ("lat-nan", {"lat": "NaN", "lon": "107.6107"}, "location.lat"),
    ("lon-nan", {"lat": "-6.8915", "lon": "NaN"}, "location.lon"),
    ("lat-infinity", {"lat": "Infinity", "lon": "107.6107"}, "location.lat"),
    ("lon-minus-infinity", {"lat": "-6.8915", "lon": "-Infinity"}, "location.lon"),
    ("lat-nan-with-accuracy", {"lat": "NaN", "lon": "107.6107", "accuracy_m": "12"}, "location.lat"),
]


async def test_a_press_with_a_non_finite_number_is_refused_and_nothing_is_stored(
    api: Api, db: Runtime, subtests: pytest.Subtests
) -> None:
    resident = await api.resident()
    for case, location, field in NON_FINITE:
        with subtests.test(case):
            answer = await api.http.post(
                ALERTS,
                content=_raw_body(**location),
                headers={**resident.headers, "Content-Type": "application/json"},
            )
            error = _error(answer, 422)
            assert error["code"] == "request.invalid"
            assert field in _fields(error)
            assert field in error["message"]
            await _assert_no_alert_written(db)


INVALID_PRESSES: list[tuple[str, dict[str, Any], str]] = [
    ("lat-91", {"location": {"lat": 91, "lon": 107.6107}}, "location.lat"),
    ("lat-below-minus-90", {"location": {"lat": -90.0001, "lon": 107.6107}}, "location.lat"),
    ("lon-minus-181", {"location": {"lat": -6.8915, "lon": -181}}, "location.lon"),
    ("lon-180.5", {"location": {"lat": -6.8915, "lon": 180.5}}, "location.lon"),
    ("lat-true", {"location": {"lat": True, "lon": 107.6107}}, "location.lat"),
    ("unknown-category", {"category": "alien_invasion"}, "category"),
    ("empty-category", {"category": ""}, "category"),
    ("lat-text", {"location": {"lat": "abc", "lon": 107.6107}}, "location.lat"),
    ("lat-null", {"location": {"lat": None, "lon": 107.6107}}, "location.lat"),
    ("lat-list", {"location": {"lat": [1], "lon": 107.6107}}, "location.lat"),
    ("lat-missing", {"location": {"lon": 107.6107}}, "location.lat"),
    ("location-text", {"location": "Jl. Ganesha 10"}, "location"),
    ("id-not-uuid", {"id": "not-a-uuid"}, "id"),
    ("id-number", {"id": 12345}, "id"),
]


async def test_a_press_with_invalid_input_is_a_422_naming_the_field_and_nothing_is_stored(
    api: Api, db: Runtime, subtests: pytest.Subtests
) -> None:
    resident = await api.resident()
    for case, changes, field in INVALID_PRESSES:
        with subtests.test(case):
            answer = await api.http.post(ALERTS, json=sos_body(**changes), headers=resident.headers)
            error = _error(answer, 422)
            assert error["code"] == "request.invalid"
            assert field in _fields(error), error
            assert field in error["message"]
            for problem in error["details"]["problems"]:
                assert problem["problem"]
                assert problem["type"]
            await _assert_no_alert_written(db)


async def test_a_press_with_several_mistakes_names_each_of_them(api: Api, db: Runtime) -> None:
    resident = await api.resident()
    body = sos_body(location={"lat": 91, "lon": -181}, id="nope", category="ufo")
    error = _error(await api.http.post(ALERTS, json=body, headers=resident.headers), 422)
    assert {"location.lat", "location.lon", "id", "category"} <= _fields(error)
    await _assert_no_alert_written(db)


# Details a phone may get wrong that must not cost an SOS: they are dropped (or read leniently), the press is stored.
TOLERATED: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("battery-101", {"battery": 101}, {"battery": None}),
    ("battery-unknown", {"battery": -1}, {"battery": None}),
    ("battery-text", {"battery": "full"}, {"battery": None}),
    ("unknown-field", {"hacked": True}, {}),
    ("unknown-location-field", {"location": {"lat": -6.8915, "lon": 107.6107, "altitude": 700}}, {}),
    ("description-too-long", {"description": "x" * 1001}, {"description": "x" * 1000}),
    ("pressed-at-naive", {"pressed_at": "2024-05-01T10:00:00"}, {"pressed_at": "2024-05-01T10:00:00Z"}),
    ("pressed-at-not-a-date", {"pressed_at": "yesterday"}, {"pressed_at": None}),
    ("pressed-at-before-utc-began", {"pressed_at": "0001-01-01T00:00:00+05:00"}, {"pressed_at": None}),
    ("battery-true", {"battery": True}, {"battery": None}),
    ("silent-text", {"silent": "sometimes"}, {"silent": False}),
    ("silent-yes", {"silent": "ya"}, {"silent": True}),
    ("description-number", {"description": 112}, {"description": "112"}),
    ("description-object", {"description": {"text": "tolong"}}, {"description": ""}),
    ("description-nul", {"description": "x\x00y"}, {"description": "xy"}),
    (
        "accuracy-negative",
        {"location": {"lat": -6.8915, "lon": 107.6107, "accuracy_m": -1}},
        {"accuracy_m": None, "lat": -6.8915},
    ),
    (
        "recorded-at-naive",
        {"location": {"lat": -6.8915, "lon": 107.6107, "recorded_at": "2024-05-01T10:00:00"}},
        {},
    ),
]


async def test_a_press_with_unusable_details_is_still_stored_without_them(
    api: Api, db: Runtime, subtests: pytest.Subtests
) -> None:
    from siaga.accounts.domain import Role

    resident = await api.resident()
    admin = await api.staff(Role.ADMIN)
    for case, changes, stored in TOLERATED:
        with subtests.test(case):
            body = sos_body(**changes)
            answer = await api.http.post(ALERTS, json=body, headers=resident.headers)
            assert answer.status_code == 201, answer.text
            view = (await api.get(admin, f"/alerts/{body['id']}")).json()
            for key, value in stored.items():
                assert view[key] == value, (case, key, view[key])
            cancelled = await api.post(resident, f"/alerts/{body['id']}/cancel", {"pin": "1234"})
            assert cancelled.status_code == 200, cancelled.text  # the next press opens an alert of its own


MALFORMED: list[tuple[str, str]] = [
    ("truncated", '{"id": "6f1c7a52-8a0e-4f43-9a55-0c3c8b2f7a10", "location": {"lat": -6.89, "lon": 107.6'),
    ("trailing-comma", '{"id": "6f1c7a52-8a0e-4f43-9a55-0c3c8b2f7a10",}'),
    ("single-quotes", "{'id': 'single quotes'}"),
    ("plain-text", "not json at all"),
    ("trailing-garbage", '{"location": {"lat": -6.89, "lon": 107.61}} trailing'),
]


async def test_malformed_json_is_a_400(api: Api, db: Runtime, subtests: pytest.Subtests) -> None:
    resident = await api.resident()
    for case, text in MALFORMED:
        with subtests.test(case):
            answer = await api.http.post(
                ALERTS, content=text, headers={**resident.headers, "Content-Type": "application/json"}
            )
            error = _error(answer, 400)
            assert error["code"] == "request.malformed_json"
            assert "JSON" in error["message"]
            await _assert_no_alert_written(db)


async def test_json_that_is_not_an_object_is_a_422(api: Api, db: Runtime, subtests: pytest.Subtests) -> None:
    resident = await api.resident()
    for body in ["[]", "null", '"SOS"', "42"]:
        with subtests.test(body):
            answer = await api.http.post(
                ALERTS, content=body, headers={**resident.headers, "Content-Type": "application/json"}
            )
            error = _error(answer, 422)
            assert error["code"] == "request.invalid"
            await _assert_no_alert_written(db)


async def test_an_empty_body_is_a_clear_4xx(api: Api, db: Runtime) -> None:
    resident = await api.resident()
    answer = await api.http.post(ALERTS, content=b"", headers={**resident.headers, "Content-Type": "application/json"})
    assert answer.status_code in {400, 422}, answer.text
    error = _error(answer, answer.status_code)
    assert error["code"] in {"request.invalid", "request.malformed_json"}
    await _assert_no_alert_written(db)


def _oversized_press(limit: int) -> bytes:
    """A well-formed press whose description pads it past ``limit`` bytes."""
    body = sos_body(description="x" * (limit + 1024))
    data = json.dumps(body).encode()
    assert len(data) > limit
    return data


async def test_a_body_over_the_limit_with_a_content_length_is_a_413(api: Api, db: Runtime) -> None:
    resident = await api.resident()
    limit = db.settings.max_body_bytes
    data = _oversized_press(limit)
    answer = await api.http.post(ALERTS, content=data, headers={**resident.headers, "Content-Type": "application/json"})
    assert "content-length" in {k.lower() for k in answer.request.headers}
    error = _error(answer, 413)
    assert error["code"] == "request.too_large"
    assert str(limit) in error["message"]
    await _assert_no_alert_written(db)


async def test_a_streamed_body_over_the_limit_without_a_length_is_a_413(api: Api, db: Runtime) -> None:
    resident = await api.resident()
    limit = db.settings.max_body_bytes
    data = _oversized_press(limit)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    answer = await api.http.post(
        ALERTS, content=chunks(), headers={**resident.headers, "Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in answer.request.headers}
    assert answer.request.headers.get("transfer-encoding") == "chunked"
    error = _error(answer, 413)
    assert error["code"] == "request.too_large"
    assert str(limit) in error["message"]
    await _assert_no_alert_written(db)


async def test_a_lying_content_length_does_not_get_past_the_limit(api: Api, db: Runtime) -> None:
    """A client that declares a small length but streams more is still stopped at the limit."""
    resident = await api.resident()
    limit = db.settings.max_body_bytes
    data = _oversized_press(limit)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 8192):
            yield data[start : start + 8192]

    answer = await api.http.post(
        ALERTS,
        content=chunks(),
        headers={**resident.headers, "Content-Type": "application/json", "Content-Length": "100"},
    )
    error = _error(answer, 413)
    assert error["code"] == "request.too_large"
    await _assert_no_alert_written(db)


async def test_a_streamed_body_under_the_limit_is_accepted(api: Api, db: Runtime) -> None:
    """The streaming path of the limit does not refuse ordinary presses sent in pieces."""
    resident = await api.resident()
    data = json.dumps(sos_body(description="y" * 900)).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 512):
            yield data[start : start + 512]

    answer = await api.http.post(
        ALERTS, content=chunks(), headers={**resident.headers, "Content-Type": "application/json"}
    )
    assert answer.status_code == 201, answer.text
    assert await _alert_rows(db) == {"alerts": 1, "alert_events": 1, "alert_locations": 1}


async def test_a_valid_press_after_refused_ones_is_stored_once(api: Api, db: Runtime) -> None:
    """A refused press does not poison its id: fixing the input and sending the same id again works."""
    resident = await api.resident()
    body = sos_body(location={"lat": 91, "lon": 107.6107})
    assert (await api.http.post(ALERTS, json=body, headers=resident.headers)).status_code == 422
    body["location"] = {"lat": -6.8915, "lon": 107.6107}
    answer = await api.http.post(ALERTS, json=body, headers=resident.headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["id"] == body["id"]
    assert await _alert_rows(db) == {"alerts": 1, "alert_events": 1, "alert_locations": 1}


# --- routes and methods ---------------------------------------------------------------------------------------


async def test_an_unknown_route_is_a_json_404(client: httpx.AsyncClient, subtests: pytest.Subtests) -> None:
    for path in ["/api/v1/nowhere", "/api/v2/alerts", "/nothing-here"]:
        with subtests.test(path):
            error = _error(await client.get(path), 404)
            assert error["code"] == "not_found"


async def test_an_unknown_alert_id_is_a_json_404(api: Api) -> None:
    resident = await api.resident()
    error = _error(await api.get(resident, f"/alerts/{uuid.uuid4()}"), 404)
    assert error["code"] == "alert.not_found"


async def test_a_malformed_alert_id_in_the_path_is_a_422(api: Api) -> None:
    resident = await api.resident()
    error = _error(await api.get(resident, "/alerts/not-a-uuid"), 422)
    assert error["code"] == "request.invalid"
    assert "alert_id" in error["message"]


WRONG_METHODS: list[tuple[str, str]] = [
    ("DELETE", ALERTS),
    ("PUT", ALERTS),
    ("GET", "/api/v1/auth/login"),
    ("PUT", "/api/v1/residents/code"),
    ("POST", ME),  # read, edited (PATCH) and deleted (DELETE), never posted to
]


async def test_a_wrong_method_is_a_json_405(client: httpx.AsyncClient, subtests: pytest.Subtests) -> None:
    for method, path in WRONG_METHODS:
        with subtests.test(f"{method} {path}"):
            answer = await client.request(method, path)
            error = _error(answer, 405)
            assert error["code"] == "method_not_allowed"


async def test_a_405_says_which_methods_are_allowed(client: httpx.AsyncClient) -> None:
    """RFC 9110 section 15.5.6: a 405 answer must carry an Allow header listing the methods the route takes."""
    answer = await client.delete(ALERTS)
    assert answer.status_code == 405
    allowed = {m.strip() for m in answer.headers.get("allow", "").split(",") if m.strip()}
    # Starlette names the methods of the first route that matched the path (GET and POST are separate routes here).
    assert allowed
    assert allowed <= {"GET", "POST"}


async def test_a_missing_or_bad_token_is_a_json_401(client: httpx.AsyncClient) -> None:
    missing = _error(await client.post(ALERTS, json=sos_body()), 401)
    assert missing["code"] == "auth.required"
    bad = _error(await client.get(ME, headers={"Authorization": "Bearer not-a-token"}), 401)
    assert bad["code"] == "auth.invalid_token"


# --- cancelling with a wrong PIN --------------------------------------------------------------------------------


async def _alert_state(db: Runtime, alert_id: str) -> tuple[str, int]:
    async with db.unit_of_work() as session:
        alert = await session.get(Alert, uuid.UUID(alert_id))
        assert alert is not None
        return alert.state, alert.version


async def test_a_wrong_cancel_pin_is_a_422_changes_nothing_and_the_console_sees_the_attempt(
    api: Api, db: Runtime
) -> None:
    resident = await api.resident()  # cancel PIN 1234, duress PIN 9999
    alert = await api.press(resident)
    before = await _alert_state(db, alert["id"])
    events = await _rows(db, AlertEvent)

    error = _error(await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "0000"}), 422)
    assert error["code"] == "pin.wrong"
    assert error["details"]["attempts_left"] == db.settings.pin_max_attempts - 1
    assert await _alert_state(db, alert["id"]) == before == ("new", 1)
    assert await _rows(db, AlertEvent) == events + 1  # a "flagged: pin_wrong" line on the timeline
    async with db.unit_of_work() as session:
        last = await session.scalar(select(AlertEvent).order_by(AlertEvent.id.desc()).limit(1))
    assert last is not None
    assert (last.kind, last.data["reason"]) == ("flagged", "pin_wrong")
    seen = (await api.get(resident, f"/alerts/{alert['id']}")).json()
    assert seen["state"] == "new"


async def test_a_malformed_cancel_pin_is_a_422_naming_the_pin(api: Api, db: Runtime, subtests: pytest.Subtests) -> None:
    resident = await api.resident()
    alert = await api.press(resident)
    for case, pin in [("short", "12"), ("long", "123456789"), ("letter", "12a4"), ("empty", ""), ("arabic", "١٢٣٤")]:
        with subtests.test(case):
            error = _error(await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": pin}), 422)
            assert error["code"] == "request.invalid"
            assert "pin" in _fields(error)
            assert await _alert_state(db, alert["id"]) == ("new", 1)
    async with db.unit_of_work() as session:
        row = await session.get(Resident, uuid.UUID(resident.id))
        assert row is not None
        assert row.pin_failures == 0  # a malformed PIN is not a guess


async def test_too_many_wrong_pins_lock_cancelling_but_never_the_duress_pin(api: Api, db: Runtime) -> None:
    resident = await api.resident()
    alert = await api.press(resident)
    path = f"/alerts/{alert['id']}/cancel"
    limit = db.settings.pin_max_attempts
    lefts = []
    for _ in range(limit):
        error = _error(await api.post(resident, path, {"pin": "0000"}), 422)
        assert error["code"] == "pin.wrong"
        lefts.append(error["details"]["attempts_left"])
    assert lefts == list(range(limit - 1, -1, -1))

    locked = await api.post(resident, path, {"pin": "1234"})
    error = _error(locked, 429)
    assert error["code"] == "pin.locked"
    assert int(locked.headers["Retry-After"]) > 0
    state, _ = await _alert_state(db, alert["id"])
    assert state == "new"
    # The duress PIN still works while cancelling is locked: it looks like a cancel and raises the alarm.
    duress = await api.post(resident, path, {"pin": "9999"})
    assert duress.status_code == 200, duress.text
    assert duress.json()["state"] == "cancelled"
    async with db.unit_of_work() as session:
        kinds = (
            await session.scalars(
                select(AlertEvent.kind)
                .where(AlertEvent.alert_id == uuid.UUID(alert["id"]))
                .order_by(AlertEvent.id)  # the timeline's order, whatever order the database returns rows in
            )
        ).all()
    assert list(kinds) == ["created"] + ["flagged"] * (limit + 1) + ["duress", "escalated"]
    state, _ = await _alert_state(db, alert["id"])
    assert state == "new"


async def test_a_right_pin_before_the_limit_resets_the_count(api: Api, db: Runtime) -> None:
    resident = await api.resident()
    first = await api.press(resident)
    for _ in range(db.settings.pin_max_attempts - 1):
        assert (await api.post(resident, f"/alerts/{first['id']}/cancel", {"pin": "0000"})).status_code == 422
    assert (await api.post(resident, f"/alerts/{first['id']}/cancel", {"pin": "1234"})).status_code == 200
    second = await api.press(resident)  # a new alert: the first is closed
    error = _error(await api.post(resident, f"/alerts/{second['id']}/cancel", {"pin": "0000"}), 422)
    assert error["details"]["attempts_left"] == db.settings.pin_max_attempts - 1


# --- the profile: NIK and emergency contacts --------------------------------------------------------------------


async def _profile(api: Api, resident: Person) -> dict[str, Any]:
    answer = await api.http.get(ME, headers=resident.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_valid_nik_fills_in_birth_date_and_sex(api: Api) -> None:
    resident = await api.resident()
    answer = await api.http.patch(ME, json={"nik": "3273 0152 0390 0001"}, headers=resident.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["nik"] == GOOD_NIK
    assert body["birth_date"] == "1990-03-12"
    assert body["sex"] == "F"


INVALID_NIKS: list[tuple[str, str, str]] = [
    ("15-digits", "327301120390001", "nik.format"),
    ("17-digits", "32730112039000012", "nik.format"),
    ("letter-o", "32730112039O0001", "nik.format"),
    ("empty", "", "nik.format"),
    ("unknown-province-99", "9999011203900001", "nik.region"),
    ("unknown-regency-32.99", "3299011203900001", "nik.region"),
    ("kecamatan-00", "3273001203900001", "nik.region"),
    ("31-february", "3273013102900001", "nik.birth_date"),
    ("31-february-woman", "3273017102900001", "nik.birth_date"),  # 71 = 31 + 40
    ("day-00", "3273010003900001", "nik.birth_date"),
    ("month-13", "3273011213900001", "nik.birth_date"),
    ("day-35", "3273013502900001", "nik.birth_date"),  # neither a man's (01-31) nor a woman's (41-71) day
    ("serial-0000", "3273011203900000", "nik.serial"),
]


async def test_an_invalid_nik_is_a_422_and_the_profile_is_unchanged(
    api: Api, db: Runtime, subtests: pytest.Subtests
) -> None:
    resident = await api.resident(name="Siti Rahma")
    set_up = await api.http.patch(ME, json={"nik": GOOD_NIK, "address": "Jl. Ganesha 10"}, headers=resident.headers)
    assert set_up.status_code == 200, set_up.text
    before = await _profile(api, resident)

    for case, nik, code in INVALID_NIKS:
        with subtests.test(case):
            answer = await api.http.patch(
                ME, json={"name": "Someone Else", "address": "Jl. Lain 1", "nik": nik}, headers=resident.headers
            )
            error = _error(answer, 422)
            assert error["code"] == code
            assert error["details"].get("field") == "nik"
            assert "NIK" in error["message"]
            assert await _profile(api, resident) == before
            async with db.unit_of_work() as session:
                row = await session.get(Resident, uuid.UUID(resident.id))
                assert row is not None
                assert (row.name, row.nik, row.address, row.sex) == ("Siti Rahma", GOOD_NIK, "Jl. Ganesha 10", "F")


async def test_a_nik_that_is_too_long_for_the_field_is_a_422(api: Api) -> None:
    resident = await api.resident()
    error = _error(await api.http.patch(ME, json={"nik": "3" * 40}, headers=resident.headers), 422)
    assert error["code"] == "request.invalid"
    assert "nik" in _fields(error)


async def test_a_nik_registered_to_another_resident_is_taken_like_any_other(api: Api) -> None:
    # A refusal would tell anyone whether a NIK is registered and lock its owner out if a stranger registered it
    # first: it is accepted and flagged for a supervisor (tests/e2e/test_identity_oracles.py).
    first = await api.resident(name="Pertama")
    second = await api.resident(name="Kedua")
    assert (await api.http.patch(ME, json={"nik": GOOD_NIK}, headers=first.headers)).status_code == 200
    answer = await api.http.patch(ME, json={"name": "Ganti", "nik": GOOD_NIK}, headers=second.headers)
    assert answer.status_code == 200, answer.text
    profile = await _profile(api, second)
    assert (profile["name"], profile["nik"]) == ("Ganti", GOOD_NIK)


async def _contacts(db: Runtime, resident: Person) -> list[tuple[str, str]]:
    async with db.unit_of_work() as session:
        rows = await session.scalars(
            select(EmergencyContact)
            .where(EmergencyContact.resident_id == uuid.UUID(resident.id))
            .order_by(EmergencyContact.id)
        )
        return [(row.name, row.phone) for row in rows]


INVALID_CONTACT_PHONES: list[tuple[str, str, str]] = [
    ("digits", "12345", "phone.invalid"),
    ("words", "not a phone", "phone.invalid"),
    ("landline", "022-2500000", "phone.not_mobile"),
    ("too-short", "0812", "phone.invalid"),
]


async def test_an_invalid_emergency_contact_is_a_422_and_the_earlier_contacts_stay(
    api: Api, db: Runtime, subtests: pytest.Subtests
) -> None:
    resident = await api.resident(name="Siti Rahma")
    contacts = [
        {"name": "Ibu", "phone": new_phone(), "relation": "ibu"},
        {"name": "Adik", "phone": new_phone(), "relation": "adik"},
    ]
    set_up = await api.http.patch(ME, json={"emergency_contacts": contacts}, headers=resident.headers)
    assert set_up.status_code == 200, set_up.text
    before = await _contacts(db, resident)
    assert [name for name, _ in before] == ["Ibu", "Adik"]

    for case, phone, code in INVALID_CONTACT_PHONES:
        with subtests.test(case):
            replacement = [
                {"name": "Kakak", "phone": new_phone(), "relation": "kakak"},
                {"name": "Tetangga", "phone": phone, "relation": "tetangga"},
            ]
            answer = await api.http.patch(
                ME, json={"name": "Ganti", "emergency_contacts": replacement}, headers=resident.headers
            )
            error = _error(answer, 422)
            assert error["code"] == code
            assert error["details"]["field"] == "emergency_contacts.1.phone"
            assert await _contacts(db, resident) == before
            profile = await _profile(api, resident)
            assert profile["name"] == "Siti Rahma"
            assert [c["name"] for c in profile["emergency_contacts"]] == ["Ibu", "Adik"]


async def test_an_emergency_contact_with_the_residents_own_number_is_refused(api: Api, db: Runtime) -> None:
    resident = await api.resident()
    contacts = [{"name": "Saya", "phone": resident.phone}]
    error = _error(await api.http.patch(ME, json={"emergency_contacts": contacts}, headers=resident.headers), 422)
    assert error["code"] == "resident.contact_is_self"
    assert await _contacts(db, resident) == []


INVALID_PROFILES: list[tuple[str, dict[str, Any], str]] = [
    (
        "contact-without-name",
        {"emergency_contacts": [{"name": "", "phone": "081234567890"}]},
        "emergency_contacts.0.name",
    ),
    ("contact-without-phone", {"emergency_contacts": [{"name": "Ibu"}]}, "emergency_contacts.0.phone"),
    (
        "six-contacts",
        {"emergency_contacts": [{"name": f"K{i}", "phone": "081234567890"} for i in range(6)]},
        "emergency_contacts",
    ),
    ("language", {"language": "fr"}, "language"),
    ("name-too-long", {"name": "n" * 201}, "name"),
    ("phone-is-not-editable", {"phone": "081234567890"}, "phone"),
]


async def test_an_invalid_profile_body_is_a_422_and_nothing_changes(
    api: Api, db: Runtime, subtests: pytest.Subtests
) -> None:
    resident = await api.resident(name="Siti Rahma")
    before = await _profile(api, resident)
    for case, body, field in INVALID_PROFILES:
        with subtests.test(case):
            error = _error(await api.http.patch(ME, json=body, headers=resident.headers), 422)
            assert error["code"] == "request.invalid"
            assert field in _fields(error)
            assert await _profile(api, resident) == before


async def test_pins_are_not_readable_back_and_stay_hashed_after_a_refused_change(api: Api, db: Runtime) -> None:
    resident = await api.resident()
    answer = await api.http.put(
        f"{ME}/pins",
        json={"cancel_pin": "5555", "duress_pin": "5555", "current_cancel_pin": "1234"},
        headers=resident.headers,
    )
    assert _error(answer, 422)["code"] == "request.invalid"
    async with db.unit_of_work() as session:
        row = await session.get(Resident, uuid.UUID(resident.id))
        assert row is not None
        assert security.verify_secret(row.cancel_pin_hash, "1234")
        assert security.verify_secret(row.duress_pin_hash, "9999")
    assert "pin" not in json.dumps(await _profile(api, resident)).replace("has_pins", "")
