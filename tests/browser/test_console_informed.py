"""The demo city's police operator looks at Damkar's kebakaran in Chromium: the console says who handles it and that
the Polsek is only informed, offers no button the server would refuse (acknowledge, resolve, escalate, category,
priority, its patrol sent as the alert's unit), still takes a note, and once Damkar re-routes the alert to the
police the buttons come back on their own."""

from __future__ import annotations

from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_console import COBLONG, DEADLINE_MS, open_console, row

REFUSED = ("acknowledge", "resolve", "escalate", "category", "priority")


async def test_the_police_operator_is_only_informed_of_damkars_fire(site: Site) -> None:
    police = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG", name="Operator Polsek Coblong")
    damkar = await site.api.staff(Role.OPERATOR, "DAMKAR-SEKTOR-UTARA", name="Operator Damkar")
    patrol = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-INFO-1")
    await site.api.on_duty(patrol)
    sent = await site.api.post(patrol, "/officers/me/location", {"lat": COBLONG[0] + 0.001, "lon": COBLONG[1]})
    assert sent.status_code == 202, sent.text
    console = await open_console(site, police)
    page = console.page
    fire = await site.api.press(
        await site.api.resident(name="Rina Api"), lat=COBLONG[0], lon=COBLONG[1], category="kebakaran"
    )
    pressed = row(page, fire["id"])
    await expect(pressed).to_be_visible(timeout=DEADLINE_MS)
    await pressed.click()

    informed = page.get_by_test_id("informed-only")
    await expect(informed).to_have_text(
        "Ditangani oleh Damkar Sektor Utara; Anda hanya mendapat informasi", timeout=DEADLINE_MS
    )
    for action in REFUSED:
        await expect(page.locator(f'.action-bar [data-action="{action}"]')).to_be_disabled()
    await expect(page.get_by_role("row", name="COBLONG-INFO-1")).to_be_visible(timeout=DEADLINE_MS)  # on the board
    await expect(page.locator('[data-action="dispatch-unit"]')).to_have_count(0)  # but it does not lead the alert

    # A note is still theirs to add, by keyboard as ever.
    await expect(page.locator('.action-bar [data-action="note"]')).to_be_enabled()
    await page.keyboard.press("n")
    await page.locator("#note-text").fill("Jalan Dago ditutup untuk mobil pemadam")
    await page.locator('[data-form="note"] button[type="submit"]').click()
    await expect(page.locator(".panel")).to_contain_text("Jalan Dago ditutup untuk mobil pemadam", timeout=DEADLINE_MS)

    # Damkar finds it is a crime, not a fire: the police handle it now, and their console follows the stream.
    moved = await site.api.post(damkar, f"/alerts/{fire['id']}/category", {"category": "kriminalitas"})
    assert moved.status_code == 200, moved.text
    await expect(informed).to_have_count(0, timeout=DEADLINE_MS)
    await expect(page.locator('.action-bar [data-action="acknowledge"]')).to_be_enabled()
    await expect(page.locator('[data-action="dispatch-unit"]').first).to_be_visible(timeout=DEADLINE_MS)
    await console.close()
