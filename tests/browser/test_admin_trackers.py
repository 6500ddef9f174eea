"""The admin's Trackers tab: register a resident's tracker and a unit's, see them listed with their holders, disable
one (its reports are then refused) and remove it."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, screenshot
from tests.browser.test_admin import log_in


async def test_an_admin_registers_disables_and_removes_trackers(site: Site) -> None:
    resident = await site.api.resident(name="Ibu Sari")
    await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-GPS")
    page, _ = await log_in(site)
    await page.get_by_role("link", name="Pelacak").click()
    await expect(page.get_by_text("/osmand")).to_be_visible()

    await page.get_by_label("ID perangkat").fill("HP-SARI")
    await page.get_by_label("Nama", exact=True).fill("Ponsel Ibu Sari")
    await page.get_by_label("Nomor HP warga").fill(resident.phone)
    await page.get_by_role("button", name="Daftarkan").click()
    table = page.get_by_test_id("trackers")
    await expect(table).to_contain_text(f"Warga Ibu Sari ({resident.phone})")

    await page.get_by_label("ID perangkat").fill("MOBIL-01")
    await page.get_by_label("Pemegang").select_option("unit")
    await page.get_by_label("Nama panggilan unit").fill("COBLONG-GPS")
    await page.get_by_role("button", name="Daftarkan").click()
    await expect(table).to_contain_text("Unit COBLONG-GPS")

    # The same device id again: the server's reason, in the admin's language.
    await page.get_by_label("ID perangkat").fill("MOBIL-01")
    await page.get_by_label("Pemegang").select_option("unit")
    await page.get_by_label("Nama panggilan unit").fill("COBLONG-GPS")
    await page.get_by_role("button", name="Daftarkan").click()
    await expect(page.get_by_test_id("error")).to_contain_text("ID perangkat ini sudah terdaftar")
    await screenshot(page, "admin-trackers")

    row = table.locator("tr", has_text="HP-SARI")
    await row.get_by_role("button", name="Nonaktifkan").click()
    await expect(row.get_by_role("button", name="Aktifkan", exact=True)).to_be_visible()
    refused = await site.api.http.get("/osmand", params={"id": "HP-SARI", "lat": "-6.9", "lon": "107.6"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "tracker.disabled")

    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await row.get_by_role("button", name="Hapus").click()
    await expect(table).not_to_contain_text("HP-SARI")
    gone = await site.api.http.get("/osmand", params={"id": "HP-SARI", "lat": "-6.9", "lon": "107.6"})
    assert gone.status_code == 404
