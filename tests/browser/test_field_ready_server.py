"""Issue 12 in the browser: the resident's steps say exactly who did what (an officer who took a direct offer is not an
operator), and an officer's "Selesai tugas" while their unit is on an SOS is refused unless they hand the alert back.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, eventually, screenshot
from tests.browser.test_officer import board_entry, enable_direct_offers, log_in
from tests.browser.test_resident import COBLONG, alerts_of, headline, open_app, press_now, signed_in_phone
from tests.conftest import Person


def step(page: Page, key: str) -> Any:
    return page.locator(f'.steps li[data-step="{key}"]')


async def on_duty_here(site: Site, officer: Person, viewer: Person) -> None:
    """The officer is on patrol at the phone's position, as the unit board shows."""
    answer = await site.api.http.put("/api/v1/officers/me/duty", json={"mode": "patrol"}, headers=officer.headers)
    assert answer.status_code == 200, answer.text
    sent = await site.api.post(officer, "/officers/me/location", {"lat": COBLONG[0], "lon": COBLONG[1]})
    assert sent.status_code == 202, sent.text

    async def available() -> bool:
        unit = await board_entry(site, viewer, officer.unit_id)
        return bool(unit and unit["state"] == "available" and unit["lat"] is not None)

    await eventually(available, what="the officer's unit available on the board")


async def test_the_resident_is_told_an_officer_accepted_not_that_an_operator_did(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-FR-1", name="Bripka Andi")
    await on_duty_here(site, officer, operator)
    await enable_direct_offers(site)
    resident = await site.api.resident(name="Dewi Warga")
    page = await open_app(await signed_in_phone(site, resident))
    await press_now(page)
    await expect(headline(page)).to_have_text("Diterima server", timeout=15_000)
    alert_id = (await alerts_of(site, operator, resident))[0]["id"]

    async def offer() -> dict[str, Any] | None:
        offers = (await site.api.get(officer, "/offers")).json()
        return next((o for o in offers if o["alert_id"] == alert_id), None)

    ring = await eventually(offer, what="the direct offer to the officer")
    assert (await site.api.post(officer, f"/offers/{ring['id']}/accept")).status_code == 200
    assert (await site.api.get(resident, f"/alerts/{alert_id}")).json()["acknowledged"] is False

    await expect(headline(page)).to_have_text("Petugas menerima SOS Anda")
    await expect(step(page, "accepted")).to_have_class("done")
    await expect(step(page, "accepted")).to_have_text("Diterima petugas")
    await expect(step(page, "acknowledged")).to_have_count(0)
    await expect(page.get_by_text("Diterima operator")).to_have_count(0)
    await expect(page.get_by_text("Bripka Andi")).to_be_visible()
    await screenshot(page, "resident-officer-accepted")

    # Once an operator acknowledges, the screen says so too.
    assert (await site.api.post(operator, f"/alerts/{alert_id}/acknowledge")).status_code == 200
    await expect(step(page, "acknowledged")).to_have_text("Diterima operator")
    await expect(step(page, "acknowledged")).to_have_class("done")
    await expect(step(page, "dispatched")).to_have_class("done")
    await expect(headline(page)).to_have_text("Petugas ditugaskan")


async def test_selesai_tugas_on_an_sos_asks_to_hand_it_back_and_never_leaves_it_silently(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-FR-2", name="Bripda Sinta")
    context = await site.phone()
    page = await context.new_page()
    await log_in(page, officer)
    await page.get_by_role("button", name="Patroli").click()
    await page.get_by_role("button", name="Mulai tugas").click()

    async def available() -> bool:
        unit = await board_entry(site, operator, officer.unit_id)
        return bool(unit and unit["state"] == "available")

    await eventually(available, what="the unit available")
    alert = await site.api.press(await site.api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    dispatched = await site.api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": officer.unit_id})
    assert dispatched.status_code == 200, dispatched.text
    await page.get_by_test_id("ringing").get_by_role("button", name="Terima tugas").click()
    await expect(page.get_by_test_id("unit-state")).to_have_text("Ditugaskan")

    # "Selesai tugas" with an SOS: refused, and the phone says why and what the choice is.
    await page.get_by_role("button", name="Selesai tugas").click()
    prompt = page.get_by_test_id("hand-back")
    await expect(prompt).to_contain_text("Unit Anda masih menangani SOS")
    await screenshot(page, "officer-hand-back")
    assert (await site.api.get(officer, "/officers/me/duty")).json()["on_duty"] is True
    assert (await board_entry(site, operator, officer.unit_id) or {})["state"] == "assigned"

    # Staying keeps everything as it was.
    await prompt.get_by_role("button", name="Tetap bertugas").click()
    await expect(prompt).to_have_count(0)
    await expect(page.get_by_role("button", name="Selesai tugas")).to_be_visible()

    # Handing back: off duty, and the alert is back with the operator, with a timeline event.
    await page.get_by_role("button", name="Selesai tugas").click()
    await prompt.get_by_role("button", name="Serahkan ke pusat komando & selesai tugas").click()
    await expect(page.get_by_role("button", name="Mulai tugas")).to_be_visible()
    await expect(page.get_by_text("diserahkan kembali ke pusat komando")).to_be_visible()
    seen = (await site.api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (seen["state"], seen["unit_id"]) == ("acknowledged", None)
    events = (await site.api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
    assert [e["actor_name"] for e in events if e["kind"] == "handed_back"] == ["Bripda Sinta"]
    assert (await board_entry(site, operator, officer.unit_id) or {})["state"] == "off_duty"
    await context.close()
