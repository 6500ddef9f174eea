"""An alert as a NENA EIDO: valid against the components of NENA's published EIDO 1.0 schema, read back by another
Siaga as the same incident, without the caller where the partner may not have them, and a malformed EIDO refused
with the field that is wrong."""

from __future__ import annotations

import contextlib
import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.partners import eido
from siaga.partners.eido import EidoInvalid, IncidentFacts, Issuer, Note
from tests.conftest import TEST_DATA

EIDO_SCHEMA = TEST_DATA / "standards" / "eido-1.0-siaga-subset.schema.json"
_VALIDATOR = jsonschema_rs.validator_for(json.loads(EIDO_SCHEMA.read_text()), validate_formats=True)
AT = datetime(2026, 12, 4, 10, 42, tzinfo=UTC)
ISSUER = Issuer(host="siaga.bandung.example")


def assert_valid_eido(document: dict[str, Any]) -> None:
    """Fail with every schema error of ``document``."""
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in _VALIDATOR.iter_errors(document)]
    assert not errors, "\n".join(errors)


def facts(**changes: Any) -> IncidentFacts:
    values: dict[str, Any] = {
        "alert_id": uuid.UUID("0b9f3c1e-2a4d-4e6f-8a1b-3c5d7e9f1a2b"),
        "category": "kebakaran",
        "state": "acknowledged",
        "priority": "high",
        "channel": "app",
        "created_at": AT,
        "acknowledged_at": AT + timedelta(seconds=20),
        "updated_at": AT + timedelta(seconds=20),
        "lat": -6.8915,
        "lon": 107.6107,
        "accuracy_m": 12.0,
        "located_at": AT,
        "place": "Coblong",
        "agency_code": "BDG-POLSEK-COBLONG",
        "agency_name": "Polsek Coblong",
        "agency_kind": "polsek",
        "agency_phone": "022-2500000",
        "caller_name": "Siti Rahma",
        "caller_phone": "+6281234567890",
        "description": "Asap dari dapur <lantai 2>",
        "notes": [Note(AT + timedelta(seconds=30), "Operator Budi", "Penelepon masih di dalam")],
    }
    values.update(changes)
    return IncidentFacts(**values)


def test_an_alert_exported_as_eido_is_valid_against_the_schema_and_names_its_version() -> None:
    document = eido.build(facts(), ISSUER, now=AT)
    assert_valid_eido(document)
    assert document["eidoVersion"] == "1.0"
    assert document["$id"] == "urn:emergency:uid:incidentid:0b9f3c1e2a4d4e6f8a1b3c5d7e9f1a2b:siaga.bandung.example"
    # Every reference points at a component the document holds.
    ids = {c["$id"] for key, value in document.items() if key.endswith("Component") for c in _listed(value)}
    refs = set(_refs(document))
    assert refs <= ids, refs - ids
    assert document["incidentComponent"]["incidentTypeInternalCode"] == "kebakaran"
    assert "Asap dari dapur &lt;lantai 2&gt;" in json.dumps(document)  # notes are HTML: the resident's words escaped


def test_without_a_position_radius_and_without_notes_it_is_still_valid() -> None:
    document = eido.build(facts(accuracy_m=None, description="", notes=[], acknowledged_at=None), ISSUER, now=AT)
    assert_valid_eido(document)
    assert "gml:Point" in document["locationComponent"][0]["locationByValue"]
    assert "notesComponent" not in document


def test_another_siaga_reads_back_the_same_incident() -> None:
    incident = eido.parse(json.loads(json.dumps(eido.build(facts(), ISSUER, now=AT))))
    assert incident.incident_id.endswith(":siaga.bandung.example")
    assert incident.category == "kebakaran"
    assert (incident.lat, incident.lon, incident.accuracy_m) == (-6.8915, 107.6107, 12.0)
    assert (incident.caller_name, incident.caller_phone) == ("Siti Rahma", "+6281234567890")
    assert incident.place == "Kecamatan Coblong"
    assert any("Penelepon masih di dalam" in note for note in incident.notes)
    assert incident.sender == "siaga.bandung.example"


def test_a_partner_not_given_the_caller_gets_neither_name_nor_number() -> None:
    document = eido.build(facts(caller_name=None, caller_phone=None), ISSUER, now=AT)
    assert_valid_eido(document)
    text = json.dumps(document)
    assert "Siti" not in text
    assert "81234567890" not in text
    assert document["personComponent"][0]["personIncidentRoleRegistryText"] == ["Caller"]


def test_a_category_from_another_system_is_read_from_the_registry_words() -> None:
    document = eido.build(facts(), ISSUER, now=AT)
    del document["incidentComponent"]["incidentTypeInternalCode"]
    document["incidentComponent"]["incidentTypeCommonRegistryText"] = "Structure Fire"
    assert eido.parse(document).category == "kebakaran"
    document["incidentComponent"]["incidentTypeCommonRegistryText"] = "Something Else"
    assert eido.parse(document).category == "lainnya"


def _broken(change: str) -> dict[str, Any]:
    document = copy.deepcopy(eido.build(facts(), ISSUER, now=AT))
    location = document["locationComponent"][0]
    match change:
        case "version":
            document["eidoVersion"] = "2.0"
        case "no agency":
            document["agencyComponent"] = []
        case "no incident":
            del document["incidentComponent"]
        case "no type":
            del document["incidentComponent"]["incidentTypeCommonRegistryText"]
        case "bad stamp":
            document["lastUpdateTimeStamp"] = "yesterday"
        case "dangling location":
            document["incidentComponent"]["locationReference"] = [{"$ref": "nowhere"}]
        case "not xml":
            location["locationByValue"] = "<presence"
        case "entities":
            location["locationByValue"] = '<!DOCTYPE x [<!ENTITY a "b">]><presence/>'
        case "no position":
            location["locationByValue"] = "<presence/>"
        case "off the world":
            location["locationByValue"] = location["locationByValue"].replace("-6.891500", "-96.891500")
    return document


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("version", "$.eidoVersion"),
        ("no agency", "$.agencyComponent"),
        ("no incident", "$.incidentComponent"),
        ("no type", "$.incidentComponent.incidentTypeCommonRegistryText"),
        ("bad stamp", "$.lastUpdateTimeStamp"),
        ("dangling location", "$.incidentComponent.locationReference"),
        ("not xml", "location"),
        ("entities", "location"),
        ("no position", "location"),
        ("off the world", "location"),
    ],
)
def test_a_malformed_eido_is_refused_naming_what_is_wrong(change: str, field: str) -> None:
    with pytest.raises(EidoInvalid) as refused:
        eido.parse(_broken(change))
    assert refused.value.details["field"].startswith(field)
    assert refused.value.code == "partners.eido_invalid"


@pytest.mark.parametrize("document", [[], "eido", 7, None])
def test_what_is_not_an_object_is_refused(document: Any) -> None:
    with pytest.raises(EidoInvalid, match="JSON object"):
        eido.parse(document)


def _listed(value: Any) -> list[dict[str, Any]]:
    return value if isinstance(value, list) else [value]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if set(node) == {"$ref"} else []
        return own + [r for key, value in node.items() if key != "updatedByAgencyReference" for r in _refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document where a value sits."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_any_value_of_the_wrong_shape_anywhere_is_refused_saying_where_never_a_crash(data: st.DataObject) -> None:
    """A partner's EIDO with any one value replaced by another JSON type (a list for an id, an object for a
    reference, a number for a text) is read or refused with EidoInvalid (a 422 naming the field), never a 500."""
    document = eido.build(facts(), ISSUER, now=datetime(2026, 12, 4, 10, 42, tzinfo=UTC))
    path = data.draw(st.sampled_from(_paths(document)))
    odd = data.draw(st.sampled_from([[], ["x", ["y"]], {}, {"$ref": ["x"]}, 7, -1.5, None, True, "", "x" * 5000]))
    changed = copy.deepcopy(document)
    holder = changed
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = odd
    with contextlib.suppress(EidoInvalid):
        eido.parse(changed)
