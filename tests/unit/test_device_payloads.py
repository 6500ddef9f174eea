"""Fixed panic buttons, the pure rules: which device a topic names, what each payload shape means (Siaga's JSON and
plain text, Zigbee2MQTT, Shelly), what is refused and why, the troubles an event opens or clears, when a device is
offline, and the broker's files."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from siaga.devices import domain
from siaga.devices.domain import DeviceEvent, EventType, PayloadError, Protocol, TroubleKind

SIAGA_TOPIC = "siaga/devices/btn-1/event"


def test_topics_name_their_device_and_protocol() -> None:
    assert domain.source_of(SIAGA_TOPIC) == domain.Source(Protocol.SIAGA, "btn-1")
    assert domain.source_of("zigbee2mqtt/bank-teller") == domain.Source(Protocol.ZIGBEE2MQTT, "bank-teller")
    assert domain.source_of("shellies/shellybutton1-A4CF/input_event/0") == domain.Source(
        Protocol.SHELLY, "shellybutton1-A4CF"
    )
    assert domain.source_of("zigbee2mqtt/bridge") is None
    assert domain.source_of("siaga/devices/btn-1/ack") is None


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        (b'{"id": "e-1", "type": "panic", "battery": 87}', DeviceEvent(EventType.PANIC, "e-1", 87)),
        (b'{"id": 42, "type": "medical", "text": "lantai 2"}', DeviceEvent(EventType.MEDICAL, "42", text="lantai 2")),
        (b'{"type": "heartbeat", "tamper": false}', DeviceEvent(EventType.HEARTBEAT, tamper=False)),
        (b"PANIC", DeviceEvent(EventType.PANIC)),
        (b"panic 17\n", DeviceEvent(EventType.PANIC, "17")),
        (b"TEST t-9", DeviceEvent(EventType.TEST, "t-9")),
    ],
)
def test_siaga_payloads_in_json_and_plain_text(payload: bytes, event: DeviceEvent) -> None:
    assert domain.parse(Protocol.SIAGA, SIAGA_TOPIC, payload) == event


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\xff\xfe", "device.payload_not_text"),
        (b"{not json", "device.payload_not_json"),
        (b"[1, 2]", "device.payload_not_object"),
        (b'{"id": "x", "type": "explode"}', "device.unknown_type"),
        (b'{"id": "has space", "type": "panic"}', "device.bad_event_id"),
        (b'{"id": "x", "type": "panic", "battery": 140}', "device.bad_battery"),
        (b'{"id": "x", "type": "panic", "battery": true}', "device.bad_battery"),
        (b'{"type": "heartbeat", "tamper": "open"}', "device.bad_tamper"),
        (b"HELP ME NOW", "device.payload_not_json"),
        (b"BOOM", "device.unknown_type"),
    ],
)
def test_unreadable_payloads_are_refused_with_a_reason(payload: bytes, code: str) -> None:
    with pytest.raises(PayloadError) as refused:
        domain.parse(Protocol.SIAGA, SIAGA_TOPIC, payload)
    assert refused.value.code == code


def test_a_json_array_is_not_an_object() -> None:
    with pytest.raises(PayloadError) as refused:
        domain.parse(Protocol.ZIGBEE2MQTT, "zigbee2mqtt/x", b"[1]")
    assert refused.value.code == "device.payload_not_object"


def test_zigbee2mqtt_actions_are_panics_and_battery_reports_are_heartbeats() -> None:
    press = domain.parse(Protocol.ZIGBEE2MQTT, "zigbee2mqtt/b", b'{"action": "single", "battery": 15}')
    assert press == DeviceEvent(EventType.PANIC, None, 15, "Zigbee: single")
    assert domain.parse(Protocol.ZIGBEE2MQTT, "zigbee2mqtt/b", b'{"action": "release"}') is None
    state = domain.parse(Protocol.ZIGBEE2MQTT, "zigbee2mqtt/b", b'{"battery": 90, "linkquality": 120}')
    assert state == DeviceEvent(EventType.HEARTBEAT, None, 90)
    assert domain.parse(Protocol.ZIGBEE2MQTT, "zigbee2mqtt/b", b'{"action": ""}') is None


def test_shelly_input_events_carry_their_counter_as_the_event_id() -> None:
    topic = "shellies/shellybutton1-A4CF/input_event/0"
    assert domain.parse(Protocol.SHELLY, topic, b'{"event": "S", "event_cnt": 7}') == DeviceEvent(
        EventType.PANIC, "0-7", None, "Shelly: S"
    )
    assert domain.parse(Protocol.SHELLY, topic, b'{"event": "", "event_cnt": 7}') is None
    with pytest.raises(PayloadError):
        domain.parse(Protocol.SHELLY, topic, b'{"event": "S"}')
    battery = domain.parse(Protocol.SHELLY, "shellies/shellybutton1-A4CF/sensor/battery", b"12")
    assert battery == DeviceEvent(EventType.HEARTBEAT, None, 12)
    assert domain.parse(Protocol.SHELLY, "shellies/shellybutton1-A4CF/online", b"true") is None


def test_the_same_event_of_the_same_device_is_the_same_alert() -> None:
    device, other = uuid.uuid4(), uuid.uuid4()
    assert domain.alert_id(device, "e-1") == domain.alert_id(device, "e-1")
    assert domain.alert_id(device, "e-1") != domain.alert_id(device, "e-2")
    assert domain.alert_id(device, "e-1") != domain.alert_id(other, "e-1")


@pytest.mark.parametrize(
    ("event", "opened", "cleared"),
    [
        (DeviceEvent(EventType.LOW_BATTERY), {TroubleKind.LOW_BATTERY}, set()),
        (DeviceEvent(EventType.BATTERY_OK), set(), {TroubleKind.LOW_BATTERY}),
        (DeviceEvent(EventType.HEARTBEAT, battery=10), {TroubleKind.LOW_BATTERY}, set()),
        (DeviceEvent(EventType.HEARTBEAT, battery=80), set(), {TroubleKind.LOW_BATTERY}),
        (DeviceEvent(EventType.TAMPER), {TroubleKind.TAMPER}, set()),
        (DeviceEvent(EventType.TAMPER_RESTORED), set(), {TroubleKind.TAMPER}),
        (DeviceEvent(EventType.HEARTBEAT, tamper=True), {TroubleKind.TAMPER}, set()),
        (DeviceEvent(EventType.HEARTBEAT), set(), set()),
    ],
)
def test_troubles_an_event_opens_and_clears(
    event: DeviceEvent, opened: set[TroubleKind], cleared: set[TroubleKind]
) -> None:
    assert domain.troubles_changed(event) == (opened, cleared)


def test_a_device_silent_past_its_interval_is_offline() -> None:
    registered = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    heard = registered + timedelta(minutes=10)
    assert not domain.is_offline(last_seen_at=heard, registered_at=registered, interval_s=300, now=heard)
    assert not domain.is_offline(
        last_seen_at=heard, registered_at=registered, interval_s=300, now=heard + timedelta(seconds=300)
    )
    assert domain.is_offline(
        last_seen_at=heard, registered_at=registered, interval_s=300, now=heard + timedelta(seconds=301)
    )
    # Never heard: counted from its registration.
    assert domain.is_offline(last_seen_at=None, registered_at=registered, interval_s=300, now=heard)


def test_passwords_are_stored_in_mosquittos_pbkdf2_sha512_format() -> None:
    line = domain.password_hash("rahasia", salt=b"0123456789ab")
    scheme, iterations, salt, digest = line.split("$")[1:]
    assert (scheme, iterations, base64.b64decode(salt)) == ("7", "101", b"0123456789ab")
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac("sha512", b"rahasia", b"0123456789ab", 101)


def test_the_acl_lets_each_device_publish_only_its_own_topics() -> None:
    devices = [
        domain.BrokerUser("btn-a", "$7$x", Protocol.SIAGA, 1),
        domain.BrokerUser("teller", "$7$y", Protocol.ZIGBEE2MQTT, 1),
        domain.BrokerUser("vault", "$7$z", Protocol.ZIGBEE2MQTT, 1),
        domain.BrokerUser("shop", "$7$w", Protocol.ZIGBEE2MQTT, 2),
    ]
    acl = domain.acl_file("siaga", devices)
    blocks = {block.splitlines()[0]: block.splitlines()[1:] for block in acl.split("\n\n")[1:]}
    assert blocks["user btn-a"] == ["topic write siaga/devices/btn-a/event", "topic read siaga/devices/btn-a/ack"]
    # The site's Zigbee2MQTT gateway logs in once and publishes for each Zigbee button of its site, of no other.
    assert (
        blocks["user teller"]
        == blocks["user vault"]
        == ["topic write zigbee2mqtt/teller", "topic write zigbee2mqtt/vault"]
    )
    assert blocks["user shop"] == ["topic write zigbee2mqtt/shop"]
    assert "topic write siaga/devices/+/ack" in blocks["user siaga"]
    assert domain.password_file(None, devices[:2]) == "btn-a:$7$x\nteller:$7$y\n"
