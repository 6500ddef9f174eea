"""A reload never loses the resident's place (issue 12): on the code screen it comes back to the code step for the
number the SMS went to, and during the SOS countdown it resumes the countdown, so the held press is still sent
(once)."""

from __future__ import annotations

from playwright.async_api import Page, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, eventually
from tests.browser.test_resident import alerts_of, headline, hold_sos, open_app, signed_in_phone
from tests.conftest import new_phone


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def test_a_reload_on_the_code_screen_keeps_the_code_step_and_the_code_still_signs_in(site: Site) -> None:
    context = await site.phone()
    page = await context.new_page()
    errors = watch_errors(page)
    await page.goto("/app")
    phone = new_phone()
    await page.get_by_label("Nomor HP").fill(phone)
    await page.get_by_role("button", name="Kirim kode SMS").click()
    await expect(page.get_by_label("Kode SMS")).to_be_visible()

    await page.reload()
    await expect(page.get_by_label("Kode SMS")).to_be_visible()
    e164 = "+62" + phone[1:]
    await expect(page.get_by_text(e164)).to_be_visible()
    await page.get_by_label("Kode SMS").fill(site.api.last_code(e164))
    await page.get_by_role("button", name="Verifikasi").click()
    await expect(page.get_by_label("Nama lengkap")).to_be_visible()
    # Signed in: a later reload opens the app, not the code step again.
    await page.reload()
    await expect(page.get_by_label("Nama lengkap")).to_be_visible()
    await context.close()
    assert errors == []


async def test_a_reload_during_the_countdown_resumes_it_and_the_press_is_sent_once(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    resident = await site.api.resident(name="Budi Santoso")
    context = await signed_in_phone(site, resident)
    page = await open_app(context)
    errors = watch_errors(page)
    await hold_sos(page)

    await page.reload()
    # The countdown resumes where it was (or, on a slow reload, has run out): the status screen follows the press.
    await expect(headline(page)).to_be_visible()

    async def one_alert() -> bool:
        return len(await alerts_of(site, operator, resident)) == 1

    await eventually(one_alert, what="the held press at the command centre")
    await page.reload()
    await expect(headline(page)).to_be_visible()
    assert len(await alerts_of(site, operator, resident)) == 1
    await context.close()
    assert errors == []
