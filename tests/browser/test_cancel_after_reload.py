"""A resident who reloads the app while their alert is active can still cancel it with their PIN (issue 12): after a
plain reload, after the operator acknowledged it, and on a phone whose storage was cleared (the app finds the open
alert on the server and follows it again)."""

from __future__ import annotations

import json

from playwright.async_api import Page, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_resident import alerts_of, headline, open_app, press_now, signed_in_phone
from tests.conftest import Person


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def cancel_with_pin(page: Page, pin: str) -> None:
    await page.get_by_role("button", name="Batalkan SOS").click()
    await page.get_by_label("Masukkan PIN untuk membatalkan").fill(pin)
    await page.get_by_role("button", name="Batalkan SOS").click()


async def state_of(site: Site, staff: Person, alert_id: str) -> str:
    answer = await site.api.get(staff, f"/alerts/{alert_id}")
    assert answer.status_code == 200, answer.text
    state: str = answer.json()["state"]
    return state


async def test_after_a_reload_the_cancel_pin_still_cancels_the_alert(site: Site) -> None:
    resident = await site.api.resident()  # cancel PIN 1234
    operator = await site.api.staff(Role.OPERATOR)
    context = await signed_in_phone(site, resident)
    page = await open_app(context)
    errors = watch_errors(page)
    await press_now(page)
    await expect(headline(page)).to_have_text("Diterima server")
    [alert] = await alerts_of(site, operator, resident)

    await page.reload()
    await expect(headline(page)).to_have_text("Diterima server")
    await cancel_with_pin(page, "0000")
    await expect(page.get_by_role("alert")).to_contain_text("PIN salah")
    assert await state_of(site, operator, alert["id"]) == "new"

    await page.get_by_label("Masukkan PIN untuk membatalkan").fill("1234")
    await page.get_by_role("button", name="Batalkan SOS").click()
    await expect(headline(page)).to_have_text("Dibatalkan")
    assert await state_of(site, operator, alert["id"]) == "cancelled"

    # Another reload keeps telling the truth: cancelled, with nothing left to cancel.
    await page.reload()
    await expect(headline(page)).to_have_text("Dibatalkan")
    await expect(page.get_by_role("button", name="Batalkan SOS")).to_have_count(0)
    await page.get_by_role("button", name="Selesai").click()
    await expect(page.locator(".sos-button")).to_be_visible()
    await context.close()
    assert errors == []


async def test_after_a_reload_an_acknowledged_alert_is_still_cancelled_with_the_pin(site: Site) -> None:
    resident = await site.api.resident()
    operator = await site.api.staff(Role.OPERATOR)
    context = await signed_in_phone(site, resident)
    page = await open_app(context)
    errors = watch_errors(page)
    await press_now(page)
    await expect(headline(page)).to_have_text("Diterima server")
    [alert] = await alerts_of(site, operator, resident)
    await site.api.post(operator, f"/alerts/{alert['id']}/acknowledge")
    await expect(headline(page)).to_have_text("Diterima operator")

    await page.reload()
    await expect(headline(page)).to_have_text("Diterima operator")
    await cancel_with_pin(page, "1234")
    await expect(headline(page)).to_have_text("Dibatalkan")
    assert await state_of(site, operator, alert["id"]) == "cancelled"
    await context.close()
    assert errors == []


async def test_a_phone_whose_storage_was_cleared_finds_its_open_alert_and_cancels_it(site: Site) -> None:
    resident = await site.api.resident()
    operator = await site.api.staff(Role.OPERATOR)
    context = await signed_in_phone(site, resident)
    page = await open_app(context)
    await press_now(page)
    await expect(headline(page)).to_have_text("Diterima server")
    [alert] = await alerts_of(site, operator, resident)
    await context.close()

    # The same resident on a phone with nothing stored but the session (the app reinstalled, storage cleared).
    fresh = await site.phone()
    session = {"token": resident.token, "resident_id": resident.id, "phone": resident.phone}
    await fresh.add_init_script(f"localStorage.setItem('siaga.resident.session', {json.dumps(json.dumps(session))})")
    page = await fresh.new_page()
    errors = watch_errors(page)
    await page.goto("/app")
    await expect(headline(page)).to_have_text("Diterima server")
    await cancel_with_pin(page, "1234")
    await expect(headline(page)).to_have_text("Dibatalkan")
    assert await state_of(site, operator, alert["id"]) == "cancelled"
    await fresh.close()
    assert errors == []


async def test_a_press_made_offline_and_reloaded_before_it_was_sent_is_cancelled_once_delivered(site: Site) -> None:
    resident = await site.api.resident()
    operator = await site.api.staff(Role.OPERATOR)
    context = await signed_in_phone(site, resident)
    page = await open_app(context)
    errors = watch_errors(page)
    await page.evaluate("navigator.serviceWorker.ready")  # the app opens without signal from the worker's cache
    await context.set_offline(True)
    await press_now(page)
    await expect(headline(page)).to_have_text("Mengirim…")
    # Not on the server yet: nothing to cancel, and the screen says why.
    await expect(page.get_by_role("button", name="Batalkan SOS")).to_be_disabled()

    await page.reload()
    await expect(headline(page)).to_have_text("Mengirim…")
    await context.set_offline(False)
    await expect(headline(page)).to_have_text("Diterima server")
    [alert] = await alerts_of(site, operator, resident)
    await cancel_with_pin(page, "1234")
    await expect(headline(page)).to_have_text("Dibatalkan")
    assert await state_of(site, operator, alert["id"]) == "cancelled"
    await context.close()
    assert errors == []
