"""The whole flow in three browsers at once: a resident presses SOS on a phone, the command centre's console shows
it and an operator acknowledges it, the nearest officer's phone rings and the officer accepts, the resident sees who
is coming, and the officer goes en route, arrives and resolves with a report.

Everything is driven through the three apps' own screens; the scene (accounts, direct offers) is set up through the
API, and the outcome is checked against the server at the end. Deadlines are generous: this test says that things
happen, not how fast.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, screenshot
from tests.browser.test_console import open_console, row
from tests.browser.test_officer import board_entry, enable_direct_offers, eventually, log_in
from tests.browser.test_resident import alerts_of, headline, open_app, press_now, signed_in_phone

COBLONG = (-6.8915, 107.6107)  # where site.phone() says the browser is
DEADLINE_MS = 30_000
REPORT = "Korban diamankan, pelaku melarikan diri ke arah Dago."


def collect_errors(page: Page, errors: list[str], who: str) -> None:
    page.on("pageerror", lambda error: errors.append(f"{who}: {error}"))


async def test_resident_presses_operator_acknowledges_officer_accepts_and_resolves(site: Site) -> None:
    await enable_direct_offers(site)
    operator = await site.api.staff(Role.OPERATOR, "BDG-CC", name="Operator Sari")
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-ALUR-1", name="Bripka Andi")
    resident = await site.api.resident(name="Sari Warga")
    errors: list[str] = []

    # The console, logged in through its own login screen, its stream connected.
    console = await open_console(site, operator)
    desk = console.page

    # The officer's phone: logged in, on duty, its position (Coblong) on the server's board.
    officer_context = await site.phone()
    field = await officer_context.new_page()
    collect_errors(field, errors, "officer")
    await log_in(field, officer)
    await field.get_by_role("button", name="Patroli").click()
    await field.get_by_role("button", name="Mulai tugas").click()
    await expect(field.get_by_test_id("sharing")).to_contain_text("Lokasi dibagikan", timeout=DEADLINE_MS)

    async def available_here() -> dict[str, Any] | None:
        unit = await board_entry(site, operator, officer.unit_id)
        if unit and unit["state"] == "available" and unit["lat"] is not None:
            return unit
        return None

    unit = await eventually(available_here, within=30, what="the officer's unit to be available with a position")
    assert (round(unit["lat"], 4), round(unit["lon"], 4)) == COBLONG

    # The resident's phone, signed in; the press is made by holding the button.
    resident_context = await signed_in_phone(site, resident)
    phone = await open_app(resident_context)
    collect_errors(phone, errors, "resident")
    await press_now(phone)
    await expect(headline(phone)).to_have_text("Diterima server", timeout=DEADLINE_MS)

    async def pressed() -> list[dict[str, Any]]:
        return await alerts_of(site, operator, resident)

    [alert] = await eventually(pressed, within=30, what="the resident's press to reach the server")
    alert_id = alert["id"]

    # The console shows it in its queue; the operator opens it and acknowledges it.
    queued = row(desk, alert_id)
    await expect(queued).to_be_visible(timeout=DEADLINE_MS)
    await expect(queued).to_contain_text("Sari Warga", timeout=DEADLINE_MS)
    await queued.click()
    await expect(desk.locator(f'.panel[data-alert-id="{alert_id}"]')).to_be_visible(timeout=DEADLINE_MS)
    await desk.click('[data-action="acknowledge"]')
    await expect(queued).to_have_attribute("data-state", "acknowledged", timeout=DEADLINE_MS)
    await expect(headline(phone)).to_have_text("Diterima operator", timeout=DEADLINE_MS)

    # The offer rings on the officer's phone; the officer accepts it.
    ringing = field.get_by_test_id("ringing")
    await expect(ringing).to_be_visible(timeout=DEADLINE_MS)
    await expect(ringing).to_contain_text("Tawaran SOS")
    await ringing.get_by_role("button", name="Terima", exact=True).click()
    await expect(ringing).to_be_hidden(timeout=DEADLINE_MS)
    card = field.get_by_test_id("assignment")
    await expect(card).to_be_visible(timeout=DEADLINE_MS)

    # The resident sees who is coming; the console sees the unit assigned.
    await expect(phone.get_by_text("Petugas: Bripka Andi")).to_be_visible(timeout=DEADLINE_MS)
    await expect(phone.get_by_text("Unit: COBLONG-ALUR-1")).to_be_visible(timeout=DEADLINE_MS)
    await expect(queued).to_have_attribute("data-state", "dispatched", timeout=DEADLINE_MS)
    await screenshot(desk, "flow-console")

    # En route, on scene, resolved with a report, from the officer's screen.
    state = card.get_by_test_id("alert-state")
    await card.get_by_role("button", name="Dalam perjalanan").click()
    await expect(state).to_have_text("Dalam perjalanan", timeout=DEADLINE_MS)
    await expect(headline(phone)).to_have_text("Petugas dalam perjalanan", timeout=DEADLINE_MS)
    await card.get_by_role("button", name="Tiba di lokasi").click()
    await expect(state).to_have_text("Tiba di lokasi", timeout=DEADLINE_MS)
    await expect(headline(phone)).to_have_text("Petugas tiba di lokasi", timeout=DEADLINE_MS)
    await screenshot(field, "flow-officer")
    await card.get_by_label("Hasil").select_option("genuine")
    await card.get_by_label("Laporan singkat").fill(REPORT)
    await card.get_by_role("button", name="Selesai", exact=True).click()
    await expect(field.get_by_role("status").filter(has_text="Laporan terkirim")).to_be_visible(timeout=DEADLINE_MS)
    await expect(card).to_be_hidden(timeout=DEADLINE_MS)

    # The resident sees it resolved; the console takes it off the active queue.
    await expect(headline(phone)).to_have_text("Selesai", timeout=DEADLINE_MS)
    await screenshot(phone, "flow-resident")
    await expect(queued).to_have_count(0, timeout=DEADLINE_MS)

    # The server agrees.
    answer = await site.api.get(operator, f"/alerts/{alert_id}")
    assert answer.status_code == 200, answer.text
    closed = answer.json()
    assert closed["state"] == "resolved"
    assert closed["unit_id"] == officer.unit_id
    assert closed["acknowledged_by"] == "Operator Sari"
    assert closed["outcome"] == "genuine"
    assert closed["report"] == REPORT
    assert closed["en_route_at"] is not None
    assert closed["on_scene_at"] is not None

    await resident_context.close()
    await officer_context.close()
    await console.close()  # and no script errors on the console
    assert errors == []
