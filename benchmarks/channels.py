"""The other channels against the app, in one run: an SOS texted into a GSM modem (Gammu SMSD on its dummy phone)
and a fixed panic button over MQTT, each timed to the console's ``created`` event, beside the app's own press sent
at the same rate to the same server and console (the baseline). GPS trackers are measured with the officers'
positions (``benchmarks.officerload``).

Each channel runs on a scratch SQLite demo city of its own, with its real gateway (``gammu-smsd``, Mosquitto); the
app's presses go first, from residents seeded with sessions, then the channel's. ``make bench`` runs this after the
databases' scenarios; on its own:

    .venv/bin/python -m benchmarks.channels            # BENCH_QUICK=1 for a smoke run
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

from benchmarks import hist, population
from benchmarks.server import Database
from siaga.realtime.schemas import unbatch


def seed_residents(database_url: str, folder: Path, count: int) -> list[str]:
    """``count`` residents with a session each in the channel's demo database (their tokens), for the baseline."""
    return asyncio.run(population.seed_residents(Database("sqlite", database_url, folder), count))


async def app_presses(port: int, console_token: str, residents: list[str], *, rate: float) -> dict[str, Any]:
    """The baseline: one app press a resident at ``rate`` a second (open model, each timed from its scheduled
    moment), from ``POST /alerts`` to the console's ``created`` event for its alert."""
    expected = {str(uuid.uuid4()): token for token in residents}
    scheduled: dict[str, float] = {}
    seen: dict[str, float] = {}
    failed: list[int] = []
    refusals: dict[int, str] = {}
    stream = f"ws://127.0.0.1:{port}/api/v1/stream/console?token={console_token}"
    async with (
        websockets.connect(stream, max_size=None) as ws,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as http,
    ):

        async def watch() -> None:
            while len(seen) + len(failed) < len(expected):
                for item in unbatch(json.loads(await ws.recv())):
                    event = item.get("event") or {}
                    alert_id = (item.get("alert") or {}).get("id")
                    if item.get("type") == "alert_event" and event.get("kind") == "created" and alert_id in expected:
                        seen.setdefault(alert_id, time.monotonic())

        async def press(n: int, alert_id: str, token: str) -> None:
            at = began + n / rate
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            scheduled[alert_id] = at
            body = {
                "id": alert_id,
                "category": "kriminalitas",
                "location": {"lat": -6.89, "lon": 107.61, "accuracy_m": 10},
            }
            answer = await http.post("/alerts", json=body, headers={"Authorization": f"Bearer {token}"})
            if answer.status_code != 201:
                failed.append(answer.status_code)
                refusals.setdefault(answer.status_code, answer.text[:300])

        watcher = asyncio.create_task(watch())
        began = time.monotonic() + 0.5
        await asyncio.gather(*(press(n, a, t) for n, (a, t) in enumerate(expected.items())))
        await asyncio.wait_for(watcher, timeout=300)
    latencies = hist.new()
    for alert_id, at in scheduled.items():
        if alert_id in seen:
            hist.record_seconds(latencies, seen[alert_id] - at)
    return {
        "presses": len(expected),
        "refused": len(failed),
        "refusals": refusals,  # the first answer of each refused status, to see why
        "rate_per_s": rate,
        **hist.summary_ms(latencies),
    }


def ratios(channel: dict[str, Any], app: dict[str, Any]) -> dict[str, float | None]:
    """The channel's latency as a multiple of the app's, at p50 and p99."""
    return {
        key: round(channel[key] / app[key], 1) if channel.get(key) and app.get(key) else None for key in ("p50", "p99")
    }


def run(*, quick: bool) -> dict[str, Any]:
    from benchmarks import mqtt_panics, sms_gammu

    out: dict[str, Any] = {}
    messages, sms_rate = (20, 2.0) if quick else (200, 5.0)
    out["sms"] = sms_gammu.run(messages, sms_rate, 1.0, baseline=True)
    devices, mqtt_rate = (100, 20.0) if quick else (1000, 100.0)
    out["mqtt"] = mqtt_panics.run(devices, mqtt_rate, baseline=True)
    return out


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _times(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio}×"


def markdown(channels: dict[str, Any], meta: dict[str, Any] | None = None) -> list[str]:
    """The channels' table for the README (empty when the run had none); ``meta``: they were measured apart."""
    if not channels or "skipped" in channels:
        return ["", f"Channels not measured: {channels['skipped']}."] if channels else []
    lines = [
        "",
        "| channel (SQLite, its real gateway) | rate | channel p50 / p99 | app press p50 / p99, same run "
        "| ratio p50 / p99 |",
        "| --- | --- | --- | --- | --- |",
    ]
    sms, mqtt = channels.get("sms"), channels.get("mqtt")
    rows = []
    if sms:
        rows.append(("SMS SOS through Gammu SMSD, modem inbox to console", sms, sms["latency"]))
    if mqtt:
        label = f"MQTT panic to console, {mqtt['devices_connected']:,} buttons connected"
        rows.append((label, mqtt, mqtt["panic_to_console"]))
    for label, entry, measured in rows:
        app = entry.get("app_baseline") or {}
        ratio = ratios(measured, app)
        lines.append(
            f"| {label} | {entry['rate_per_s']:g}/s | {_ms(measured.get('p50'))} / {_ms(measured.get('p99'))} ms | "
            f"{_ms(app.get('p50'))} / {_ms(app.get('p99'))} ms | {_times(ratio['p50'])} / {_times(ratio['p99'])} |"
        )
    if meta:
        lines.append("")
        lines.append(
            f"Channels measured on their own on commit {meta['commit']} ({meta['date']}, load average "
            f"{meta['loadavg']} at the end)."
        )
    return lines


def main() -> None:
    """Run the channels alone. ``--into RESULTS.json``: keep them in a full run's results (with the commit and
    load they were measured on), then ``python -m benchmarks.report --readme`` shows them in the README."""
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    result = run(quick=quick)
    print(json.dumps(result, indent=2))
    print("\n".join(markdown(result)))
    if "--into" in sys.argv:
        target = Path(sys.argv[sys.argv.index("--into") + 1])
        results = json.loads(target.read_text())
        git = ["git", "rev-parse", "--short", "HEAD"]
        commit = subprocess.run(git, capture_output=True, text=True, check=False)
        results["channels"] = result
        results["channels_meta"] = {
            "commit": commit.stdout.strip(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        }
        target.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
