"""The operator's console in a surge, in Chromium: 20,000 open alerts, then presses arriving at 50 a second.

    python -m benchmarks.console_surge                    # SQLite scratch database, 20,000 open alerts
    python -m benchmarks.console_surge --open 5000 --rate 20 --seconds 10 --json out.json

A real server of this checkout runs on a scratch SQLite database with the Bandung demo city and ``--open`` open,
unacknowledged alerts written straight into the database (a surge that already happened; benchmarks/population.py).
Chromium (Playwright, ``SIAGA_CHROMIUM`` or ``/usr/bin/chromium``) logs in as the demo operator and reports:

- load time: from opening /console until the header counts every open alert;
- JS heap: used heap after the load and at the end (``Runtime.getHeapUsage``);
- longest frame gap: the longest time between two animation frames while presses arrive (a frozen page is a gap);
- selection latency: from a ``j`` key press to the next row being marked selected, while presses arrive (median and
  worst of the selections made).

Targets (issue 18): load under 3 s, longest frame gap under 200 ms, true counts in the header.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import population
from benchmarks import server as bench_server
from siaga.db import create_engine, session_factory, transaction
from siaga.demo.seed import DEMO_PASSWORD

# In the page: record the longest gap between animation frames from now on.
FRAME_PROBE = """() => {
  window.__gaps = { longest: 0, frames: 0 };
  let last = performance.now();
  const tick = (now) => {
    window.__gaps.longest = Math.max(window.__gaps.longest, now - last);
    window.__gaps.frames += 1;
    last = now;
    if (!window.__gaps.stop) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""

# In the page: press j and wait for the selection to move; the time from the key to the row drawn as selected.
SELECT_ONE = """async () => {
  const before = document.querySelector('.queue-row[aria-current="true"]')?.dataset.alertId || null;
  const started = performance.now();
  document.dispatchEvent(new KeyboardEvent("keydown", { key: "j", bubbles: true }));
  for (;;) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const now = document.querySelector('.queue-row[aria-current="true"]')?.dataset.alertId || null;
    if (now && now !== before) return performance.now() - started;
    if (performance.now() - started > 10000) return null;
  }
}"""


async def prepare(folder: Path, open_alerts: int, presses: int) -> tuple[bench_server.Database, list[str]]:
    database = await bench_server.create_database("sqlite", folder)
    bench_server.siaga(database, "db", "upgrade")
    await population.seed_city(database)
    engine = create_engine(database.url)
    try:
        async with transaction(session_factory(engine)) as session:
            await population.insert_open_alerts(session, open_alerts)
    finally:
        await engine.dispose()
    tokens = await population.seed_residents(database, presses)
    return database, tokens


async def press_at(url: str, tokens: list[str], rate: float, stop: asyncio.Event) -> int:
    """Press SOS from a new resident ``rate`` times a second (an open model: one press does not wait for another)."""
    sent = 0
    async with httpx.AsyncClient(base_url=f"{url}/api/v1", timeout=30) as http:
        pending: set[asyncio.Task[Any]] = set()
        started = time.perf_counter()
        while not stop.is_set() and sent < len(tokens):
            due = started + sent / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body = population_press_body(sent)
            task = asyncio.create_task(
                http.post("/alerts", json=body, headers={"Authorization": f"Bearer {tokens[sent]}"})
            )
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        await asyncio.gather(*pending, return_exceptions=True)
    return sent


def population_press_body(n: int) -> dict[str, Any]:
    import uuid

    return {
        "id": str(uuid.uuid4()),
        "category": "bencana_alam",
        "location": {"lat": -6.8915 + (n % 50) * 1e-4, "lon": 107.6107 + (n // 50) * 1e-4, "accuracy_m": 20.0},
        "battery": 60,
    }


async def measure(
    url: str,
    chromium: str,
    *,
    open_alerts: int,
    rate: float,
    seconds: float,
    tokens: list[str],
    profile: bool = False,
) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await (await browser.new_context(viewport={"width": 1600, "height": 900})).new_page()
            cdp = await page.context.new_cdp_session(page)
            await page.goto(f"{url}/console")
            await page.fill("#login-username", "operator1")
            await page.fill("#login-password", DEMO_PASSWORD)
            if profile:
                await cdp.send("Profiler.enable")
                await cdp.send("Profiler.start")
            started = time.perf_counter()
            await page.click(".login-submit")
            await page.wait_for_selector('[data-stream="open"]', timeout=120_000)
            stream_s = time.perf_counter() - started
            await page.wait_for_selector(f'.queue-count[data-count="{open_alerts}"]', timeout=120_000)
            load_s = time.perf_counter() - started
            heap_loaded = (await cdp.send("Runtime.getHeapUsage"))["usedSize"]
            loading_hot = _hottest((await cdp.send("Profiler.stop"))["profile"]) if profile else []
            await page.evaluate(FRAME_PROBE)
            await cdp.send("Performance.enable")
            busy_before = _busy(await cdp.send("Performance.getMetrics"))
            if profile:
                await cdp.send("Profiler.start")
            stop = asyncio.Event()
            presser = asyncio.create_task(press_at(url, tokens, rate, stop))
            latencies: list[float] = []
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                took = await page.evaluate(SELECT_ONE)
                if took is not None:
                    latencies.append(took)
                await asyncio.sleep(0.25)
            stop.set()
            pressed = await presser
            gaps = await page.evaluate("() => { window.__gaps.stop = true; return window.__gaps; }")
            busy_after = _busy(await cdp.send("Performance.getMetrics"))
            hot = _hottest((await cdp.send("Profiler.stop"))["profile"]) if profile else []
            await page.wait_for_selector(f'.queue-count[data-count="{open_alerts + pressed}"]', timeout=60_000)
            heap_end = (await cdp.send("Runtime.getHeapUsage"))["usedSize"]
            header = await page.locator(".queue-count").inner_text()
        finally:
            await browser.close()
    return {
        "open_alerts": open_alerts,
        "presses": pressed,
        "press_rate_per_s": rate,
        "load_s": round(load_s, 2),
        "stream_open_s": round(stream_s, 2),
        "heap_loaded_mb": round(heap_loaded / 2**20, 1),
        "heap_end_mb": round(heap_end / 2**20, 1),
        "longest_frame_gap_ms": round(gaps["longest"], 1),
        "frames": gaps["frames"],
        "selections": len(latencies),
        "selection_median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "selection_worst_ms": round(max(latencies), 1) if latencies else None,
        "header_after": header,
        **{f"busy_{k}_s": round(busy_after[k] - busy_before[k], 2) for k in busy_after},
        **({"hottest_while_loading_ms": loading_hot, "hottest_while_pressing_ms": hot} if profile else {}),
    }


BUSY = {"TaskDuration": "task", "ScriptDuration": "script", "LayoutDuration": "layout", "RecalcStyleDuration": "style"}


def _busy(metrics: dict[str, Any]) -> dict[str, float]:
    """The page's main-thread time so far (Performance.getMetrics): all tasks, and script, layout and style in them."""
    values = {m["name"]: m["value"] for m in metrics["metrics"]}
    return {short: float(values.get(name, 0.0)) for name, short in BUSY.items()}


def _hottest(profile: dict[str, Any], top: int = 12) -> list[tuple[str, float]]:
    """The functions the page spent most of its own time in (self time, from the CPU profile's samples)."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    deltas = profile.get("timeDeltas", [])
    spent: dict[str, float] = {}
    for sample, delta in zip(profile.get("samples", []), deltas, strict=False):
        frame = nodes[sample]["callFrame"]
        name = f"{frame['functionName'] or '(anonymous)'} {frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber'] + 1}"
        spent[name] = spent.get(name, 0.0) + delta / 1000
    return [(name, round(ms, 1)) for name, ms in sorted(spent.items(), key=lambda kv: -kv[1])[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=20_000, help="Open alerts before the console opens")
    parser.add_argument("--rate", type=float, default=50.0, help="Presses per second while measuring")
    parser.add_argument("--seconds", type=float, default=15.0, help="How long presses arrive")
    parser.add_argument("--json", type=Path, help="Also write the figures here")
    parser.add_argument("--profile", action="store_true", help="Also list the page's hottest functions")
    args = parser.parse_args()
    chromium = os.environ.get("SIAGA_CHROMIUM", "/usr/bin/chromium")
    presses = int(args.rate * args.seconds) + 50
    with tempfile.TemporaryDirectory(prefix="siaga-console-surge-") as scratch:
        database, tokens = asyncio.run(prepare(Path(scratch), args.open, presses))
        server = bench_server.start(database)
        try:
            result = asyncio.run(
                measure(
                    server.url,
                    chromium,
                    open_alerts=args.open,
                    rate=args.rate,
                    seconds=args.seconds,
                    tokens=tokens,
                    profile=args.profile,
                )
            )
        finally:
            server.stop()
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
