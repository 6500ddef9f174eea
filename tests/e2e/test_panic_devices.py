"""Fixed panic buttons over a real Mosquitto: a panic published by a device reaches the console as the site's alert,
the same event twice is one alert, unreadable payloads are recorded with the device and refused, a test press is
answered without an alert, a silent device becomes a trouble and its report clears it, nothing published while
Siaga's bridge is stopped is lost, and the broker files Siaga generates let each device publish only on its own topic.

The broker is the machine's Mosquitto (``SIAGA_TEST_MQTT_URL``, default ``mqtt://127.0.0.1:1883``); the ACL test
starts its own ``mosquitto`` on a free port with the generated files. Without a broker these tests skip, and fail on
CI (``SIAGA_REQUIRE_SERVICES=1``)."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
import websockets
from sqlalchemy import func, select

from siaga.accounts.domain import Role
from siaga.agencies import service as agencies
from siaga.alerts.models import Alert
from siaga.app import create_app
from siaga.devices import domain
from siaga.devices import service as devices
from siaga.devices.bridge import BrokerAddress, DeviceBridge
from siaga.devices.lease import Lease
from siaga.devices.models import DeviceMessage, Site
from siaga.devices.models import Lease as LeaseRow
from siaga.runtime import Runtime
from tests.conftest import REQUIRE_SERVICES, Api, Person, app_for, eventually, make_settings
from tests.e2e.test_streams import Client, Live, stream
from tests.servers import free_port, in_process

BROKER_URL = os.environ.get("SIAGA_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
BROKER = BrokerAddress.parse(BROKER_URL)
COBLONG = (-6.8915, 107.6107)
DEADLINE = 60.0  # generous: a busy 2-core machine runs the broker, the server and the test


def _broker_problem(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture
def broker() -> BrokerAddress:
    problem = _broker_problem(BROKER.host, BROKER.port)
    if problem is not None:
        message = f"no MQTT broker at {BROKER.host}:{BROKER.port} ({problem}); set SIAGA_TEST_MQTT_URL"
        if REQUIRE_SERVICES:
            pytest.fail(f"Mosquitto is required here (CI) but unreachable: {message}")
        pytest.skip(message)
    return BROKER


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def publish(
    address: BrokerAddress,
    topic: str,
    payload: str | bytes,
    *,
    username: str | None = None,
    password: str | None = None,
) -> None:
    """Publish as a device would (QoS 1: returns once the broker has the message)."""
    async with aiomqtt.Client(
        address.host, address.port, username=username, password=password, identifier=unique("device-")
    ) as client:
        await client.publish(topic, payload, qos=1)


async def forget_session(address: BrokerAddress, client_id: str) -> None:
    """End a test bridge's persistent session on the shared broker (a clean connect under its id)."""
    async with aiomqtt.Client(
        address.host,
        address.port,
        username=address.username,
        password=address.password,
        identifier=client_id,
        clean_session=True,
    ):
        pass


@asynccontextmanager
async def bridge_on(runtime: Runtime, address_url: str, client_id: str) -> AsyncIterator[DeviceBridge]:
    bridge = DeviceBridge(runtime, address_url, client_id=client_id)
    bridge.start()
    try:
        await asyncio.wait_for(bridge.connected.wait(), timeout=DEADLINE)
        yield bridge
    finally:
        await bridge.stop()


async def register(
    api: Api, admin: Person, *, name: str | None = None, protocol: str = "siaga", interval: int = 300
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A site in Coblong with one button, through the admin API: (site, device with its password)."""
    async with api.runtime.read_sessions() as session:
        coblong = await agencies.agency_by_code(session, "POLSEK-COBLONG")
    site_body = {
        "name": name or unique("Bank Uji "),
        "address": "Jl. Ir. H. Juanda 12",
        "lat": COBLONG[0],
        "lon": COBLONG[1],
        "floor_notes": "Lantai 2, pintu samping",
        "agency_id": coblong.id,
        "contacts": [{"name": "Pak Budi", "phone": "081234500001", "role": "satpam"}],
    }
    site = await api.post(admin, "/devices/sites", site_body)
    assert site.status_code == 201, site.text
    body = {"site_id": site.json()["id"], "name": unique("btn-"), "protocol": protocol, "label": "teller 2"}
    body["heartbeat_interval_s"] = interval
    device = await api.post(admin, "/devices", body)
    assert device.status_code == 201, device.text
    return site.json(), device.json()


def event_topic(device: dict[str, Any]) -> str:
    return f"siaga/devices/{device['name']}/event"


async def site_alerts(runtime: Runtime, site: dict[str, Any]) -> list[Alert]:
    async with runtime.read_sessions() as session:
        caller = await session.scalar(select(Site.resident_id).where(Site.id == site["id"]))
        return list((await session.scalars(select(Alert).where(Alert.resident_id == caller))).all())


async def messages_of(runtime: Runtime, device: dict[str, Any]) -> list[DeviceMessage]:
    async with runtime.read_sessions() as session:
        query = (
            select(DeviceMessage).where(DeviceMessage.device_id == uuid.UUID(device["id"])).order_by(DeviceMessage.id)
        )
        return list((await session.scalars(query)).all())


async def test_a_panic_published_reaches_the_console_as_the_sites_alert_once(
    db: Runtime, broker: BrokerAddress
) -> None:
    client_id = unique("siaga-test-")
    settings = make_settings(db.settings.database_url, mqtt_url=BROKER_URL, mqtt_client_id=client_id)
    runtime = Runtime.build(settings)
    runtime.sms = db.sms
    try:
        async with (
            in_process(create_app(settings, runtime=runtime)) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            assert runtime.devices is not None, "SIAGA_MQTT_URL set: the runtime runs the bridge"
            await asyncio.wait_for(runtime.devices.connected.wait(), timeout=DEADLINE)
            api = Api(http=http, runtime=runtime)
            admin, operator = await api.staff(Role.ADMIN), await api.staff(Role.OPERATOR)
            site, device = await register(api, admin)
            expected = str(domain.alert_id(uuid.UUID(device["id"]), "e-1"))
            stream = url.replace("http://", "ws://") + "/api/v1/stream"
            async with (
                websockets.connect(f"{stream}/console?token={operator.token}") as connection,
                aiomqtt.Client(broker.host, broker.port, identifier=unique("device-")) as button,
            ):
                await button.subscribe(f"siaga/devices/{device['name']}/ack", qos=1)
                console = Client(connection)
                await console.until(lambda m: m["type"] == "snapshot")
                await button.publish(event_topic(device), json.dumps({"id": "e-1", "type": "panic"}), qos=1)
                created = await console.until(lambda m: m["type"] == "alert_event" and m["alert"]["id"] == expected)
                assert created["alert"]["channel"] == "device"
                assert created["alert"]["resident_name"] == site["name"]
                assert created["alert"]["jurisdiction_name"] == "Coblong"  # placed at the site
                # The device hears back; the same event again (a redelivery, a retry) is answered, not raised again.
                acks = button.messages
                first = json.loads((await asyncio.wait_for(anext(acks), DEADLINE)).payload)
                assert (first["id"], first["status"], first["alert"]) == ("e-1", "received", expected)
                await button.publish(event_topic(device), json.dumps({"id": "e-1", "type": "panic"}), qos=1)
                again = json.loads((await asyncio.wait_for(anext(acks), DEADLINE)).payload)
                assert (again["id"], again["status"]) == ("e-1", "duplicate")
                # A test press is answered and logged, and raises nothing.
                await button.publish(event_topic(device), "TEST t-1", qos=1)
                tested = json.loads((await asyncio.wait_for(anext(acks), DEADLINE)).payload)
                assert (tested["id"], tested["status"]) == ("t-1", "test_ok")
            detail = await api.get(operator, f"/alerts/{expected}")
            assert detail.status_code == 200, detail.text
            shown = detail.json()
            for fact in (
                "Jl. Ir. H. Juanda 12",
                "Lantai 2, pintu samping",
                "teller 2",
                "Pak Budi 081234500001 (satpam)",
            ):
                assert fact in shown["description"], f"the console does not show {fact!r}: {shown['description']}"
            assert (shown["lat"], shown["lon"]) == COBLONG
            assert [str(a.id) for a in await site_alerts(runtime, site)] == [expected]
            outcomes = [(m.event_id, m.outcome) for m in await messages_of(runtime, device)]
            assert outcomes == [("e-1", "alert"), ("t-1", "test")]
    finally:
        await runtime.close()
        await forget_session(broker, client_id)


async def test_unreadable_payloads_are_recorded_with_the_device_and_never_half_written(
    api: Api, db: Runtime, broker: BrokerAddress, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await api.staff(Role.ADMIN)
    site, device = await register(api, admin)
    client_id = unique("siaga-test-")
    caplog.set_level(logging.WARNING, logger="siaga.devices")
    try:
        async with bridge_on(db, BROKER_URL, client_id):
            for payload in (
                b"{not json",
                b'{"id": "x1", "type": "explode"}',
                b"\xff\xfe",
                b'{"type": "heartbeat", "battery": 400}',  # an alarm's bad field is left out: test_channel_bad_input
            ):
                await publish(broker, event_topic(device), payload)
            await publish(broker, event_topic(device), json.dumps({"id": "ok-1", "type": "fire"}))

            async def all_handled() -> list[DeviceMessage] | None:
                found = await messages_of(db, device)
                return found if len(found) == 5 else None

            handled = await eventually(all_handled, within=DEADLINE, what="the five messages recorded")
    finally:
        await forget_session(broker, client_id)
    refused = [(m.outcome, m.error) for m in handled[:4]]
    assert refused == [
        ("refused", "device.payload_not_json"),
        ("refused", "device.unknown_type"),
        ("refused", "device.payload_not_text"),
        ("refused", "device.bad_battery"),
    ]
    assert handled[0].payload == "{not json"
    assert (handled[4].outcome, handled[4].event_type) == ("alert", "fire")
    alerts = await site_alerts(db, site)
    assert [(a.category, a.channel) for a in alerts] == [("kebakaran", "device")], "only the readable fire alarm"
    logged = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(logged) == 4
    assert all(device["name"] in line for line in logged), logged


async def test_panics_published_while_the_bridge_is_stopped_each_become_exactly_one_alert(
    api: Api, db: Runtime, broker: BrokerAddress
) -> None:
    admin = await api.staff(Role.ADMIN)
    buttons = [await register(api, admin) for _ in range(12)]
    client_id = unique("siaga-test-")
    try:
        async with bridge_on(db, BROKER_URL, client_id) as bridge:
            # A burst; the bridge stops while it is still taking them in.
            await asyncio.gather(
                *(
                    publish(broker, event_topic(device), json.dumps({"id": "p-1", "type": "panic"}))
                    for _, device in buttons[:6]
                )
            )
            await eventually(lambda: _true(bridge.handled >= 1), within=DEADLINE, what="the bridge taking the burst")
        # Stopped: these wait on the broker in Siaga's session, with a retry of an earlier one.
        for _, device in buttons[6:]:
            await publish(broker, event_topic(device), json.dumps({"id": "p-1", "type": "silent_panic"}))
        await publish(broker, event_topic(buttons[0][1]), json.dumps({"id": "p-1", "type": "panic"}))
        async with bridge_on(db, BROKER_URL, client_id):

            async def every_site_alerted() -> bool:
                return all([await site_alerts(db, site) for site, _ in buttons])

            await eventually(every_site_alerted, within=DEADLINE, what="an alert for every panic")
            for site, device in buttons:
                alerts = await site_alerts(db, site)
                assert [str(a.id) for a in alerts] == [str(domain.alert_id(uuid.UUID(device["id"]), "p-1"))]
    finally:
        await forget_session(broker, client_id)
    async with db.read_sessions() as session:
        total = await session.scalar(select(func.count()).select_from(Alert).where(Alert.channel == "device"))
    assert total == len(buttons)


async def _true(value: bool) -> bool:
    return value


async def test_a_silent_device_becomes_a_trouble_on_its_agencys_list_and_its_report_clears_it(
    api: Api, db: Runtime, broker: BrokerAddress
) -> None:
    admin = await api.staff(Role.ADMIN)
    coblong = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    sukajadi = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
    site, device = await register(api, admin, interval=5)

    async def troubles(who: Person) -> list[dict[str, Any]]:
        answer = await api.get(who, "/devices/troubles")
        assert answer.status_code == 200, answer.text
        return [t for t in answer.json() if t["device_id"] == device["id"]]

    async def offline() -> list[dict[str, Any]] | None:
        await db.sweep_devices()  # the runtime's supervision round
        return await troubles(coblong) or None

    [trouble] = await eventually(offline, within=DEADLINE, what="the silent device's trouble")
    assert (trouble["kind"], trouble["site_name"]) == ("offline", site["name"])
    assert await troubles(sukajadi) == [], "another agency's console lists it"
    client_id = unique("siaga-test-")
    try:
        async with bridge_on(db, BROKER_URL, client_id):
            await publish(broker, event_topic(device), json.dumps({"type": "heartbeat", "battery": 9}))

            async def low_battery_only() -> list[str] | None:
                kinds = sorted(t["kind"] for t in await troubles(coblong))
                return kinds if kinds == ["low_battery"] else None

            await eventually(low_battery_only, within=DEADLINE, what="back online, but low on battery")
            await publish(broker, event_topic(device), json.dumps({"type": "tamper", "id": "tp-1"}))
            await publish(broker, event_topic(device), json.dumps({"type": "heartbeat", "battery": 95}))

            async def tamper_only() -> list[str] | None:
                kinds = sorted(t["kind"] for t in await troubles(coblong))
                return kinds if kinds == ["tamper"] else None

            await eventually(tamper_only, within=DEADLINE, what="the battery restored, the case opened")
    finally:
        await forget_session(broker, client_id)
    timeline = await api.get(coblong, f"/devices/troubles/{trouble['id']}/timeline")
    assert timeline.status_code == 200, timeline.text
    assert [(e["kind"], e["data"].get("reason")) for e in timeline.json()] == [
        ("opened", None),
        ("cleared", "device_reported"),
    ]
    assert await site_alerts(db, site) == [], "troubles are not alerts"


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> tuple[Path, int]:
    """A folder for the generated files, and a free port for a mosquitto of the test's own."""
    if shutil.which("mosquitto") is None:
        if REQUIRE_SERVICES:
            pytest.fail("mosquitto is required here (CI) but not installed")
        pytest.skip("mosquitto is not installed")
    return tmp_path, free_port()


async def test_the_generated_broker_files_let_a_device_publish_only_on_its_own_topic(
    api: Api, db: Runtime, own_mosquitto: tuple[Path, int]
) -> None:
    folder, port = own_mosquitto
    admin = await api.staff(Role.ADMIN)
    site_a, device_a = await register(api, admin)
    site_b, device_b = await register(api, admin)
    siaga_password = unique("pw-")
    async with db.read_sessions() as session:
        files = await devices.broker_files(session, bridge_user="siaga", bridge_password=siaga_password)
    (folder / "passwd").write_text(files.password_file)
    (folder / "acl").write_text(files.acl_file)
    (folder / "mosquitto.conf").write_text(
        # Run as whoever runs the tests: as root, mosquitto would switch to its own user, which cannot read pytest's
        # folders.
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\npersistence false\n"
        f"password_file {folder / 'passwd'}\nacl_file {folder / 'acl'}\n"
    )
    process = await asyncio.create_subprocess_exec(
        "mosquitto", "-c", str(folder / "mosquitto.conf"), stdout=asyncio.subprocess.DEVNULL
    )
    try:

        async def listening() -> bool:
            assert process.returncode is None, f"mosquitto stopped ({process.returncode})"
            return _broker_problem("127.0.0.1", port) is None

        await eventually(listening, within=DEADLINE, what="the test's mosquitto")
        own = BrokerAddress("127.0.0.1", port, None, None, tls=False)
        url = f"mqtt://siaga:{siaga_password}@127.0.0.1:{port}"
        async with bridge_on(db, url, unique("siaga-test-")) as bridge:
            a_password = device_a["password"]
            # Device A on device B's topic: the broker takes the message but delivers it to nobody.
            await publish(
                own,
                event_topic(device_b),
                json.dumps({"id": "x-1", "type": "panic"}),
                username=device_a["name"],
                password=a_password,
            )
            await publish(
                own,
                event_topic(device_a),
                json.dumps({"id": "a-1", "type": "panic"}),
                username=device_a["name"],
                password=a_password,
            )
            await eventually(lambda: site_alerts(db, site_a), within=DEADLINE, what="device A's own panic")
            await eventually(lambda: _true(bridge.handled >= 1), within=DEADLINE, what="the bridge's count")
            assert bridge.handled == 1, "the bridge heard a message on another device's topic"
            # A wrong password, or no login at all, does not get in.
            for username, password in ((device_b["name"], "guessed"), (None, None)):
                with pytest.raises(aiomqtt.MqttError):
                    await publish(own, event_topic(device_b), "PANIC", username=username, password=password)
        assert await site_alerts(db, site_b) == []
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=DEADLINE)


async def test_the_bridge_reconnects_and_resubscribes_after_the_broker_restarts(
    api: Api, db: Runtime, own_mosquitto: tuple[Path, int]
) -> None:
    folder, port = own_mosquitto
    admin = await api.staff(Role.ADMIN)
    site, device = await register(api, admin)
    conf = folder / "mosquitto.conf"
    # No persistence: the restarted broker knows nothing of Siaga's session, so Siaga must subscribe again itself.
    conf.write_text(f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    own = BrokerAddress("127.0.0.1", port, None, None, tls=False)

    async def start_broker() -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec("mosquitto", "-c", str(conf), stdout=asyncio.subprocess.DEVNULL)

        async def listening() -> bool:
            assert process.returncode is None, f"mosquitto stopped ({process.returncode})"
            return _broker_problem("127.0.0.1", port) is None

        await eventually(listening, within=DEADLINE, what="the test's mosquitto")
        return process

    broker = await start_broker()
    try:
        async with bridge_on(db, f"mqtt://127.0.0.1:{port}", unique("siaga-test-")) as bridge:
            broker.terminate()
            await broker.wait()
            await eventually(lambda: _true(not bridge.connected.is_set()), within=DEADLINE, what="the loss noticed")
            broker = await start_broker()
            await asyncio.wait_for(bridge.connected.wait(), timeout=DEADLINE)
            await publish(own, event_topic(device), json.dumps({"id": "after-1", "type": "panic"}))
            await eventually(lambda: site_alerts(db, site), within=DEADLINE, what="the panic after the restart")
    finally:
        if broker.returncode is None:
            broker.terminate()
            await asyncio.wait_for(broker.wait(), timeout=DEADLINE)
    assert [str(a.id) for a in await site_alerts(db, site)] == [
        str(domain.alert_id(uuid.UUID(device["id"]), "after-1"))
    ]


async def test_a_shelly_gen2_push_over_the_broker_is_the_sites_alert_once(api: Api, broker: BrokerAddress) -> None:
    """A Shelly Plus i4 registered under its topic prefix: its NotifyEvent for a single push on
    ``<prefix>/events/rpc`` raises the site's alert; the press's edges and the same notification redelivered raise
    nothing more. A Gen2 device may not take another scheme's first topic level as its name."""
    db = api.runtime
    admin = await api.staff(Role.ADMIN)
    site, _ = await register(api, admin)
    refused = await api.post(admin, "/devices", {"site_id": site["id"], "name": "zigbee2mqtt", "protocol": "shelly2"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "device.reserved_name"
    prefix = unique("shellyplusi4-")
    device = await api.post(admin, "/devices", {"site_id": site["id"], "name": prefix, "protocol": "shelly2"})
    assert device.status_code == 201, device.text
    assert device.json()["topics"] == [f"{prefix}/events/rpc", f"{prefix}/online", f"{prefix}/status/#"]

    def frame(event: str, ts: float) -> str:
        events = [{"component": "input:0", "id": 0, "event": event, "ts": ts}]
        return json.dumps(
            {"src": prefix, "dst": f"{prefix}/events", "method": "NotifyEvent", "params": {"ts": ts, "events": events}}
        )

    client_id = unique("siaga-test-")
    expected = domain.alert_id(uuid.UUID(device.json()["id"]), "input:0@1796360400.25")
    try:
        async with bridge_on(db, BROKER_URL, client_id) as bridge:
            for payload in (frame("btn_down", 1796360400.1), frame("btn_up", 1796360400.2)):
                await publish(broker, f"{prefix}/events/rpc", payload)
            for _ in range(2):  # QoS 1 redelivers a notification whose PUBACK was lost: the same event
                await publish(broker, f"{prefix}/events/rpc", frame("single_push", 1796360400.25))

            async def raised() -> list[Alert]:
                alerts = await site_alerts(db, site)
                return alerts if alerts and bridge.handled >= 4 else []

            alerts = await eventually(raised, what="the Shelly Gen2 push raised", within=DEADLINE)
    finally:
        await forget_session(broker, client_id)
    assert [a.id for a in alerts] == [expected]
    assert alerts[0].channel == "device"
    outcomes = [(m.event_id, m.outcome) for m in await messages_of(db, device.json())]
    assert outcomes == [("input:0@1796360400.25", "alert")]


async def test_a_trouble_reaches_its_agencys_open_console_stream_live(db: Runtime) -> None:
    """A button's trouble opened, and then cleared, arrives on the open console streams of the site's agency as it is
    committed (no list read, no poll), and on no other agency's."""
    async with in_process(app_for(db)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        live = Live(api=Api(http=http, runtime=db), ws=url.replace("http://", "ws://") + "/api/v1/stream")
        api = live.api
        admin = await api.staff(Role.ADMIN)
        coblong = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
        sukajadi = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
        site, device = await register(api, admin)
        async with api.runtime.read_sessions() as session:
            other_agency = await agencies.agency_by_code(session, "POLSEK-SUKAJADI")
        other_site = await api.post(
            admin,
            "/devices/sites",
            {"name": "Toko Sukajadi", "lat": -6.88, "lon": 107.59, "agency_id": other_agency.id},
        )
        assert other_site.status_code == 201, other_site.text
        other = await api.post(admin, "/devices", {"site_id": other_site.json()["id"], "name": unique("btn-")})
        assert other.status_code == 201, other.text

        def trouble_of(name: str) -> Any:
            return lambda m: m["type"] == "device_trouble" and m["device_name"] == name

        async with stream(live, "console", coblong) as theirs, stream(live, "console", sukajadi) as elsewhere:
            await devices.receive(db, event_topic(device), json.dumps({"id": "tp-1", "type": "tamper"}).encode())
            opened = await theirs.until(trouble_of(device["name"]))
            assert (opened["kind"], opened["site_name"], opened["cleared_at"]) == ("tamper", site["name"], None)
            assert opened["device_label"] == "teller 2"
            await devices.receive(
                db, event_topic(device), json.dumps({"id": "tp-2", "type": "tamper_restored"}).encode()
            )
            cleared = await theirs.until(trouble_of(device["name"]))
            assert (cleared["id"], cleared["kind"]) == (opened["id"], "tamper")
            assert cleared["cleared_at"] is not None
            # Sukajadi's console hears of its own site's trouble, and of Coblong's nothing before it.
            await devices.receive(db, event_topic(other.json()), json.dumps({"type": "low_battery"}).encode())
            first = await elsewhere.until(lambda m: m["type"] == "device_trouble")
            assert (first["device_name"], first["kind"]) == (other.json()["name"], "low_battery")


async def test_one_process_holds_the_subscription_and_another_takes_over_when_it_dies(
    api: Api, broker: BrokerAddress
) -> None:
    """Two processes' bridges on one database and one client id: one holds the lease and the subscription, the other
    waits. The holder dies (its lease left to run out); panics published meanwhile wait in the persistent session, and
    the other takes the lease over, connects and raises each of them: nothing lost, nothing twice."""
    db = api.runtime
    admin = await api.staff(Role.ADMIN)
    site, device = await register(api, admin)
    client_id = unique("siaga-test-")
    ttl = timedelta(seconds=3)

    def process() -> DeviceBridge:
        return DeviceBridge(db, BROKER_URL, client_id=client_id, lease=Lease(db.sessions, f"mqtt:{client_id}", ttl))

    first, second = process(), process()
    try:
        first.start()
        await asyncio.wait_for(first.connected.wait(), timeout=DEADLINE)
        second.start()
        await publish(broker, event_topic(device), json.dumps({"id": "p-1", "type": "panic"}))

        async def recorded(*ids: str) -> list[DeviceMessage] | None:
            found = [m for m in await messages_of(db, device) if m.event_id in ids]
            return found if len(found) == len(ids) else None

        await eventually(partial(recorded, "p-1"), within=DEADLINE, what="the holder raised p-1")
        assert first.handled >= 1
        assert not second.leading.is_set(), "two processes hold the subscription"

        await first.stop(release=False)  # the holder dies: its lease is left to run out
        for event_id in ("p-2", "p-3"):
            await publish(broker, event_topic(device), json.dumps({"id": event_id, "type": "panic"}))
        await asyncio.wait_for(second.connected.wait(), timeout=DEADLINE)
        await eventually(partial(recorded, "p-2", "p-3"), within=DEADLINE, what="the new holder raised p-2 and p-3")
        assert second.handled >= 2
    finally:
        await second.stop()
        await first.stop()
        await forget_session(broker, client_id)
    outcomes = sorted((m.event_id, m.outcome) for m in await messages_of(db, device))
    assert outcomes == [("p-1", "alert"), ("p-2", "alert"), ("p-3", "alert")]
    [alert] = await site_alerts(db, site)  # the later panics joined the site's open alert: three presses
    assert alert.press_count == 3
    async with db.read_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LeaseRow)) == 0  # given up on the clean stop
