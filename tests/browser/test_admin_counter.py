"""The admin app's counter registration (issue 16): staff at a kelurahan or Polsek desk register a feature-phone
owner with their name, NIK and number; the number gets the code SMS, the owner reads it out, and the number is a
resident. A NIK that is not valid is said before any code is sent."""

from __future__ import annotations

from playwright.async_api import expect
from sqlalchemy import select

from siaga.accounts.models import Resident
from tests.browser.conftest import Site, screenshot
from tests.browser.test_admin import log_in
from tests.conftest import new_phone

NIK = "3273024506900001"  # Coblong, a woman born 5 June 1990


async def test_staff_register_a_feature_phone_at_the_counter_with_the_code_it_received(site: Site) -> None:
    page, _ = await log_in(site)
    await page.get_by_role("link", name="Warga").click()
    form = page.get_by_test_id("counter-form")
    phone = new_phone()
    e164 = "+62" + phone[1:]
    await form.get_by_label("Nama", exact=True).fill("Ujang Loket")
    await form.get_by_label("NIK", exact=True).fill("3273020513900001")  # birth month 13
    await form.get_by_label("Telepon", exact=True).fill(phone)
    await form.get_by_role("button", name="Kirim kode SMS").click()
    await expect(form.get_by_role("alert")).to_contain_text("Tanggal lahir pada NIK tidak valid")

    await form.get_by_label("NIK", exact=True).fill(NIK)
    await form.get_by_role("button", name="Kirim kode SMS").click()
    await expect(form.get_by_role("status")).to_contain_text(f"Kode dikirim ke {e164}")
    await form.get_by_label("Kode dari SMS").fill(site.api.last_code(e164))
    await screenshot(page, "admin-counter-registration")
    await form.get_by_role("button", name="Daftarkan").click()

    await expect(form.get_by_role("status")).to_contain_text(f"Ujang Loket ({e164}) terdaftar")
    async with site.api.runtime.read_sessions() as session:
        resident = await session.scalar(select(Resident).where(Resident.phone == e164))
    assert resident is not None
    assert (resident.name, resident.nik, resident.nik_kecamatan) == ("Ujang Loket", NIK, "327302")
