"""Operators and officers may choose two-step login (issue 12): administrators and supervisors enrol at login where a
deployment requires it, but the others had no place to turn it on. The officer app now has one: it says whether it
is on, enrols an authenticator (QR code, key, a code from the app, the recovery codes shown once), and from then on
each login asks for the app's code."""

from __future__ import annotations

import time

import pyotp
from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_officer import log_in
from tests.conftest import PASSWORD


async def test_an_officer_turns_on_two_step_login_in_the_app_and_the_next_login_asks_for_the_code(site: Site) -> None:
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-2FA-1")
    assert (await site.api.get(officer, "/auth/me")).json()["second_factor"] is False
    context = await site.phone()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await log_in(page, officer)

    card = page.get_by_test_id("second-factor")
    await expect(card).to_contain_text("Tidak aktif")
    await card.get_by_role("button", name="Aktifkan login dua langkah").click()
    await expect(card.locator("svg.totp-qr path")).to_have_count(1)
    app = pyotp.TOTP((await page.locator("#officer-factor-secret").inner_text()).strip())
    await page.fill("#officer-factor-code", f"{(int(app.now()) + 500_000) % 1_000_000:06d}")
    await card.get_by_role("button", name="Aktifkan", exact=True).click()
    await expect(card.get_by_role("alert")).to_contain_text("Kode salah")
    await page.fill("#officer-factor-code", app.now())
    await card.get_by_role("button", name="Aktifkan", exact=True).click()
    await expect(page.locator("#officer-factor-recovery-codes li")).to_have_count(10)
    await card.get_by_role("button", name="Sudah saya simpan").click()
    await expect(card).to_contain_text("Aktif: setiap kali masuk")
    assert (await site.api.get(officer, "/auth/me")).json()["second_factor"] is True

    # A reload still knows it is on; the next login asks for the code.
    await page.reload()
    await expect(card).to_contain_text("Aktif: setiap kali masuk")
    await page.get_by_role("button", name="Keluar").click()
    await page.fill("#officer-username", officer.extra["username"])
    await page.fill("#officer-password", PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("heading", name="Login dua langkah")).to_be_visible()
    await page.fill("#officer-code", app.at(time.time() + 30))  # newer than the enrolment's code
    await page.get_by_role("button", name="Lanjutkan").click()
    await expect(page.get_by_role("heading", name="Tugas", exact=True)).to_be_visible()
    await context.close()
    assert errors == []


async def test_a_resident_is_told_nothing_of_a_second_factor(site: Site) -> None:
    resident = await site.api.resident()
    assert (await site.api.get(resident, "/auth/me")).json()["second_factor"] is None
