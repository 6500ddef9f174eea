"""A resident deletes their account from the app's profile screen: asked twice, refused while an alert is active,
then signed out with their personal data gone."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from siaga.accounts.models import Resident
from tests.browser.conftest import Site, eventually, screenshot
from tests.browser.test_resident import open_app, signed_in_phone


async def test_a_resident_deletes_their_account_after_confirming_and_not_while_an_alert_is_active(site: Site) -> None:
    resident = await site.api.resident(name="Rina Wulandari")
    context = await signed_in_phone(site, resident)
    page = await open_app(context)
    await page.get_by_role("button", name="Profil").click()

    await page.get_by_role("button", name="Hapus akun saya…").click()
    await expect(page.get_by_text("Hapus akun dan data pribadi Anda untuk selamanya?")).to_be_visible()
    await page.get_by_role("button", name="Tidak, simpan akun").click()
    await expect(page.get_by_role("button", name="Ya, hapus akun saya")).to_have_count(0)

    # Asked again and confirmed while an SOS of theirs is active (pressed meanwhile, from another phone of theirs):
    # refused, in the resident's language.
    await page.get_by_role("button", name="Hapus akun saya…").click()
    alert = await site.api.press(resident)
    await page.get_by_role("button", name="Ya, hapus akun saya").click()
    await expect(page.get_by_text("Akun tidak dapat dihapus selama peringatan Anda masih aktif.")).to_be_visible()
    await screenshot(page, "resident-delete-account-refused")

    cancelled = await site.api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "1234"})
    assert cancelled.status_code == 200, cancelled.text
    await page.get_by_role("button", name="Ya, hapus akun saya").click()

    # Signed out on this phone, and gone on the server.
    await expect(page.get_by_text("Daftar dengan nomor HP")).to_be_visible()

    async def deleted() -> bool:
        async with site.api.runtime.read_sessions() as session:
            row = await session.get(Resident, uuid.UUID(resident.id))
            return row is not None and row.deleted_at is not None and row.name is None

    await eventually(deleted, what="the account deleted")
    assert (await site.api.http.get("/api/v1/residents/me", headers=resident.headers)).status_code == 401
    await context.close()
