"""Fixed panic buttons end to end: from a button's MQTT publish to its alert on a console.

A real Mosquitto (a scratch one on a free port) and a real ``siaga serve`` following it (SIAGA_MQTT_URL) on a scratch
SQLite database seeded with the demo city, plus ``--devices`` buttons, each at a site of its own (so each panic is an
alert of its own), registered through the device service. Every button keeps its own MQTT connection open; the demo's
command-centre operator watches the console stream. The buttons publish one panic each (QoS 1, as a button does) at
``--rate`` a second in an open model; each is timed from just before its publish to the console's ``created`` event
for its alert.

    .venv/bin/python -m benchmarks.mqtt_panics --devices 1000 --rate 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import websockets

from benchmarks import channels, hist
from benchmarks.server import free_port
from siaga.agencies import service as agencies
from siaga.audit.actor import ActorContext
from siaga.db import create_engine, session_factory, transaction
from siaga.devices import domain
from siaga.devices import service as devices
from siaga.realtime.schemas import unbatch

DEMO_PASSWORD = "siaga-demo-2026"  # noqa: S105 - the demo's own accounts, on a throwaway server
CONNECT_AT_ONCE = 50


async def _register(database_url: str, count: int) -> list[tuple[str, uuid.UUID]]:
    """``count`` buttons, each at a site of its own spread over Bandung: (name, id)."""
    engine = create_engine(database_url)
    made: list[tuple[str, uuid.UUID]] = []
    try:
        async with transaction(session_factory(engine)) as session:
            agency = await agencies.agency_by_code(session, "BDG-CC")
            by = ActorContext.command_line("bench")
            for n in range(count):
                site = await devices.create_site(
                    session,
                    by,
                    name=f"Toko {n}",
                    address="",
                    lat=-6.95 + (n % 40) * 0.004,
                    lon=107.57 + (n // 40 % 40) * 0.004,
                    floor_notes="",
                    agency_id=agency.id,
                    contacts=[],
                )
                device, _ = await devices.add_device(
                    session,
                    by,
                    site_id=site.id,
                    name=f"bench-{n}",
                    protocol=domain.Protocol.SIAGA,
                    label="",
                    heartbeat_interval_s=3600,
                )
                made.append((device.name, device.id))
    finally:
        await engine.dispose()
    return made


def run(count: int, rate: float, *, baseline: bool = False) -> dict[str, Any]:
    """Seed a scratch demo city with the buttons, start the broker and the server, measure, and stop them.
    ``baseline``: first as many app presses at the same rate, to the same console (``benchmarks.channels``)."""
    folder = Path(tempfile.mkdtemp(prefix="siaga-mqtt-bench-"))
    port, mqtt_port = free_port(), free_port()
    database_url = f"sqlite+aiosqlite:///{folder / 'siaga.db'}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")},
        "SIAGA_DEV_MODE": "1",
        "SIAGA_DATABASE_URL": database_url,
        "SIAGA_PORT": str(port),
        "SIAGA_MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}",
    }
    siaga = [sys.executable, "-m", "siaga"]
    seeded = subprocess.run([*siaga, "demo", "--no-serve"], env=env, capture_output=True, text=True, check=False)
    if seeded.returncode != 0:
        raise SystemExit(seeded.stderr)
    buttons = asyncio.run(_register(database_url, count))
    residents = channels.seed_residents(database_url, folder, count) if baseline else []
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {mqtt_port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_connections -1\n"
        "max_queued_messages 100000\nmax_inflight_messages 1000\n"
    )
    log = (folder / "server.log").open("wb")
    broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=log)  # noqa: S607 - on PATH
    server = subprocess.Popen([*siaga, "serve", "--no-upgrade"], env=env, stdout=log, stderr=log)
    try:
        return asyncio.run(_measure(port, mqtt_port, folder / "server.log", buttons, rate=rate, app=residents))
    finally:
        server.terminate()
        broker.terminate()
        server.wait(timeout=30)
        broker.wait(timeout=30)
        log.close()


async def _console_token(port: int, log: Path) -> str:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                healthy = (await http.get("/healthz")).status_code == 200
                if healthy and "following device topics" in await asyncio.to_thread(log.read_text):
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        else:
            tail = (await asyncio.to_thread(log.read_text))[-3000:]
            raise SystemExit(f"the server or its bridge did not start:\n{tail}")
        login = await http.post("/api/v1/auth/login", json={"username": "operator1", "password": DEMO_PASSWORD})
        token: str = login.json()["access_token"]
        return token


async def _measure(
    port: int, mqtt_port: int, log: Path, buttons: list[tuple[str, uuid.UUID]], *, rate: float, app: list[str]
) -> dict[str, Any]:
    token = await _console_token(port, log)
    baseline = await channels.app_presses(port, token, app, rate=rate) if app else None
    clients = [aiomqtt.Client("127.0.0.1", mqtt_port, identifier=name, keepalive=300) for name, _ in buttons]
    connect_began = time.monotonic()
    for start in range(0, len(clients), CONNECT_AT_ONCE):
        await asyncio.gather(*(client.__aenter__() for client in clients[start : start + CONNECT_AT_ONCE]))
    connected_s = time.monotonic() - connect_began
    expected = {str(domain.alert_id(device_id, "b-1")): name for name, device_id in buttons}
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    stream = f"ws://127.0.0.1:{port}/api/v1/stream/console?token={token}"
    try:
        async with websockets.connect(stream, max_size=None) as ws:

            async def watch() -> None:
                while len(seen) < len(buttons):
                    for item in unbatch(json.loads(await ws.recv())):
                        event = item.get("event") or {}
                        alert_id = (item.get("alert") or {}).get("id")
                        if item.get("type") == "alert_event" and event.get("kind") == "created" and alert_id:
                            name = expected.get(alert_id)
                            if name is not None and name not in seen:
                                seen[name] = time.monotonic()

            async def press(n: int, name: str, client: aiomqtt.Client) -> None:
                await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
                sent[name] = time.monotonic()
                await client.publish(f"siaga/devices/{name}/event", '{"id": "b-1", "type": "panic"}', qos=1)

            watcher = asyncio.create_task(watch())
            began = time.monotonic()
            await asyncio.gather(
                *(press(n, name, c) for n, ((name, _), c) in enumerate(zip(buttons, clients, strict=True)))
            )
            await asyncio.wait_for(watcher, timeout=300)
    finally:
        for client in clients:
            await client.__aexit__(None, None, None)
    latencies = hist.new()
    for name, at in sent.items():
        hist.record_seconds(latencies, seen[name] - at)
    return {
        "devices_connected": len(clients),
        "connect_all_s": round(connected_s, 2),
        "panics": len(sent),
        "rate_per_s": rate,
        "panic_to_console": hist.summary_ms(latencies),
        "app_baseline": baseline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000, help="buttons connected, each publishing one panic")
    parser.add_argument("--rate", type=float, default=100.0, help="panics a second")
    parser.add_argument("--baseline", action="store_true", help="app presses first, at the same rate")
    args = parser.parse_args()
    print(json.dumps(run(args.devices, args.rate, baseline=args.baseline), indent=2))


if __name__ == "__main__":
    main()
