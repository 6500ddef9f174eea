"""The rules of webhooks, without I/O: which events there are, which timeline events and troubles become which,
what a subscription receives, how long to wait between tries, when to give up on a delivery and on a subscription,
and which addresses a webhook may never be sent to."""

from __future__ import annotations

import base64
import ipaddress
import random
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from siaga.errors import Invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32
URL_MAX = 1000

FIRST_RETRY = timedelta(seconds=5)
LONGEST_WAIT = timedelta(hours=1)


class EventType(StrEnum):
    """What a subscription can ask for (the payload's ``type``)."""

    ALERT_CREATED = "alert.created"
    ALERT_STATE_CHANGED = "alert.state_changed"  # acknowledged, dispatched, en route, on scene, resolved, cancelled
    ALERT_ESCALATED = "alert.escalated"
    ALERT_UPDATED = "alert.updated"  # its category or agency (and so who handles it) or its priority changed
    DEVICE_TROUBLE = "device.trouble"  # a panic button went silent, runs low on battery or was tampered with
    TEST = "webhook.test"  # sent by an administrator's "send test event", to that subscription only


SUBSCRIBABLE = tuple(t for t in EventType if t is not EventType.TEST)

# The alert timeline's event kinds (``alerts.domain.EventKind`` values) that a webhook tells, and as which type.
# Offers, notes, flags and failed messages stay inside Siaga: they say nothing an integrator acts on, and a note or
# a flag's reason may name a person.
TIMELINE_TYPES: Mapping[str, EventType] = {
    "created": EventType.ALERT_CREATED,
    "acknowledged": EventType.ALERT_STATE_CHANGED,
    "dispatched": EventType.ALERT_STATE_CHANGED,
    "en_route": EventType.ALERT_STATE_CHANGED,
    "on_scene": EventType.ALERT_STATE_CHANGED,
    "resolved": EventType.ALERT_STATE_CHANGED,
    "cancelled": EventType.ALERT_STATE_CHANGED,
    "escalated": EventType.ALERT_ESCALATED,
    "category_changed": EventType.ALERT_UPDATED,  # re-routed: the agency in the payload is the new one
    "transferred": EventType.ALERT_UPDATED,  # handed to another agency: the new one in the payload, not the reason
    "priority_changed": EventType.ALERT_UPDATED,  # the reason stays inside Siaga: free text may name a person
}
ACTIVE_STATES = frozenset({"new", "acknowledged", "dispatched", "en_route", "on_scene"})


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Something that happened that webhooks may tell: its type, the agency it belongs to (and those informed of it
    besides, by the routing table), whether it is part of a drill, and its ``data`` (ids only for agency and
    kecamatan: names are added when it is sent)."""

    type: EventType
    at: datetime
    agency_id: int | None
    exercise: bool
    data: dict[str, Any] = field(default_factory=dict)
    alert_id: str | None = None
    informed: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Audience:
    """What one enabled subscription receives, as the outbox matches it."""

    id: int
    events: frozenset[str]
    include_exercise: bool
    agency_id: int | None  # only this agency's alerts and troubles; None: every agency's

    def wants(self, occurrence: Occurrence) -> bool:
        if occurrence.type.value not in self.events:
            return False
        if occurrence.exercise and not self.include_exercise:
            return False
        return self.agency_id is None or self.agency_id == occurrence.agency_id or self.agency_id in occurrence.informed


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def alert_occurrence(kind: str, alert: Mapping[str, Any], *, at: datetime) -> Occurrence | None:
    """The occurrence a timeline event of ``kind`` tells about ``alert`` (its columns, as they are after the event),
    or None when webhooks do not tell that kind. No personal data: no name, phone, NIK, description or report; the
    position only while the alert is active (as the brief shares a location), and never once its details were
    removed."""
    event_type = TIMELINE_TYPES.get(kind)
    if event_type is None:
        return None
    informed = [int(i) for i in alert.get("informed_agency_ids") or ()]
    state = str(alert["state"])
    position = None
    if state in ACTIVE_STATES and alert.get("details_removed_at") is None and alert.get("lat") is not None:
        position = {"lat": alert["lat"], "lon": alert["lon"], "accuracy_m": alert.get("accuracy_m")}
    data = {
        "alert_id": str(alert["id"]),
        "event": kind,
        "state": state,
        "category": alert["category"],
        "priority": alert.get("priority") or "normal",
        "channel": alert.get("channel") or "app",
        "escalated": bool(alert.get("escalated")),
        "exercise": bool(alert.get("is_exercise")),
        "outcome": alert.get("outcome"),
        "agency": {"id": alert["agency_id"]},
        "informed_agency_ids": list(informed),
        "kecamatan": {"id": alert["jurisdiction_id"]} if alert.get("jurisdiction_id") is not None else None,
        "position": position,
        "times": {
            "created_at": _iso(alert.get("created_at")),
            "acknowledged_at": _iso(alert.get("acknowledged_at")),
            "dispatched_at": _iso(alert.get("dispatched_at")),
            "en_route_at": _iso(alert.get("en_route_at")),
            "on_scene_at": _iso(alert.get("on_scene_at")),
            "closed_at": _iso(alert.get("closed_at")),
        },
    }
    return Occurrence(
        type=event_type,
        at=at,
        agency_id=int(alert["agency_id"]),
        exercise=bool(alert.get("is_exercise")),
        data=data,
        alert_id=str(alert["id"]),
        informed=frozenset(informed),
    )


def trouble_occurrence(
    *, trouble_id: int, kind: str, device: str, site_id: int, site_name: str, agency_id: int, at: datetime
) -> Occurrence:
    """A panic button's trouble (offline, low battery, tamper): a site is a bank, shop or school, not a person."""
    data = {
        "trouble_id": trouble_id,
        "kind": kind,
        "device": device,
        "site": {"id": site_id, "name": site_name},
        "agency": {"id": agency_id},
        "opened_at": at.isoformat(),
    }
    return Occurrence(type=EventType.DEVICE_TROUBLE, at=at, agency_id=agency_id, exercise=False, data=data)


def sample_occurrence(at: datetime, subscription_id: int) -> Occurrence:
    data = {"subscription_id": subscription_id, "message": "A test event from Siaga: the signature should verify."}
    return Occurrence(type=EventType.TEST, at=at, agency_id=None, exercise=False, data=data)


def body_of(occurrence_type: str, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as the Standard Webhooks specification shapes it: type, timestamp and data."""
    return {"type": occurrence_type, "timestamp": at.isoformat(), "data": dict(data)}


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    """The ``webhook-id`` of one message, the same on every try (the receiver's idempotency key)."""
    return f"msg_{secrets.token_hex(16)}"


def next_wait(attempts: int, *, jitter: float | None = None) -> timedelta:
    """Wait before try ``attempts + 1``: 5 s, 10 s, 20 s ... doubling up to an hour, each made 0-25% shorter at
    random so that many deliveries failed together do not all come back at the same moment."""
    base: timedelta = min(LONGEST_WAIT, FIRST_RETRY * 2 ** max(0, min(attempts - 1, 20)))
    shorten = random.random() if jitter is None else jitter  # noqa: S311 - spreading retries, not a secret
    wait: timedelta = base * (1 - 0.25 * shorten)
    return wait


def gives_up(created_at: datetime, now: datetime, *, give_up_after: timedelta) -> bool:
    """A delivery not through ``give_up_after`` after its event is given up (its receiver has the rest to read)."""
    return now - created_at >= give_up_after


def should_disable(
    consecutive_failures: int,
    failing_since: datetime | None,
    now: datetime,
    *,
    after_failures: int,
    after: timedelta,
) -> bool:
    """A subscription is disabled once it has failed ``after_failures`` times in a row and has not succeeded for
    ``after``: both, so a receiver down for a few minutes during a burst of alerts is not cut off, and one failure
    a day ago is not enough either."""
    return failing_since is not None and consecutive_failures >= after_failures and now - failing_since >= after


# Addresses ------------------------------------------------------------------------------------------------------


def parse_networks(value: str) -> list[Network]:
    """A comma-separated list of networks (``10.20.0.0/16, 127.0.0.1``); a ValueError names a bad one."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]


@dataclass(frozen=True, slots=True)
class Target:
    """Where a webhook URL points: its scheme, host (as written) and port."""

    scheme: str
    host: str
    port: int


def read_url(url: str, *, require_https: bool) -> Target:
    """The URL's target, or ``Invalid``: http(s) with a host, no user or password in it, https outside development."""
    if len(url) > URL_MAX:
        raise Invalid(f"the URL is longer than {URL_MAX} characters", code="webhook.bad_url", details={"field": "url"})
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise Invalid(f"not a URL: {exc}", code="webhook.bad_url", details={"field": "url"}) from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise Invalid("give an http:// or https:// URL with a host", code="webhook.bad_url", details={"field": "url"})
    if parts.username or parts.password:
        raise Invalid(
            "put no user or password in the URL: the signature proves the sender",
            code="webhook.bad_url",
            details={"field": "url"},
        )
    if require_https and parts.scheme != "https":
        raise Invalid("webhooks are sent over https only", code="webhook.https_required", details={"field": "url"})
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052's well-known prefix: the last 32 bits are an IPv4 address


def unwrapped(address: Address) -> Address:
    """An IPv6 address that carries an IPv4 one (mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``, Teredo, NAT64
    ``64:ff9b::/96``) is judged as that IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal(address: Address, *, allowed: Iterable[Network]) -> str | None:
    """Why a webhook may not be sent to ``address`` (loopback, private, link-local, site-local, multicast, reserved,
    unspecified, NAT64 or otherwise not public; a mapped, 6to4 or Teredo IPv6 form of an IPv4 address is judged as
    that address), or None. ``allowed``: networks an operator opened on purpose (an integrator on the command
    centre's own network)."""
    plain = unwrapped(address)
    if any(plain in network or address in network for network in allowed):
        return None
    if address in _NAT64:  # a translator's address, whatever it carries: not sent to unless opened on purpose
        return f"{address} is a NAT64 address"
    for reason, hit in (
        ("unspecified", plain.is_unspecified),
        ("loopback", plain.is_loopback),
        ("link-local", plain.is_link_local),
        ("site-local", isinstance(plain, ipaddress.IPv6Address) and plain.is_site_local),  # fec0::/10, deprecated
        ("multicast", plain.is_multicast),
        ("private", plain.is_private),
        ("reserved", plain.is_reserved),
        ("not public", not plain.is_global),
    ):
        if hit:
            return f"{address} is a {reason} address"
    return None
