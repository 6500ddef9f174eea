"""Linked alerts and operator-set priority on the console in a real browser: the operator picks two presses about one
fight and links them; both rows show the link, the queue grouped by incident shows them together, the panel lists the
other one ("Terkait: 1 SOS") and opens it, and the operator raises its priority with a reason, which the row and
the timeline show and which lifts it to the top of the waiting alerts."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, screenshot
from tests.browser.test_console import DEADLINE_MS, open_console

COBLONG = (-6.8915, 107.6107)


async def _press(site: Site, n: int) -> dict[str, Any]:
    resident = await site.api.resident(name=f"Saksi {n}")
    return await site.api.press(resident, lat=COBLONG[0] + n * 1e-4, lon=COBLONG[1] + n * 1e-4)


async def test_the_operator_links_two_presses_and_sees_them_grouped(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    first, second, other = [await _press(site, n) for n in range(3)]
    console = await open_console(site, operator)
    page = console.page
    await expect(page.locator(".queue-count")).to_have_attribute("data-count", "3", timeout=DEADLINE_MS)

    for alert in (first, second):
        await page.locator(f'.queue-item:has([data-alert-id="{alert["id"]}"]) .queue-pick').check()
    await expect(page.locator(".bulk-bar")).to_have_attribute("data-picked", "2")
    await page.click('[data-bulk="link"]')
    for alert in (first, second):
        chip = page.locator(f'[data-alert-id="{alert["id"]}"] .flag-incident')
        await expect(chip).to_have_text("TERKAIT · 2", timeout=DEADLINE_MS)
    incident_id = await page.locator(f'[data-alert-id="{first["id"]}"] .flag-incident').get_attribute(
        "data-incident-id"
    )
    await expect(page.locator(f'[data-alert-id="{second["id"]}"] .flag-incident')).to_have_attribute(
        "data-incident-id", incident_id or ""
    )
    await expect(page.locator(f'[data-alert-id="{other["id"]}"] .flag-incident')).to_have_count(0)

    await page.select_option("[data-group-by]", "incident")
    groups = page.locator(".queue-group")
    await expect(groups).to_have_count(2)
    await expect(groups.first).to_have_attribute("data-group", incident_id or "")
    await expect(groups.first).to_have_attribute("data-count", "2")
    await screenshot(page, "console-incident-grouped")

    await page.click(f'.queue-row[data-alert-id="{first["id"]}"]')
    panel = page.locator(f'.panel[data-alert-id="{first["id"]}"]')
    await expect(panel.locator('[data-testid="incident-title"]')).to_have_text("Terkait: 1 SOS", timeout=DEADLINE_MS)
    await panel.locator(f'[data-linked-alert="{second["id"]}"]').click()
    panel = page.locator(f'.panel[data-alert-id="{second["id"]}"]')
    await expect(panel.locator('[data-testid="incident-title"]')).to_be_visible(timeout=DEADLINE_MS)

    # The operator makes the second press urgent, with a reason the timeline keeps.
    await panel.locator('[data-action="priority"]').click()
    await page.select_option("#priority-choice", "critical")
    await page.fill("#priority-reason", "Saksi melihat senjata tajam")
    await page.click('[data-form="priority"] button[type="submit"]')
    await expect(panel.locator('[data-testid="priority"]')).to_have_attribute("data-priority", "critical")
    await expect(panel.locator('.timeline [data-kind="priority_changed"]')).to_contain_text(
        "Saksi melihat senjata tajam", timeout=DEADLINE_MS
    )
    await page.select_option("[data-group-by]", "attention")
    await expect(page.locator(".queue-row").first).to_have_attribute("data-alert-id", second["id"])
    await expect(page.locator(".queue-row").first).to_have_attribute("data-flags", "priority_critical")
    await screenshot(page, "console-incident-priority")


async def test_the_operator_closes_an_incident_at_once_and_splits_another(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    fire = [await _press(site, n) for n in range(2)]
    fight = [await _press(site, n) for n in range(2, 4)]
    for alert in fire:
        assert (await site.api.post(operator, f"/alerts/{alert['id']}/acknowledge")).status_code == 200
    for pair in (fire, fight):
        linked = await site.api.post(operator, "/incidents", {"alert_ids": [a["id"] for a in pair]})
        assert linked.status_code == 201, linked.text
    console = await open_console(site, operator)
    page = console.page
    await expect(page.locator(".queue-count")).to_have_attribute("data-count", "4", timeout=DEADLINE_MS)

    # The fire's two alerts closed in one action, through the bulk path: both leave the queue.
    await page.click(f'.queue-row[data-alert-id="{fire[0]["id"]}"]')
    await page.click('[data-action="close-incident"]')
    await page.fill("#incident-note", "Kebakaran dapur sudah padam")
    await page.click('.incident form button[type="submit"]')
    await expect(page.locator(".queue-count")).to_have_attribute("data-count", "2", timeout=DEADLINE_MS)

    # The fight's two split: the incident is dissolved and neither row shows the link any more.
    await page.click(f'.queue-row[data-alert-id="{fight[0]["id"]}"]')
    await page.click('[data-action="unlink"]')
    for alert in fight:
        await expect(page.locator(f'[data-alert-id="{alert["id"]}"] .flag-incident')).to_have_count(
            0, timeout=DEADLINE_MS
        )
    for alert in fire:
        answer = await site.api.get(operator, f"/alerts/{alert['id']}")
        assert (answer.json()["state"], answer.json()["report"]) == ("resolved", "Kebakaran dapur sudah padam")
