"""An operator hands an alert over from the console's alert detail, by keyboard: "Serahkan ke…" offers the partners
the alert's agency may hand over to, says before anything is sent whether the caller's name and number go with it,
refuses a partner disabled meanwhile in Indonesian, then shows the handover live: "menunggu konfirmasi", "gagal,
tidak diterima" once Siaga gave up on a partner refusing it, and "diterima HH:MM" after the operator's "Coba lagi".
The partner is a real HTTP receiver on a local port that checks each message's signature."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from playwright.async_api import Browser, expect

from siaga.accounts.domain import Role
from siaga.app import create_app
from siaga.runtime import Runtime
from tests.browser.conftest import Site, screenshot
from tests.browser.test_console import COBLONG, DEADLINE_MS, open_console, row
from tests.conftest import Api, make_settings
from tests.e2e.test_handover_choices import Receiver, receiving
from tests.servers import in_process


@asynccontextmanager
async def site_giving_up_at_once(db: Runtime, browser: Browser) -> AsyncIterator[Site]:
    """Siaga on a real port that gives a handover up at its partner's first refusal (a real one keeps trying for
    SIAGA_PARTNER_GIVE_UP_HOURS, a day)."""
    runtime = Runtime.build(make_settings(db.settings.database_url, partner_give_up_hours=1e-6))
    runtime.sms = db.sms
    try:
        async with (
            in_process(create_app(runtime.settings, runtime=runtime)) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            site = Site(url=url, api=Api(http=http, runtime=runtime), browser=browser)
            try:
                yield site
            finally:
                await site.close()
    finally:
        await runtime.close()


async def test_an_operator_hands_an_alert_over_from_the_console_and_tries_again(db: Runtime, browser: Browser) -> None:
    async with (
        site_giving_up_at_once(db, browser) as site,
        receiving(Receiver(answers=[503, 201])) as receiver,
    ):
        admin = await site.api.staff(Role.ADMIN)
        made = await site.api.post(
            admin, "/partners", {"name": "kota-112", "label": "Bandung Siaga 112", "url": receiver.url}
        )
        assert made.status_code == 201, made.text
        receiver.secret = made.json()["outgoing_secret"]
        for name, label, more in (
            ("rs-mitra", "RS Mitra", {"share_caller": False}),
            ("hanya-cc", "Hanya CC", {"agencies": ["BDG-CC"]}),  # not Polsek Coblong's alerts
        ):
            body = {"name": name, "label": label, "url": "https://127.0.0.1:9/eido", **more}
            assert (await site.api.post(admin, "/partners", body)).status_code == 201
        operator = await site.api.staff(Role.OPERATOR, name="Operator Sari")
        alert = await site.api.press(await site.api.resident(name="Siti Rahma"), lat=COBLONG[0], lon=COBLONG[1])
        console = await open_console(site, operator)
        page = console.page
        await row(page, alert["id"]).click()

        # By keyboard: open the list, move to RS Mitra, read what it would be given.
        opener = page.get_by_role("button", name="Serahkan ke…")
        await opener.focus()
        await page.keyboard.press("Enter")
        form = page.locator('[data-form="handover"]')
        await expect(form.get_by_role("radio")).to_have_count(2)
        await expect(form.get_by_role("radio", name="Hanya CC")).to_have_count(0)
        await expect(form.get_by_role("radio", name="Bandung Siaga 112")).to_be_focused()
        await page.keyboard.press("ArrowDown")
        shares = page.get_by_test_id("handover-shares")
        await expect(shares).to_contain_text("RS Mitra akan menerima kejadian ini")
        await expect(shares).to_contain_text("tanpa nama dan nomor telepon penelepon")

        # An administrator disables it meanwhile: the operator reads why it was refused, in Indonesian.
        off = await site.api.http.patch("/api/v1/partners/rs-mitra", json={"enabled": False}, headers=admin.headers)
        assert off.status_code == 200, off.text
        await page.keyboard.press("Tab")
        await expect(form.get_by_role("button", name="Ya, serahkan")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("handover-error")).to_have_text(
            "Mitra ini dinonaktifkan. Admin bisa mengaktifkannya lagi."
        )

        # Bandung Siaga 112 instead, which is given the caller. Siaga's sender is paused until the operator has seen
        # the handover waiting (it would otherwise be refused, and given up, before the console shows it).
        await site.api.runtime.partner_loop.stop()
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("ArrowUp")
        await expect(shares).to_have_text(
            "Bandung Siaga 112 akan menerima kejadian ini (kategori, lokasi, catatan) beserta nama dan nomor telepon "
            "penelepon."
        )
        await screenshot(page, "console-handover-confirm")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await expect(form).to_have_count(0)
        await expect(opener).to_be_focused()
        shown = page.get_by_test_id("handover")
        await expect(shown).to_have_text("Diserahkan ke Bandung Siaga 112: menunggu konfirmasi", timeout=DEADLINE_MS)
        await expect(page.get_by_test_id("handover-error")).to_have_count(0)

        # The partner refuses it and Siaga gives up: the operator asks for it to be tried again.
        site.api.runtime.partner_loop.start()
        retry = page.get_by_role("button", name="Coba serahkan lagi ke Bandung Siaga 112")
        await expect(shown).to_have_attribute("data-status", "failed", timeout=DEADLINE_MS)
        await expect(page.get_by_test_id("handover-status")).to_have_text(
            "Diserahkan ke Bandung Siaga 112: gagal, tidak diterima"
        )
        await retry.click()
        await expect(page.get_by_test_id("handover-status")).to_have_text(
            re.compile(r"^Diserahkan ke Bandung Siaga 112: diterima \d\d[.:]\d\d$"), timeout=DEADLINE_MS
        )
        await expect(retry).to_have_count(0)
        await screenshot(page, "console-handover-retried")

        # Both tries reached the partner signed with its secret, the caller named in each.
        assert len(receiver.received) == 2
        assert all("Siti Rahma" in str(message) for message in receiver.received)
        unexpected = [error for error in console.errors if "409 (Conflict)" not in error]  # the disabled partner's
        assert not unexpected, unexpected
