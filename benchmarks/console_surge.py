"""The operator's console in a surge, in Chromium: 20,000 open alerts, then presses arriving at 50 a second.

    python -m benchmarks.console_surge                    # SQLite scratch database, 20,000 open alerts
    python -m benchmarks.console_surge --open 5000 --rate 20 --seconds 10 --json out.json
    python -m benchmarks.console_surge --baseline HEAD~3 --rounds 2 --consoles 20   # before and after, same run

A real server of this checkout runs on a scratch SQLite database with the Bandung demo city and ``--open`` open,
unacknowledged alerts written straight into the database (a surge that already happened; benchmarks/population.py).
With ``--baseline REF`` the same scenario also runs against the commit REF, checked out in a temporary git worktree
(its server is this interpreter with the worktree's ``src`` first on the path; the browser libraries are this
checkout's), each on its own copy of one prepared database, alternating, ``--rounds`` times each; the figures are then
reported beside each other with this checkout's as a ratio to the baseline's (the median of the rounds).
``--candidate REF`` measures the commit REF in the same way instead of the work tree.
``--consoles N`` first opens N console WebSockets at the same moment (benchmarks/consoles.py) and reports the time
until every one has its whole snapshot and the server CPU it took. ``--hog N`` keeps N busy processes running while
measuring: a machine starved of CPU, as on the day.

Chromium (Playwright, ``SIAGA_CHROMIUM`` or ``/usr/bin/chromium``) logs in as the demo operator and reports:

- load time: from logging in until the header counts every open alert (and, of it, until the stream opened and
  until the snapshot's last page reached the browser);
- JS heap: used heap after the load and at the end (``Runtime.getHeapUsage``);
- longest frame gap: the longest time between two animation frames while presses arrive (a frozen page is a gap);
- long tasks: the page's tasks of 50 ms or more while presses arrive (how many, the longest, their total time);
- selection latency: from a ``j`` key press to the next row being marked selected, while presses arrive (median and
  worst of the selections made);
- the page's main-thread time while presses arrive (all tasks, and the script, layout and style in them);
- the presses: how many were answered, how many failed or were abandoned (no answer in 30 s), and their latency.

Targets (issue 18): load under 3 s, longest frame gap under 200 ms, true counts in the header.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks import population
from benchmarks import server as bench_server
from benchmarks.consoles import Consoles
from benchmarks.httpload import process_cpu_seconds
from siaga.db import create_engine, session_factory, transaction
from siaga.demo.seed import DEMO_PASSWORD

# In the page: record the longest gap between animation frames from now on.
FRAME_PROBE = """() => {
  window.__gaps = { longest: 0, frames: 0, tasks: 0, longestTask: 0, taskTime: 0 };
  // Tasks of 50 ms or more (the browser's long tasks): what the page itself kept the main thread for.
  new PerformanceObserver((list) => {
    for (const task of list.getEntries()) {
      window.__gaps.tasks += 1;
      window.__gaps.longestTask = Math.max(window.__gaps.longestTask, task.duration);
      window.__gaps.taskTime += task.duration;
    }
  }).observe({ type: "longtask" });
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


@dataclass
class Presses:
    """What the pressing residents saw: answers by outcome and each answered press's latency."""

    sent: int = 0
    answered: int = 0
    failed: int = 0  # an error answer, or none within the client's 30 s (the resident's phone gives up)
    latency_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latency_ms)
        return {
            "presses_answered": self.answered,
            "presses_failed": self.failed,
            "press_p50_ms": round(ordered[len(ordered) // 2], 1) if ordered else None,
            "press_p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1) if ordered else None,
        }


async def press_at(url: str, tokens: list[str], rate: float, stop: asyncio.Event) -> Presses:
    """Press SOS from a new resident ``rate`` times a second (an open model: one press does not wait for another)."""
    presses = Presses()

    async def one(http: httpx.AsyncClient, n: int) -> None:
        began = time.perf_counter()
        try:
            answer = await http.post(
                "/alerts", json=population_press_body(n), headers={"Authorization": f"Bearer {tokens[n]}"}
            )
        except httpx.HTTPError:
            presses.failed += 1
            return
        if answer.status_code in (200, 201):
            presses.answered += 1
            presses.latency_ms.append((time.perf_counter() - began) * 1000)
        else:
            presses.failed += 1

    async with httpx.AsyncClient(base_url=f"{url}/api/v1", timeout=30) as http:
        pending: set[asyncio.Task[Any]] = set()
        started = time.perf_counter()
        while not stop.is_set() and presses.sent < len(tokens):
            due = started + presses.sent / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            task = asyncio.create_task(one(http, presses.sent))
            pending.add(task)
            task.add_done_callback(pending.discard)
            presses.sent += 1
        await asyncio.gather(*pending, return_exceptions=True)
    return presses


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
            snapshot_at: list[float] = []  # when the snapshot's last page reached the browser

            def on_frame(payload: str | bytes) -> None:
                head = payload[:200] if isinstance(payload, str) else ""
                if '"type":"snapshot' in head and '"more":false' in head and not snapshot_at:
                    snapshot_at.append(time.perf_counter())

            page.on("websocket", lambda socket: socket.on("framereceived", on_frame))
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
            presses = await presser
            pressed = presses.sent
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
        "snapshot_received_s": round(snapshot_at[0] - started, 2) if snapshot_at else None,
        "heap_loaded_mb": round(heap_loaded / 2**20, 1),
        "heap_end_mb": round(heap_end / 2**20, 1),
        "longest_frame_gap_ms": round(gaps["longest"], 1),
        "frames": gaps["frames"],
        "long_tasks": gaps["tasks"],
        "longest_task_ms": round(gaps["longestTask"], 1),
        "long_task_total_ms": round(gaps["taskTime"], 1),
        "selections": len(latencies),
        "selection_median_ms": round(statistics.median(latencies), 1) if latencies else None,
        "selection_worst_ms": round(max(latencies), 1) if latencies else None,
        "header_after": header,
        **presses.summary(),
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


def consoles_at_once(url: str, pid: int, count: int) -> dict[str, Any]:
    """``count`` console WebSockets opened at the same moment: the time until each has its whole snapshot, and the
    server CPU spent meanwhile."""
    tokens = asyncio.run(population.operators(url, count))
    cpu_before = process_cpu_seconds(pid)
    consoles = Consoles(url, tokens, run_tag=0, processes=1)
    cpu_after = process_cpu_seconds(pid)
    consoles.close()
    return {
        "consoles_at_once": count,
        "consoles_connected": consoles.connected,
        "consoles_snapshot_s": round(consoles.connect_s, 2),
        "consoles_server_cpu_s": round(cpu_after - cpu_before, 2) if cpu_before and cpu_after else None,
    }


@contextlib.contextmanager
def checkout(ref: str, folder: Path) -> Iterator[Path]:
    """The commit ``ref`` of this repository in a temporary git worktree; yields its ``src`` folder."""
    repo = Path(__file__).resolve().parents[1]
    git = shutil.which("git")
    assert git is not None, "a baseline needs git"
    subprocess.run([git, "-C", str(repo), "worktree", "add", "--detach", str(folder), ref], check=True)
    try:
        vendor = Path("src/siaga/web/static/vendor")  # the browser libraries are not committed: this checkout's
        shutil.copytree(repo / vendor, folder / vendor)  # a copy: the static files refuse links out of their folder
        yield folder / "src"
    finally:
        subprocess.run([git, "-C", str(repo), "worktree", "remove", "--force", str(folder)], check=False)


def copy_database(database: bench_server.Database, folder: Path) -> bench_server.Database:
    """A copy of the prepared SQLite database, so that each run starts from the same alerts and residents."""
    folder.mkdir(parents=True)
    source = database.sqlite_file
    assert source is not None
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", folder / f"siaga.db{suffix}")
    return bench_server.Database("sqlite", f"sqlite+aiosqlite:///{folder / 'siaga.db'}", folder)


@contextlib.contextmanager
def cpu_hog(processes: int) -> Iterator[None]:
    """``processes`` busy loops at the server's priority for as long as the block runs."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def one_run(
    database: bench_server.Database, src: Path | None, args: argparse.Namespace, chromium: str, tokens: list[str]
) -> dict[str, Any]:
    server = bench_server.start(database, **({"PYTHONPATH": str(src)} if src is not None else {}))
    try:
        with cpu_hog(args.hog):
            burst = consoles_at_once(server.url, server.pid, args.consoles) if args.consoles else {}
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
    return {**burst, **result}


def compared(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each figure's median over the rounds for every checkout, and this checkout's as a ratio to the baseline's."""
    table: dict[str, dict[str, Any]] = {}
    for name, results in runs.items():
        for key in results[0]:
            values = [r[key] for r in results]
            numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            table.setdefault(key, {})[name] = (
                round(statistics.median(numbers), 2) if len(numbers) == len(values) else values[-1]
            )
    for row in table.values():
        before, after = row.get("baseline"), row.get("current")
        if isinstance(before, int | float) and isinstance(after, int | float) and before:
            row["current/baseline"] = round(after / before, 3)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=20_000, help="Open alerts before the console opens")
    parser.add_argument("--rate", type=float, default=50.0, help="Presses per second while measuring")
    parser.add_argument("--seconds", type=float, default=15.0, help="How long presses arrive")
    parser.add_argument("--baseline", help="Also measure this commit (a git ref), in the same run, as the baseline")
    parser.add_argument("--candidate", help="Measure this commit (a git ref) as 'current' instead of the work tree")
    parser.add_argument("--rounds", type=int, default=1, help="Runs of each checkout, alternating")
    parser.add_argument("--consoles", type=int, default=0, help="Console WebSockets opened at once before the browser")
    parser.add_argument("--hog", type=int, default=0, help="Busy processes competing for the CPU while measuring")
    parser.add_argument("--json", type=Path, help="Also write the figures here")
    parser.add_argument("--profile", action="store_true", help="Also list the page's hottest functions")
    args = parser.parse_args()
    chromium = os.environ.get("SIAGA_CHROMIUM", "/usr/bin/chromium")
    presses = int(args.rate * args.seconds) + 50
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="siaga-console-surge-") as scratch, contextlib.ExitStack() as stack:
        folder = Path(scratch)
        (folder / "prepared").mkdir()
        database, tokens = asyncio.run(prepare(folder / "prepared", args.open, presses))
        checkouts: dict[str, Path | None] = {}
        if args.baseline:
            checkouts["baseline"] = stack.enter_context(checkout(args.baseline, folder / "baseline"))
        checkouts["current"] = None
        if args.candidate:
            checkouts["current"] = stack.enter_context(checkout(args.candidate, folder / "current"))
        for n in range(args.rounds):
            for name, src in checkouts.items():
                copy = copy_database(database, folder / f"{name}-{n}")
                runs.setdefault(name, []).append(one_run(copy, src, args, chromium, tokens))
                print(f"{name} round {n + 1}: {json.dumps(runs[name][-1])}", flush=True)
    table = compared(runs)
    names = [*checkouts, *(["current/baseline"] if args.baseline else [])]
    print(f"{'':>28} " + " ".join(f"{name:>18}" for name in names))
    for key, row in table.items():
        if key.startswith("hottest"):
            continue
        print(f"{key:>28} " + " ".join(f"{row.get(name, '')!s:>18}" for name in names))
    if args.json:
        args.json.write_text(
            json.dumps({"args": vars(args) | {"json": str(args.json)}, "runs": runs, "table": table}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
