"""The console says truthfully how a closed alert ended (issue 12): an alert the resident cancelled while a unit was on
its way read "Ditangani: Operator · COBLONG-1 (Dibatalkan)", as if the unit still handled it. Now the panel says
"Berakhir: Dibatalkan warga", and for a resolved one "Diselesaikan oleh <who>", in Bahasa Indonesia and English."""

from __future__ import annotations

from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_console import DEADLINE_MS, open_console, row
from tests.browser.test_field_ready_server import on_duty_here
from tests.browser.test_resident import COBLONG
from tests.conftest import Person


async def dispatched(site: Site, operator: Person, officer: Person, resident: Person) -> str:
    """A press of ``resident`` in Coblong that ``operator`` acknowledged and sent ``officer``'s unit to: its id."""
    alert = await site.api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    assert (await site.api.post(operator, f"/alerts/{alert['id']}/acknowledge")).status_code == 200
    answer = await site.api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": officer.unit_id})
    assert answer.status_code == 200, answer.text
    return str(alert["id"])


async def test_the_console_says_how_a_closed_alert_ended_and_by_whom(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG", name="Operator Budi")
    first = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-END-1", name="Bripka Andi")
    second = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-END-2", name="Bripda Sari")
    await on_duty_here(site, first, operator)
    await on_duty_here(site, second, operator)
    dewi = await site.api.resident(name="Dewi Warga")
    cancelled = await dispatched(site, operator, first, dewi)
    resolved = await dispatched(site, operator, second, await site.api.resident(name="Rudi Warga"))
    console = await open_console(site, operator)
    page = console.page
    panel = page.locator(".panel")
    custody = panel.get_by_test_id("custody")

    # While open: who has it, and how far the unit got.
    await row(page, cancelled).click()
    await expect(custody).to_have_text("Operator Budi · COBLONG-END-1 (Petugas ditugaskan)", timeout=DEADLINE_MS)
    # The resident cancels while the unit is on its way: the panel follows the stream.
    assert (await site.api.post(dewi, f"/alerts/{cancelled}/cancel", {"pin": "1234"})).status_code == 200
    await expect(custody).to_have_text("Dibatalkan warga", timeout=DEADLINE_MS)
    await expect(panel.locator("dt", has_text="Berakhir")).to_be_visible()
    await expect(panel.locator(".panel-head")).not_to_contain_text("Ditangani")
    await page.click('[data-lang="en"]')
    await expect(custody).to_have_text("Cancelled by the resident")
    await expect(panel.locator(".panel-head")).not_to_contain_text("Handled by")
    await page.click('[data-lang="id"]')

    # The officer resolves the other one with a report: the panel names them and their unit.
    await row(page, resolved).click()
    await expect(custody).to_have_text("Operator Budi · COBLONG-END-2 (Petugas ditugaskan)", timeout=DEADLINE_MS)
    report = {"outcome": "genuine", "report": "Warga aman, pelaku sudah pergi"}
    assert (await site.api.post(second, f"/alerts/{resolved}/resolve", report)).status_code == 200
    await expect(custody).to_have_text("Diselesaikan oleh Bripda Sari (COBLONG-END-2)", timeout=DEADLINE_MS)
    await page.click('[data-lang="en"]')
    await expect(custody).to_have_text("Resolved by Bripda Sari (COBLONG-END-2)")
    await page.click('[data-lang="id"]')
    await console.close()
