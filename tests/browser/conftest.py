"""Browser tests: Playwright for Python driving Debian's Chromium against Siaga served on a real port.

Skipped with a reason where Chromium is missing; CI (SIAGA_REQUIRE_SERVICES=1) installs it and forces them on.
Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from siaga.runtime import Runtime
from tests.conftest import REQUIRE_SERVICES, Api, app_for, eventually
from tests.servers import in_process

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# Generous waits for what the page shows (a loaded 2-core CI machine is slow); they never judge speed.
expect.set_options(timeout=30_000)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str | None:
    configured = os.environ.get("SIAGA_CHROMIUM")
    if configured and Path(configured).exists():
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    if path is None:
        if REQUIRE_SERVICES:
            pytest.fail("Chromium is required here (CI) but not installed: apt-get install -y chromium")
        pytest.skip("Chromium is not installed (apt-get install -y chromium); browser tests skipped")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True)
        yield launched
        await launched.close()


@dataclass
class Site:
    """Siaga on a real port, with an API client for setting scenes up and a way to open pages."""

    url: str
    api: Api
    browser: Browser
    opened: list[BrowserContext] = field(default_factory=list)

    async def context(self, *, width: int = 1280, height: int = 800, language: str = "id") -> BrowserContext:
        context = await self.browser.new_context(
            viewport={"width": width, "height": height},
            base_url=self.url,
            locale="id-ID" if language == "id" else "en-US",
            permissions=["geolocation", "notifications"],
            geolocation={"latitude": -6.8915, "longitude": 107.6107},
        )
        context.set_default_timeout(30_000)
        self.opened.append(context)
        return context

    async def close(self) -> None:
        """Close every context the test opened: a page left open keeps its timers and map running for the rest of the
        worker's session, a share of a core the later tests do not get."""
        for context in self.opened:
            with contextlib.suppress(Exception):
                await context.close()
        self.opened.clear()

    async def phone(self, language: str = "id") -> BrowserContext:
        """A 360 px wide phone."""
        return await self.context(width=360, height=740, language=language)


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
async def site(db: Runtime, browser: Browser) -> AsyncIterator[Site]:
    async with in_process(app_for(db)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        opened = Site(url=url, api=Api(http=http, runtime=db), browser=browser)
        try:
            yield opened
        finally:
            await opened.close()


__all__ = ["Site", "eventually", "screenshot"]
