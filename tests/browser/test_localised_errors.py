"""Errors speak the reader's language: a lost race with another operator, a network that is down, a taken name.

The server's English message never reaches an Indonesian screen: the apps translate the error's code, and fill the
sentence from the error's details (e.g. who holds the alert).
"""

from __future__ import annotations

from playwright.async_api import Route, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_admin import log_in
from tests.browser.test_console import COBLONG, DEADLINE_MS, Console, alert_as_staff, open_console, row


async def close_expecting_refused_requests(console: Console) -> None:
    """Close the console; the browser's own log lines for the refused requests are expected, any other is not."""
    console.errors[:] = [e for e in console.errors if not e.startswith("Failed to load resource")]
    await console.close()


async def test_an_operator_who_loses_the_acknowledge_race_reads_who_won_in_indonesian(site: Site) -> None:
    budi = await site.api.staff(Role.OPERATOR, name="Operator Budi")
    sari = await site.api.staff(Role.OPERATOR, name="Operator Sari")
    resident = await site.api.resident(name="Warga Coblong")
    console = await open_console(site, sari)
    page = console.page
    alert = await site.api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    await row(page, alert["id"]).click()

    async def budi_first(route: Route) -> None:
        # Budi's acknowledgement lands between Sari's click and her request reaching the server.
        answer = await site.api.post(budi, f"/alerts/{alert['id']}/acknowledge", {})
        assert answer.status_code == 200, answer.text
        await route.continue_()

    await page.route(f"**/api/v1/alerts/{alert['id']}/acknowledge", budi_first)
    await page.click('[data-action="acknowledge"]')

    notice = page.locator(".notice-error")
    await expect(notice).to_have_text("Sudah diterima oleh Operator Budi.", timeout=DEADLINE_MS)
    assert (await alert_as_staff(site, sari, alert["id"]))["acknowledged_by"] == "Operator Budi"
    await close_expecting_refused_requests(console)


async def test_a_console_that_cannot_reach_the_server_says_so_in_indonesian(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, name="Operator Sari")
    resident = await site.api.resident(name="Warga Coblong")
    console = await open_console(site, operator)
    page = console.page
    alert = await site.api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    await row(page, alert["id"]).click()

    await page.route("**/api/v1/alerts/*/acknowledge", lambda route: route.abort("internetdisconnected"))
    await page.click('[data-action="acknowledge"]')

    notice = page.locator(".notice-error")
    await expect(notice).to_contain_text("Tidak ada koneksi ke server", timeout=DEADLINE_MS)
    await expect(notice).not_to_contain_text("Failed to fetch")
    assert (await alert_as_staff(site, operator, alert["id"]))["acknowledged_by"] is None
    await close_expecting_refused_requests(console)


async def test_an_admin_who_picks_a_taken_username_reads_which_one_in_indonesian_or_english(site: Site) -> None:
    taken = (await site.api.staff(Role.OPERATOR)).extra["username"]
    page, _ = await log_in(site)
    await page.get_by_role("link", name="Staf & unit").click()
    await page.get_by_label("Nama pengguna").fill(taken)
    await page.get_by_label("Nama", exact=True).fill("Operator Kedua")
    await page.get_by_label("Peran").select_option("operator")
    await page.locator("#staff-agency").select_option(label="POLSEK-COBLONG — Polsek Coblong")
    await page.get_by_label("Kata sandi").fill("kata-sandi-panjang-1")
    await page.get_by_role("button", name="Buat akun").click()
    error = page.get_by_test_id("error")
    await expect(error).to_have_text(f"Nama pengguna {taken} sudah dipakai.")

    await page.get_by_label("Bahasa").select_option("en")
    await page.get_by_role("button", name="Create account").click()
    await expect(error).to_have_text(f"Username {taken} is already taken.")
    await page.context.close()
