"""Fixed panic buttons, the pure rules: which device a topic names, what each payload shape means (Siaga's JSON and
plain text, Zigbee2MQTT, Shelly), what is refused and why, the troubles an event opens or clears, when a device is
offline, and the broker's files."""

from __future__ import annotations

import base64
import hashlib
import json
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
        (b'{"id": "has space", "type": "test"}', "device.bad_event_id"),
        (b'{"id": "x", "type": "heartbeat", "battery": 140}', "device.bad_battery"),
        (b'{"id": "x", "type": "low_battery", "battery": true}', "device.bad_battery"),
        (b'{"type": "heartbeat", "tamper": "open"}', "device.bad_tamper"),
        (b"HELP ME NOW", "device.payload_not_json"),
        (b"BOOM", "device.unknown_type"),
    ],
)
def test_unreadable_payloads_are_refused_with_a_reason(payload: bytes, code: str) -> None:
    with pytest.raises(PayloadError) as refused:
        domain.parse(Protocol.SIAGA, SIAGA_TOPIC, payload)
    assert refused.value.code == code


def test_an_alarm_with_unreadable_fields_is_read_without_them_and_says_which() -> None:
    payload = b'{"id": "has space", "type": "panic", "battery": 140, "text": 5, "tamper": "open"}'
    assert domain.parse(Protocol.SIAGA, SIAGA_TOPIC, payload) == DeviceEvent(
        EventType.PANIC, salvaged="device.bad_event_id,device.bad_battery,device.bad_text,device.bad_tamper"
    )


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


SHELLY2_TOPIC = "shellyplusi4-c4dd57877294/events/rpc"


def _notify_event(*events: dict[str, object]) -> bytes:
    """A Shelly Gen2 NotifyEvent frame as its Input component sends it over MQTT (the Gen2 API's documented shape)."""
    frame = {
        "src": "shellyplusi4-c4dd57877294",
        "dst": "shellyplusi4-c4dd57877294/events",
        "method": "NotifyEvent",
        "params": {"ts": 1631266595.44, "events": list(events)},
    }
    return json.dumps(frame).encode()


def test_shelly_gen2_notifications_name_their_device_by_topic_prefix() -> None:
    assert domain.source_of(SHELLY2_TOPIC) == domain.Source(Protocol.SHELLY2, "shellyplusi4-c4dd57877294")
    assert domain.source_of("shellyplusi4-c4dd57877294/online") is None
    assert domain.source_of("shellyplusi4-c4dd57877294/events/rpc/x") is None
    # Gen1 and Siaga's own topics keep their meaning.
    assert domain.source_of("shellies/x/events/rpc") == domain.Source(Protocol.SHELLY, "x")
    assert "+/events/rpc" in domain.SUBSCRIPTIONS


@pytest.mark.parametrize("press", ["single_push", "double_push", "triple_push", "long_push"])
def test_a_shelly_gen2_push_is_a_panic_whose_id_is_its_input_and_time(press: str) -> None:
    event = {"component": "input:0", "id": 0, "event": press, "ts": 1631266595.43}
    assert domain.parse(Protocol.SHELLY2, SHELLY2_TOPIC, _notify_event(event)) == DeviceEvent(
        EventType.PANIC, "input:0@1631266595.43", None, f"Shelly: {press}"
    )


def test_a_shelly_gen2_press_is_one_panic_and_its_edges_say_nothing_more() -> None:
    down = {"component": "input:1", "id": 1, "event": "btn_down", "ts": 1631266594.9}
    up = {"component": "input:1", "id": 1, "event": "btn_up", "ts": 1631266595.1}
    assert domain.parse(Protocol.SHELLY2, SHELLY2_TOPIC, _notify_event(down)) is None
    assert domain.parse(Protocol.SHELLY2, SHELLY2_TOPIC, _notify_event(up)) is None
    # The event's own time missing, the notification's stands in.
    pushed = {"component": "input:1", "id": 1, "event": "single_push"}
    panic = domain.parse(Protocol.SHELLY2, SHELLY2_TOPIC, _notify_event(down, up, pushed))
    assert panic is not None
    assert (panic.type, panic.event_id) == (EventType.PANIC, "input:1@1631266595.44")


def test_a_shelly_gen2_status_carries_the_battery() -> None:
    status = {
        "method": "NotifyStatus",
        "params": {"ts": 1.0, "devicepower:0": {"id": 0, "battery": {"V": 3.1, "percent": 14}}},
    }
    assert domain.parse(Protocol.SHELLY2, SHELLY2_TOPIC, json.dumps(status).encode()) == DeviceEvent(
        EventType.HEARTBEAT, None, 14
    )
    other = {"method": "NotifyStatus", "params": {"ts": 1.0, "switch:0": {"output": True}}}
    assert domain.parse(Protocol.SHELLY2, SHELLY2_TOPIC, json.dumps(other).encode()) is None


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"single_push", "device.payload_not_json"),
        (b'{"method": "NotifyEvent"}', "device.bad_shelly_event"),
        (b'{"method": "NotifyEvent", "params": {"events": {"event": "single_push"}}}', "device.bad_shelly_event"),
        (_notify_event({"event": "single_push", "ts": 1.0}), "device.bad_shelly_event"),
        (_notify_event({"component": "input:0", "event": "long_push", "ts": "soon"}), "device.bad_shelly_event"),
        (_notify_event({"component": "input:0 " * 10, "event": "long_push", "ts": 1.0}), "device.bad_event_id"),
        (
            b'{"method": "NotifyStatus", "params": {"devicepower:0": {"battery": {"percent": 140}}}}',
            "device.bad_battery",
        ),
    ],
)
def test_unreadable_shelly_gen2_payloads_are_refused_with_their_reason(payload: bytes, code: str) -> None:
    with pytest.raises(PayloadError) as refused:
        domain.parse(Protocol.SHELLY2, SHELLY2_TOPIC, payload)
    assert refused.value.code == code


def test_a_shelly_gen2_device_publishes_only_under_its_own_prefix_and_takes_no_other_schemes() -> None:
    device = domain.BrokerUser("shellyplusi4-c4dd57877294", "hash", Protocol.SHELLY2, site_id=1)
    acl = domain.acl_file("siaga", [device])
    assert "topic read +/events/rpc" in acl
    mine = acl.split("user shellyplusi4-c4dd57877294", 1)[1]
    assert "topic write shellyplusi4-c4dd57877294/events/rpc" in mine
    assert "#" not in mine.replace("shellyplusi4-c4dd57877294/status/#", "")
    for name in ("siaga", "Shellies", "zigbee2mqtt"):
        assert domain.name_reserved(Protocol.SHELLY2, name)
    assert not domain.name_reserved(Protocol.SHELLY, "siaga-lobby")


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
