"""Every app's page loads in a real browser with its libraries served by Siaga itself (no CDN)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Site, screenshot


async def test_the_landing_page_links_every_app_and_loads_nothing_from_outside(site: Site) -> None:
    context = await site.context()
    page = await context.new_page()
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(site.url) else None)
    await page.goto("/")
    for link in ("/app", "/console", "/officer", "/admin", "/reports"):
        assert await page.locator(f'a[href="{link}"]').count() == 1
    await screenshot(page, "landing")
    await context.close()
    assert outside == []


@pytest.mark.parametrize("path", ["/console", "/app", "/officer", "/admin", "/reports"])
async def test_each_app_page_starts_without_errors(site: Site, path: str) -> None:
    context = await site.context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    await page.goto(path)
    await page.wait_for_function("document.querySelector('#app') && document.querySelector('#app').children.length > 0")
    await context.close()
    assert errors == []
