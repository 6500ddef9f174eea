"""Any text a phone or a file sends is cleaned and stored, on SQLite and PostgreSQL: a NUL byte (PostgreSQL cannot
store one), half an emoji cut by string slicing (a lone surrogate, which JSON can carry as ``\\ud800``), control
characters, markup and every other character. Only the id, the coordinates and the category may refuse an SOS press:
the resident app's outbox takes a 4xx as final, so a press refused over its description would be lost, and one
answered 500 would be retried forever and never arrive.

Each free-text field of the API is driven by Hypothesis through HTTP, and what the API then shows is compared with
the text as sent, less what cannot be stored."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siaga.accounts.domain import Role
from siaga.alerts.models import AlertPress
from tests.conftest import Api, Person, sos_body

# Every code point, surrogates included (Hypothesis leaves them out unless asked), and the pieces that broke before.
ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
HOSTILE = st.one_of(
    st.text(ANY_CHARACTER, max_size=60),
    st.sampled_from(["x\x00y", "a\ud800b", "\udfff", "😀\ud83d", "\x00", " \x07bell\x1b[31m ", "<img src=x>"]),
    st.lists(st.sampled_from(["\x00", "\ud800", "é", "😀", "a", " ", "\n", "\x7f", "\u202e"]), max_size=12).map(
        "".join
    ),
)
EXAMPLES = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def stored_form(text: str) -> str:
    """What Siaga keeps of ``text``: without C0 controls other than tab and line breaks, and without DEL; each lone
    surrogate becomes U+FFFD; surrounding whitespace trimmed."""
    kept = []
    for character in text:
        code = ord(character)
        if (code < 0x20 and character not in "\t\n\r") or code == 0x7F:
            continue
        kept.append("\ufffd" if 0xD800 <= code <= 0xDFFF else character)
    return "".join(kept).strip()


async def send(http: httpx.AsyncClient, method: str, path: str, body: Any, who: Person | None = None) -> httpx.Response:
    """``body`` as JSON the way a browser's ``JSON.stringify`` writes it: a lone surrogate as a ``\\ud800`` escape."""
    headers = {"Content-Type": "application/json", **(who.headers if who else {})}
    return await http.request(method, f"/api/v1{path}", content=json.dumps(body, ensure_ascii=True), headers=headers)


@pytest.fixture
async def resident(api: Api) -> Person:
    """One resident for every example of a test (registering one per example would meet the code request limit)."""
    return await api.resident()


@pytest.fixture
async def operator(api: Api) -> Person:
    return await api.staff(Role.OPERATOR)


@pytest.fixture
async def admin(api: Api) -> Person:
    return await api.staff(Role.ADMIN)


async def close(api: Api, resident: Person, alert_id: str) -> None:
    """Cancel the resident's alert (if it is still open), so that their next press opens a new one."""
    answer = await api.post(resident, f"/alerts/{alert_id}/cancel", {"pin": "1234"})
    assert answer.status_code in (200, 409), answer.text


def assert_not_server_error(answer: httpx.Response) -> None:
    assert answer.status_code < 500, f"{answer.request.method} {answer.request.url}: {answer.status_code} {answer.text}"


@given(text=HOSTILE)
@EXAMPLES
async def test_a_press_is_stored_whatever_its_description_holds(
    api: Api, resident: Person, operator: Person, text: str
) -> None:
    body = sos_body(description=text)
    answer = await send(api.http, "POST", "/alerts", body, resident)
    assert answer.status_code == 201, answer.text
    stored = await api.get(operator, f"/alerts/{body['id']}")
    assert stored.status_code == 200, stored.text
    assert stored.json()["description"] == stored_form(text)[:1000]
    again = sos_body(description=f"lagi {text}")  # pressed again: it joins the alert, its text kept with it
    assert (await send(api.http, "POST", "/alerts", again, resident)).status_code == 200
    async with api.runtime.read_sessions() as session:
        joined = await session.get(AlertPress, uuid.UUID(again["id"]))
    assert joined is not None
    assert joined.description == stored_form(f"lagi {text}")[:1000]
    await close(api, resident, body["id"])


ANY_JSON_VALUE = st.one_of(
    st.booleans(), st.none(), HOSTILE, st.integers(), st.floats(), st.dictionaries(HOSTILE, HOSTILE)
)


@given(value=ANY_JSON_VALUE)
@EXAMPLES
async def test_a_press_is_stored_whatever_its_optional_fields_hold(api: Api, resident: Person, value: Any) -> None:
    """Battery, silent mode, the phone's clocks, the accuracy and unknown fields never refuse an SOS."""
    body = sos_body(battery=value, silent=value, pressed_at=value, description=value, extra=value)
    body["location"].update(accuracy_m=value, recorded_at=value, heading=value)
    answer = await send(api.http, "POST", "/alerts", body, resident)
    assert answer.status_code == 201, answer.text
    await close(api, resident, body["id"])


@pytest.mark.parametrize("coordinate", [True, False, "abc", None, 91, "NaN"])
async def test_a_press_with_unusable_coordinates_is_refused_clearly(
    api: Api, resident: Person, coordinate: Any
) -> None:
    """``"lat": true`` was taken as 1.0 and stored at (1, 1)."""
    body = sos_body()
    body["location"]["lat"] = coordinate
    answer = await send(api.http, "POST", "/alerts", body, resident)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"]["problems"][0]["field"] == "location.lat"


@given(text=HOSTILE)
@EXAMPLES
async def test_a_residents_profile_keeps_any_text(api: Api, resident: Person, text: str) -> None:
    profile = {
        "name": f"Warga {text}",
        "address": text,
        "medical_notes": text,
        "emergency_contacts": [{"name": f"Kontak {text}", "phone": "0813-1111-2222", "relation": text}],
    }
    answer = await send(api.http, "PATCH", "/residents/me", profile, resident)
    assert answer.status_code == 200, answer.text
    me = (await api.get(resident, "/residents/me")).json()
    assert me["name"] == stored_form(f"Warga {text}")
    assert me["address"] == stored_form(text)
    assert me["medical_notes"] == stored_form(text)
    assert me["emergency_contacts"][0]["name"] == stored_form(f"Kontak {text}")
    assert me["emergency_contacts"][0]["relation"] == stored_form(text)


@given(text=HOSTILE)
@EXAMPLES
async def test_staff_notes_and_reports_keep_any_text(api: Api, resident: Person, operator: Person, text: str) -> None:
    alert = await api.press(resident)
    note = await send(api.http, "POST", f"/alerts/{alert['id']}/notes", {"text": f"catatan {text}"}, operator)
    assert note.status_code == 200, note.text
    resolved = await send(
        api.http, "POST", f"/alerts/{alert['id']}/resolve", {"outcome": "genuine", "report": text}, operator
    )
    assert_not_server_error(resolved)
    timeline = (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
    assert [e["data"]["text"] for e in timeline if e["kind"] == "note"] == [stored_form(f"catatan {text}")]
    if resolved.status_code == 200:
        assert (await api.get(operator, f"/alerts/{alert['id']}")).json()["report"] == stored_form(text)
    await close(api, resident, alert["id"])


@given(text=HOSTILE)
@EXAMPLES
async def test_appeals_and_moderation_reasons_keep_any_text(
    api: Api, resident: Person, admin: Person, text: str
) -> None:
    appeal = await send(api.http, "POST", "/residents/me/appeal", {"text": f"banding {text}"}, resident)
    assert appeal.status_code == 201, appeal.text
    suspend = await send(api.http, "POST", f"/residents/{resident.id}/suspend", {"reason": f"alasan {text}"}, admin)
    assert suspend.status_code == 200, suspend.text
    reinstate = await send(api.http, "POST", f"/residents/{resident.id}/reinstate", {"reason": "dipulihkan"}, admin)
    assert reinstate.status_code == 200, reinstate.text
    history = await api.get(admin, f"/residents/{resident.id}/moderation")
    assert history.status_code == 200, history.text
    reasons = {entry["reason"] for entry in history.json()}
    assert {stored_form(f"banding {text}"), stored_form(f"alasan {text}")} <= reasons


@given(text=HOSTILE)
@EXAMPLES
async def test_staff_names_logins_and_searches_take_any_text(api: Api, admin: Person, text: str) -> None:
    username = f"u{uuid.uuid4().hex[:10]}"
    created = await send(
        api.http,
        "POST",
        "/staff",
        {
            "username": username,
            "name": f"Petugas {text}",
            "role": "operator",
            "agency_id": admin.extra["agency_id"],
            "password": "sandi-yang-panjang-sekali",
        },
        admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == stored_form(f"Petugas {text}")
    login = await send(api.http, "POST", "/auth/login", {"username": f"{username}{text}", "password": text or "x"})
    assert_not_server_error(login)
    escaped = quote(text, safe="", errors="surrogatepass")  # a lone surrogate as its (invalid) UTF-8 bytes
    for url in [
        f"/residents?q={escaped}",
        f"/audit?target_id={escaped}&actor_id={escaped}&action={escaped}&target_type={escaped}",
        f"/agencies/{escaped or 'x'}",
        f"/staff?q={escaped}",
    ]:
        assert_not_server_error(await api.http.get(f"/api/v1{url}", headers=admin.headers))


@given(text=HOSTILE)
@EXAMPLES
async def test_imported_kecamatan_names_keep_any_text(api: Api, admin: Person, text: str) -> None:
    code = f"99.{uuid.uuid4().hex[:8]}"
    square = [[[110.0, -7.0], [110.01, -7.0], [110.01, -7.01], [110.0, -7.01], [110.0, -7.0]]]
    feature = {
        "type": "Feature",
        "properties": {"kode": code, "nama": f"Kec {text}", "catatan": text},
        "geometry": {"type": "Polygon", "coordinates": square},
    }
    collection = {"type": "FeatureCollection", "features": [feature]}
    answer = await send(api.http, "POST", "/jurisdictions/import", collection, admin)
    assert answer.status_code == 200, answer.text
    stored = [j for j in (await api.get(admin, "/jurisdictions")).json() if j["code"] == code]
    assert [j["name"] for j in stored] == [stored_form(f"Kec {text}")]
