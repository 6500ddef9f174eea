"""The admin's API keys tab: make a key for a Polsek's dashboard (shown once, never in the list), see it used, and
revoke it; the key is refused from then on."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from siaga.agencies import service as agencies
from tests.browser.conftest import Site, screenshot
from tests.browser.test_admin import log_in


async def test_an_admin_makes_a_key_sees_it_once_and_revokes_it(site: Site) -> None:
    async with site.api.runtime.read_sessions() as session:
        coblong = await agencies.agency_by_code(session, "POLSEK-COBLONG")
    page, _ = await log_in(site)
    await page.get_by_role("link", name="Kunci API").click()
    await expect(page.get_by_text("Belum ada kunci API.")).to_be_visible()

    await page.get_by_label("Nama", exact=True).fill("Dasbor Polsek Coblong")
    await page.get_by_label("Instansi", exact=True).select_option(str(coblong.id))
    await page.get_by_label("membaca alarm instansi").check()
    await page.get_by_label("Permintaan per menit").fill("120")
    await page.get_by_role("button", name="Buat kunci").click()
    shown = page.get_by_test_id("api-key")
    await expect(shown).to_contain_text("tidak akan ditampilkan lagi")
    key = (await shown.locator("code").inner_text()).strip()
    assert key.startswith("sk_siaga_")
    table = page.get_by_test_id("apikeys")
    row = table.locator("tr", has_text="Dasbor Polsek Coblong")
    await expect(row).to_contain_text("POLSEK-COBLONG")
    await expect(row).to_contain_text("alerts:read")
    await expect(row).to_contain_text("Aktif")
    assert key not in await table.inner_text()
    await screenshot(page, "admin-api-keys")

    used = await site.api.http.get("/api/v1/alerts", headers={"Authorization": f"Bearer {key}"})
    assert used.status_code == 200, used.text

    # No scope: the server's reason, in the admin's language.
    await page.get_by_label("Nama", exact=True).fill("Tanpa cakupan")
    await page.get_by_role("button", name="Buat kunci").click()
    await expect(page.get_by_test_id("error")).to_contain_text("setidaknya satu cakupan")

    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await row.get_by_role("button", name="Cabut").click()
    await expect(row).to_contain_text("Dicabut")
    refused = await site.api.http.get("/api/v1/alerts", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401
