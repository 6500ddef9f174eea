"""Resolving needs a short report, in the apps (issue 12): the officer app without signal refuses an empty report on
the spot (nothing waits in the outbox to be refused later), says why, keeps what was typed, and sends the report once
it is long enough and the signal is back; the console says the same in its resolve form, in Bahasa Indonesia and
English, and resolves once the operator wrote what happened."""

from __future__ import annotations

from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, eventually
from tests.browser.test_console import DEADLINE_MS, open_console, row
from tests.browser.test_officer import COBLONG, RING_TIMEOUT_MS, log_in

REFUSED_ID = "Tulis laporan singkat tentang apa yang terjadi (minimal 3 karakter) untuk menyelesaikan SOS ini."
REFUSED_EN = "Write a short report of what happened (3 characters or more) to resolve this SOS."


async def test_the_officer_app_refuses_an_empty_report_before_it_is_queued_offline(site: Site) -> None:
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-RPT-1")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    context = await site.phone()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await log_in(page, officer)
    await page.get_by_role("button", name="Mulai tugas").click()
    await expect(page.get_by_test_id("sharing")).to_contain_text("Lokasi dibagikan")
    alert = await site.api.press(await site.api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    sent = await site.api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": officer.unit_id})
    assert sent.status_code == 200, sent.text
    await page.get_by_test_id("ringing").get_by_role("button", name="Terima tugas").click(timeout=RING_TIMEOUT_MS)
    card = page.get_by_test_id("assignment")
    await card.get_by_role("button", name="Tiba di lokasi").click()
    await expect(card.get_by_test_id("alert-state")).to_have_text("Tiba di lokasi")

    # No signal, and a report of blanks: refused here, nothing kept to be refused by the server later.
    await context.set_offline(True)
    report = card.get_by_label("Laporan singkat")
    await report.fill("   ")
    await card.get_by_role("button", name="Selesai", exact=True).click()
    await expect(card.get_by_role("alert")).to_have_text(REFUSED_ID)
    await expect(report).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_test_id("outbox")).to_have_count(0)
    await expect(card.get_by_test_id("resolve-queued")).to_have_count(0)
    # Too short still: what was typed stays, to be finished.
    await report.fill("ok")
    await card.get_by_role("button", name="Selesai", exact=True).click()
    await expect(card.get_by_role("alert")).to_have_text(REFUSED_ID)
    await expect(report).to_have_value("ok")
    await expect(page.get_by_test_id("outbox")).to_have_count(0)

    # A real report waits for the signal and is sent once it is back.
    await report.fill("ok, korban aman")
    await expect(card.get_by_role("alert")).to_have_count(0)
    await card.get_by_role("button", name="Selesai", exact=True).click()
    await expect(card.get_by_test_id("resolve-queued")).to_be_visible()
    assert (await site.api.get(operator, f"/alerts/{alert['id']}")).json()["state"] == "on_scene"
    await context.set_offline(False)

    async def resolved() -> bool:
        seen = (await site.api.get(operator, f"/alerts/{alert['id']}")).json()
        return bool(seen["state"] == "resolved" and seen["report"] == "ok, korban aman")

    await eventually(resolved, what="the report to reach the server")
    await context.close()
    assert errors == []


async def test_the_console_says_a_report_is_needed_and_keeps_what_was_typed(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    alert = await site.api.press(await site.api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    assert (await site.api.post(operator, f"/alerts/{alert['id']}/acknowledge")).status_code == 200
    console = await open_console(site, operator)
    page = console.page
    await row(page, alert["id"]).click()
    form = page.locator('[data-form="resolve"]')

    await page.click('[data-action="resolve"]')
    await form.locator('input[value="false_alarm"]').check()
    await form.locator("textarea").fill("  ")
    await form.locator('button[type="submit"]').click()
    await expect(form.get_by_role("alert")).to_have_text(REFUSED_ID)
    await page.click('[data-lang="en"]')
    await expect(form.get_by_role("alert")).to_have_text(REFUSED_EN)
    await expect(form.get_by_label("Short report: what happened")).to_have_value("  ")
    await form.locator("textarea").fill("no")
    await form.locator('button[type="submit"]').click()
    await expect(form.get_by_role("alert")).to_have_text(REFUSED_EN)
    await expect(form.locator("textarea")).to_have_value("no")
    assert (await site.api.get(operator, f"/alerts/{alert['id']}")).json()["state"] == "acknowledged"

    await form.locator("textarea").fill("no answer when called back; the button was pressed by mistake")
    await form.locator('button[type="submit"]').click()
    await expect(form).to_have_count(0, timeout=DEADLINE_MS)
    seen = (await site.api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (seen["state"], seen["outcome"]) == ("resolved", "false_alarm")
    await page.click('[data-lang="id"]')
    await console.close()
