"""Issue 12, item 9 in the browser: a real city's kecamatan file uploads from admin, admin editors open where the
admin is looking, the countdown's category is readable, and the console says who handles an alert an officer took.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, eventually
from tests.browser.test_console import DEADLINE_MS, open_console, row
from tests.browser.test_field_ready_server import on_duty_here
from tests.browser.test_officer import enable_direct_offers
from tests.browser.test_resident import COBLONG, hold_sos, open_app, signed_in_phone
from tests.conftest import BANDUNG_GEOJSON, PASSWORD


async def log_in(site: Site, *, height: int = 800) -> Page:
    """The admin app, logged in, in a window ``height`` pixels tall."""
    admin = await site.api.staff(Role.ADMIN, "BDG-CC", name="Admin Uji")
    page = await (await site.context(height=height)).new_page()
    await page.goto("/admin")
    await page.fill("#admin-username", admin.extra["username"])
    await page.fill("#admin-password", PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("navigation")).to_be_visible()
    return page


async def test_an_admin_uploads_bandungs_real_kecamatan_file(site: Site) -> None:
    assert BANDUNG_GEOJSON.stat().st_size > site.api.runtime.settings.max_body_bytes
    page = await log_in(site)
    await page.get_by_role("link", name="Wilayah").click()
    await page.set_input_files("#geojson-file", str(BANDUNG_GEOJSON))
    await page.get_by_role("button", name="Unggah").click()
    await expect(page.get_by_test_id("import-result")).to_contain_text(re.compile(r"Diimpor \d+ kecamatan"))
    await expect(page.get_by_test_id("error")).to_have_count(0)
    await page.context.close()


async def test_admin_editors_open_in_view_from_the_bottom_of_a_long_table(site: Site) -> None:
    for n in range(15):
        await site.api.resident(name=f"Warga Panjang {n:02d}")
    page = await log_in(site, height=480)

    # The offer settings of the last agency in the table open where the admin is, not at the top of the page.
    await page.get_by_role("link", name="Instansi").click()
    last = page.get_by_test_id("agencies").locator("tbody tr").last
    await last.get_by_role("button", name="Pengaturan tawaran").click()
    settings = page.get_by_test_id("dispatch-settings")
    await expect(settings).to_be_in_viewport()
    await expect(settings.get_by_label("Tawarkan SOS langsung ke petugas terdekat")).to_be_focused()

    # The same for a resident opened from the bottom of a long list.
    await page.get_by_role("link", name="Warga").click()
    await page.get_by_label("Nama atau nomor telepon").fill("Warga Panjang")
    await page.get_by_role("button", name="Cari").click()
    residents = page.get_by_test_id("residents")
    await expect(residents.locator("tbody tr")).to_have_count(15)
    await residents.locator("tbody tr").last.get_by_role("button", name="Buka").click()
    await expect(page.get_by_test_id("resident-detail")).to_be_in_viewport()
    await page.context.close()


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else float(((c + 0.055) / 1.055) ** 2.4)

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(n) for n in re.findall(r"[\d.]+", css))


async def _contrast(page: Page, selector: str, background_selector: str) -> float:
    colours: dict[str, str] = await page.evaluate(
        """([text, back]) => ({
          text: getComputedStyle(document.querySelector(text)).color,
          back: getComputedStyle(document.querySelector(back)).backgroundColor,
        })""",
        [selector, background_selector],
    )
    text, back = _rgb(colours["text"]), _rgb(colours["back"])
    assert len(text) == 3 or text[3] == 1, f"the text is translucent: {colours['text']}"
    light, dark = sorted((_luminance(text), _luminance(back)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def test_the_countdowns_category_is_readable(site: Site) -> None:
    resident = await site.api.resident(name="Dewi Warga")
    page = await open_app(await signed_in_phone(site, resident))
    await page.get_by_role("button", name="Kebakaran").click()
    await hold_sos(page)
    countdown = page.get_by_role("alertdialog")
    await expect(countdown.get_by_text("Kebakaran")).to_be_visible()
    ratio = await _contrast(page, ".countdown p:not(.countdown-text)", ".countdown")
    assert ratio >= 4.5, f"the category label has a contrast of {ratio:.1f}:1 (WCAG AA needs 4.5:1)"
    await page.context.close()


async def test_the_console_names_the_unit_on_scene_when_no_operator_acknowledged(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-HB-1", name="Bripka Andi")
    await on_duty_here(site, officer, operator)
    await enable_direct_offers(site)
    resident = await site.api.resident(name="Dewi Warga")
    alert = await site.api.press(resident, lat=COBLONG[0], lon=COBLONG[1])

    async def offer() -> dict[str, Any] | None:
        offers = (await site.api.get(officer, "/offers")).json()
        return next((o for o in offers if o["alert_id"] == alert["id"]), None)

    ring = await eventually(offer, what="the direct offer to the officer")
    assert (await site.api.post(officer, f"/offers/{ring['id']}/accept")).status_code == 200
    assert (await site.api.post(officer, f"/alerts/{alert['id']}/on-scene")).status_code == 200

    console = await open_console(site, operator)
    await row(console.page, alert["id"]).click()
    handled = console.page.locator(".panel dd[data-acknowledged-by]")
    await expect(handled).to_have_text("COBLONG-HB-1 (Tiba di lokasi) · belum dilihat operator", timeout=DEADLINE_MS)
    await expect(handled).not_to_contain_text("belum ada")
    # The operator can still say they have seen it ("Terima"), and the quiet mark goes.
    await console.page.locator('[data-action="acknowledge"]').click()
    await expect(handled).not_to_contain_text("belum dilihat operator", timeout=DEADLINE_MS)
    await expect(handled).to_contain_text(operator.name, timeout=DEADLINE_MS)
    await console.close()
