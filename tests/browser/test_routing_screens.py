"""Routing by what happened, in a real browser: a Damkar operator's console shows a kebakaran with the agency
responsible for it and the agencies informed, finds a fire engine with the unit type filter, changes the category
so that PSC 119 takes it over and sees it leave the queue."""

from __future__ import annotations

from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_console import COBLONG, DEADLINE_MS, eventually, open_console, row


async def test_a_damkar_operator_sees_who_gets_a_fire_filters_fire_engines_and_re_routes_it(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "DAMKAR-BDG", name="Operator Joko")
    patrol = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-B1")
    crew = await site.api.staff(Role.OFFICER, "DAMKAR-SEKTOR-UTARA", unit_callsign="DAMKAR-UTARA-1")
    for officer, lat in ((patrol, COBLONG[0] + 0.001), (crew, COBLONG[0] + 0.004)):
        await site.api.on_duty(officer)
        sent = await site.api.post(officer, "/officers/me/location", {"lat": lat, "lon": COBLONG[1], "accuracy_m": 9})
        assert sent.status_code == 202, sent.text
    console = await open_console(site, operator)
    page = console.page

    fire = await site.api.press(
        await site.api.resident(name="Rina"), lat=COBLONG[0], lon=COBLONG[1], category="kebakaran"
    )
    pressed = row(page, fire["id"])
    await expect(pressed).to_be_visible(timeout=DEADLINE_MS)
    await pressed.click()
    await expect(page.get_by_test_id("responsible-agency")).to_have_text("Damkar Sektor Utara", timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("informed-agencies")).to_have_text("POLSEK-COBLONG")

    # Only fire engines: the police patrol nearer to the fire is left out. (Damkar's console recommends the
    # units of Damkar and the sectors below it.)
    await page.get_by_test_id("unit-type").select_option("fire_engine")
    engine = page.locator(f'[data-action="dispatch-unit"][data-unit-id="{crew.unit_id}"]')
    await expect(engine).to_be_visible(timeout=DEADLINE_MS)
    await expect(page.locator(f'[data-action="dispatch-unit"][data-unit-id="{patrol.unit_id}"]')).to_have_count(0)

    # Someone is hurt and the fire is out: PSC 119 takes it over, and Damkar's queue lets it go.
    await page.click('[data-action="category"]')
    await page.select_option("#category-choice", "kesehatan")
    await page.click('[data-form="category"] button[type="submit"]')

    async def re_routed() -> bool:
        seen = await site.api.get(await site.api.staff(Role.OPERATOR, "PSC119-BDG"), f"/alerts/{fire['id']}")
        return seen.status_code == 200 and seen.json()["agency_code"] == "PSC119-BDG"

    await eventually(re_routed, "PSC 119 to be responsible")
    await expect(pressed).to_have_count(0, timeout=DEADLINE_MS)
    await expect(page.locator(f'.panel[data-alert-id="{fire["id"]}"]')).to_have_count(0)  # its panel closed too
    await console.close()


async def test_the_command_centre_re_routes_a_crime_that_is_a_fire_and_its_panel_follows(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "BDG-CC", name="Operator Budi")
    console = await open_console(site, operator)
    page = console.page
    alert = await site.api.press(await site.api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    await row(page, alert["id"]).click()
    await expect(page.get_by_test_id("responsible-agency")).to_have_text("Polsek Coblong", timeout=DEADLINE_MS)
    await page.click('[data-action="category"]')
    await page.select_option("#category-choice", "kebakaran")
    await page.click('[data-form="category"] button[type="submit"]')
    # The command centre still sees it: the panel now names Damkar, the Polsek informed, and the change.
    await expect(page.get_by_test_id("responsible-agency")).to_have_text("Damkar Sektor Utara", timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("informed-agencies")).to_have_text("POLSEK-COBLONG")
    await expect(page.locator('.timeline [data-kind="category_changed"]')).to_contain_text("Kebakaran")
    await console.close()
