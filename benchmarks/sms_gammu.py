"""SMS SOS end to end through Gammu SMSD: from a message reaching the modem to its alert on a console.

A real ``gammu-smsd`` on Gammu's dummy phone and a real ``siaga serve`` (SIAGA_SMS_ADAPTER=gammu) on a scratch SQLite
database seeded with the demo city; the demo's command-centre operator watches the console stream. Feature phones
with no account text ``TOLONG`` (each its own number, so each is its own alert) at a steady rate; each message is
timed from the moment its backup file lands in the dummy phone's incoming folder (what a modem does when the network
delivers an SMS) to the console's ``created`` event for its alert. The path crosses both polls: the daemon reads its
phone every ``receivefrequency`` second, Siaga its inbox every ``SIAGA_SMS_GAMMU_INTERVAL_SECONDS``.

    .venv/bin/python -m benchmarks.sms_gammu --messages 100 --rate 5
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
from pathlib import Path
from typing import Any

import httpx
import websockets

from benchmarks import channels, hist
from benchmarks.server import free_port
from siaga.realtime.schemas import unbatch

DEMO_PASSWORD = "siaga-demo-2026"  # noqa: S105 - the demo's own accounts, on a throwaway server


def _gammu_config(folder: Path) -> Path:
    for name in ("phone/sms/1", "inbox", "outbox", "sent", "error"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    config = folder / "smsdrc"
    config.write_text(
        f"[gammu]\nmodel = dummy\nconnection = none\ndevice = {folder / 'phone'}/\n\n[smsd]\nservice = files\n"
        f"inboxpath = {folder / 'inbox'}/\noutboxpath = {folder / 'outbox'}/\nsentsmspath = {folder / 'sent'}/\n"
        f"errorsmspath = {folder / 'error'}/\ninboxformat = unicode\noutboxformat = unicode\nchecksecurity = 0\n"
        "checkbattery = 0\nchecksignal = 0\ncommtimeout = 1\nsendtimeout = 5\nreceivefrequency = 1\n"
        f"statusfrequency = 0\nloopsleep = 1\nlogfile = {folder / 'smsd.log'}\n",
        encoding="utf-8",
    )
    return config


def _deliver(phone: Path, location: int, sender: str, text: str) -> None:
    backup = (
        '[SMSBackup000]\nSMSC = "+0"\nState = UnRead\n'
        f'Number = "{sender}"\nCoding = Default\nFolder = 1\nPDU = Deliver\n'
        f"Text00 = {text.encode('utf-16-be').hex().upper()}\n"
    )
    staged = phone / f".staged-{location}"
    staged.write_text(backup, encoding="ascii")
    os.replace(staged, phone / "sms" / "1" / str(location))


def run(messages: int, rate: float, interval: float, *, baseline: bool = False) -> dict[str, Any]:
    """Seed a scratch demo city, start the daemon and the server, measure, and stop them. ``baseline``: first the
    same number of app presses at the same rate, to the same console (``benchmarks.channels``)."""
    folder = Path(tempfile.mkdtemp(prefix="siaga-sms-bench-"))
    config = _gammu_config(folder / "gammu")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")},
        "SIAGA_DEV_MODE": "1",
        "SIAGA_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'siaga.db'}",
        "SIAGA_PORT": str(port),
        "SIAGA_LOG_LEVEL": "WARNING",
        "SIAGA_SMS_ADAPTER": "gammu",
        "SIAGA_SMS_GAMMU_CONFIG": str(config),
        "SIAGA_SMS_GAMMU_INTERVAL_SECONDS": str(interval),
    }
    siaga = [sys.executable, "-m", "siaga"]
    seeded = subprocess.run([*siaga, "demo", "--no-serve"], env=env, capture_output=True, text=True, check=False)
    if seeded.returncode != 0:
        raise SystemExit(seeded.stderr)
    residents = channels.seed_residents(env["SIAGA_DATABASE_URL"], folder, messages) if baseline else []
    daemon = subprocess.Popen(["gammu-smsd", "-c", str(config)])  # noqa: S607 - Debian's gammu-smsd, on PATH
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen([*siaga, "serve", "--no-upgrade"], env=env, stdout=log, stderr=log)
    try:
        return asyncio.run(
            _measure(port, folder / "gammu" / "phone", messages=messages, rate=rate, interval=interval, app=residents)
        )
    finally:
        server.terminate()
        daemon.terminate()
        server.wait(timeout=30)
        daemon.wait(timeout=30)
        log.close()


async def _measure(
    port: int, phone: Path, *, messages: int, rate: float, interval: float, app: list[str]
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        for _ in range(300):
            try:
                if (await http.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        login = await http.post("/api/v1/auth/login", json={"username": "operator1", "password": DEMO_PASSWORD})
        token = login.json()["access_token"]
    baseline = await channels.app_presses(port, token, app, rate=rate) if app else None
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/v1/stream/console?token={token}", max_size=None) as ws:

        async def watch() -> None:
            while len(seen) < messages:
                for item in unbatch(json.loads(await ws.recv())):
                    event = item.get("event") or {}
                    if item.get("type") == "alert_event" and event.get("kind") == "created":
                        name = (item.get("alert") or {}).get("resident_name")
                        if name in sent and name not in seen:
                            seen[name] = time.monotonic()

        watcher = asyncio.create_task(watch())
        began = time.monotonic()
        for n in range(messages):
            await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
            sender = f"+62813{n:08d}"
            sent[sender] = time.monotonic()
            await asyncio.to_thread(_deliver, phone, n + 1, sender, "TOLONG di pasar")
        await asyncio.wait_for(watcher, timeout=120)
    latencies = hist.new()
    for sender, at in sent.items():
        hist.record_seconds(latencies, seen[sender] - at)
    return {
        "messages": messages,
        "rate_per_s": rate,
        "siaga_interval_s": interval,
        "latency": hist.summary_ms(latencies),
        "app_baseline": baseline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5.0, help="messages a second")
    parser.add_argument("--interval", type=float, default=1.0, help="SIAGA_SMS_GAMMU_INTERVAL_SECONDS")
    parser.add_argument("--baseline", action="store_true", help="app presses first, at the same rate")
    args = parser.parse_args()
    print(json.dumps(run(args.messages, args.rate, args.interval, baseline=args.baseline), indent=2))


if __name__ == "__main__":
    main()
