"""The resident's profile says which emergency contacts agreed to be ones (issue 14, item 11): a contact who has not
answered the SMS asking them, one who agreed through its link, and one who declined each show as such."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import Site
from tests.browser.test_resident import open_app, signed_in_phone
from tests.integration.test_dispatch import consent_code, with_contacts

PHONES = ["081299990031", "081299990032", "081299990033"]


async def test_the_profile_shows_each_contacts_answer(site: Site) -> None:
    resident = await site.api.resident(name="Rina Warga")
    waiting, agreed, declined = await with_contacts(site.api, resident, PHONES, agree=False)
    for phone, answer in ((agreed, "setuju"), (declined, "tolak")):
        code = await consent_code(site.api, phone, asked_by=resident.name)
        assert (await site.api.http.post(f"/k/{code}/{answer}")).status_code == 200

    context = await signed_in_phone(site, resident)
    page = await open_app(context)
    await page.get_by_role("button", name="Profil").click()
    states = page.locator(".contact-consent")
    await expect(states).to_have_count(3)
    await expect(states.nth(0)).to_contain_text("Menunggu persetujuan")
    await expect(states.nth(1)).to_contain_text("Sudah setuju")
    await expect(states.nth(2)).to_contain_text("Menolak")
    # A number being changed is a new contact: its old answer is no longer shown.
    await page.locator("#contact-phone-1").fill("081299990039")
    await expect(states).to_have_count(2)
    await context.close()
    assert waiting.startswith("+62")
