"""What a walk through the living demo city found in the resident, officer and admin apps (issue 12, "tried as a new
user would"), each kept fixed by a test."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import Site
from tests.browser.test_resident import signed_in_phone


async def test_a_refused_contact_names_the_field_in_the_residents_language(site: Site) -> None:
    # It said "Isian tidak valid: emergency_contacts.0.phone." inside the Indonesian app.
    resident = await site.api.resident(profile=False, pins=False)
    context = await signed_in_phone(site, resident)
    page = await context.new_page()
    await page.goto("/app")
    await page.get_by_label("Nama lengkap").fill("Rudi Hartono")
    await page.get_by_role("button", name="+ Tambah kontak darurat").click()
    await page.locator("#contact-name-0").fill("Sari")
    await page.locator("#contact-phone-0").fill("12")
    await page.locator("#contact-relation-0").fill("istri")
    await page.get_by_role("button", name="Lanjut").click()
    refusal = page.get_by_role("alert")
    await expect(refusal).to_have_text("Isian tidak valid: Kontak darurat 1 › Nomor telepon.")

    await page.get_by_role("button", name="Ganti bahasa").click()
    await page.get_by_role("button", name="Continue").click()
    await expect(refusal).to_have_text("Invalid input: Emergency contact 1 › Phone number.")
    await context.close()
