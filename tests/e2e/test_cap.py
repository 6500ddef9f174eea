"""CAP 1.2 over HTTP: a raised alert exported as a CAP message the OASIS schema accepts, following the alert as it is
handled, drilled or cancelled; only for staff who may see the alert, naming the caller only for the command centre
and only when asked (audited); and the Atom feed of the open alerts a staff member sees, each entry's CAP valid."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import xmlschema

from siaga.accounts import apikeys
from siaga.accounts.domain import Role
from siaga.agencies import service as agencies
from siaga.audit.actor import ActorContext
from tests.conftest import CAP_SCHEMA, Api, Person

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
COBLONG = (-6.8915, 107.6107)  # near ITB: POLSEK-COBLONG's
SUKAJADI = (-6.8871, 107.5855)  # POLSEK-SUKAJADI's


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(CAP_SCHEMA))


def parsed(answer: httpx.Response) -> ET.Element:
    return ET.fromstring(answer.content)  # noqa: S314 - Siaga's own answer, in a test


async def fetch_cap(api: Api, who: Person, alert_id: str, schema: Any, **params: Any) -> ET.Element:
    """The alert's CAP message as ``who`` gets it, checked against the OASIS schema."""
    answer = await api.get(who, f"/alerts/{alert_id}/cap", **params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/cap+xml")
    assert "no-store" in answer.headers["cache-control"]
    schema.validate(answer.text)
    return parsed(answer)


def field(message: ET.Element, path: str) -> str:
    found = message.findtext(path.replace("cap:", CAP))
    assert found is not None, f"no {path} in the message"
    return found


async def test_a_raised_alert_exports_as_cap_and_each_change_is_an_update_of_the_first(api: Api, schema: Any) -> None:
    resident = await api.resident(name="Siti Rahmawati")
    operator = await api.staff(Role.OPERATOR, "DAMKAR-SEKTOR-UTARA")  # responsible for a kebakaran near ITB
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1], category="kebakaran")

    first = await fetch_cap(api, operator, alert["id"], schema)
    assert field(first, "cap:identifier") == alert["id"]
    assert field(first, "cap:sender") == "127.0.0.1"  # the host of the public address (SIAGA_PUBLIC_URL)
    assert (field(first, "cap:status"), field(first, "cap:msgType"), field(first, "cap:scope")) == (
        "Actual",
        "Alert",
        "Restricted",
    )
    assert field(first, "cap:info/cap:category") == "Fire"
    assert field(first, "cap:info/cap:area/cap:circle") == "-6.891500,107.610700 0.015"
    assert "Coblong" in field(first, "cap:info/cap:area/cap:areaDesc")
    assert (await fetch_cap(api, operator, alert["id"], schema)).findtext(f"{CAP}identifier") == alert["id"]

    acknowledged = await api.post(operator, f"/alerts/{alert['id']}/acknowledge")
    assert acknowledged.status_code == 200, acknowledged.text
    update = await fetch_cap(api, operator, alert["id"], schema)
    assert field(update, "cap:msgType") == "Update"
    assert field(update, "cap:identifier") != alert["id"]
    assert field(update, "cap:references") == ",".join(
        [field(first, "cap:sender"), field(first, "cap:identifier"), field(first, "cap:sent")]
    )
    assert field(update, "cap:incidents") == alert["id"]
    assert dict(_parameters(update))["siaga:state"] == "acknowledged"


async def test_a_cancelled_alert_is_a_cancel_of_the_first_message(api: Api, schema: Any) -> None:
    resident = await api.resident()
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    alert = await api.press(resident)
    first = await fetch_cap(api, supervisor, alert["id"], schema)

    cancelled = await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "1234"})
    assert cancelled.status_code == 200, cancelled.text
    cancel = await fetch_cap(api, supervisor, alert["id"], schema)
    assert field(cancel, "cap:msgType") == "Cancel"
    sender, identifier, sent = field(cancel, "cap:references").split(",")
    assert (sender, identifier, sent) == (
        field(first, "cap:sender"),
        field(first, "cap:identifier"),
        field(first, "cap:sent"),
    )
    assert field(cancel, "cap:note")


async def test_an_alert_closed_as_a_false_alarm_is_a_cancel_and_a_genuine_close_an_update(
    api: Api, schema: Any
) -> None:
    operator = await api.staff(Role.OPERATOR)
    mistaken = await api.press(await api.resident())
    genuine = await api.press(await api.resident())
    for alert, outcome in ((mistaken, "false_alarm"), (genuine, "genuine")):
        taken = await api.post(operator, f"/alerts/{alert['id']}/acknowledge")
        assert taken.status_code == 200, taken.text
        closed = await api.post(operator, f"/alerts/{alert['id']}/resolve", {"outcome": outcome, "report": "Ditutup"})
        assert closed.status_code == 200, closed.text
    assert field(await fetch_cap(api, operator, mistaken["id"], schema), "cap:msgType") == "Cancel"
    closed_genuine = await fetch_cap(api, operator, genuine["id"], schema)
    assert field(closed_genuine, "cap:msgType") == "Update"
    assert field(closed_genuine, "cap:info/cap:responseType") == "AllClear"


async def test_a_drills_alert_is_an_exercise(api: Api, schema: Any) -> None:
    admin = await api.staff(Role.ADMIN)
    made = await api.post(admin, "/exercise/residents", {"count": 1})
    assert made.status_code == 201, made.text
    body = made.json()[0]
    drill = Person(token=body["access_token"], name=body["name"], id=str(body["resident_id"]))
    alert = await api.press(drill)
    assert field(await fetch_cap(api, admin, alert["id"], schema), "cap:status") == "Exercise"


async def test_only_staff_who_may_see_the_alert_get_its_cap_and_each_refusal_is_recorded(api: Api) -> None:
    resident = await api.resident(name="Siti Pemilik")
    other_resident = await api.resident()
    elsewhere_officer = await api.staff(Role.OFFICER, "POLSEK-SUKAJADI")
    elsewhere_operator = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])

    missing = await api.get(elsewhere_operator, f"/alerts/{uuid.uuid4()}/cap")
    assert missing.status_code == 404
    for outsider in (elsewhere_officer, elsewhere_operator):
        refused = await api.get(outsider, f"/alerts/{alert['id']}/cap")
        json_read = await api.get(outsider, f"/alerts/{alert['id']}")
        assert refused.status_code == json_read.status_code == 404
        assert refused.json() == json_read.json() == missing.json(), "the refusal answers unlike a missing alert"
    for someone in (resident, other_resident):
        refused = await api.get(someone, f"/alerts/{alert['id']}/cap")
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "cap.staff_only"), refused.text
    assert (await api.http.get(f"/api/v1/alerts/{alert['id']}/cap")).status_code == 401

    for who in (elsewhere_officer, elsewhere_operator):
        records = await _audit(api, supervisor, outcome="denied", actor_id=f"staff:{who.id}")
        assert {(r["detail"]["path"], r["target_id"]) for r in records} == {
            (f"/api/v1/alerts/{alert['id']}/cap", alert["id"]),
            (f"/api/v1/alerts/{alert['id']}", alert["id"]),
        }
    # A resident's refusal names no agency: the administrators read it.
    records = await _audit(api, await api.staff(Role.ADMIN), outcome="denied", actor_id=resident.id)
    assert [r["detail"]["path"] for r in records] == [f"/api/v1/alerts/{alert['id']}/cap"]


async def test_the_caller_is_named_only_for_the_command_centre_when_asked_and_audited(api: Api, schema: Any) -> None:
    resident = await api.resident(name="Siti Rahmawati")
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG")
    await api.on_duty(officer)
    alert = await api.press(resident, description="di belakang warung Bu Tini")
    dispatched = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": officer.unit_id})
    assert dispatched.status_code == 200, dispatched.text

    for who in (operator, officer):
        plain = await api.get(who, f"/alerts/{alert['id']}/cap")
        assert plain.status_code == 200, plain.text
        for secret in ("Siti", resident.phone.lstrip("+"), "Bu Tini"):
            assert secret not in plain.text, f"{secret!r} is in a CAP message nobody asked to name the caller in"

    named = await fetch_cap(api, operator, alert["id"], schema, personal="true")
    parameters = dict(_parameters(named))
    assert parameters["siaga:caller_name"] == "Siti Rahmawati"
    assert parameters["siaga:caller_phone"] == resident.phone
    assert "di belakang warung Bu Tini" in field(named, "cap:info/cap:description")

    refused = await api.get(officer, f"/alerts/{alert['id']}/cap", personal="true")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "cap.personal_not_allowed"
    assert "Siti" not in refused.text

    reads = await _audit(api, supervisor, action="alert.read_cap", actor_id=f"staff:{operator.id}")
    assert sorted(r["detail"]["personal"] for r in reads) == [False, True]
    assert {(r["target_id"], r["detail"]["resident_id"]) for r in reads} == {(alert["id"], resident.id)}
    [denied] = await _audit(api, supervisor, outcome="denied", actor_id=f"staff:{officer.id}")
    assert denied["detail"]["code"] == "cap.personal_not_allowed"


async def test_the_atom_feed_holds_the_open_alerts_the_caller_sees_each_with_valid_cap(api: Api, schema: Any) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    resident = await api.resident()
    here = [await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1]) for _ in range(3)]
    elsewhere = await api.press(await api.resident(), lat=SUKAJADI[0], lon=SUKAJADI[1])
    closed = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    assert (await api.post(operator, f"/alerts/{closed['id']}/acknowledge")).status_code == 200
    resolved = await api.post(
        operator, f"/alerts/{closed['id']}/resolve", {"outcome": "genuine", "report": "Korban aman"}
    )
    assert resolved.status_code == 200, resolved.text

    answer = await api.get(operator, "/cap/feed.atom")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/atom+xml")
    root = parsed(answer)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title")
    entries = root.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert ids == [f"urn:uuid:{a['id']}" for a in reversed(here)], "not the agency's open alerts, newest first"
    assert f"urn:uuid:{elsewhere['id']}" not in ids
    for entry, alert in zip(entries, reversed(here), strict=True):
        assert entry.findtext(f"{ATOM}title")
        assert entry.findtext(f"{ATOM}updated")
        link = entry.find(f"{ATOM}link[@rel='alternate']")
        assert link is not None
        assert link.get("type") == "application/cap+xml"
        path = urlsplit(link.get("href", "")).path
        assert path == f"/api/v1/alerts/{alert['id']}/cap"
        content = entry.find(f"{ATOM}content")
        assert content is not None
        [message] = list(content)
        schema.validate(ET.tostring(message, encoding="unicode"))
        assert message.findtext(f"{CAP}identifier") == alert["id"]
        linked = await api.http.get(path, headers=operator.headers)
        assert linked.status_code == 200, linked.text
        assert parsed(linked).findtext(f"{CAP}identifier") == alert["id"]

    seen: list[str] = []
    params: dict[str, str] = {"limit": "2"}
    while True:
        page = await api.get(operator, "/cap/feed.atom", **params)
        assert page.status_code == 200, page.text
        root = parsed(page)
        seen += [str(e.findtext(f"{ATOM}id")) for e in root.findall(f"{ATOM}entry")]
        following = root.find(f"{ATOM}link[@rel='next']")
        if following is None:
            break
        params = {k: v[0] for k, v in parse_qs(urlsplit(following.get("href", "")).query).items()}
    assert seen == ids, "paging through the feed lost or repeated alerts"

    assert (await api.get(resident, "/cap/feed.atom")).status_code == 403
    assert (await api.http.get("/api/v1/cap/feed.atom")).status_code == 401
    bad = await api.get(operator, "/cap/feed.atom", before="not-a-cursor")
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "cap.bad_cursor"


async def test_an_integrators_key_reads_its_agencys_alerts_as_cap_never_naming_the_caller(
    api: Api, schema: Any
) -> None:
    resident = await api.resident(name="Siti Rahmawati")
    here = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    elsewhere = await api.press(await api.resident(), lat=SUKAJADI[0], lon=SUKAJADI[1])
    reader = await _key(api, "POLSEK-COBLONG", ["alerts:read"])
    raiser = await _key(api, "POLSEK-COBLONG", ["alerts:raise"])

    message = await fetch_cap(api, reader, here["id"], schema)
    assert field(message, "cap:identifier") == here["id"]
    assert "Siti" not in ET.tostring(message, encoding="unicode")
    named = await api.get(reader, f"/alerts/{here['id']}/cap", personal="true")
    assert (named.status_code, named.json()["error"]["code"]) == (403, "cap.personal_not_allowed")
    assert (await api.get(reader, f"/alerts/{elsewhere['id']}/cap")).status_code == 404

    listed = await api.get(reader, "/cap/feed.atom")
    assert listed.status_code == 200, listed.text
    ids = [e.findtext(f"{ATOM}id") for e in parsed(listed).iter(f"{ATOM}entry")]
    assert ids == [f"urn:uuid:{here['id']}"]
    for path in (f"/alerts/{here['id']}/cap", "/cap/feed.atom"):
        refused = await api.get(raiser, path)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "auth.scope")


async def _key(api: Api, agency_code: str, scopes: list[str]) -> Person:
    """An integrator's API key of ``agency_code``, as the one to send in Authorization: Bearer."""
    async with api.runtime.unit_of_work() as session:
        agency = await agencies.agency_by_code(session, agency_code)
        made = await apikeys.create(
            session, by=ActorContext.command_line("tester"), name="Dasbor Kota", agency_id=agency.id, scopes=scopes
        )
    return Person(token=made.key, name="Dasbor Kota", id=str(made.row.id), role="apikey")


def _parameters(message: ET.Element) -> list[tuple[str, str]]:
    return [
        (str(p.findtext(f"{CAP}valueName")), str(p.findtext(f"{CAP}value"))) for p in message.iter(f"{CAP}parameter")
    ]


async def _audit(api: Api, reader: Person, **filters: str) -> list[dict[str, Any]]:
    answer = await api.get(reader, "/audit", limit=1000, **filters)
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()
    return records
