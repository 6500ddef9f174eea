"""The bytes a resident's phone downloads to open the resident app (``/app``) for the first time, and again, on a
throttled network in Chromium.

    python -m benchmarks.firstload                       # a server of the current code on a scratch SQLite file
    python -m benchmarks.firstload --url http://127.0.0.1:8000   # a server you started (e.g. an older release)

Chromium (Playwright, ``SIAGA_CHROMIUM`` or ``/usr/bin/chromium``) opens ``/app`` with the network throttled through
the DevTools protocol (``Network.emulateNetworkConditions``) and adds up ``encodedDataLength`` of every response:
the bytes on the wire, headers included. The second visit, in the same browser profile, shows what the HTTP cache
saves. The service worker is blocked so that every byte goes through the page (its install would fetch the app's
shell a second time: ``cache: "reload"``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import server as bench_server

# Chrome DevTools' "3G" preset: 300 ms round trip, 780 kbit/s down, 330 kbit/s up (bytes per second below).
PROFILES = {
    "3g": {"latency": 300, "downloadThroughput": 780 * 1000 / 8, "uploadThroughput": 330 * 1000 / 8},
    "slow-4g": {"latency": 150, "downloadThroughput": 1.6 * 1000 * 1000 / 8, "uploadThroughput": 750 * 1000 / 8},
}


@dataclass
class Visit:
    requests: int = 0
    bytes_on_wire: int = 0
    gzipped_responses: int = 0
    not_modified: int = 0
    seconds: float = 0.0
    largest: list[tuple[str, int]] = field(default_factory=list)


async def visit(page: Any, cdp: Any, url: str) -> Visit:
    """Open ``url`` and wait until the app has drawn and the network is quiet; count what came over the wire."""
    result = Visit()
    responses: dict[str, dict[str, Any]] = {}
    sizes: dict[str, int] = {}

    def received(event: dict[str, Any]) -> None:
        responses[event["requestId"]] = event["response"]

    def finished(event: dict[str, Any]) -> None:
        sizes[event["requestId"]] = int(event["encodedDataLength"])

    cdp.on("Network.responseReceived", received)
    cdp.on("Network.loadingFinished", finished)
    started = time.perf_counter()
    await page.goto(url, wait_until="networkidle", timeout=300_000)
    await page.wait_for_selector("#app > *", timeout=60_000)
    result.seconds = round(time.perf_counter() - started, 2)
    cdp.remove_listener("Network.responseReceived", received)
    cdp.remove_listener("Network.loadingFinished", finished)
    per_url: list[tuple[str, int]] = []
    for request_id, size in sizes.items():
        response = responses.get(request_id, {})
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        result.requests += 1
        result.bytes_on_wire += size
        result.gzipped_responses += headers.get("content-encoding") == "gzip"
        result.not_modified += response.get("status") == 304
        per_url.append((response.get("url", request_id).split("://", 1)[-1].split("/", 1)[-1], size))
    result.largest = sorted(per_url, key=lambda pair: -pair[1])[:5]
    return result


async def measure(base_url: str, profile: str, chromium: str) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = await browser.new_context(service_workers="block")
            page = await context.new_page()
            cdp = await context.new_cdp_session(page)
            await cdp.send("Network.enable")
            await cdp.send("Network.emulateNetworkConditions", {"offline": False, **PROFILES[profile]})
            first = await visit(page, cdp, f"{base_url}/app")
            again = await visit(page, cdp, f"{base_url}/app")
        finally:
            await browser.close()
    return {"url": f"{base_url}/app", "profile": profile, "first": asdict(first), "again": asdict(again)}


def _own_server(folder: Path) -> bench_server.Server:
    database = asyncio.run(bench_server.create_database("sqlite", folder))
    bench_server.siaga(database, "db", "upgrade")
    return bench_server.start(database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="A running Siaga (default: start one of this checkout's code)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="3g")
    parser.add_argument("--json", type=Path, help="Also write the figures here")
    args = parser.parse_args()
    chromium = os.environ.get("SIAGA_CHROMIUM", "/usr/bin/chromium")
    with tempfile.TemporaryDirectory(prefix="siaga-firstload-") as scratch:
        own = None if args.url else _own_server(Path(scratch))
        try:
            result = asyncio.run(measure(args.url or (own.url if own else ""), args.profile, chromium))
        finally:
            if own is not None:
                own.stop()
    for name in ("first", "again"):
        figures = result[name]
        print(
            f"{name:>5}: {figures['bytes_on_wire']:>9,} bytes in {figures['requests']} responses "
            f"({figures['gzipped_responses']} gzip, {figures['not_modified']} not modified), "
            f"{figures['seconds']} s on {args.profile}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
