"""CAP 1.2 messages and their Atom feed, as pure functions: every alert Siaga can hold makes a message the OASIS
schema accepts, the message follows the alert's state as a receiver needs it, and nobody is named unless asked."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.alerts.domain import AlertState, Category, Outcome, Priority
from siaga.cap import domain, feed
from siaga.cap.domain import AlertFacts, Caller
from tests.conftest import CAP_SCHEMA

CAP = f"{{{domain.CAP_NAMESPACE}}}"
ATOM = f"{{{feed.ATOM_NAMESPACE}}}"
SENDER = "siaga.bandung.example"
PRESSED = datetime(2026, 12, 4, 7, 5, 27, 123456, tzinfo=UTC)


@pytest.fixture
def schema() -> xmlschema.XMLSchema:
    return _schema()


def alert(**changes: Any) -> AlertFacts:
    facts = AlertFacts(
        id=uuid.UUID("8d7f1c2e-3b4a-4c5d-9e6f-7a8b9c0d1e2f"),
        state=AlertState.NEW,
        category=Category.KRIMINALITAS,
        priority=Priority.NORMAL,
        outcome=None,
        is_exercise=False,
        duress=False,
        silent=False,
        channel="app",
        agency_name="Polsek Coblong",
        agency_phone="022-2503000",
        kecamatan="Coblong",
        kecamatan_code="32.73.02",
        lat=-6.8915,
        lon=107.6107,
        accuracy_m=15.0,
        located=True,
        place_rounded=False,
        unit_callsign=None,
        created_at=PRESSED,
        updated_at=PRESSED,
    )
    return replace(facts, **changes)


def later(**changes: Any) -> AlertFacts:
    return alert(updated_at=PRESSED + timedelta(minutes=2), **changes)


def cap(facts: AlertFacts) -> bytes:
    return domain.serialise(domain.message(facts, sender=SENDER))


def parsed(document: bytes) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - the document was made by the test itself


def text(element: ET.Element, path: str) -> str | None:
    return element.findtext(path.replace("cap:", CAP))


def test_a_new_alert_is_the_first_message_and_the_schema_accepts_it(schema: Any) -> None:
    document = cap(alert())
    schema.validate(document.decode())
    root = parsed(document)
    assert root.tag == f"{CAP}alert"
    assert text(root, "cap:identifier") == "8d7f1c2e-3b4a-4c5d-9e6f-7a8b9c0d1e2f"
    assert text(root, "cap:sender") == SENDER
    assert text(root, "cap:sent") == "2026-12-04T07:05:27-00:00"
    assert (text(root, "cap:status"), text(root, "cap:msgType"), text(root, "cap:scope")) == (
        "Actual",
        "Alert",
        "Restricted",
    )
    assert "publik" in (text(root, "cap:restriction") or "")
    assert root.find(f"{CAP}references") is None
    assert text(root, "cap:incidents") == "8d7f1c2e-3b4a-4c5d-9e6f-7a8b9c0d1e2f"
    assert text(root, "cap:info/cap:language") == "id-ID"
    assert text(root, "cap:info/cap:category") == "Security"
    assert (
        text(root, "cap:info/cap:urgency"),
        text(root, "cap:info/cap:severity"),
        text(root, "cap:info/cap:certainty"),
    ) == ("Immediate", "Severe", "Likely")
    assert text(root, "cap:info/cap:area/cap:areaDesc") == "Kecamatan Coblong"
    assert text(root, "cap:info/cap:area/cap:circle") == "-6.891500,107.610700 0.015"
    assert "14:05 WIB" in (text(root, "cap:info/cap:description") or "")


def test_every_later_version_is_an_update_referencing_the_first_with_an_identifier_of_its_own() -> None:
    first = alert()
    acknowledged = later(state=AlertState.ACKNOWLEDGED)
    root = parsed(cap(acknowledged))
    assert text(root, "cap:msgType") == "Update"
    identifier = text(root, "cap:identifier")
    assert identifier is not None
    assert identifier != domain.identifier(first)
    assert identifier == domain.identifier(acknowledged), "fetching the same version again changes its identifier"
    assert text(root, "cap:references") == f"{SENDER},{domain.identifier(first)},2026-12-04T07:05:27-00:00"
    assert text(root, "cap:sent") == "2026-12-04T07:07:27-00:00"
    moved = replace(acknowledged, updated_at=acknowledged.updated_at + timedelta(seconds=1), lat=-6.8920)
    assert domain.identifier(moved) != identifier, "a newer position kept the identifier of the older message"


def test_a_new_alert_that_changed_while_new_is_an_update() -> None:
    assert domain.msg_type(later(state=AlertState.NEW)) is domain.MsgType.UPDATE


@pytest.mark.parametrize(
    ("state", "outcome", "kind"),
    [
        (AlertState.CANCELLED, None, "Cancel"),
        (AlertState.RESOLVED, Outcome.FALSE_ALARM, "Cancel"),
        (AlertState.RESOLVED, Outcome.PRANK, "Cancel"),
        (AlertState.RESOLVED, Outcome.TEST, "Cancel"),
        (AlertState.RESOLVED, Outcome.DUPLICATE, "Cancel"),
        (AlertState.RESOLVED, Outcome.GENUINE, "Update"),
    ],
)
def test_a_closed_alert_cancels_the_first_message_unless_it_was_genuine(
    schema: Any, state: AlertState, outcome: Outcome | None, kind: str
) -> None:
    document = cap(later(state=state, outcome=outcome))
    schema.validate(document.decode())
    root = parsed(document)
    assert text(root, "cap:msgType") == kind
    assert (text(root, "cap:references") or "").split(",")[1] == "8d7f1c2e-3b4a-4c5d-9e6f-7a8b9c0d1e2f"
    assert text(root, "cap:info/cap:urgency") == "Past"
    if kind == "Cancel":
        assert text(root, "cap:note"), "a cancel says why"
        assert text(root, "cap:info/cap:responseType") == "None"
    else:
        assert text(root, "cap:info/cap:responseType") == "AllClear"
        assert text(root, "cap:info/cap:certainty") == "Observed"


def test_a_drills_alert_is_an_exercise() -> None:
    root = parsed(cap(alert(is_exercise=True)))
    assert text(root, "cap:status") == "Exercise"
    assert (text(root, "cap:info/cap:headline") or "").startswith("LATIHAN")


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        (Category.KRIMINALITAS, ["Security"]),
        (Category.KECELAKAAN, ["Rescue"]),
        (Category.KEBAKARAN, ["Fire"]),
        (Category.KESEHATAN, ["Health"]),
        (Category.KDRT, ["Security"]),
        (Category.BENCANA_ALAM, ["Geo", "Met"]),
        (Category.KERUSUHAN, ["Security"]),
        (Category.LAINNYA, ["Other"]),
    ],
)
def test_each_category_has_its_cap_categories(category: Category, expected: list[str]) -> None:
    root = parsed(cap(alert(category=category)))
    assert [c.text for c in root.iter(f"{CAP}category")] == expected
    assert text(root, "cap:info/cap:eventCode/cap:value") == category.value


def test_priority_and_duress_raise_the_severity() -> None:
    assert domain.severity(alert(category=Category.LAINNYA)) == "Unknown"
    assert domain.severity(alert(category=Category.LAINNYA, priority=Priority.HIGH)) == "Severe"
    assert domain.severity(later(priority=Priority.CRITICAL)) == "Extreme"
    assert domain.severity(later(duress=True)) == "Extreme"
    assert domain.certainty(later(state=AlertState.ON_SCENE)) == "Observed"


def test_the_circle_follows_what_is_known_of_the_position() -> None:
    assert domain.circle(alert(accuracy_m=None)) == f"-6.891500,107.610700 {domain.UNKNOWN_ACCURACY_KM:.3f}"
    assert domain.circle(alert(place_rounded=True, lat=-6.89, lon=107.61)) == "-6.890000,107.610000 1.000"
    root = parsed(cap(alert(located=False)))
    assert root.find(f"{CAP}info/{CAP}area/{CAP}circle") is None, "a kecamatan's centre was given as a place"
    assert text(root, "cap:info/cap:area/cap:areaDesc") == "Kecamatan Coblong"


def test_nobody_is_named_unless_the_caller_is_given(schema: Any) -> None:
    caller = Caller(name="Siti Rahma", phone="+6281234567890", words="di belakang <rumah> & gang")
    anonymous = cap(alert())
    for secret in ("Siti", "6281234567890", "gang"):
        assert secret.encode() not in anonymous
    named = cap(alert(caller=caller))
    schema.validate(named.decode())
    root = parsed(named)
    description = text(root, "cap:info/cap:description") or ""
    assert "Siti Rahma" in description
    assert "+6281234567890" in description
    assert "di belakang <rumah> & gang" in description, "the caller's words were not escaped and kept"
    parameters = {p.findtext(f"{CAP}valueName"): p.findtext(f"{CAP}value") for p in root.iter(f"{CAP}parameter")}
    assert parameters["siaga:caller_phone"] == "+6281234567890"
    assert "Data Pribadi" in (text(root, "cap:restriction") or "")


@settings(max_examples=100, deadline=None)
@given(
    state=st.sampled_from(AlertState),
    category=st.sampled_from(Category),
    priority=st.sampled_from(Priority),
    outcome=st.none() | st.sampled_from(Outcome),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans()),
    kecamatan=st.none() | st.text(max_size=40),
    words=st.text(max_size=80),
    name=st.none() | st.text(max_size=40),
    accuracy=st.none() | st.floats(min_value=0, max_value=100_000),
    lat=st.floats(min_value=-90, max_value=90),
    lon=st.floats(min_value=-180, max_value=180),
    changed=st.integers(min_value=0, max_value=10**9),
)
def test_every_alert_makes_a_message_the_schema_accepts(
    state: AlertState,
    category: Category,
    priority: Priority,
    outcome: Outcome | None,
    flags: tuple[bool, bool, bool, bool, bool],
    kecamatan: str | None,
    words: str,
    name: str | None,
    accuracy: float | None,
    lat: float,
    lon: float,
    changed: int,
) -> None:
    exercise, duress, silent, located, personal = flags
    facts = alert(
        state=state,
        category=category,
        priority=priority,
        outcome=outcome if state is AlertState.RESOLVED else None,
        is_exercise=exercise,
        duress=duress,
        silent=silent,
        located=located,
        kecamatan=kecamatan,
        accuracy_m=accuracy,
        lat=lat,
        lon=lon,
        updated_at=PRESSED + timedelta(microseconds=changed),
        unit_callsign="CBL-1" if state is AlertState.DISPATCHED else None,
        caller=Caller(name=name, phone="+6281234567890", words=words) if personal else None,
    )
    schema = _schema()
    schema.validate(cap(facts).decode())


_SCHEMA: list[xmlschema.XMLSchema] = []


def _schema() -> xmlschema.XMLSchema:
    """The OASIS schema, parsed once."""
    if not _SCHEMA:
        _SCHEMA.append(xmlschema.XMLSchema(str(CAP_SCHEMA)))
    return _SCHEMA[0]


def test_the_feed_is_atom_with_each_alerts_cap_message_as_its_content(schema: Any) -> None:
    first = alert()
    second = later(id=uuid.uuid4(), category=Category.KEBAKARAN, state=AlertState.DISPATCHED, unit_callsign="D-1")
    page = feed.Page(
        id="https://siaga.example/api/v1/cap/feed.atom",
        title="SOS yang sedang ditangani: Polsek Coblong",
        author="Polsek Coblong",
        self_url="https://siaga.example/api/v1/cap/feed.atom",
        next_url="https://siaga.example/api/v1/cap/feed.atom?before=abc",
        generated_at=PRESSED,
    )
    entries = [feed.Entry(f, f"https://siaga.example/api/v1/alerts/{f.id}/cap") for f in (second, first)]
    root = parsed(feed.serialise(feed.feed(page, entries, sender=SENDER)))
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}updated") == "2026-12-04T07:07:27Z", "the feed is as new as its newest entry"
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"self": page.self_url, "next": page.next_url}
    found = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in found] == [f"urn:uuid:{second.id}", f"urn:uuid:{first.id}"]
    for entry, facts in zip(found, (second, first), strict=True):
        assert entry.findtext(f"{ATOM}title") == domain.headline(facts)
        link = entry.find(f"{ATOM}link[@rel='alternate']")
        assert link is not None
        assert link.get("type") == domain.MEDIA_TYPE
        assert link.get("href") == f"https://siaga.example/api/v1/alerts/{facts.id}/cap"
        content = entry.find(f"{ATOM}content")
        assert content is not None
        assert content.get("type") == domain.MEDIA_TYPE
        [message] = list(content)
        schema.validate(ET.tostring(message, encoding="unicode"))
        assert message.findtext(f"{CAP}identifier") == domain.identifier(facts)


def test_the_sender_is_the_public_addresss_host() -> None:
    assert domain.sender_of("https://siaga.bandung.go.id/") == "siaga.bandung.go.id"
    assert domain.sender_of("http://127.0.0.1:8000") == "127.0.0.1"
    assert domain.sender_of("") == "siaga.invalid"
