"""After a unit hands an alert back (issue 12), the console shows that it waits for a unit again and when T2 will
escalate it, instead of the first dispatch's finished count."""

from __future__ import annotations

from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_console import COBLONG, DEADLINE_MS, open_console, row


async def test_the_console_shows_the_restarted_dispatch_countdown_after_a_unit_hands_the_alert_back(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, name="Operator Sari")
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-HB-1")
    await site.api.on_duty(officer)
    alert = await site.api.press(await site.api.resident(name="Budi Santoso"), lat=COBLONG[0], lon=COBLONG[1])
    sent = await site.api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": officer.unit_id})
    assert sent.status_code == 200, sent.text
    console = await open_console(site, operator)
    page = console.page
    await row(page, alert["id"]).click()
    dispatch = page.locator('[data-timer="dispatch"]')
    await expect(dispatch).to_have_class("timer timer-done", timeout=DEADLINE_MS)

    gone = await site.api.http.delete("/api/v1/officers/me/duty", headers=officer.headers, params={"hand_back": "true"})
    assert gone.status_code == 200, gone.text

    await expect(dispatch).to_contain_text("Sampai ditugaskan ulang", timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("due-dispatch")).to_contain_text("eskalasi dalam", timeout=DEADLINE_MS)
    await expect(page.locator('[data-timer="arrive"] .timer-value')).to_have_text("—")
    await console.close()
