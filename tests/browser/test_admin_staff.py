"""The admin app looks after staff accounts: finds one among two hundred, pages through them, edits one, sets a new
password and deactivates it (their token is refused at once) and reactivates it."""

from __future__ import annotations

from playwright.async_api import Dialog, expect

from siaga.accounts import service as accounts
from siaga.accounts.domain import Role
from siaga.accounts.models import Staff
from siaga.agencies import service as agencies
from tests.browser.conftest import Site
from tests.browser.test_admin import log_in
from tests.conftest import PASSWORD


async def test_an_admin_finds_edits_resets_and_deactivates_a_staff_member_among_hundreds(site: Site) -> None:
    async with site.api.runtime.unit_of_work() as session:
        coblong = (await agencies.agency_by_code(session, "POLSEK-COBLONG")).id
        for index in range(120):
            await accounts.create_staff(
                session,
                username=f"piket.{index:03d}",
                name=f"Petugas Piket {index:03d}",
                role=Role.OPERATOR,
                agency_id=coblong,
                password=PASSWORD,
            )
    target = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG", name="Operator Sasaran")
    page, _ = await log_in(site)
    await page.get_by_role("link", name="Staf & unit").click()
    staff = page.get_by_test_id("staff")

    # Page by page through everyone called "piket".
    await page.get_by_label("Cari staf").fill("piket")
    await page.get_by_role("button", name="Cari", exact=True).click()
    pages = page.get_by_test_id("staff-range")
    await expect(pages).to_have_text("Menampilkan 1–50")
    await expect(staff).to_contain_text("piket.049")
    await page.get_by_role("button", name="Berikutnya").click()
    await expect(pages).to_have_text("Menampilkan 51–100")
    await page.get_by_role("button", name="Berikutnya").click()
    await expect(pages).to_have_text("Menampilkan 101–120")
    await expect(staff).to_contain_text("piket.119")
    await expect(page.get_by_role("button", name="Berikutnya")).to_be_disabled()

    # One account, found by its name, edited.
    await page.get_by_label("Cari staf").fill("Sasaran")
    await page.get_by_role("button", name="Cari", exact=True).click()
    await expect(staff.locator("tbody tr")).to_have_count(1)
    await staff.get_by_role("button", name="Ubah").click()
    editor = page.get_by_test_id("staff-editor")
    await expect(editor).to_be_in_viewport()
    await editor.get_by_label("Nama", exact=True).fill("Operator Sasaran Baru")
    await editor.get_by_label("Telepon").fill("0812-3333-4444")
    await editor.get_by_label("Bahasa SMS").select_option("en")  # Siaga's SMS to them (an officer's offers)
    await editor.get_by_role("button", name="Simpan perubahan").click()
    await expect(editor.get_by_role("status")).to_have_text("Perubahan disimpan.")
    await expect(staff).to_contain_text("Operator Sasaran Baru")
    changed = (await site.api.get(target, "/auth/me")).json()
    assert changed["name"] == "Operator Sasaran Baru"  # a new name keeps them signed in
    async with site.api.runtime.read_sessions() as session:
        record = await session.get(Staff, int(target.id))
        assert record is not None
        assert (record.phone, record.language) == ("+6281233334444", "en")

    # A new password: the old one no longer lets them in.
    await editor.get_by_label("Kata sandi baru").fill("kata-sandi-baru-sekali")
    await editor.get_by_role("button", name="Setel kata sandi").click()
    await expect(editor.get_by_role("status")).to_contain_text("Kata sandi baru disetel")
    login = {"username": target.extra["username"], "password": "kata-sandi-baru-sekali"}
    assert (await site.api.http.post("/api/v1/auth/login", json=login)).status_code == 200

    # Deactivated: confirmed first, then out at once.
    fresh = await site.api.http.post("/api/v1/auth/login", json=login)
    token = {"Authorization": f"Bearer {fresh.json()['access_token']}"}

    async def confirm(dialog: Dialog) -> None:
        assert "Nonaktifkan" in dialog.message
        await dialog.accept()

    page.once("dialog", confirm)
    await editor.get_by_role("button", name="Nonaktifkan akun").click()
    await expect(editor.get_by_role("status")).to_contain_text("dinonaktifkan")
    await expect(staff.locator("tbody tr").first).to_contain_text("Tidak")
    assert (await site.api.http.get("/api/v1/auth/me", headers=token)).status_code == 401
    assert (await site.api.http.post("/api/v1/auth/login", json=login)).status_code == 401

    await editor.get_by_role("button", name="Aktifkan kembali").click()
    await expect(editor.get_by_role("status")).to_contain_text("aktif kembali")
    assert (await site.api.http.post("/api/v1/auth/login", json=login)).status_code == 200
    await page.context.close()
