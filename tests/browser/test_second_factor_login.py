"""The staff login's second step in a real browser (issue 14, item 6): a supervisor whose role requires a second
factor enrols it on the console's login screen (QR code, key, a code, the recovery codes shown once), and the next
login asks for the code, says so in Bahasa Indonesia when it is wrong, and lets them in with the right one."""

from __future__ import annotations

import asyncio
import time
import uuid

import pyotp
import pytest
from playwright.async_api import Page, expect

from siaga.accounts import service as accounts
from siaga.accounts.domain import Role
from siaga.agencies import service as agencies
from tests.browser.conftest import Site, screenshot
from tests.browser.test_admin import log_in
from tests.conftest import PASSWORD

DEADLINE_MS = 30_000  # a generous wait for what the page shows; never a judgement of speed


async def supervisor(site: Site) -> str:
    username = f"supervisor.{uuid.uuid4().hex[:8]}"
    async with site.api.runtime.unit_of_work() as session:
        agency = await agencies.agency_by_code(session, "BDG-CC")
        await accounts.create_staff(
            session,
            username=username,
            name="Supervisor Rina",
            role=Role.SUPERVISOR,
            agency_id=agency.id,
            password=PASSWORD,
        )
    return username


async def password_step(page: Page, username: str) -> None:
    await page.goto("/console")
    await page.fill("#login-username", username)
    await page.fill("#login-password", PASSWORD)
    await page.click(".login-submit")


async def test_a_supervisor_enrols_on_the_login_screen_then_logs_in_with_a_code(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = site.api.runtime
    monkeypatch.setattr(runtime, "settings", runtime.settings.model_copy(update={"staff_second_factor": "required"}))
    username = await supervisor(site)
    context = await site.context()
    page = await context.new_page()

    await password_step(page, username)
    await expect(page.get_by_role("heading", name="Atur login dua langkah")).to_be_visible(timeout=DEADLINE_MS)
    await expect(page.locator("svg.totp-qr path")).to_have_count(1)
    secret = (await page.locator("#login-secret").inner_text()).strip()
    app = pyotp.TOTP(secret)
    await page.fill("#login-code", app.now())
    await page.click(".login-submit")
    codes = page.locator("#login-recovery-codes li")
    await expect(codes).to_have_count(10, timeout=DEADLINE_MS)
    await screenshot(page, "second-factor-recovery-codes")
    await page.get_by_role("button", name="Sudah saya simpan").click()
    await expect(page.locator('[data-stream="open"]')).to_be_visible(timeout=DEADLINE_MS)
    await context.close()

    # The next login asks for the code; a wrong one is refused in the user's language, the right one lets them in.
    context = await site.context()
    page = await context.new_page()
    await password_step(page, username)
    await expect(page.get_by_role("heading", name="Login dua langkah")).to_be_visible(timeout=DEADLINE_MS)
    right = app.at(time.time() + 30)  # the next step's code: accepted now, and newer than the enrolment's
    await page.fill("#login-code", f"{(int(right) + 500_000) % 1_000_000:06d}")
    await page.click(".login-submit")
    await expect(page.get_by_role("alert")).to_contain_text("Kode salah", timeout=DEADLINE_MS)
    await page.fill("#login-code", right)
    await page.click(".login-submit")
    await expect(page.locator('[data-stream="open"]')).to_be_visible(timeout=DEADLINE_MS)
    await context.close()


async def test_an_administrator_resets_a_lost_factor_from_the_admin_app(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, name="Operator Ponsel Hilang")
    setup = await site.api.post(operator, "/auth/factor")
    app = pyotp.TOTP(setup.json()["secret"])
    assert (await site.api.post(operator, "/auth/factor/confirm", {"code": app.now()})).status_code == 200
    page, _ = await log_in(site)
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.get_by_role("link", name="Staf & unit").click()
    await page.get_by_label("Cari staf").fill("Ponsel Hilang")
    await page.get_by_role("button", name="Cari", exact=True).click()
    staff = page.get_by_test_id("staff")
    await expect(staff.locator("tbody tr")).to_have_count(1)
    await staff.get_by_role("button", name="Ubah").click()
    editor = page.get_by_test_id("staff-editor")
    await expect(editor.get_by_test_id("second-factor")).to_contain_text("Login dua langkah aktif")
    await editor.get_by_role("button", name="Atur ulang login dua langkah").click()
    await expect(editor.get_by_role("status")).to_contain_text("diatur ulang")
    await expect(editor.get_by_test_id("second-factor")).to_contain_text("belum diatur")
    # The lost phone's owner is signed out, and logs in with the password alone again (a factor is optional for them).
    assert (await site.api.get(operator, "/auth/me")).status_code == 401
    login = {"username": operator.extra["username"], "password": PASSWORD}
    assert (await site.api.http.post("/api/v1/auth/login", json=login)).json()["login_step"] is None
