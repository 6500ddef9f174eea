"""The console's unit board counts what it shows (issue 12): with the drills hidden, the board still listed and
counted a drill's own units, and a real unit busy on a drill looked like one busy on a real SOS. Now a drill's units
hide with the drills (board and map), a unit on a drill says "Latihan" and counts as such, and every count is the
number of rows in its group, with the drills shown or hidden, in Bahasa Indonesia and English."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_console import DEADLINE_MS, open_console
from tests.browser.test_field_ready_server import on_duty_here
from tests.conftest import Person

GROUPS = ("busy", "drill", "available", "off_duty")


def unit_row(page: Page, unit_id: int | None) -> Any:
    return page.locator(f'.unit-board tr[data-unit-id="{unit_id}"]')


async def counts_match_rows(page: Page) -> dict[str, int]:
    """Each count the board's header shows, checked against the rows in its group; the counts."""
    counts: dict[str, int] = {}
    for group in GROUPS:
        shown = page.get_by_test_id("unit-counts").locator(f'[data-group="{group}"]')
        counts[group] = int(await shown.get_attribute("data-count") or "-1")
        await expect(page.locator(f'.unit-board tr[data-unit-group="{group}"]')).to_have_count(counts[group])
        await expect(shown).to_contain_text(str(counts[group]))
    return counts


async def test_the_unit_board_counts_what_it_shows_with_the_drills_hidden_or_shown(site: Site) -> None:
    admin = await site.api.staff(Role.ADMIN, "BDG-CC")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    on_drill = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UB-1")
    free = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UB-2")
    made = await site.api.post(admin, "/exercise/officers", {"agency_id": operator.extra["agency_id"], "count": 1})
    assert made.status_code == 201, made.text
    (drilled,) = made.json()
    drill_officer = Person(drilled["access_token"], drilled["name"], str(drilled["staff_id"]), "officer")
    drill_officer.unit_id = drilled["unit_id"]
    for officer in (on_drill, free, drill_officer):
        await on_duty_here(site, officer, operator)

    # A drill press that the operator sends a real unit to.
    residents = await site.api.post(admin, "/exercise/residents", {"count": 1})
    assert residents.status_code == 201, residents.text
    (exercise,) = residents.json()
    pressed = await site.api.press(Person(exercise["access_token"], exercise["name"], str(exercise["resident_id"])))
    assert (await site.api.get(operator, f"/alerts/{pressed['id']}")).json()["is_exercise"] is True
    sent = await site.api.post(operator, f"/alerts/{pressed['id']}/dispatch", {"unit_id": on_drill.unit_id})
    assert sent.status_code == 200, sent.text

    console = await open_console(site, operator)
    page = console.page
    await expect(unit_row(page, on_drill.unit_id)).to_have_attribute("data-unit-group", "drill", timeout=DEADLINE_MS)
    await expect(unit_row(page, on_drill.unit_id)).to_contain_text("Latihan")
    await expect(unit_row(page, drill_officer.unit_id)).to_have_attribute("data-unit-group", "drill")
    await expect(unit_row(page, free.unit_id)).to_have_attribute("data-unit-group", "available")
    await expect(unit_row(page, free.unit_id)).not_to_contain_text("Latihan")
    shown = await counts_match_rows(page)
    drill_on_map = page.locator(".unit-label", has_text=drilled["callsign"])
    await expect(drill_on_map).to_have_count(1)  # the map labels its few units by callsign
    assert shown["drill"] >= 2
    assert shown["available"] >= 1

    # Drills hidden: the drill's own unit leaves the board and its count; the real unit on the drill stays, marked.
    await page.locator('[data-action="toggle-drills"]').click()
    await expect(unit_row(page, drill_officer.unit_id)).to_have_count(0)
    await expect(drill_on_map).to_have_count(0)
    await expect(page.locator(".unit-label", has_text="COBLONG-UB-1")).to_have_count(1)
    await expect(unit_row(page, on_drill.unit_id)).to_have_attribute("data-unit-group", "drill")
    await expect(unit_row(page, on_drill.unit_id)).to_contain_text("Latihan")
    hidden = await counts_match_rows(page)
    assert hidden["drill"] == shown["drill"] - 1
    assert hidden["available"] == shown["available"]
    assert hidden["busy"] == shown["busy"]
    await expect(page.get_by_test_id("unit-counts")).to_contain_text(f"{hidden['drill']} latihan")

    await page.click('[data-lang="en"]')
    await expect(page.get_by_test_id("unit-counts")).to_contain_text(f"{hidden['drill']} on a drill")
    await expect(unit_row(page, on_drill.unit_id)).to_contain_text("Drill")
    await page.click('[data-lang="id"]')
    await page.locator('[data-action="toggle-drills"]').click()  # the switch is remembered: leave it as found
    await console.close()
