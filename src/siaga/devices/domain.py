"""Fixed panic buttons: the topic and payload scheme, the adapters for off-the-shelf buttons, the broker's files and
the supervision rule. Pure: no database, no network.

Siaga's own scheme (a device publishes on its own topic, QoS 1)::

    siaga/devices/<device>/event   {"id": "<the device's event id>", "type": "panic", "battery": 87, "text": "..."}
                                   or plain text: "PANIC" (optionally "PANIC <event id>"), for the cheapest buttons
    siaga/devices/<device>/ack     Siaga's answer: {"id": ..., "status": "received" | "test_ok" | "refused", ...}

``type`` is one of ``EventType``. The event id makes a retry (QoS 1 redelivers after a lost PUBACK) the same event;
without one, a second panic while the site's alert is open joins that alert (it is never a second alert). An alarm is
never refused for an unreadable ``id``, ``battery``, ``text`` or ``tamper``: it is raised without them, and its record
names them.

Adapters for buttons that speak their own firmware's MQTT (each device is registered with its protocol and name):

- Zigbee2MQTT (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html): a Zigbee button's state is
  published on ``zigbee2mqtt/<friendly name>`` as JSON; a press carries ``"action"`` (``single``, ``double``,
  ``hold``, ...) and most report ``"battery"`` (per cent). Any action but a release is a panic.
- Shelly Gen1 (https://shelly-api-docs.shelly.cloud/gen1/#shelly-button1-mqtt and i3): a press is published on
  ``shellies/<id>/input_event/<channel>`` as ``{"event": "S" | "SS" | "SSS" | "L", "event_cnt": <n>}``; the counter is
  the event's id. ``shellies/<id>/sensor/battery`` carries the battery per cent.
- Shelly Gen2 and later, the Plus and Pro lines (https://shelly-api-docs.shelly.cloud/gen2/General/Notifications,
  .../gen2/ComponentsAndServices/Input and .../gen2/ComponentsAndServices/DevicePower): with RPC notifications over
  MQTT on, a device publishes JSON-RPC notifications on ``<topic prefix>/events/rpc`` (the prefix is the device's id,
  e.g. ``shellyplusi4-c4dd57877294``, unless set otherwise; the device is registered under its prefix). An input in
  button mode sends ``{"method": "NotifyEvent", "params": {"ts": ..., "events": [{"component": "input:0", "id": 0,
  "event": "single_push", "ts": 1631266595.43}]}}``: ``single_push``, ``double_push``, ``triple_push`` or
  ``long_push`` (also ``long_single_push``, ``single_long_push``) is a panic whose id is the component and the
  event's time (a redelivery is the same event); ``btn_down`` and ``btn_up`` come with every press and say nothing
  more. ``NotifyStatus`` (and ``NotifyFullStatus``) with ``devicepower:0.battery.percent`` carries the battery.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from siaga.alerts.domain import Category

TOPIC_ROOT = "siaga/devices"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,62}$")  # a device's name in topics and the broker's files
EVENT_ID = re.compile(r"^[\x21-\x7e]{1,64}$")
LOW_BATTERY_PERCENT = 20
# Namespace of the alert ids derived from (device, event id): the same event is the same alert, on every process.
ALERT_NAMESPACE = uuid.UUID("5d0b8e3c-5b1e-4c55-9e59-4f0a7e6f1a20")
# mosquitto_passwd's own PBKDF2-SHA512 format ("$7$<iterations>$<salt>$<hash>", base64). Its default iteration count:
# every password here is a random 24-character token, so the count adds nothing worth a slower connect.
PBKDF2_ITERATIONS = 101


class Protocol(StrEnum):
    """How a device speaks: Siaga's scheme, or an off-the-shelf button's firmware."""

    SIAGA = "siaga"
    ZIGBEE2MQTT = "zigbee2mqtt"
    SHELLY = "shelly"
    SHELLY2 = "shelly2"  # Shelly Gen2 and later (Plus, Pro)


class EventType(StrEnum):
    PANIC = "panic"
    SILENT_PANIC = "silent_panic"
    MEDICAL = "medical"
    FIRE = "fire"
    TAMPER = "tamper"
    TAMPER_RESTORED = "tamper_restored"
    LOW_BATTERY = "low_battery"
    BATTERY_OK = "battery_ok"
    TEST = "test"
    HEARTBEAT = "heartbeat"


ALARMS: dict[EventType, Category] = {
    EventType.PANIC: Category.KRIMINALITAS,
    EventType.SILENT_PANIC: Category.KRIMINALITAS,
    EventType.MEDICAL: Category.KESEHATAN,
    EventType.FIRE: Category.KEBAKARAN,
}


class TroubleKind(StrEnum):
    """A device's trouble: shown on its agency's console beside (and below) the alerts."""

    OFFLINE = "offline"
    LOW_BATTERY = "low_battery"
    TAMPER = "tamper"


@dataclass(frozen=True, slots=True)
class Source:
    """Which device a topic belongs to: its protocol and its name in that protocol's topics."""

    protocol: Protocol
    name: str


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """One event a device sent, in Siaga's words. ``event_id`` is the device's own (None: it sent none)."""

    type: EventType
    event_id: str | None = None
    battery: int | None = None
    text: str = ""
    tamper: bool | None = None  # a state report: the case is open (True) or closed (False)
    salvaged: str | None = None  # an alarm's unreadable fields, left out: their error codes (an alarm is never refused)

    @property
    def is_alarm(self) -> bool:
        return self.type in ALARMS


class PayloadError(ValueError):
    """A payload Siaga cannot read: ``code`` for the record and the device's ack, the message for the log."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def source_of(topic: str) -> Source | None:
    """The device a topic names (None: not a device topic Siaga follows)."""
    parts = topic.split("/")
    if len(parts) == 4 and f"{parts[0]}/{parts[1]}" == TOPIC_ROOT and parts[3] == "event":
        return Source(Protocol.SIAGA, parts[2])
    if len(parts) == 2 and parts[0] == "zigbee2mqtt" and parts[1] != "bridge":
        return Source(Protocol.ZIGBEE2MQTT, parts[1])
    if len(parts) >= 3 and parts[0] == "shellies":
        return Source(Protocol.SHELLY, parts[1])
    if len(parts) == 3 and parts[1:] == ["events", "rpc"]:
        return Source(Protocol.SHELLY2, parts[0])
    return None


def parse(protocol: Protocol, topic: str, payload: bytes) -> DeviceEvent | None:
    """The event in a message (None: a message that says nothing Siaga acts on, though the device is alive), or
    ``PayloadError``."""
    match protocol:
        case Protocol.SIAGA:
            return _siaga(payload)
        case Protocol.ZIGBEE2MQTT:
            return _zigbee2mqtt(payload)
        case Protocol.SHELLY:
            return _shelly(topic, payload)
        case Protocol.SHELLY2:
            return _shelly2(payload)
    raise TypeError(protocol)  # pragma: no cover


def _text(payload: bytes) -> str:
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadError("device.payload_not_text", "the payload is not UTF-8 text") from None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise PayloadError("device.payload_not_json", "the payload is neither JSON nor a plain-text event") from None
    if not isinstance(value, dict):
        raise PayloadError("device.payload_not_object", "the JSON payload must be an object")
    return value


def _siaga(payload: bytes) -> DeviceEvent:
    text = _text(payload)
    if not text.startswith(("{", "[")):
        return _plain(text)
    body = _json_object(text)
    kind = body.get("type")
    try:
        event_type = EventType(kind if isinstance(kind, str) else "")
    except ValueError:
        raise PayloadError(
            "device.unknown_type", f"type must be one of {', '.join(t.value for t in EventType)}, not {kind!r}"
        ) from None
    dropped: list[str] = []

    def field(read: Callable[[Any], Any], value: Any) -> Any:
        """A field as read; an alarm's unreadable field is left out (and said), anything else's refuses it."""
        try:
            return read(value)
        except PayloadError as error:
            if event_type not in ALARMS:
                raise
            dropped.append(error.code)
            return None

    return DeviceEvent(
        event_type,
        field(_event_id, body.get("id")),
        field(_battery, body.get("battery")),
        _clean(field(_note, body.get("text", "")) or ""),
        field(_tamper, body.get("tamper")),
        salvaged=",".join(dropped) or None,
    )


def _event_id(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not EVENT_ID.match(text):
        raise PayloadError("device.bad_event_id", "id must be 1-64 printable characters without spaces")
    return text


def _tamper(value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise PayloadError("device.bad_tamper", "tamper must be true or false")
    return value


def _note(value: Any) -> str:
    if not isinstance(value, str):
        raise PayloadError("device.bad_text", "text must be a string")
    return value


def _plain(text: str) -> DeviceEvent:
    """``PANIC``, ``TEST``, ``HEARTBEAT`` (any event type, any case), optionally followed by the event id."""
    words = text.split()
    if not words or len(words) > 2:
        raise PayloadError("device.payload_not_json", "the payload is neither JSON nor a plain-text event")
    try:
        event_type = EventType(words[0].lower())
    except ValueError:
        raise PayloadError("device.unknown_type", f"unknown plain-text event {words[0][:40]!r}") from None
    event_id = words[1] if len(words) == 2 else None
    if event_id is not None and not EVENT_ID.match(event_id):
        raise PayloadError("device.bad_event_id", "the event id must be 1-64 printable characters")
    return DeviceEvent(event_type, event_id)


def _battery(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise PayloadError("device.bad_battery", "battery must be a percentage from 0 to 100")
    return round(value)


def _clean(text: str) -> str:
    """Free text as stored: control characters dropped, at most 500 characters."""
    return "".join(c for c in text if c.isprintable() or c == "\n")[:500].strip()


def _zigbee2mqtt(payload: bytes) -> DeviceEvent | None:
    body = _json_object(_text(payload))
    battery = _battery(body.get("battery"))
    action = body.get("action")
    if isinstance(action, str) and action and not action.endswith("release"):
        return DeviceEvent(EventType.PANIC, None, battery, f"Zigbee: {_clean(action)[:40]}")
    return _battery_report(battery)


def _shelly(topic: str, payload: bytes) -> DeviceEvent | None:
    parts = topic.split("/")
    if len(parts) == 4 and parts[2] == "input_event":
        body = _json_object(_text(payload))
        event = body.get("event")
        count = body.get("event_cnt")
        if not isinstance(event, str) or not isinstance(count, int) or isinstance(count, bool):
            raise PayloadError("device.bad_shelly_event", "a Shelly input event needs event and event_cnt")
        if not event:
            return None  # the input's idle state
        return DeviceEvent(EventType.PANIC, f"{parts[3]}-{count}", None, f"Shelly: {_clean(event)[:8]}")
    if len(parts) == 4 and parts[2:] == ["sensor", "battery"]:
        try:
            value: Any = float(_text(payload))
        except ValueError:
            raise PayloadError("device.bad_battery", "battery must be a percentage from 0 to 100") from None
        return _battery_report(_battery(value))
    return None  # another of the device's reports: it is alive


SHELLY2_PRESSES = frozenset(
    {"single_push", "double_push", "triple_push", "long_push", "long_single_push", "single_long_push"}
)


def _shelly2(payload: bytes) -> DeviceEvent | None:
    """A Shelly Gen2 JSON-RPC notification (see the module)."""
    body = _json_object(_text(payload))
    method = body.get("method")
    params = body.get("params")
    if not isinstance(method, str) or not isinstance(params, dict):
        raise PayloadError("device.bad_shelly_event", "a Shelly Gen2 notification needs method and params")
    if method == "NotifyEvent":
        events = params.get("events")
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise PayloadError("device.bad_shelly_event", "a Shelly Gen2 NotifyEvent needs a list of events")
        for event in events:
            name = event.get("event")
            if name not in SHELLY2_PRESSES:
                continue  # btn_down, btn_up, and the device's other events: alive, nothing more
            component, at = event.get("component"), event.get("ts", params.get("ts"))
            if not isinstance(component, str) or isinstance(at, bool) or not isinstance(at, int | float):
                raise PayloadError("device.bad_shelly_event", "a Shelly Gen2 input event needs component and ts")
            event_id = f"{component}@{at}"
            if not EVENT_ID.match(event_id):
                raise PayloadError("device.bad_event_id", "the component and time must be 1-64 printable characters")
            return DeviceEvent(EventType.PANIC, event_id, None, f"Shelly: {_clean(str(name))[:20]}")
        return None
    if method in ("NotifyStatus", "NotifyFullStatus"):
        power = params.get("devicepower:0")
        battery = power.get("battery") if isinstance(power, dict) else None
        return _battery_report(_battery(battery.get("percent")) if isinstance(battery, dict) else None)
    return None  # another notification: the device is alive


def _battery_report(battery: int | None) -> DeviceEvent | None:
    if battery is None:
        return None
    return DeviceEvent(EventType.HEARTBEAT, None, battery)


def alert_id(device_id: uuid.UUID, event_id: str) -> uuid.UUID:
    """The alert an event raises: the same device's same event is the same alert (a redelivery, a retry)."""
    return uuid.uuid5(ALERT_NAMESPACE, f"{device_id}:{event_id}")


# Supervision --------------------------------------------------------------------------------------------------------


def silent_since(last_seen_at: datetime | None, registered_at: datetime) -> datetime:
    """Since when a device has said nothing (a device that never spoke: since it was registered)."""
    return last_seen_at or registered_at


def is_offline(*, last_seen_at: datetime | None, registered_at: datetime, interval_s: int, now: datetime) -> bool:
    """A device silent past its heartbeat interval is offline."""
    return now - silent_since(last_seen_at, registered_at) > timedelta(seconds=interval_s)


def troubles_changed(event: DeviceEvent) -> tuple[set[TroubleKind], set[TroubleKind]]:
    """The troubles an event opens and those it clears (beyond ``offline``, which any message clears)."""
    opened: set[TroubleKind] = set()
    cleared: set[TroubleKind] = set()
    if event.type is EventType.LOW_BATTERY:
        opened.add(TroubleKind.LOW_BATTERY)
    elif event.type is EventType.BATTERY_OK:
        cleared.add(TroubleKind.LOW_BATTERY)
    elif event.battery is not None:
        (opened if event.battery < LOW_BATTERY_PERCENT else cleared).add(TroubleKind.LOW_BATTERY)
    if event.type is EventType.TAMPER or event.tamper is True:
        opened.add(TroubleKind.TAMPER)
    elif event.type is EventType.TAMPER_RESTORED or event.tamper is False:
        cleared.add(TroubleKind.TAMPER)
    return opened, cleared


# The broker's files -------------------------------------------------------------------------------------------------


def new_password() -> str:
    """A device's password: shown once, stored only as the broker's hash."""
    return secrets.token_urlsafe(18)


def password_hash(password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """The password as a line of Mosquitto's password file stores it (``mosquitto_passwd -H sha512-pbkdf2``)."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def topics(protocol: Protocol, name: str) -> tuple[list[str], list[str]]:
    """What a device may publish, and what it may read (its acks)."""
    match protocol:
        case Protocol.SIAGA:
            return [f"{TOPIC_ROOT}/{name}/event"], [f"{TOPIC_ROOT}/{name}/ack"]
        case Protocol.ZIGBEE2MQTT:
            return [f"zigbee2mqtt/{name}"], []
        case Protocol.SHELLY:
            return [f"shellies/{name}/#"], [f"shellies/{name}/command"]
        case Protocol.SHELLY2:
            # Its notifications, its online flag and its status reports, all under its own prefix.
            return [f"{name}/events/rpc", f"{name}/online", f"{name}/status/#"], [f"{name}/rpc"]
    raise TypeError(protocol)  # pragma: no cover


SUBSCRIPTIONS = (f"{TOPIC_ROOT}/+/event", "zigbee2mqtt/+", "shellies/+/#", "+/events/rpc")
# The first level of the other schemes' topics: a Shelly Gen2 device, whose prefix is its name, may not take one.
RESERVED_PREFIXES = frozenset({TOPIC_ROOT.split("/", 1)[0], "zigbee2mqtt", "shellies"})


def name_reserved(protocol: Protocol, name: str) -> bool:
    """Whether a device may not take this name: a Shelly Gen2 device's topics begin with it."""
    return protocol is Protocol.SHELLY2 and name.lower() in RESERVED_PREFIXES


@dataclass(frozen=True, slots=True)
class BrokerUser:
    name: str
    password_hash: str
    protocol: Protocol
    site_id: int | None = None  # the site of a device's login (None: Siaga's own)


def password_file(bridge: BrokerUser | None, devices: list[BrokerUser]) -> str:
    """Mosquitto's ``password_file``: Siaga's own login (if it has one) and each enabled device's."""
    users = ([bridge] if bridge else []) + devices
    return "".join(f"{user.name}:{user.password_hash}\n" for user in users)


def acl_file(bridge_user: str | None, devices: list[BrokerUser]) -> str:
    """Mosquitto's ``acl_file``: Siaga reads every device topic and writes acks; each device publishes only on its
    own topics. Anyone else may do nothing."""
    lines = ["# Generated by Siaga (siaga devices mosquitto-config). Each device publishes only its own topics."]
    if bridge_user:
        lines += ["", f"user {bridge_user}"]
        lines += [f"topic read {topic}" for topic in SUBSCRIPTIONS]
        lines += [f"topic write {TOPIC_ROOT}/+/ack"]
    for device in devices:
        writes, reads = topics(device.protocol, device.name)
        if device.protocol is Protocol.ZIGBEE2MQTT:
            # Zigbee2MQTT is one gateway publishing for every button paired to it, under one login: any of a site's
            # Zigbee buttons' logins may publish for each Zigbee button of that site, and of no other.
            writes = [
                topic
                for other in devices
                if other.protocol is Protocol.ZIGBEE2MQTT and other.site_id == device.site_id
                for topic in topics(other.protocol, other.name)[0]
            ]
        lines += ["", f"user {device.name}"]
        lines += [f"topic write {topic}" for topic in writes]
        lines += [f"topic read {topic}" for topic in reads]
    return "\n".join(lines) + "\n"


RELOAD_COMMAND = "kill -HUP $(pidof mosquitto)  # or: systemctl reload mosquitto"
