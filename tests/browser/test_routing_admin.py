"""The admin's routing tab in a real browser: the service areas of the agencies beside the police, and a row of the
routing table changed by an administrator."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import Site
from tests.browser.test_admin import log_in


async def test_an_admin_sends_kesehatan_to_psc119_and_the_police_from_the_routing_tab(site: Site) -> None:
    page, admin = await log_in(site)
    await page.get_by_role("link", name="Perutean").click()
    await expect(page.get_by_test_id("service-areas")).to_contain_text("Damkar Sektor Utara")
    await expect(page.get_by_test_id("service-areas")).to_contain_text("10 kecamatan")
    kesehatan = page.locator('tr[data-category="kesehatan"]')
    await kesehatan.get_by_label("Layanan ke-2").select_option("police")
    await kesehatan.get_by_role("button", name="Simpan").click()
    await expect(kesehatan.get_by_role("status")).to_be_visible()
    table = {r["category"]: r["services"] for r in (await site.api.get(admin, "/routing")).json()}
    assert table["kesehatan"] == ["psc119", "police"]
