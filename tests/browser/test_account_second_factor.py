"""Staff of the console and the admin app turn on two-step login from their own account (issue 12; issue 14 item 6):
the card the officer app had is now behind the console's name in the top bar and in the admin app's "Akun saya" tab.
A supervisor enrols from the console and the next login asks for the code; an administrator does the same in the
admin app; both screens read in English on request."""

from __future__ import annotations

import time

import pyotp
from playwright.async_api import Page, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_console import open_console
from tests.conftest import PASSWORD, Person

DEADLINE_MS = 30_000  # a generous wait for what the page shows; never a judgement of speed


async def enrol(page: Page, card_prefix: str, *, enable: str, saved: str) -> pyotp.TOTP:
    """Turn two-step login on in the card whose ids start with ``card_prefix``; the authenticator app it set up."""
    card = page.get_by_test_id("second-factor")
    await card.get_by_role("button", name=enable).click()
    await expect(card.locator("svg.totp-qr path")).to_have_count(1)
    app = pyotp.TOTP((await page.locator(f"#{card_prefix}-secret").inner_text()).strip())
    # Typed key by key, then Enter: the console's dialog keeps keys from its shortcuts, never from its own form.
    await page.locator(f"#{card_prefix}-code").press_sequentially(app.now())
    await page.locator(f"#{card_prefix}-code").press("Enter")
    await expect(page.locator(f"#{card_prefix}-recovery-codes li")).to_have_count(10)
    await card.get_by_role("button", name=saved).click()
    return app


async def test_a_supervisor_enrols_from_the_console_and_the_next_login_asks_for_the_code(site: Site) -> None:
    supervisor = await site.api.staff(Role.SUPERVISOR, name="Supervisor Rina")
    assert (await site.api.get(supervisor, "/auth/me")).json()["second_factor"] is False
    console = await open_console(site, supervisor)
    page = console.page

    await page.get_by_role("button", name="Akun").click()
    account = page.get_by_role("dialog", name="Akun saya")
    await expect(account).to_contain_text(supervisor.extra["username"])
    await expect(account).to_contain_text("Supervisor")
    card = account.get_by_test_id("second-factor")
    await expect(card).to_contain_text("Tidak aktif")
    # Keys typed in the dialog are its own: Escape closes it, not the console's panel behind it.
    app = await enrol(page, "console-factor", enable="Aktifkan login dua langkah", saved="Sudah saya simpan")
    await expect(card).to_contain_text("Aktif: setiap kali masuk")
    assert (await site.api.get(supervisor, "/auth/me")).json()["second_factor"] is True
    await page.keyboard.press("Escape")
    await expect(account).to_be_hidden()

    # The same account in English, after a reload: it knows the factor is on.
    await page.click('[data-lang="en"]')
    await page.reload()
    await page.get_by_role("button", name="Account").click()
    account = page.get_by_role("dialog", name="My account")
    await expect(account.get_by_test_id("second-factor")).to_contain_text("On: each login asks for the code")
    await account.get_by_role("button", name="Close").click()
    await page.click('[data-lang="id"]')

    # The next login asks for the authenticator's code before the console opens.
    await page.click('[data-action="logout"]')
    await page.fill("#login-username", supervisor.extra["username"])
    await page.fill("#login-password", PASSWORD)
    await page.click(".login-submit")
    await expect(page.get_by_role("heading", name="Login dua langkah")).to_be_visible(timeout=DEADLINE_MS)
    await page.fill("#login-code", app.at(time.time() + 30))  # newer than the enrolment's code
    await page.click(".login-submit")
    await expect(page.locator('[data-stream="open"]')).to_be_visible(timeout=DEADLINE_MS)
    await console.close()


async def admin_login(page: Page, admin: Person, *, open_page: bool = True) -> None:
    if open_page:
        await page.goto("/admin")
    await page.fill("#admin-username", admin.extra["username"])
    await page.fill("#admin-password", PASSWORD)
    await page.get_by_role("button", name="Masuk").click()


async def test_an_administrator_enrols_from_the_admin_app_and_the_next_login_asks_for_the_code(site: Site) -> None:
    admin = await site.api.staff(Role.ADMIN, name="Admin Akun")
    context = await site.context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await admin_login(page, admin)

    await page.get_by_role("link", name="Akun saya").click()
    await expect(page.get_by_role("heading", name="Akun saya")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("Admin Akun")
    app = await enrol(page, "admin-factor", enable="Aktifkan login dua langkah", saved="Sudah saya simpan")
    await expect(page.get_by_test_id("second-factor")).to_contain_text("Aktif: setiap kali masuk")
    assert (await site.api.get(admin, "/auth/me")).json()["second_factor"] is True

    await page.get_by_role("button", name="Keluar").click()
    await expect(page.locator("#admin-username")).to_be_visible()  # logged out: the login form is back
    await admin_login(page, admin, open_page=False)
    await expect(page.get_by_role("heading", name="Login dua langkah")).to_be_visible(timeout=DEADLINE_MS)
    await page.fill("#admin-code", app.at(time.time() + 30))
    await page.get_by_role("button", name="Lanjutkan").click()
    await expect(page.get_by_role("navigation")).to_be_visible(timeout=DEADLINE_MS)
    await context.close()
    assert errors == []


async def test_a_supervisor_reads_their_account_in_the_admin_app_in_english(site: Site) -> None:
    supervisor = await site.api.staff(Role.SUPERVISOR, name="Supervisor Dewi")
    context = await site.context()
    page = await context.new_page()
    await admin_login(page, supervisor)
    await page.locator(".lang select").select_option("en")
    await page.get_by_role("link", name="My account").click()
    await expect(page.get_by_role("heading", name="My account")).to_be_visible()
    card = page.get_by_test_id("second-factor")
    await expect(card).to_contain_text("Off")
    await expect(card.get_by_role("button", name="Turn on two-step login")).to_be_visible()
    await context.close()
