"""The resident app's SOS as one SMS, for a phone with signal but no data.

When the app cannot deliver a press over data, it offers to send the same press by SMS: it opens the phone's SMS
composer on the command centre's number with one line of plain GSM-7 text, under 160 characters::

    SIAGA1 <id> <lat> <lon> <acc> <time> <cat> <mac>
    SIAGA1 BHQKYXVJX5D3PHSUA2CPLKDFCU -6.91474 107.60981 25 1764849600 KRI 4M3JZLQ7UE2XK5AB

- ``SIAGA1``: the format and its version.
- ``id``: the alert's own id (the press's UUID, the one the app keeps in its outbox), its 16 bytes in base32
  (RFC 4648, without padding, 26 characters; read in either case). The same id over data and over SMS is one alert.
- ``lat`` ``lon``: degrees (WGS 84) with at most 5 decimals (about a metre); ``acc``: the fix's accuracy in whole
  metres. Without a fix all three are ``-``.
- ``time``: when the resident pressed, in Unix seconds (the phone's clock: informative only).
- ``cat``: the category's code (``CATEGORY_CODES``), followed by ``S`` for a silent press (``KRIS``): Siaga then
  sends no reply, so the phone makes no sound.
- ``mac``: HMAC-SHA256, keyed by the resident's own SMS key (issued by Siaga at sign-in, kept in the app), over
  every character before the space that precedes it; its first 10 bytes in base32 (16 characters).

Every field is ASCII from GSM-7's basic set, so the message is one SMS of at most 160 characters, whatever the
numbers. This module only reads and writes the text; ``siaga.sms.app_sos`` decides what a message means.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from siaga.alerts.domain import Category

PREFIX = "SIAGA1"
MAX_LENGTH = 160  # one SMS in GSM-7
MAC_BYTES = 10
NO_FIX = "-"

CATEGORY_CODES: dict[Category, str] = {
    Category.KRIMINALITAS: "KRI",
    Category.KECELAKAAN: "KEC",
    Category.KEBAKARAN: "KEB",
    Category.KESEHATAN: "KES",
    Category.KDRT: "KDR",
    Category.BENCANA_ALAM: "BEN",
    Category.KERUSUHAN: "RUS",
    Category.LAINNYA: "LAI",
}
_CATEGORIES = {code: category for category, code in CATEGORY_CODES.items()}

_SHAPE = re.compile(
    r"(?P<body>SIAGA1 (?P<id>[A-Z2-7]{26}) (?P<lat>-?\d{1,2}(?:\.\d{1,5})?|-) (?P<lon>-?\d{1,3}(?:\.\d{1,5})?|-)"
    r" (?P<acc>\d{1,5}|-) (?P<time>\d{1,10}) (?P<cat>[A-Z]{3})(?P<silent>S?)) (?P<mac>[A-Z2-7]{16})"
)


class Garbled(ValueError):
    """A message that starts like the app's SOS but cannot be read: still an SOS, raised unverified."""


@dataclass(frozen=True, slots=True)
class AppSOS:
    """One press as the message carries it."""

    alert_id: uuid.UUID
    category: Category
    pressed_at: datetime
    lat: float | None = None
    lon: float | None = None
    accuracy_m: int | None = None
    silent: bool = False


@dataclass(frozen=True, slots=True)
class Signed:
    """A message read: the press, the text its MAC covers, and the MAC as sent."""

    sos: AppSOS
    body: str
    mac: str

    def verifies(self, key: bytes) -> bool:
        """Whether the MAC is the one ``key`` makes over the body (in constant time)."""
        return hmac.compare_digest(self.mac, mac(self.body, key))


def looks_like(text: str) -> bool:
    """Whether ``text`` claims to be the app's SOS (so the SOS handler takes it, readable or not)."""
    return text.strip().upper().startswith(PREFIX)


def mac(body: str, key: bytes) -> str:
    """The MAC field for ``body``: HMAC-SHA256 keyed by the resident's key, its first bytes in base32."""
    digest = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.b32encode(digest).decode("ascii")


def encode_id(alert_id: uuid.UUID) -> str:
    return base64.b32encode(alert_id.bytes).decode("ascii").rstrip("=")


def _decode_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(bytes=base64.b32decode(text + "======"))
    except (binascii.Error, ValueError) as exc:
        raise Garbled(f"the alert id {text!r} is not 16 bytes of base32") from exc


def _degrees(value: float) -> str:
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def compose(sos: AppSOS, key: bytes) -> str:
    """The message for ``sos``, signed with the resident's ``key`` (what the app writes; used by tests)."""
    located = sos.lat is not None and sos.lon is not None
    fields = [
        PREFIX,
        encode_id(sos.alert_id),
        _degrees(sos.lat) if located and sos.lat is not None else NO_FIX,
        _degrees(sos.lon) if located and sos.lon is not None else NO_FIX,
        str(min(round(sos.accuracy_m), 99999)) if located and sos.accuracy_m is not None else NO_FIX,
        str(int(sos.pressed_at.timestamp())),
        CATEGORY_CODES[sos.category] + ("S" if sos.silent else ""),
    ]
    body = " ".join(fields)
    return f"{body} {mac(body, key)}"


def read(text: str) -> Signed:
    """The press a message carries, or ``Garbled`` saying what is wrong. Spaces around and between the fields and
    the letters' case may have been changed on the way (a person retyping it); the MAC is over the normal form."""
    normal = " ".join(text.split()).upper()
    if len(normal) > MAX_LENGTH:
        raise Garbled(f"longer than one SMS ({len(normal)} characters)")
    found = _SHAPE.fullmatch(normal)
    if found is None:
        raise Garbled("not in the form SIAGA1 <id> <lat> <lon> <acc> <time> <cat> <mac>")
    category = _CATEGORIES.get(found["cat"])
    if category is None:
        raise Garbled(f"unknown category code {found['cat']!r}")
    lat, lon, acc = found["lat"], found["lon"], found["acc"]
    if (lat == NO_FIX) != (lon == NO_FIX):
        raise Garbled("a latitude without a longitude, or the other way round")
    position = None if lat == NO_FIX else (float(lat), float(lon))
    if position is not None and not (-90 <= position[0] <= 90 and -180 <= position[1] <= 180):
        raise Garbled("the position is not on Earth")
    return Signed(
        sos=AppSOS(
            alert_id=_decode_id(found["id"]),
            category=category,
            pressed_at=datetime.fromtimestamp(int(found["time"]), tz=UTC),
            lat=position[0] if position else None,
            lon=position[1] if position else None,
            accuracy_m=None if position is None or acc == NO_FIX else int(acc),
            silent=found["silent"] == "S",
        ),
        body=found["body"],
        mac=found["mac"],
    )
