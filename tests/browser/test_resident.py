"""The resident app on a 360 px phone: registration, the held SOS button, the outbox that survives lost signal and a
closed tab, the status as the response unfolds, the duress PIN, and the language switch."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from playwright.async_api import BrowserContext, Page, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, eventually, screenshot
from tests.conftest import Person, new_phone

COBLONG = (-6.8915, 107.6107)  # where site.phone() says the browser is
HOLD_S = 3.3  # the button needs 3 s


async def signed_in_phone(site: Site, resident: Person) -> BrowserContext:
    """A phone on which ``resident`` has already verified their number (their session is in localStorage)."""
    context = await site.phone()
    session = {"token": resident.token, "resident_id": resident.id, "phone": resident.phone}
    await context.add_init_script(f"localStorage.setItem('siaga.resident.session', {json.dumps(json.dumps(session))})")
    return context


async def open_app(context: BrowserContext) -> Page:
    page = await context.new_page()
    await page.goto("/app")
    await expect(page.locator(".sos-button")).to_be_visible()
    return page


async def hold_sos(page: Page) -> None:
    """Press and hold the button until the countdown shows."""
    box = await page.locator(".sos-button").bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await asyncio.sleep(HOLD_S)
    await page.mouse.up()
    await expect(page.get_by_role("alertdialog")).to_be_visible()


async def press_now(page: Page) -> None:
    await hold_sos(page)
    await page.get_by_role("button", name="Kirim sekarang").click()


async def outbox_ids(page: Page) -> list[str]:
    """The alert ids in the phone's outbox (IndexedDB)."""
    ids: list[str] = await page.evaluate(
        "import('/static/resident/outbox.js').then(o => o.allPresses()).then(rows => rows.map(r => r.id))"
    )
    return ids


async def alerts_of(site: Site, staff: Person, resident: Person) -> list[dict[str, Any]]:
    answer = await site.api.get(staff, "/alerts", resident_id=resident.id)
    assert answer.status_code == 200, answer.text
    alerts: list[dict[str, Any]] = answer.json()
    return alerts


def headline(page: Page) -> Any:
    return page.locator(".headline h2")


async def test_a_resident_registers_with_the_sms_code_then_profile_and_pins(site: Site) -> None:
    context = await site.phone()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto("/app")

    phone = new_phone()
    await page.get_by_label("Nomor HP").fill(phone)
    await page.get_by_role("button", name="Kirim kode SMS").click()
    await expect(page.get_by_label("Kode SMS")).to_be_visible()
    e164 = "+62" + phone[1:]
    await page.get_by_label("Kode SMS").fill(site.api.last_code(e164))
    await page.get_by_role("button", name="Verifikasi").click()

    await page.get_by_label("Nama lengkap").fill("Siti Aminah")
    await page.get_by_label("NIK").fill("3273014507900001")
    await page.get_by_label("Catatan medis").fill("Alergi penisilin")
    await page.get_by_role("button", name="+ Tambah kontak darurat").click()
    await page.locator("#contact-name-0").fill("Budi")
    await page.locator("#contact-phone-0").fill("081298765432")
    await page.locator("#contact-relation-0").fill("suami")
    await page.get_by_role("button", name="Lanjut").click()

    await page.get_by_label("PIN batal").fill("1234")
    await page.get_by_label("PIN darurat").fill("9999")
    await page.get_by_role("button", name="Lanjut").click()
    await expect(page.locator(".sos-button")).to_be_visible()
    await expect(page.get_by_text("Halo, Siti Aminah")).to_be_visible()
    await screenshot(page, "resident")

    session = json.loads(await page.evaluate("localStorage.getItem('siaga.resident.session')"))
    me = await site.api.http.get("/api/v1/residents/me", headers={"Authorization": f"Bearer {session['token']}"})
    profile = me.json()
    assert (profile["phone"], profile["name"], profile["nik"]) == (e164, "Siti Aminah", "3273014507900001")
    assert profile["medical_notes"] == "Alergi penisilin"
    assert profile["has_pins"] is True
    assert [(c["name"], c["relation"]) for c in profile["emergency_contacts"]] == [("Budi", "suami")]
    await context.close()
    assert errors == []


async def test_a_held_press_counts_down_then_one_alert_follows_the_response(site: Site) -> None:
    resident = await site.api.resident(name="Dewi Warga")
    operator = await site.api.staff(Role.OPERATOR)
    officer = await site.api.staff(Role.OFFICER, unit_callsign="BDG-UJI-7", name="Bripka Andi")
    context = await signed_in_phone(site, resident)
    page = await open_app(context)

    await page.get_by_role("button", name="Kebakaran").click()
    await hold_sos(page)
    await expect(page.get_by_text("Terkirim dalam")).to_be_visible()
    # Nothing leaves the phone during the countdown; then it goes by itself.
    assert await alerts_of(site, operator, resident) == []
    await expect(headline(page)).to_have_text("Diterima server", timeout=15_000)

    alerts = await alerts_of(site, operator, resident)
    assert [a["id"] for a in alerts] == await outbox_ids(page)
    assert (alerts[0]["category"], alerts[0]["state"]) == ("kebakaran", "new")
    alert_id = alerts[0]["id"]

    await site.api.post(operator, f"/alerts/{alert_id}/acknowledge")
    await expect(headline(page)).to_have_text("Diterima operator")

    assert (
        await site.api.http.put("/api/v1/officers/me/duty", json={"mode": "patrol"}, headers=officer.headers)
    ).is_success
    sent = await site.api.post(officer, "/officers/me/location", {"lat": -6.8990, "lon": 107.6150, "accuracy_m": 10})
    assert sent.status_code == 202, sent.text
    tracker = site.api.runtime.units.tracker

    async def on_patrol() -> bool:
        point = tracker.get(officer.unit_id or 0)
        return point is not None and point.state == "available" and point.lat is not None

    await eventually(on_patrol, what="the officer's unit to be available with a position")
    dispatched = await site.api.post(operator, f"/alerts/{alert_id}/dispatch", {"unit_id": officer.unit_id})
    assert dispatched.status_code == 200, dispatched.text
    assert (await site.api.post(officer, f"/alerts/{alert_id}/en-route")).status_code == 200
    await expect(headline(page)).to_have_text("Petugas dalam perjalanan")
    await expect(page.get_by_text("Petugas: Bripka Andi")).to_be_visible()
    await expect(page.get_by_text("Unit: BDG-UJI-7")).to_be_visible()
    await expect(page.get_by_text("Perkiraan tiba")).to_be_visible()
    await screenshot(page, "resident-status")

    # The phone's position keeps going to the alert while it is active.
    await context.set_geolocation({"latitude": -6.8930, "longitude": 107.6120})

    async def moved() -> bool:
        trail = (await site.api.get(operator, f"/alerts/{alert_id}/trail")).json()
        return any(round(p["lat"], 4) == -6.8930 for p in trail)

    await eventually(moved, what="the new position in the alert's trail")
    assert len(await alerts_of(site, operator, resident)) == 1
    await context.close()


async def test_a_press_made_offline_says_sending_and_is_delivered_once_when_back_online(site: Site) -> None:
    resident = await site.api.resident()
    operator = await site.api.staff(Role.OPERATOR)
    context = await signed_in_phone(site, resident)
    page = await open_app(context)

    await context.set_offline(True)
    await expect(page.get_by_text("Tidak ada sinyal")).to_be_visible()
    await press_now(page)
    await expect(headline(page)).to_have_text("Mengirim…")
    await expect(page.get_by_text("Menunggu sinyal")).to_be_visible()
    await expect(page.get_by_text(re.compile(r"Percobaan ke-([2-9]|\d\d)"))).to_be_visible()  # still trying
    [stored] = await outbox_ids(page)
    assert await alerts_of(site, operator, resident) == []

    await context.set_offline(False)
    await expect(headline(page)).to_have_text("Diterima server")
    alerts = await alerts_of(site, operator, resident)
    assert [a["id"] for a in alerts] == [stored]

    async def nothing_left_to_send() -> bool:
        states: list[str] = await page.evaluate(
            "import('/static/resident/outbox.js').then(o => o.allPresses()).then(rows => rows.map(r => r.state))"
        )
        return states == ["delivered"]

    await eventually(nothing_left_to_send, what="the phone's outbox to mark the press delivered")
    assert len(await alerts_of(site, operator, resident)) == 1  # the retries made no second alert
    await context.close()


async def test_a_press_survives_a_closed_tab_and_the_app_opens_without_signal(site: Site) -> None:
    resident = await site.api.resident()
    operator = await site.api.staff(Role.OPERATOR)
    context = await signed_in_phone(site, resident)
    # Chromium grants Background Sync to sites by default; a test browser has to be told.
    await context.grant_permissions(["geolocation", "notifications", "background-sync"])
    page = await open_app(context)
    scope = await page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{site.url}/"

    await context.set_offline(True)
    await press_now(page)
    await expect(headline(page)).to_have_text("Mengirim…")
    [stored] = await outbox_ids(page)
    await page.close()

    # Without signal and without a tab, the app still opens (from the service worker's cache) with the press.
    page = await context.new_page()
    await page.goto("/app")
    await expect(headline(page)).to_have_text("Mengirim…")
    await page.close()

    # Back online with every tab closed: the service worker delivers it (Background Sync).
    await context.set_offline(False)

    async def delivered() -> list[dict[str, Any]]:
        return await alerts_of(site, operator, resident)

    alerts = await eventually(delivered, what="the service worker to deliver the press")
    assert [a["id"] for a in alerts] == [stored]
    page = await context.new_page()
    await page.goto("/app")
    await expect(headline(page)).to_have_text("Diterima server")
    assert len(await alerts_of(site, operator, resident)) == 1
    await context.close()


async def test_the_duress_pin_shows_cancelled_while_staff_see_duress(site: Site) -> None:
    resident = await site.api.resident()  # cancel PIN 1234, duress PIN 9999
    operator = await site.api.staff(Role.OPERATOR)
    context = await signed_in_phone(site, resident)
    page = await open_app(context)
    await press_now(page)
    await expect(headline(page)).to_have_text("Diterima server")
    [alert] = await alerts_of(site, operator, resident)
    await site.api.post(operator, f"/alerts/{alert['id']}/acknowledge")
    await expect(headline(page)).to_have_text("Diterima operator")

    async def trail_length() -> int:
        return len((await site.api.get(operator, f"/alerts/{alert['id']}/trail")).json())

    shared = await eventually(trail_length, what="the phone's position in the trail")
    await page.get_by_role("button", name="Batalkan SOS").click()
    await page.get_by_label("Masukkan PIN untuk membatalkan").fill("0000")
    await page.get_by_role("button", name="Batalkan SOS").click()
    await expect(page.get_by_role("alert")).to_contain_text("PIN salah")

    await page.get_by_label("Masukkan PIN untuk membatalkan").fill("9999")
    await page.get_by_role("button", name="Batalkan SOS").click()
    await expect(headline(page)).to_have_text("Dibatalkan")
    await expect(page.locator(".steps")).to_have_count(0)
    assert "operator" not in (await page.locator("main").inner_text()).lower()

    staff_view = (await site.api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (staff_view["duress"], staff_view["state"], staff_view["priority"]) == (True, "acknowledged", "critical")

    # The phone quietly keeps sharing its position, which the server still takes for this open alert.
    async def shared_after_cancel() -> bool:
        return await trail_length() > shared

    await eventually(shared_after_cancel, what="a position sent after the duress PIN")
    await context.close()


async def test_the_language_switch_turns_the_app_into_english_and_is_remembered(site: Site) -> None:
    resident = await site.api.resident(name="Rina")
    context = await signed_in_phone(site, resident)
    page = await open_app(context)
    await expect(page.get_by_text("Tahan 3 detik")).to_be_visible()

    await page.get_by_role("button", name="Ganti bahasa").click()
    await expect(page.get_by_text("Hold 3 seconds")).to_be_visible()
    await expect(page.get_by_text("Hello, Rina")).to_be_visible()
    await expect(page.get_by_text("Silent mode")).to_be_visible()
    assert await page.evaluate("document.documentElement.lang") == "en"
    assert await page.title() == "Siaga — Emergency Button"

    await page.reload()
    await expect(page.get_by_text("Hold 3 seconds")).to_be_visible()
    await hold_sos(page)
    await expect(page.get_by_role("button", name="STOP")).to_be_visible()
    await page.get_by_role("button", name="STOP").click()
    await expect(page.get_by_role("alertdialog")).to_have_count(0)
    assert await outbox_ids(page) == []  # a stopped countdown stores nothing
    await context.close()


async def test_a_press_from_a_phone_that_may_not_locate_still_reaches_the_command_centre(site: Site) -> None:
    resident = await site.api.resident(name="Rina Tanpa GPS")
    operator = await site.api.staff(Role.OPERATOR)
    context = await signed_in_phone(site, resident)
    await context.clear_permissions()  # location refused: no fix now, none remembered
    page = await open_app(context)
    await press_now(page)
    await expect(headline(page)).to_have_text("Diterima server", timeout=30_000)

    alerts = await alerts_of(site, operator, resident)
    assert len(alerts) == 1
    view = (await site.api.get(operator, f"/alerts/{alerts[0]['id']}")).json()
    assert (view["placement"], view["agency_code"], view["accuracy_m"]) == ("no_location", "BDG-CC", None)
    await context.close()
