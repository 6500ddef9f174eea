"""The command-centre console in a real browser: an operator logs in, sees presses arrive, and works them.

Scenes are set up through the public API (residents press, officers go on duty); the console is driven as an
operator would, by clicks and keys; outcomes are checked through the API. Deadlines are generous: these tests say
that things happen, not how fast.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Page, expect

from siaga.accounts.domain import Role
from siaga.alerts.domain import DomainEvent, EventKind
from siaga.alerts.timeline import record_system_event
from tests.browser.conftest import Site, screenshot
from tests.conftest import PASSWORD, Person
from tests.residents import made_residents

DEADLINE_MS = 30_000  # a generous wait for what the page shows; never a judgement of speed
COBLONG = (-6.8915, 107.6107)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@dataclass
class Console:
    """The console open in a browser tab, and every script error it raised."""

    page: Page
    errors: list[str] = field(default_factory=list)

    async def close(self) -> None:
        await self.page.context.close()
        assert self.errors == []


async def open_console(site: Site, operator: Person, *, width: int = 1280, height: int = 800) -> Console:
    """Log in on the console's own login screen and wait until its stream is connected."""
    context = await site.context(width=width, height=height)
    page = await context.new_page()
    console = Console(page)
    page.on("pageerror", lambda error: console.errors.append(f"{error}\n{error.stack}"))
    page.on("console", lambda message: console.errors.append(message.text) if message.type == "error" else None)
    await page.goto("/console")
    await page.fill("#login-username", operator.extra["username"])
    await page.fill("#login-password", PASSWORD)
    await page.click(".login-submit")
    await expect(page.locator('[data-stream="open"]')).to_be_visible(timeout=DEADLINE_MS)
    return console


async def officer_on_patrol(site: Site, *, lat: float, lon: float, callsign: str | None = None) -> Person:
    """An officer on patrol whose position Siaga's tracker already knows (so the unit can be recommended)."""
    officer = await site.api.staff(Role.OFFICER, unit_callsign=callsign)
    answer = await site.api.http.put("/api/v1/officers/me/duty", json={"mode": "patrol"}, headers=officer.headers)
    assert answer.status_code == 200, answer.text
    answer = await site.api.post(officer, "/officers/me/location", {"lat": lat, "lon": lon, "accuracy_m": 10})
    assert answer.status_code == 202, answer.text
    assert officer.unit_id is not None
    unit_id = officer.unit_id

    async def placed() -> bool:
        point = site.api.runtime.units.tracker.get(unit_id)
        return point is not None and point.lat is not None and point.state == "available"

    await eventually(placed, f"unit {unit_id} to have a position")
    return officer


async def alert_as_staff(site: Site, staff: Person, alert_id: str) -> dict[str, Any]:
    answer = await site.api.get(staff, f"/alerts/{alert_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def row(page: Page, alert_id: str) -> Any:
    return page.locator(f'.queue-row[data-alert-id="{alert_id}"]')


async def test_an_operator_acknowledges_dispatches_notes_and_resolves_a_prank(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, name="Operator Sari")
    officer = await officer_on_patrol(site, lat=-6.8890, lon=107.6080)
    resident = await site.api.resident(name="Budi Santoso")
    console = await open_console(site, operator)
    page = console.page

    alert = await site.api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    pressed = row(page, alert["id"])
    await expect(pressed).to_be_visible(timeout=DEADLINE_MS)
    await expect(pressed).to_contain_text("Budi Santoso", timeout=DEADLINE_MS)
    await pressed.click()
    await expect(page.locator(".caller a.tel")).to_have_attribute("href", f"tel:{resident.phone}")

    await page.click('[data-action="acknowledge"]')

    async def acknowledged() -> bool:
        return (await alert_as_staff(site, operator, alert["id"]))["acknowledged_by"] == "Operator Sari"

    await eventually(acknowledged, "the alert to be acknowledged by the operator")

    dispatch = page.locator(f'[data-action="dispatch-unit"][data-unit-id="{officer.unit_id}"]')
    await expect(dispatch).to_be_enabled(timeout=DEADLINE_MS)
    await dispatch.click()

    async def dispatched() -> bool:
        seen = await alert_as_staff(site, operator, alert["id"])
        return seen["state"] == "dispatched" and seen["unit_id"] == officer.unit_id

    await eventually(dispatched, "the officer's unit to be dispatched")
    board_row = page.locator(f'tr[data-unit-id="{officer.unit_id}"]')
    await expect(board_row).to_have_attribute("data-unit-state", "assigned", timeout=DEADLINE_MS)

    await page.click('[data-action="note"]')
    await page.fill('[data-form="note"] textarea', "Penelepon dihubungi, tidak ada jawaban")
    await page.click('[data-form="note"] button[type="submit"]')
    await expect(page.locator('.timeline [data-kind="note"]')).to_contain_text("tidak ada jawaban", timeout=DEADLINE_MS)
    timeline = (await site.api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
    assert [e["data"]["text"] for e in timeline if e["kind"] == "note"] == ["Penelepon dihubungi, tidak ada jawaban"]

    await page.click('[data-action="resolve"]')
    await page.check('[data-form="resolve"] input[value="prank"]')
    await page.fill('[data-form="resolve"] textarea', "Ditelepon balik: mengaku iseng")
    await page.click('[data-form="resolve"] button[type="submit"]')

    async def resolved_as_prank() -> bool:
        seen = await alert_as_staff(site, operator, alert["id"])
        return seen["state"] == "resolved" and seen["outcome"] == "prank"

    await eventually(resolved_as_prank, "the alert to be resolved as a prank")
    await expect(pressed).to_have_count(0, timeout=DEADLINE_MS)
    await expect(page.locator("[data-strikes]")).to_have_attribute("data-strikes", "1", timeout=DEADLINE_MS)
    profile = (await site.api.get(resident, "/residents/me")).json()
    assert profile["strikes"] == 1
    await console.close()


async def test_keyboard_shortcuts_move_through_the_queue_acknowledge_dispatch_and_escalate(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR)
    officer = await officer_on_patrol(site, lat=-6.8900, lon=107.6100)
    older = await site.api.press(await site.api.resident(name="Pertama"))
    newer = await site.api.press(await site.api.resident(name="Kedua"), lat=-6.90, lon=107.62)
    console = await open_console(site, operator)
    page = console.page
    await expect(page.locator(".queue-row")).to_have_count(2, timeout=DEADLINE_MS)

    await page.keyboard.press("j")
    await expect(row(page, older["id"])).to_have_attribute("aria-current", "true")
    await page.keyboard.press("j")
    await expect(row(page, newer["id"])).to_have_attribute("aria-current", "true")
    await page.keyboard.press("k")
    await expect(page.locator(f'.panel[data-alert-id="{older["id"]}"]')).to_be_visible()

    await page.keyboard.press("a")
    await expect(row(page, older["id"])).to_have_attribute("data-state", "acknowledged", timeout=DEADLINE_MS)
    await expect(page.locator('[data-action="dispatch-unit"]').first).to_be_enabled(timeout=DEADLINE_MS)
    await page.keyboard.press("d")

    async def dispatched() -> bool:
        seen = await alert_as_staff(site, operator, older["id"])
        return seen["unit_id"] == officer.unit_id

    await eventually(dispatched, "the first recommended unit to be dispatched by the d key")
    # The page has the dispatch's answer too (its actions are no longer busy), so the e key opens the form.
    await expect(row(page, older["id"])).to_have_attribute("data-state", "dispatched", timeout=DEADLINE_MS)
    await expect(page.locator('[data-action="escalate"]').first).to_be_enabled(timeout=DEADLINE_MS)

    await page.keyboard.press("e")
    await page.keyboard.type("Butuh bantuan Polres")
    await page.keyboard.press("Enter")
    await expect(page.locator('[data-attention="escalated"]')).to_contain_text("Butuh bantuan Polres")
    assert (await alert_as_staff(site, operator, older["id"]))["escalated"] is True

    await page.keyboard.press("?")
    await expect(page.locator('[role="dialog"]')).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator('[role="dialog"]')).to_have_count(0)
    await console.close()


async def test_the_language_switch_turns_the_whole_console_into_english(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR)
    alert = await site.api.press(await site.api.resident())
    console = await open_console(site, operator)
    page = console.page
    await expect(page.locator("#queue-title")).to_have_text("Antrean")
    await expect(row(page, alert["id"])).to_contain_text("Baru/Menunggu", timeout=DEADLINE_MS)

    await page.click('[data-lang="en"]')
    await expect(page.locator("#queue-title")).to_have_text("Queue")
    await expect(row(page, alert["id"])).to_contain_text("New/Waiting")
    await expect(row(page, alert["id"])).to_contain_text("Crime")
    await expect(page.locator("#units-title")).to_have_text("Unit board")
    assert await page.evaluate("document.documentElement.lang") == "en"

    await page.reload()  # the choice is remembered
    await expect(page.locator("#queue-title")).to_have_text("Queue", timeout=DEADLINE_MS)
    await page.click('[data-action="logout"]')
    await expect(page.locator(".login-submit")).to_have_text("Log in")
    await page.click('[data-lang="id"]')
    await expect(page.locator(".login-submit")).to_have_text("Masuk")
    await console.close()


async def test_a_duress_cancel_is_flagged_first_in_the_queue_and_in_a_banner(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR)
    ordinary = await site.api.press(await site.api.resident(name="Biasa"))
    resident = await site.api.resident(name="Dewi Lestari")
    console = await open_console(site, operator)
    page = console.page
    alert = await site.api.press(resident, lat=-6.9000, lon=107.6200)
    await expect(row(page, alert["id"])).to_be_visible(timeout=DEADLINE_MS)

    answer = await site.api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "9999"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "cancelled"  # what the resident's phone shows

    flagged = row(page, alert["id"])
    await expect(flagged).to_have_attribute("data-flags", "duress escalated", timeout=DEADLINE_MS)
    await expect(page.locator(".queue-row").first).to_have_attribute("data-alert-id", alert["id"])
    await expect(row(page, ordinary["id"])).to_have_attribute("data-flags", "")
    banner = page.locator('[data-attention="duress"]')
    await expect(banner).to_be_visible()
    await banner.locator(".attention-open").click()
    await expect(page.locator(f'.panel[data-alert-id="{alert["id"]}"] .flag-duress')).to_be_visible()
    await expect(page.locator('.timeline [data-kind="duress"]')).to_be_visible(timeout=DEADLINE_MS)
    await banner.locator(".attention-seen").click()
    await expect(banner).to_have_count(0)
    await expect(flagged).to_have_class(re.compile(r"\blevel-critical\b.*\bis-duress\b"))
    await console.close()


async def test_a_failed_delivery_is_flagged_on_the_console(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR)
    console = await open_console(site, operator)
    page = console.page
    alert = await site.api.press(await site.api.resident())
    await expect(row(page, alert["id"])).to_have_attribute("data-flags", "", timeout=DEADLINE_MS)

    # Recorded as the notifier records an SMS to an emergency contact that the gateway refused.
    failure = {"channel": "sms", "purpose": "emergency_contact", "attempt": 1, "final": False, "error": "timeout"}
    async with site.api.runtime.unit_of_work() as session:
        event = DomainEvent(EventKind.DELIVERY_FAILED, failure)
        assert await record_system_event(session, uuid.UUID(alert["id"]), event) is not None

    await expect(row(page, alert["id"])).to_have_attribute("data-flags", "delivery_failed", timeout=DEADLINE_MS)
    banner = page.locator('[data-attention="delivery_failed"]')
    await expect(banner).to_contain_text("sms")
    await banner.locator(".attention-open").click()
    await expect(page.locator('.timeline [data-kind="delivery_failed"]')).to_contain_text("timeout")

    # A console opened afterwards (or reloaded) still flags it: the failure is on the alert, not only in the stream.
    await page.reload()
    await expect(row(page, alert["id"])).to_have_attribute("data-flags", "delivery_failed", timeout=DEADLINE_MS)
    await expect(page.locator('[data-attention="delivery_failed"]')).to_be_visible()
    await console.close()


async def test_a_mass_event_draws_the_rows_in_view_counts_them_all_and_reaches_the_newest(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR)
    # One alert each: a resident's second press while their alert is active joins it (tests/e2e/test_repeated_presses).
    residents = await made_residents(site.api, 231)
    for n in range(230):
        await site.api.press(residents[n], lat=-6.88 - (n % 23) * 0.002, lon=107.59 + (n // 23) * 0.004)
    console = await open_console(site, operator)
    page = console.page
    await expect(page.locator(".queue-count")).to_have_attribute("data-count", "230", timeout=DEADLINE_MS)
    # Only the rows in view (and a margin) are drawn, whatever the number open; the header counts them all.
    await expect(page.locator(".queue-row").first).to_be_visible()
    assert await page.locator(".queue-row").count() < 230
    late = await site.api.press(residents[230])
    await expect(page.locator(".queue-count")).to_have_attribute("data-count", "231", timeout=DEADLINE_MS)
    # The newest press waits below the older ones, out of view, but one key opens it and scrolls it into view.
    await expect(row(page, late["id"])).to_have_count(0)
    await page.keyboard.press("]")
    await expect(row(page, late["id"])).to_be_visible(timeout=DEADLINE_MS)
    await expect(row(page, late["id"])).to_have_attribute("aria-current", "true")
    await console.close()


async def test_the_console_with_alerts_and_units_for_the_readme(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, name="Operator Sari")
    officers = [
        await officer_on_patrol(site, lat=lat, lon=lon, callsign=callsign)
        for callsign, lat, lon in (
            ("CC-1", -6.8870, 107.6080),
            ("CC-2", -6.8990, 107.6170),
            ("CC-3", -6.8840, 107.5890),
            ("CC-4", -6.9120, 107.6060),
        )
    ]
    scenes = [
        ("Siti Rahma", "kesehatan", -6.8915, 107.6107),
        ("Agus Salim", "kecelakaan", -6.9147, 107.6098),
        ("Rina Wati", "kriminalitas", -6.8850, 107.5950),
        ("Dedi Kurnia", "kebakaran", -6.9200, 107.6300),
        ("Dewi Lestari", "kdrt", -6.9000, 107.6200),
    ]
    alerts = {}
    for name, category, lat, lon in scenes:
        resident = await site.api.resident(name=name)
        alerts[name] = (resident, await site.api.press(resident, lat=lat, lon=lon, category=category))
    handled = alerts["Agus Salim"][1]["id"]
    answer = await site.api.post(operator, f"/alerts/{handled}/dispatch", {"unit_id": officers[3].unit_id})
    assert answer.status_code == 200, answer.text
    fire = alerts["Dedi Kurnia"][1]["id"]
    answer = await site.api.post(operator, f"/alerts/{fire}/escalate", {"reason": "Perlu Damkar dan ambulans"})
    assert answer.status_code == 200, answer.text
    dewi, duress = alerts["Dewi Lestari"]
    assert (await site.api.post(dewi, f"/alerts/{duress['id']}/cancel", {"pin": "9999"})).status_code == 200

    console = await open_console(site, operator, width=1920, height=1080)
    page = console.page
    await expect(page.locator(".queue-row")).to_have_count(5, timeout=DEADLINE_MS)
    await expect(page.locator('tr[data-unit-state="available"]')).to_have_count(3, timeout=DEADLINE_MS)
    await expect(page.locator('tr[data-unit-state="assigned"]')).to_have_count(1, timeout=DEADLINE_MS)
    await expect(row(page, duress["id"])).to_contain_text("Dewi Lestari", timeout=DEADLINE_MS)
    await row(page, alerts["Siti Rahma"][1]["id"]).click()
    await expect(page.locator('[data-action="dispatch-unit"]')).to_have_count(3, timeout=DEADLINE_MS)
    await expect(page.locator(".caller-name")).to_have_text("Siti Rahma")
    await expect(page.locator(".timeline li").first).to_be_visible()
    await screenshot(page, "console")

    # Not broken on a smaller screen: nothing spills sideways.
    await page.set_viewport_size({"width": 1280, "height": 800})
    await expect(page.locator(".panel .caller-name")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await screenshot(page, "console-1280")
    await console.close()
