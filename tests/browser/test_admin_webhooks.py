"""The admin's Webhook tab: an internal address is refused in the admin's language; a subscription is added and its
signing secret shown once; one that Siaga disabled because its receiver kept failing is shown at the top, with the
reason, until the admin enables it again."""

from __future__ import annotations

from playwright.async_api import expect
from sqlalchemy import update

from siaga.db import utcnow
from siaga.webhooks.models import WebhookSubscription
from tests.browser.conftest import Site, screenshot
from tests.browser.test_admin import log_in


async def test_an_admin_adds_a_webhook_and_sees_one_that_siaga_disabled(site: Site) -> None:
    page, _ = await log_in(site)
    await page.get_by_role("link", name="Webhook").click()
    await page.get_by_label("Nama", exact=True).fill("Pusat 112")
    await page.get_by_label("URL", exact=True).fill("http://10.1.2.3/siaga")
    await page.get_by_role("button", name="Tambah").click()
    await expect(page.get_by_test_id("error")).to_contain_text("alamat jaringan dalam")

    await page.get_by_label("URL", exact=True).fill("https://1.1.1.1/siaga")
    await page.get_by_role("checkbox", name="Peringatan baru").uncheck()
    await page.get_by_role("checkbox", name="Status peringatan berubah").uncheck()
    await page.get_by_role("checkbox", name="Peringatan dieskalasi").uncheck()
    await page.get_by_role("checkbox", name="Gangguan tombol panik").check()
    await page.get_by_role("button", name="Tambah").click()
    await expect(page.get_by_test_id("webhook-secret")).to_contain_text("whsec_")
    table = page.get_by_test_id("webhooks")
    await expect(table).to_contain_text("device.trouble")
    await expect(table).to_contain_text("Aktif")

    async with site.api.runtime.unit_of_work() as session:
        await session.execute(
            update(WebhookSubscription).values(
                enabled=False, disabled_at=utcnow(), disabled_reason="10 tries failed in a row; the last: HTTP 500"
            )
        )
    await page.reload()
    banner = page.get_by_test_id("webhooks-failing")
    await expect(banner).to_contain_text("Pusat 112")
    await expect(banner).to_contain_text("HTTP 500")
    await screenshot(page, "admin-webhooks-failing")
    await banner.get_by_role("button", name="Aktifkan").click()
    await expect(banner).to_have_count(0)
    await expect(table).to_contain_text("Aktif")
