"""One alert as an OASIS CAP 1.2 message: pure rules, no I/O.

``message(facts, sender=...)`` builds the ``<alert>`` element from what Siaga knows of an alert (``AlertFacts``);
``serialise`` writes it as a UTF-8 document. XML is built as a tree (the standard library's ElementTree), never by
pasting strings, so every text a resident typed is escaped by the serialiser.

**Which message.** A CAP message is one version of an alert; a receiver keys messages on (sender, identifier,
sent). The first message, while nothing has changed since the press (``updated_at == created_at``), is an ``Alert``
whose identifier is the alert's id and whose ``sent`` is when Siaga received the press. Every later version is an
``Update`` (or a ``Cancel``) identified as ``<alert id>@<when it last changed>``: fetching it again gives the same
message, and any change (a state, a category, a newer position) gives a new identifier. Both kinds carry
``references`` to the first message and ``incidents`` with the alert's id, so a receiver links them however many
versions it saw. A resident's cancel, and a close as a false alarm, prank, test or duplicate, is a ``Cancel``: the
first message should not have been acted on. A genuine close is an ``Update`` whose urgency is ``Past`` and whose
response is ``AllClear``.

**Mapping** (documented here, as receivers need it):

- status: ``Exercise`` for a drill's alert, else ``Actual``. scope: ``Restricted`` (a police dispatch message that
  places a person: never for the public), with the restriction in Indonesian.
- category and event, from Siaga's categories (Bandung 112's): kriminalitas Security, kecelakaan Rescue, kebakaran
  Fire, kesehatan Health, KDRT Security, bencana alam Geo and Met (floods and landslides, Bandung's usual
  disasters), kerusuhan Security, lainnya Other.
- urgency: ``Immediate`` while the alert is open (someone pressed SOS), ``Past`` once closed.
- severity: ``Severe`` for every category (a person asked for help now), ``Unknown`` for lainnya (nothing said what
  happened); an operator's high priority is at least ``Severe``, a critical priority or a duress PIN ``Extreme``;
  a ``Cancel`` is ``Minor``.
- certainty: ``Likely`` while nobody is on scene (an identified caller pressed, not yet confirmed), ``Observed`` once
  a unit is on scene or the alert was closed as genuine, ``Unlikely`` for a ``Cancel``.
- area: the kecamatan as ``areaDesc`` (and its code as a ``geocode``), and a circle around the caller's position
  whose radius is the position's accuracy (``UNKNOWN_ACCURACY_KM`` when a fix came without one, ``ROUNDED_PLACE_KM``
  once retention rounded the place). An alert raised without a fix (an SMS placed by its kecamatan) has no circle:
  its map position is only the kecamatan's centre.

**Personal data.** Nothing names the caller unless ``facts.caller`` is given (the service gives it only to the
roles allowed, and audits it): then their name and number are parameters and in the description, with their own
words. Without it the message has the category, place, times and the state of the response, nothing more.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET  # building and writing only: Siaga never parses CAP with it
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from siaga.alerts.domain import AlertState, Category, Outcome, Priority
from siaga.text import clean_text

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
# The media type registered for CAP documents; it ends in +xml, so a client that knows only XML reads it as XML.
MEDIA_TYPE = "application/cap+xml"
LANGUAGE = "id-ID"
UNKNOWN_ACCURACY_KM = 0.1  # a fix reported without its accuracy (a tracker, a panic button's site): a phone GPS's
ROUNDED_PLACE_KM = 1.0  # retention rounds a closed alert's place to two decimals of a degree (about a kilometre)
HEADLINE_MAX = 160  # CAP's advice for a headline's length
RESTRICTION = (
    "Hanya untuk pusat komando dan petugas penanganan darurat yang berwenang: pesan penugasan yang memuat lokasi "
    "pelapor. Jangan diteruskan ke publik."
)
RESTRICTION_PERSONAL = RESTRICTION + " Memuat data pribadi pelapor (UU Pelindungan Data Pribadi)."

_WIB = ZoneInfo("Asia/Jakarta")
_Q = f"{{{CAP_NAMESPACE}}}"


class MsgType(StrEnum):
    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


@dataclass(frozen=True, slots=True)
class Kind:
    """How one of Siaga's categories reads in CAP."""

    categories: tuple[str, ...]
    event: str  # CAP's event, in Indonesian
    severity: str  # at normal priority


KINDS: dict[Category, Kind] = {
    Category.KRIMINALITAS: Kind(("Security",), "Tindak kriminal", "Severe"),
    Category.KECELAKAAN: Kind(("Rescue",), "Kecelakaan", "Severe"),
    Category.KEBAKARAN: Kind(("Fire",), "Kebakaran", "Severe"),
    Category.KESEHATAN: Kind(("Health",), "Kedaruratan kesehatan", "Severe"),
    Category.KDRT: Kind(("Security",), "Kekerasan dalam rumah tangga, terhadap anak atau perempuan", "Severe"),
    Category.BENCANA_ALAM: Kind(("Geo", "Met"), "Bencana alam", "Severe"),
    Category.KERUSUHAN: Kind(("Security",), "Kerusuhan", "Severe"),
    Category.LAINNYA: Kind(("Other",), "Keadaan darurat lainnya", "Unknown"),
}

# Closing an alert with these outcomes says the first message should not have been acted on.
CANCELLING_OUTCOMES = frozenset({Outcome.FALSE_ALARM, Outcome.PRANK, Outcome.TEST, Outcome.DUPLICATE})

_STATES = {
    AlertState.NEW: "menunggu diterima operator",
    AlertState.ACKNOWLEDGED: "diterima operator",
    AlertState.DISPATCHED: "petugas ditugaskan",
    AlertState.EN_ROUTE: "petugas dalam perjalanan",
    AlertState.ON_SCENE: "petugas tiba di lokasi",
    AlertState.RESOLVED: "selesai",
    AlertState.CANCELLED: "dibatalkan",
}
_CLOSES = {
    Outcome.GENUINE: "Ditangani dan selesai.",
    Outcome.FALSE_ALARM: "Ditutup: tombol tertekan tidak sengaja.",
    Outcome.PRANK: "Ditutup: laporan iseng.",
    Outcome.TEST: "Ditutup: uji coba.",
    Outcome.DUPLICATE: "Ditutup: duplikat laporan lain.",
}
_CHANNELS = {
    "app": "aplikasi warga",
    "sms": "SMS",
    "device": "tombol panik terpasang",
    "tracker": "pelacak GPS",
    "partner": "pusat panggilan mitra",
}
_PRIORITIES = {Priority.NORMAL: "normal", Priority.HIGH: "tinggi", Priority.CRITICAL: "kritis"}


@dataclass(frozen=True, slots=True)
class Caller:
    """Who pressed: personal data, given only to a recipient allowed to have it."""

    name: str | None
    phone: str
    words: str  # what they typed with the press


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What a CAP message says about an alert, read from its row (``cap.service.facts``)."""

    id: uuid.UUID
    state: AlertState
    category: Category
    priority: Priority
    outcome: Outcome | None
    is_exercise: bool
    duress: bool
    silent: bool
    channel: str
    agency_name: str
    agency_phone: str | None
    kecamatan: str | None
    kecamatan_code: str | None
    lat: float
    lon: float
    accuracy_m: float | None
    located: bool  # the position is a fix (not a kecamatan's centre standing in for one)
    place_rounded: bool  # retention removed the details and rounded the place
    unit_callsign: str | None
    created_at: datetime
    updated_at: datetime
    caller: Caller | None = None


def cap_time(moment: datetime) -> str:
    """A CAP dateTime: whole seconds with an offset, UTC written ``-00:00`` (CAP forbids ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def msg_type(facts: AlertFacts) -> MsgType:
    if facts.state is AlertState.CANCELLED or (
        facts.state is AlertState.RESOLVED and facts.outcome in CANCELLING_OUTCOMES
    ):
        return MsgType.CANCEL
    if is_first(facts):
        return MsgType.ALERT
    return MsgType.UPDATE


def is_first(facts: AlertFacts) -> bool:
    """Nothing has changed since the press: the message is the alert's first."""
    return facts.state is AlertState.NEW and facts.updated_at <= facts.created_at


def first_identifier(facts: AlertFacts) -> str:
    return str(facts.id)


def identifier(facts: AlertFacts) -> str:
    """The message's identifier: the alert's id for the first message, ``<id>@<last change>`` for each later one
    (the same on every fetch until the alert changes again)."""
    if msg_type(facts) is MsgType.ALERT:
        return first_identifier(facts)
    return f"{facts.id}@{facts.updated_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"


def sent(facts: AlertFacts) -> datetime:
    return facts.created_at if msg_type(facts) is MsgType.ALERT else facts.updated_at


def references(facts: AlertFacts, *, sender: str) -> str | None:
    """The first message, as CAP's ``sender,identifier,sent`` (None: this is the first message)."""
    if msg_type(facts) is MsgType.ALERT:
        return None
    return f"{sender},{first_identifier(facts)},{cap_time(facts.created_at)}"


def urgency(facts: AlertFacts) -> str:
    return "Past" if facts.state in (AlertState.RESOLVED, AlertState.CANCELLED) else "Immediate"


def severity(facts: AlertFacts) -> str:
    if msg_type(facts) is MsgType.CANCEL:
        return "Minor"
    if facts.duress or facts.priority is Priority.CRITICAL:
        return "Extreme"
    base = KINDS[facts.category].severity
    return "Severe" if facts.priority is Priority.HIGH and base == "Unknown" else base


def certainty(facts: AlertFacts) -> str:
    if msg_type(facts) is MsgType.CANCEL:
        return "Unlikely"
    if facts.state in (AlertState.ON_SCENE, AlertState.RESOLVED):
        return "Observed"
    return "Likely"


def response_type(facts: AlertFacts) -> str | None:
    if msg_type(facts) is MsgType.CANCEL:
        return "None"
    return "AllClear" if facts.state is AlertState.RESOLVED else None


def headline(facts: AlertFacts) -> str:
    where = f" di Kecamatan {facts.kecamatan}" if facts.kecamatan else ""
    text = f"SOS {KINDS[facts.category].event.lower()}{where}"
    if msg_type(facts) is MsgType.CANCEL:
        text = f"Batal: {text}"
    elif facts.state is AlertState.RESOLVED:
        text = f"Selesai: {text}"
    if facts.is_exercise:
        text = f"LATIHAN: {text}"
    return text[:HEADLINE_MAX]


def description(facts: AlertFacts) -> str:
    """What happened and how the response stands, in Indonesian; the caller only if ``facts.caller`` is given."""
    pressed = facts.created_at.astimezone(_WIB)
    channel = _CHANNELS.get(facts.channel, facts.channel)
    lines = [f"SOS diterima melalui {channel} pukul {pressed:%H:%M} WIB, {pressed:%d-%m-%Y}."]
    if facts.is_exercise:
        lines.append("Ini latihan, bukan kejadian nyata.")
    status = _STATES[facts.state]
    if facts.unit_callsign and facts.state in (AlertState.DISPATCHED, AlertState.EN_ROUTE, AlertState.ON_SCENE):
        status += f" (unit {facts.unit_callsign})"
    lines.append(f"Status: {status}. Prioritas: {_PRIORITIES[facts.priority]}.")
    if facts.state is AlertState.RESOLVED and facts.outcome is not None:
        lines.append(_CLOSES[facts.outcome])
    if facts.duress:
        lines.append("Pelapor memasukkan PIN paksaan: mungkin di bawah ancaman; jangan menghubunginya secara terbuka.")
    if facts.silent:
        lines.append("SOS senyap: datang tanpa sirene dan jangan menelepon pelapor.")
    lines.append(f"Lokasi: {_place(facts)}.")
    if facts.caller is not None:
        lines.append(f"Pelapor: {facts.caller.name or 'tanpa nama'} ({facts.caller.phone}).")
        if facts.caller.words:
            lines.append(f"Keterangan pelapor: {facts.caller.words}")
    return "\n".join(lines)


def _place(facts: AlertFacts) -> str:
    where = f"Kecamatan {facts.kecamatan}" if facts.kecamatan else "di luar kecamatan yang dikenal"
    if not facts.located:
        return f"{where}, tanpa posisi GPS"
    if facts.place_rounded:
        return f"{where}, posisi dibulatkan sekitar 1 km"
    if facts.accuracy_m is not None:
        return f"{where}, akurasi sekitar {round(facts.accuracy_m)} m"
    return f"{where}, akurasi tidak diketahui"


def circle(facts: AlertFacts) -> str | None:
    """CAP's ``lat,lon radius`` (WGS 84 degrees, kilometres) around the caller, or None without a fix."""
    if not facts.located:
        return None
    if facts.place_rounded:
        radius = ROUNDED_PLACE_KM
    elif facts.accuracy_m is not None:
        radius = max(facts.accuracy_m, 1.0) / 1000
    else:
        radius = UNKNOWN_ACCURACY_KM
    return f"{facts.lat:.6f},{facts.lon:.6f} {radius:.3f}"


def parameters(facts: AlertFacts) -> list[tuple[str, str]]:
    """Siaga's own fields, for a receiver that knows Siaga (``valueName``, ``value``)."""
    found = [
        ("siaga:state", facts.state.value),
        ("siaga:priority", facts.priority.value),
        ("siaga:channel", facts.channel),
    ]
    if facts.unit_callsign:
        found.append(("siaga:unit", facts.unit_callsign))
    if facts.outcome is not None:
        found.append(("siaga:outcome", facts.outcome.value))
    if facts.duress:
        found.append(("siaga:duress", "true"))
    if facts.silent:
        found.append(("siaga:silent", "true"))
    if facts.caller is not None:
        found.append(("siaga:caller_name", facts.caller.name or ""))
        found.append(("siaga:caller_phone", facts.caller.phone))
    return found


def message(facts: AlertFacts, *, sender: str) -> ET.Element:
    """The alert as a CAP 1.2 ``<alert>`` element, its children in the schema's order."""
    kind = msg_type(facts)
    root = ET.Element(_Q + "alert")
    _add(root, "identifier", identifier(facts))
    _add(root, "sender", sender)
    _add(root, "sent", cap_time(sent(facts)))
    _add(root, "status", "Exercise" if facts.is_exercise else "Actual")
    _add(root, "msgType", kind.value)
    _add(root, "scope", "Restricted")
    _add(root, "restriction", RESTRICTION_PERSONAL if facts.caller is not None else RESTRICTION)
    if kind is MsgType.CANCEL:
        _add(root, "note", _cancel_note(facts))
    first = references(facts, sender=sender)
    if first is not None:
        _add(root, "references", first)
    _add(root, "incidents", str(facts.id))
    root.append(_info(facts))
    return root


def _cancel_note(facts: AlertFacts) -> str:
    if facts.state is AlertState.CANCELLED:
        return "Dibatalkan oleh pelapor."
    assert facts.outcome is not None
    return _CLOSES[facts.outcome]


def _info(facts: AlertFacts) -> ET.Element:
    kind = KINDS[facts.category]
    info = ET.Element(_Q + "info")
    _add(info, "language", LANGUAGE)
    for category in kind.categories:
        _add(info, "category", category)
    _add(info, "event", kind.event)
    response = response_type(facts)
    if response is not None:
        _add(info, "responseType", response)
    _add(info, "urgency", urgency(facts))
    _add(info, "severity", severity(facts))
    _add(info, "certainty", certainty(facts))
    _pair(info, "eventCode", "siaga:category", facts.category.value)
    _add(info, "onset", cap_time(facts.created_at))
    _add(info, "senderName", facts.agency_name)
    _add(info, "headline", headline(facts))
    _add(info, "description", description(facts))
    if facts.agency_phone:
        _add(info, "contact", f"{facts.agency_name}: {facts.agency_phone}")
    for name, value in parameters(facts):
        _pair(info, "parameter", name, value)
    area = ET.SubElement(info, _Q + "area")
    _add(area, "areaDesc", f"Kecamatan {facts.kecamatan}" if facts.kecamatan else "Di luar kecamatan yang dikenal")
    around = circle(facts)
    if around is not None:
        _add(area, "circle", around)
    if facts.kecamatan_code:
        _pair(area, "geocode", "siaga:kecamatan", facts.kecamatan_code)
    return info


def _add(parent: ET.Element, name: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, _Q + name)
    child.text = xml_text(text)
    return child


def xml_text(text: str) -> str:
    """``text`` as XML 1.0 can carry it: cleaned as every text entering Siaga is (an older row may predate that), and
    without the two non-characters XML forbids."""
    return clean_text(text).replace("\ufffe", "").replace("\uffff", "")


def _pair(parent: ET.Element, name: str, value_name: str, value: str) -> None:
    pair = ET.SubElement(parent, _Q + name)
    _add(pair, "valueName", value_name)
    _add(pair, "value", value)


def serialise(element: ET.Element) -> bytes:
    """A CAP element as a UTF-8 XML document, CAP's namespace as the default one."""
    written: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NAMESPACE)
    return written


def sender_of(base_url: str) -> str:
    """CAP's sender: the host of the command centre's public address (``SIAGA_PUBLIC_URL``), globally unique as a
    domain is, and free of the spaces, commas and markup CAP forbids in it."""
    host = urlsplit(base_url).hostname or ""
    return "".join(c for c in host if c.isalnum() or c in ".-:") or "siaga.invalid"
