"""An alert as a NENA Emergency Incident Data Object (EIDO, JSON), and an EIDO from a partner read back: pure, no I/O.

Siaga follows NENA-STA-021.1b-2022, "EIDO JSON", whose schema NENA publishes as an OpenAPI document
(github.com/NENA911/EIDO-JSON, ``Schema/openapi.yaml``, info.version 1.0.0, ``eidoVersion`` "1.0"). An EIDO is one
object (``EmergencyIncidentDataObjectType``) holding lists of components, each with the common prologue (``$id``,
``lastUpdateTimeStamp``, ``updatedByAgencyReference``); components point at each other with ``{"$ref": <$id>}``.

What Siaga writes: the incident, the call (the press), the caller's callback number, the owning agency, the
location (a PIDF-LO document by value: a GML circle of the position and its accuracy), the person (the caller) and
the notes (the resident's words and the operators' notes). The caller's name and number go only where the partner
is configured to receive them (``share_caller``); NIK, medical notes and emergency contacts never do.

The registry values (incident types, agency types, roles) come from NENA's and IANA's registries where Siaga knows
them; Siaga's own category always travels in ``incidentTypeInternalCode``, which is what another Siaga reads.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any
from xml.etree import ElementTree

from siaga.errors import Invalid
from siaga.text import clean_text

EIDO_VERSION = "1.0"
STANDARD = "NENA-STA-021.1b-2022 (EIDO JSON), schema 1.0.0"
CATEGORIES = ("kriminalitas", "kecelakaan", "kebakaran", "kesehatan", "kdrt", "bencana_alam", "kerusuhan", "lainnya")

# Siaga's categories in the NENA incident type registry's words (what a partner's CAD shows), and back.
INCIDENT_TYPES = {
    "kriminalitas": "Law Enforcement",
    "kecelakaan": "Traffic Accident",
    "kebakaran": "Fire",
    "kesehatan": "Medical",
    "kdrt": "Domestic Violence",
    "bencana_alam": "Natural Disaster",
    "kerusuhan": "Civil Disturbance",
    "lainnya": "Other",
}
CATEGORY_LABELS = {
    "kriminalitas": "Kriminalitas",
    "kecelakaan": "Kecelakaan",
    "kebakaran": "Kebakaran",
    "kesehatan": "Kesehatan",
    "kdrt": "KDRT / kekerasan anak & perempuan",
    "bencana_alam": "Bencana alam",
    "kerusuhan": "Kerusuhan",
    "lainnya": "Lainnya",
}
# Agency kinds as IANA's urn:emergency:service:responder names them (without the prefix).
AGENCY_TYPES = {
    "command_centre": "psap",
    "call_centre": "psap",
    "polda": "police",
    "polres": "police",
    "polsek": "police",
    "police": "police",
    "damkar": "fire",
    "fire": "fire",
    "psc119": "ems",
    "medical": "ems",
    "ambulance": "ems",
    "bpbd": "other",
}
STATUSES = {  # Siaga's alert states as incident statuses
    "new": "Pending",
    "acknowledged": "Active",
    "dispatched": "Dispatched",
    "en_route": "Dispatched",
    "on_scene": "OnScene",
    "resolved": "Closed",
    "cancelled": "Closed",
}

_NS = {
    "pidf": "urn:ietf:params:xml:ns:pidf",
    "gp": "urn:ietf:params:xml:ns:pidf:geopriv10",
    "gml": "http://www.opengis.net/gml",
    "gs": "http://www.opengis.net/pidflo/1.0",
}
MAX_TEXT = 2000  # characters of one note or description kept from a partner
MAX_LOCATION_XML = 20_000


@dataclass(frozen=True, slots=True)
class Note:
    at: datetime
    author: str
    text: str


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What Siaga tells a partner about an alert."""

    alert_id: uuid.UUID
    category: str
    state: str
    priority: str
    channel: str
    created_at: datetime
    acknowledged_at: datetime | None
    updated_at: datetime
    lat: float
    lon: float
    accuracy_m: float | None
    located_at: datetime | None
    place: str  # the kecamatan's name, or ""
    agency_code: str
    agency_name: str
    agency_kind: str
    agency_phone: str | None
    caller_name: str | None  # None: not shared with this partner
    caller_phone: str | None
    description: str
    notes: Sequence[Note] = ()


@dataclass(frozen=True, slots=True)
class Issuer:
    """The Siaga that writes the EIDO: ``host`` names it (its public URL's host), and component ids under it are
    globally unique."""

    host: str


def incident_id(alert_id: uuid.UUID, issuer: Issuer) -> str:
    """The incident's globally unique id, in NENA's form (``urn:emergency:uid:incidentid:<id>:<domain>``)."""
    return f"urn:emergency:uid:incidentid:{alert_id.hex}:{issuer.host}"


def build(facts: IncidentFacts, issuer: Issuer, *, now: datetime) -> dict[str, Any]:
    """The alert as an EIDO (a JSON object ready for ``json.dumps``)."""
    key, host = facts.alert_id.hex, issuer.host
    agency_id = f"{facts.agency_code.lower()}.{host}"
    ids = {
        "eido": incident_id(facts.alert_id, issuer),
        "incident": f"urn:emergency:uid:incidentcomponentid:{key}:{host}",
        "call": f"urn:emergency:uid:callid:{key}:{host}",
        "location": f"urn:emergency:uid:locationid:{key}:{host}",
        "person": f"urn:emergency:uid:personid:{key}:{host}",
        "callback": f"urn:emergency:uid:callbackid:{key}:{host}",
    }
    by_agency = {"$ref": agency_id}

    def prologue(component_id: str, at: datetime) -> dict[str, Any]:
        return {"$id": component_id, "lastUpdateTimeStamp": _stamp(at), "updatedByAgencyReference": by_agency}

    notes = [*([Note(facts.created_at, "", facts.description)] if facts.description else []), *facts.notes]
    note_ids = [f"urn:emergency:uid:noteid:{key}-{n}:{host}" for n in range(len(notes))]
    note_refs = [{"$ref": i} for i in note_ids]
    location_ref = [{"$ref": ids["location"]}]
    person_ref = [{"$ref": ids["person"]}]
    incident: dict[str, Any] = {
        **prologue(ids["incident"], facts.updated_at),
        "incidentTypeCommonRegistryText": INCIDENT_TYPES.get(facts.category, "Other"),
        "incidentTypeInternalCode": facts.category,
        "incidentTypeInternalText": CATEGORY_LABELS.get(facts.category, facts.category),
        "incidentStatusCommonRegistryText": [STATUSES.get(facts.state, "Active")],
        "incidentStatusInternalText": [facts.state],
        "internalIncidentId": str(facts.alert_id),
        "incidentPriorityInternalText": facts.priority,
        "locationReference": location_ref,
        "personReference": person_ref,
    }
    if note_refs:
        incident["notesReference"] = note_refs
    call: dict[str, Any] = {
        **prologue(ids["call"], facts.updated_at),
        "standardPrimaryCallType": "emergency",
        "localCallType": f"siaga-{facts.channel}",
        "direction": "incoming",
        "callStartTimestamp": _stamp(facts.created_at),
        "callStateRegistryText": "callAnswered" if facts.acknowledged_at else "callBegin",
        "locationReference": location_ref,
        "personReference": person_ref,
    }
    if facts.acknowledged_at is not None:
        call["answerDate"] = _stamp(facts.acknowledged_at)
    person: dict[str, Any] = {
        **prologue(ids["person"], facts.created_at),
        "personIncidentRoleRegistryText": ["Caller"],
        "callIdentifier": [ids["call"]],
        "locationReference": location_ref,
    }
    if facts.caller_name:
        person["ncPersonComponent"] = {"PersonName": {"PersonFullName": facts.caller_name}}
    agency: dict[str, Any] = {
        **prologue(agency_id, facts.updated_at),
        "agencyRoleDescriptionRegistryText": ["Owning"],
        "agencyType": [AGENCY_TYPES.get(facts.agency_kind, "other")],
        "incidentOwningAgencyIndicator": True,
        "agencyJcard": _jcard(facts.agency_name, facts.agency_phone),
    }
    location: dict[str, Any] = {
        **prologue(ids["location"], facts.located_at or facts.created_at),
        "locationTypeDescriptionRegistryText": "Caller",
        "locationByValue": pidf_lo(facts.lat, facts.lon, facts.accuracy_m, entity=f"{key}@{host}"),
    }
    if facts.place:
        location["locationDescriptionText"] = f"Kecamatan {facts.place}"
    eido: dict[str, Any] = {
        **prologue(ids["eido"], facts.updated_at),
        "eidoVersion": EIDO_VERSION,
        "issuingElementIdentification": host,
        "incidentComponent": incident,
        "callComponent": [call],
        "agencyComponent": [agency],
        "locationComponent": [location],
        "personComponent": [person],
    }
    if facts.caller_phone:
        callback = {
            **prologue(ids["callback"], facts.created_at),
            "callBackInformationUri": [f"tel:{facts.caller_phone}"],
        }
        eido["callbackComponent"] = [callback]
        call["callBackReference"] = person["callBackReference"] = {"$ref": ids["callback"]}
    if notes:
        eido["notesComponent"] = [
            {**prologue(note_id, note.at), "notesActionComments": _html_text(note)}
            for note_id, note in zip(note_ids, notes, strict=True)
        ]
    return eido


def pidf_lo(lat: float, lon: float, accuracy_m: float | None, *, entity: str) -> str:
    """A PIDF-LO document (RFC 4119, shapes of RFC 5491): a circle of ``accuracy_m`` around the point, or the point."""
    pos = f"<gml:pos>{lat:.6f} {lon:.6f}</gml:pos>"
    crs = 'srsName="urn:ogc:def:crs:EPSG::4326"'
    if accuracy_m and math.isfinite(accuracy_m):
        radius = f'<gs:radius uom="urn:ogc:def:uom:EPSG::9001">{accuracy_m:g}</gs:radius>'
        shape = f"<gs:Circle {crs}>{pos}{radius}</gs:Circle>"
    else:
        shape = f"<gml:Point {crs}>{pos}</gml:Point>"
    return (
        f'<presence xmlns="{_NS["pidf"]}" xmlns:gp="{_NS["gp"]}" xmlns:gml="{_NS["gml"]}" xmlns:gs="{_NS["gs"]}" '
        f'entity="pres:{escape(entity)}"><tuple id="location"><status><gp:geopriv><gp:location-info>{shape}'
        "</gp:location-info><gp:usage-rules/><gp:method>GPS</gp:method></gp:geopriv></status></tuple></presence>"
    )


# Reading a partner's EIDO -----------------------------------------------------------------------------------------


class EidoInvalid(Invalid):
    """An EIDO Siaga cannot take: the message names the field (a JSON path) and what is wrong with it."""

    default_code = "partners.eido_invalid"

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(
            message=f"the EIDO is not valid: {where}: {problem}", details={"field": where, "problem": problem}
        )


@dataclass(frozen=True, slots=True)
class Incident:
    """What Siaga takes from a partner's EIDO."""

    incident_id: str  # the EIDO's $id: the partner's incident, the same in each update
    category: str
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    caller_name: str | None
    caller_phone: str | None
    place: str
    notes: list[str] = field(default_factory=list)
    updated_at: datetime | None = None
    sender: str = ""  # issuingElementIdentification


def parse(eido: Any) -> Incident:
    """Read a partner's EIDO (decoded JSON). Raises ``EidoInvalid`` naming the first thing wrong. What the standard
    requires of an EIDO must be there; a component Siaga does not use is ignored."""
    if not isinstance(eido, dict):
        raise EidoInvalid("$", "an EIDO is a JSON object")
    version = _text(eido, "eidoVersion", "$")
    if version != EIDO_VERSION:
        raise EidoInvalid("$.eidoVersion", f"must be {EIDO_VERSION!r}, got {version!r}")
    incident_key = _text(eido, "$id", "$", limit=255)
    _stamp_of(eido, "$")
    sender = _text(eido, "issuingElementIdentification", "$", limit=255)
    agencies = _components(eido, "agencyComponent", required=True)
    for index, agency in enumerate(agencies):
        where = f"$.agencyComponent[{index}]"
        _text(agency, "$id", where)
        for name in ("agencyRoleDescriptionRegistryText", "agencyType"):
            if not isinstance(agency.get(name), list):
                raise EidoInvalid(f"{where}.{name}", "required: a list of registry values")
    incident = eido.get("incidentComponent")
    if not isinstance(incident, dict):
        raise EidoInvalid("$.incidentComponent", "required: the incident (an object)")
    _text(incident, "$id", "$.incidentComponent")
    updated_at = _stamp_of(incident, "$.incidentComponent")
    common = _text(incident, "incidentTypeCommonRegistryText", "$.incidentComponent")
    internal = incident.get("incidentTypeInternalCode")
    category = internal if internal in CATEGORIES else _category_of(common)
    locations = {c["$id"]: c for c in _components(eido, "locationComponent") if isinstance(c.get("$id"), str)}
    for index, location in enumerate(_components(eido, "locationComponent")):
        where = f"$.locationComponent[{index}]"
        _text(location, "$id", where)
        _text(location, "locationTypeDescriptionRegistryText", where)
    lat: float | None = None
    lon: float | None = None
    accuracy: float | None = None
    place = ""
    for ref in _refs(incident.get("locationReference"), "$.incidentComponent.locationReference"):
        found = locations.get(ref)
        if found is None:
            raise EidoInvalid("$.incidentComponent.locationReference", f"{ref!r} is no locationComponent's $id")
        place = clean_text(str(found.get("locationDescriptionText", "")))[:200]
        if "locationByValue" in found:
            lat, lon, accuracy = read_pidf_lo(found["locationByValue"], where=f"location {ref}")
            break
    persons = _components(eido, "personComponent")
    callbacks = {c["$id"]: c for c in _components(eido, "callbackComponent") if isinstance(c.get("$id"), str)}
    caller_name: str | None = None
    caller_phone: str | None = None
    for index, person in enumerate(persons):
        roles = person.get("personIncidentRoleRegistryText")
        if not isinstance(roles, list):
            raise EidoInvalid(f"$.personComponent[{index}].personIncidentRoleRegistryText", "required: a list")
        if "Caller" not in roles:
            continue
        name = _dig(person, "ncPersonComponent", "PersonName", "PersonFullName")
        caller_name = clean_text(name)[:200] if isinstance(name, str) and name.strip() else None
        reference = _dig(person, "callBackReference", "$ref")
        if reference is not None and not isinstance(reference, str):
            raise EidoInvalid(f"$.personComponent[{index}].callBackReference", 'a reference is {"$ref": "<$id>"}')
        callback = callbacks.get(reference) if reference is not None else None
        uris = _dig(callback, "callBackInformationUri")
        tel = (
            next((u for u in uris if isinstance(u, str) and u.startswith("tel:")), None)
            if isinstance(uris, list)
            else None
        )
        caller_phone = clean_text(tel.removeprefix("tel:"))[:32] if tel else None
        break
    notes = [
        clean_text(str(note.get("notesActionComments", ""))).strip()[:MAX_TEXT]
        for note in _components(eido, "notesComponent")
    ]
    return Incident(
        incident_id=clean_text(incident_key),
        category=category,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy,
        caller_name=caller_name,
        caller_phone=caller_phone,
        place=place,
        notes=[n for n in notes if n],
        updated_at=updated_at,
        sender=clean_text(sender),
    )


def read_pidf_lo(document: Any, *, where: str) -> tuple[float, float, float | None]:
    """The position (lat, lon, radius in metres or None) of a PIDF-LO point or circle."""
    if not isinstance(document, str) or len(document) > MAX_LOCATION_XML:
        raise EidoInvalid(where, f"locationByValue must be a PIDF-LO document of at most {MAX_LOCATION_XML} characters")
    if "<!DOCTYPE" in document or "<!ENTITY" in document:
        raise EidoInvalid(where, "a PIDF-LO document may not declare a DTD or entities")
    try:
        root = ElementTree.fromstring(document)  # noqa: S314 - no DTD or entities (refused above), size bounded
    except ElementTree.ParseError as exc:
        raise EidoInvalid(where, f"locationByValue is not XML: {exc}") from exc
    pos = root.find(".//gml:pos", _NS)
    if pos is None or not (pos.text or "").split():
        raise EidoInvalid(where, "the PIDF-LO has no gml:pos (a Point or Circle)")
    try:
        lat, lon = (float(v) for v in (pos.text or "").split()[:2])
    except ValueError as exc:
        raise EidoInvalid(where, f"gml:pos must be 'latitude longitude', got {pos.text!r}") from exc
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise EidoInvalid(where, f"gml:pos is outside the world: {pos.text!r}")
    radius_node = root.find(".//gs:radius", _NS)
    radius = None
    if radius_node is not None and radius_node.text:
        try:
            radius = float(radius_node.text)
        except ValueError as exc:
            raise EidoInvalid(where, f"gs:radius must be a number of metres, got {radius_node.text!r}") from exc
        if not math.isfinite(radius) or radius < 0:
            radius = None
    return lat, lon, radius


def _dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]...``, or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _category_of(common: str) -> str:
    for category, text in INCIDENT_TYPES.items():
        if text.lower() == common.lower():
            return category
    lowered = common.lower()
    for word, category in (
        ("fire", "kebakaran"),
        ("medical", "kesehatan"),
        ("ems", "kesehatan"),
        ("traffic", "kecelakaan"),
    ):
        if word in lowered:
            return category
    return "lainnya"


def _text(data: Mapping[str, Any], key: str, where: str, *, limit: int = 1000) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EidoInvalid(f"{where}.{key}" if where != "$" else f"$.{key}", "required: a non-empty string")
    if len(value) > limit:
        raise EidoInvalid(f"{where}.{key}", f"at most {limit} characters")
    return value


def _stamp_of(data: Mapping[str, Any], where: str) -> datetime:
    value = _text(data, "lastUpdateTimeStamp", where)
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise EidoInvalid(f"{where}.lastUpdateTimeStamp", f"not an RFC 3339 date-time: {value!r}") from exc
    if stamp.tzinfo is None:
        raise EidoInvalid(f"{where}.lastUpdateTimeStamp", f"needs a time zone offset: {value!r}")
    return stamp


def _components(eido: Mapping[str, Any], name: str, *, required: bool = False) -> list[dict[str, Any]]:
    value = eido.get(name)
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise EidoInvalid(f"$.{name}", "required: a list of components" if required else "must be a list")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise EidoInvalid(f"$.{name}[{index}]", "a component is a JSON object")
    return value


def _refs(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    refs = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("$ref"), str):
            raise EidoInvalid(where, 'a reference is {"$ref": "<$id>"}')
        refs.append(item["$ref"])
    return refs


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jcard(name: str, phone: str | None) -> str:
    """The agency's contact as a jCard (RFC 7095), as the agency component carries it (a JSON string)."""
    card: list[Any] = [["version", {}, "text", "4.0"], ["fn", {}, "text", name]]
    if phone:
        card.append(["tel", {"type": "work"}, "uri", f"tel:{phone}"])
    return json.dumps(["vcard", card], ensure_ascii=False)


def _html_text(note: Note) -> str:
    """A note as NENA's notesActionComments carries it (HTML5): the text escaped, prefixed by its author."""
    text = escape(note.text)
    return f"{escape(note.author)}: {text}" if note.author else text
