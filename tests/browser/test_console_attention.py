"""The console's attention model in a real browser: a real SOS is never buried under drills, the banner groups what
must not be missed, and a console in a background tab still says that a real SOS waits.

Drills are made as an administrator makes them (synthetic residents through the public API) and escalated by an
operator; the console is driven as an operator would, by clicks and keys.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, Request, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, screenshot
from tests.browser.test_console import DEADLINE_MS, Console, open_console, row
from tests.conftest import Person

# Lets the test hide the page as a browser does when the operator switches tabs (headless Chromium never does), and
# records the notifications the page shows, passing each on to the browser's own.
BACKGROUND_TAB = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true,
    get: () => (hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => hidden });
  window.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  window.__notifications = [];
  const Browser = window.Notification;
  if (!Browser) return;
  class Recorded extends Browser {
    constructor(title, options = {}) {
      window.__notifications.push({ title, body: options.body || "" });
      super(title, options);
    }
  }
  window.Notification = Recorded;
})();
"""


async def drills(site: Site, admin: Person, operator: Person, count: int) -> list[dict[str, Any]]:
    """`count` drill alerts (exercise residents' presses across Coblong), each escalated; every other one also
    acknowledged, as in a living city where some drills are handled and some are not."""
    made = await site.api.post(admin, "/exercise/residents", {"count": count})
    assert made.status_code == 201, made.text
    alerts = []
    for n, resident in enumerate(made.json()):
        person = Person(token=resident["access_token"], name=resident["name"], id=str(resident["resident_id"]))
        alert = await site.api.press(person, lat=-6.880 - n * 0.001, lon=107.600 + n * 0.001)
        if n % 2:
            answer = await site.api.post(operator, f"/alerts/{alert['id']}/acknowledge")
            assert answer.status_code == 200, answer.text
        answer = await site.api.post(operator, f"/alerts/{alert['id']}/escalate", {"reason": "Latihan eskalasi"})
        assert answer.status_code == 200, answer.text
        alerts.append(alert)
    return alerts


def group(page: Page, kind: str, *, drill: bool = False) -> Any:
    exercise = "true" if drill else "false"
    return page.locator(f'.attention [data-attention="{kind}"][data-exercise="{exercise}"]')


async def test_a_real_press_comes_first_in_the_queue_and_banner_above_many_escalated_drills(site: Site) -> None:
    admin = await site.api.staff(Role.ADMIN)
    operator = await site.api.staff(Role.OPERATOR)
    await drills(site, admin, operator, 22)
    console = await open_console(site, operator)
    page = console.page
    await expect(page.locator(".queue-row")).to_have_count(22, timeout=DEADLINE_MS)

    real = await site.api.press(await site.api.resident(name="Rina Wati"))
    pressed = row(page, real["id"])
    await expect(page.locator(".queue-row").first).to_have_attribute("data-alert-id", real["id"], timeout=DEADLINE_MS)
    await expect(pressed).to_be_in_viewport()
    await expect(pressed).to_contain_text("Rina Wati")
    await expect(page.locator('.queue-row[data-section="drills"]')).to_have_count(22)
    escalated_drills = group(page, "escalated", drill=True)
    await expect(escalated_drills).to_have_attribute("data-count", "22")
    waiting = group(page, "new")
    await expect(waiting).to_contain_text("Rina Wati")
    await expect(page.locator(".attention .attention-item").first).to_have_attribute("data-attention", "new")
    await screenshot(page, "console-real-press-above-drills")

    await waiting.locator(".attention-open").click()
    await expect(page.locator(f'.panel[data-alert-id="{real["id"]}"]')).to_be_visible()
    await expect(page.locator(".panel .caller-name")).to_have_text("Rina Wati")

    # The 22 drill escalations are one group, marked seen with one click; the real press stays in the strip.
    await escalated_drills.locator(".attention-seen").click()
    await expect(escalated_drills).to_have_count(0)
    await expect(page.locator(".attention-more")).to_have_count(0)
    await expect(waiting).to_be_visible()

    # Taken, it leaves the banner and joins the handled alerts, still above every drill.
    await page.keyboard.press("a")
    await expect(pressed).to_have_attribute("data-section", "handled", timeout=DEADLINE_MS)
    await expect(waiting).to_have_count(0)
    await expect(page.locator(".queue-row").first).to_have_attribute("data-alert-id", real["id"])
    await console.close()


async def test_a_queue_scrolled_down_to_the_drills_offers_the_way_back_to_a_new_real_press(site: Site) -> None:
    admin = await site.api.staff(Role.ADMIN)
    operator = await site.api.staff(Role.OPERATOR)
    await drills(site, admin, operator, 12)
    console = await open_console(site, operator)
    page = console.page
    await expect(page.locator(".queue-row")).to_have_count(12, timeout=DEADLINE_MS)
    await page.locator(".queue-row").last.scroll_into_view_if_needed()

    real = await site.api.press(await site.api.resident(name="Rina Wati"))
    pressed = row(page, real["id"])
    await expect(page.locator(".queue-row").first).to_have_attribute("data-alert-id", real["id"], timeout=DEADLINE_MS)
    await expect(pressed).not_to_be_in_viewport()  # the queue did not jump under the operator's pointer
    back = page.locator('[data-action="queue-top"]')
    await expect(back).to_contain_text("1 SOS baru")
    await screenshot(page, "console-queue-back-to-new-sos")
    await back.click()
    await expect(pressed).to_be_in_viewport()
    await expect(back).to_have_count(0)
    await console.close()


async def test_one_switch_hides_the_drills_from_the_queue_and_banner_and_is_remembered(site: Site) -> None:
    admin = await site.api.staff(Role.ADMIN)
    operator = await site.api.staff(Role.OPERATOR)
    drilled = await drills(site, admin, operator, 3)
    real = await site.api.press(await site.api.resident(name="Agus Salim"))
    console = await open_console(site, operator)
    page = console.page
    await expect(page.locator(".queue-row")).to_have_count(4, timeout=DEADLINE_MS)
    await expect(group(page, "escalated", drill=True)).to_be_visible()

    switch = page.locator('[data-action="toggle-drills"]')
    await switch.click()
    await expect(switch).to_have_attribute("aria-pressed", "true")
    await expect(page.locator(".queue-row")).to_have_count(1)
    await expect(row(page, real["id"])).to_be_visible()
    for alert in drilled:
        await expect(row(page, alert["id"])).to_have_count(0)
    await expect(group(page, "escalated", drill=True)).to_have_count(0)
    await expect(group(page, "new")).to_be_visible()

    await page.reload()
    await expect(page.locator('[data-stream="open"]')).to_be_visible(timeout=DEADLINE_MS)
    await expect(row(page, real["id"])).to_be_visible(timeout=DEADLINE_MS)
    await expect(page.locator(".queue-row")).to_have_count(1)

    await page.locator('[data-action="toggle-drills"]').click()
    await expect(page.locator(".queue-row")).to_have_count(4)
    await expect(page.locator(".queue-row").first).to_have_attribute("data-alert-id", real["id"])
    await console.close()


async def test_escalations_are_grouped_in_the_banner_and_marked_seen_together(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR)
    alerts = [await site.api.press(await site.api.resident(name=f"Warga {n}")) for n in range(4)]
    for alert in alerts:
        assert (await site.api.post(operator, f"/alerts/{alert['id']}/acknowledge")).status_code == 200
        answer = await site.api.post(operator, f"/alerts/{alert['id']}/escalate", {"reason": "Perlu bantuan Polres"})
        assert answer.status_code == 200, answer.text
    console = await open_console(site, operator)
    page = console.page
    escalated = group(page, "escalated")
    await expect(escalated).to_have_attribute("data-count", "4", timeout=DEADLINE_MS)
    await expect(page.locator(".attention .attention-item")).to_have_count(1)
    await expect(escalated.locator(".attention-seen")).to_contain_text("4")

    # "Open" opens the group's first alert in queue order: the oldest.
    await escalated.locator(".attention-open").click()
    await expect(page.locator(f'.panel[data-alert-id="{alerts[0]["id"]}"]')).to_be_visible()
    await escalated.locator(".attention-seen").click()
    await expect(page.locator(".attention .attention-item")).to_have_count(0)
    await expect(page.locator(".attention-calm")).to_be_visible()
    # Seen, not forgotten: the rows keep their flag.
    for alert in alerts:
        await expect(row(page, alert["id"])).to_have_attribute("data-flags", "escalated")

    # A new escalation is news again; in English on request.
    await page.click('[data-lang="en"]')
    assert (await site.api.post(operator, f"/alerts/{alerts[0]['id']}/escalate", {"reason": "Lagi"})).status_code == 200
    await expect(escalated).to_contain_text("Alert escalated", timeout=DEADLINE_MS)
    await expect(escalated.locator(".attention-seen")).to_have_text("Seen")
    await expect(page.locator('.queue-section[data-section="handled"]')).to_have_text("Being handled")
    await console.close()


async def test_escape_in_the_note_form_closes_only_the_form(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR)
    alert = await site.api.press(await site.api.resident(name="Dedi Kurnia"))
    console = await open_console(site, operator)
    page = console.page
    await row(page, alert["id"]).click()
    panel = page.locator(f'.panel[data-alert-id="{alert["id"]}"]')
    await expect(panel).to_be_visible(timeout=DEADLINE_MS)

    await page.keyboard.press("n")
    await expect(page.locator('[data-form="note"] textarea')).to_be_focused()
    await page.keyboard.type("Belum bisa dihubungi")
    await page.keyboard.press("Escape")
    await expect(page.locator('[data-form="note"]')).to_have_count(0)
    await expect(panel).to_be_visible()

    # With no form open, Escape still closes the panel.
    await page.keyboard.press("Escape")
    await expect(panel).to_have_count(0)
    await console.close()


async def test_a_console_in_a_background_tab_shows_a_new_sos_in_its_title_and_a_notification(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR)
    admin = await site.api.staff(Role.ADMIN)
    console = await open_console_in_background_tab(site, operator)
    page = console.page
    await page.evaluate("window.__setHidden(true)")
    calm = await page.title()
    assert not calm.startswith("(")

    # A drill press is no news for a hidden tab.
    (drill,) = await drills(site, admin, operator, 1)
    await expect(row(page, drill["id"])).to_be_visible(timeout=DEADLINE_MS)
    await expect(page).to_have_title(calm)

    real = await site.api.press(await site.api.resident(name="Siti Rahma"))
    await expect(page).to_have_title(re.compile(r"^\(1\) SOS baru menunggu"), timeout=DEADLINE_MS)
    notifications = await page.evaluate("window.__notifications")
    assert [n["title"] for n in notifications] == ["SOS baru"]
    assert "Siti Rahma" in notifications[0]["body"]

    await site.api.press(await site.api.resident(name="Budi Santoso"), lat=-6.90, lon=107.62)
    await expect(page).to_have_title(re.compile(r"^\(2\) SOS baru menunggu"), timeout=DEADLINE_MS)

    await page.evaluate("window.__setHidden(false)")
    await expect(page).to_have_title("Siaga — Konsol Command Center")
    await expect(page.locator(".queue-row").first).to_have_attribute("data-alert-id", real["id"])
    await console.close()


async def open_console_in_background_tab(site: Site, operator: Person) -> Console:
    """The console, logged in, in a page whose visibility the test controls."""
    console = await open_console(site, operator)
    await console.page.context.add_init_script(BACKGROUND_TAB)
    await console.page.reload()
    await expect(console.page.locator('[data-stream="open"]')).to_be_visible(timeout=DEADLINE_MS)
    return console


async def test_callers_names_come_from_the_stream_without_refetching_the_alert_list(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, name="Operator Wulan")
    supervisor = await site.api.staff(Role.SUPERVISOR)
    console = await open_console(site, operator)
    page = console.page
    listed: list[str] = []

    def on_request(request: Request) -> None:
        if re.search(r"/api/v1/alerts(\?|$)", request.url):
            listed.append(request.url)

    page.on("request", on_request)
    first = await site.api.press(await site.api.resident(name="Dewi Lestari"))
    await expect(row(page, first["id"])).to_contain_text("Dewi Lestari", timeout=DEADLINE_MS)
    second = await site.api.press(await site.api.resident(name="Rudi Hartono"), lat=-6.90, lon=107.62)
    await expect(row(page, second["id"])).to_contain_text("Rudi Hartono", timeout=DEADLINE_MS)

    assert listed == []
    audit = (await site.api.get(supervisor, "/audit", action="alert.list")).json()
    assert [r for r in audit if r["action"] == "alert.list" and r["actor_name"] == "Operator Wulan"] == []
    await console.close()
