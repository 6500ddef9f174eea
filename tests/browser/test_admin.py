"""The admin app: jurisdictions from a GeoJSON upload, the kecamatan -> agency table, agencies, staff and units,
moderation of residents, the audit log, and the language switch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, screenshot
from tests.conftest import LAMPUNG_GEOJSON as LAMPUNG
from tests.conftest import PASSWORD, Person


async def log_in(site: Site) -> tuple[Page, Person]:
    admin = await site.api.staff(Role.ADMIN, "BDG-CC", name="Admin Uji")
    context = await site.context()
    page = await context.new_page()
    await page.goto("/admin")
    await page.fill("#admin-username", admin.extra["username"])
    await page.fill("#admin-password", PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("navigation")).to_be_visible()
    return page, admin


async def jurisdiction(site: Site, admin: Person, code: str) -> dict[str, Any] | None:
    answer = await site.api.get(admin, "/jurisdictions")
    assert answer.status_code == 200, answer.text
    return next((j for j in answer.json() if j["code"] == code), None)


async def test_an_admin_uploads_kecamatan_assigns_an_agency_moderates_and_reads_the_audit_log(
    site: Site, tmp_path: Path
) -> None:
    page, admin = await log_in(site)

    # A new Polsek for the new city, created through the agencies tab.
    await page.get_by_role("link", name="Instansi").click()
    await page.get_by_label("Kode", exact=True).fill("POLSEK-KEDATON")
    await page.get_by_label("Nama", exact=True).fill("Polsek Kedaton")
    await page.get_by_label("Jenis", exact=True).select_option("polsek")
    await page.get_by_label("Induk").select_option("BDG-CC")
    await page.get_by_role("button", name="Buat instansi").click()
    await expect(page.get_by_test_id("agencies")).to_contain_text("Polsek Kedaton")

    # A file the server refuses: its own explanation is shown, and nothing is stored.
    await page.get_by_role("link", name="Wilayah").click()
    broken = tmp_path / "broken.geojson"
    feature = {"type": "Feature", "properties": {"nama": "Tanpa Kode"}, "geometry": None}
    broken.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    await page.set_input_files("#geojson-file", str(broken))
    await page.get_by_role("button", name="Unggah").click()
    await expect(page.get_by_test_id("error")).to_contain_text(
        "features[0]: properti 'kode' tidak ada (yang ada: nama)."
    )
    assert await jurisdiction(site, admin, "18.71.01") is None

    await page.set_input_files("#geojson-file", str(LAMPUNG))
    await page.get_by_role("button", name="Unggah").click()
    await expect(page.get_by_test_id("import-result")).to_contain_text("Diimpor 20 kecamatan: 20 baru")
    table = page.get_by_test_id("jurisdictions")
    await expect(table).to_contain_text("Kedaton")
    await expect(table).to_contain_text("Tanjungkarang Pusat")
    await expect(page.get_by_test_id("jurisdiction-map").locator("canvas, path").first).to_be_attached()
    await page.get_by_label("Cari kecamatan").fill("18.71")
    await expect(page.get_by_text("20 dari 50 kecamatan")).to_be_visible()
    await screenshot(page, "admin")
    kedaton = await jurisdiction(site, admin, "18.71.01")
    assert kedaton is not None
    assert kedaton["name"] == "Kedaton"
    assert kedaton["agencies"] == []

    # Kedaton is served by the new Polsek.
    await page.get_by_label("Cari kecamatan").fill("18.71.01")
    row = table.locator('tr[data-code="18.71.01"]')
    await row.get_by_role("button", name="Ubah").click()
    await row.get_by_label("Tambah instansi").select_option("POLSEK-KEDATON")
    await row.get_by_role("button", name="Tambah", exact=True).click()
    await row.get_by_role("button", name="Simpan").click()
    await expect(row.get_by_test_id("agency-editor")).to_be_hidden()
    await expect(row.locator(".agency.primary")).to_have_text("POLSEK-KEDATON")
    kedaton = await jurisdiction(site, admin, "18.71.01")
    assert kedaton is not None
    assert kedaton["agencies"] == [{"agency_code": "POLSEK-KEDATON", "is_primary": True}]

    # A prankster is suspended, with a reason that the audit log keeps.
    prankster = await site.api.resident(name="Budi Iseng")
    await page.get_by_role("link", name="Warga").click()
    await page.get_by_label("Nama atau nomor telepon").fill("Budi Iseng")
    await page.get_by_role("button", name="Cari").click()
    residents = page.get_by_test_id("residents")
    await expect(residents.locator("tbody tr")).to_have_count(1)
    await residents.get_by_role("button", name="Buka").click()
    detail = page.get_by_test_id("resident-detail")
    await detail.get_by_label("Alasan").fill("Tiga kali menekan SOS untuk iseng")
    await detail.get_by_role("button", name="Tangguhkan").click()
    await expect(detail).to_contain_text("Ditangguhkan")
    await expect(residents).to_contain_text("Ditangguhkan")
    seen = (await site.api.get(admin, f"/residents/{prankster.id}")).json()
    assert seen["suspended"] is True
    assert seen["suspended_reason"] == "Tiga kali menekan SOS untuk iseng"

    await detail.get_by_role("button", name="Lihat di log audit").click()
    audit = page.get_by_test_id("audit")
    await expect(audit).to_contain_text("resident.suspend")
    await expect(audit).to_contain_text("Tiga kali menekan SOS untuk iseng")
    # The filter by action alone finds it as well.
    await page.get_by_role("button", name="Hapus filter").click()
    await expect(page.get_by_label("ID sasaran")).to_have_value("")
    await page.get_by_label("Aksi (awalan)").fill("resident.suspend")
    await page.get_by_role("button", name="Terapkan").click()
    await expect(audit.locator("tbody tr")).to_have_count(1)
    await expect(audit).to_contain_text(prankster.id)

    # The language switch turns the whole app into English.
    await page.get_by_label("Bahasa").select_option("en")
    await expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    await expect(page.get_by_role("link", name="Jurisdictions")).to_be_visible()
    await expect(page.get_by_label("Action (prefix)")).to_have_value("resident.suspend")
    await page.context.close()


async def test_an_admin_creates_a_unit_and_an_officer_and_turns_direct_offers_on(site: Site) -> None:
    page, admin = await log_in(site)
    await page.get_by_role("link", name="Staf & unit").click()

    await page.locator("#unit-agency").select_option(label="POLSEK-COBLONG — Polsek Coblong")
    await page.get_by_label("Kode panggil").fill("COBLONG-9")
    await page.get_by_label("Jenis").select_option("motorbike")
    await page.get_by_role("button", name="Buat unit").click()
    await expect(page.get_by_test_id("units")).to_contain_text("COBLONG-9")

    await page.get_by_label("Nama pengguna").fill("bripda.citra")
    await page.get_by_label("Nama", exact=True).fill("Bripda Citra")
    await page.get_by_label("Peran").select_option("officer")
    await page.locator("#staff-agency").select_option(label="POLSEK-COBLONG — Polsek Coblong")
    await page.get_by_label("Unit", exact=True).select_option(label="COBLONG-9")
    await page.get_by_label("Kata sandi").fill("kata-sandi-panjang-1")
    await page.get_by_role("button", name="Buat akun").click()
    await expect(page.get_by_role("status")).to_contain_text("bripda.citra")
    await expect(page.get_by_test_id("staff")).to_contain_text("COBLONG-9")
    login = await site.api.http.post(
        "/api/v1/auth/login", json={"username": "bripda.citra", "password": "kata-sandi-panjang-1"}
    )
    assert login.status_code == 200, login.text
    assert login.json()["role"] == "officer"

    await page.get_by_role("link", name="Instansi").click()
    row = page.get_by_test_id("agencies").locator("tr", has_text="POLSEK-COBLONG")
    await row.get_by_role("button", name="Pengaturan tawaran").click()
    form = page.get_by_test_id("dispatch-settings")
    await form.get_by_label("Tawarkan SOS langsung ke petugas terdekat").check()
    await form.get_by_label("Jumlah unit per putaran").fill("2")
    await form.get_by_label("Waktu menjawab (detik)").fill("30")
    await form.get_by_label("T1: eskalasi bila operator belum menerima dalam (detik)").fill("45")
    await form.get_by_role("button", name="Simpan").click()
    await expect(form.get_by_role("status")).to_contain_text("Tersimpan")
    records = (
        await site.api.get(admin, "/audit", action="agency.dispatch_settings", target_id="POLSEK-COBLONG")
    ).json()
    assert records[0]["detail"] == {
        "direct_offers": True,
        "offer_size": 2,
        "offer_timeout_seconds": 30,
        "offer_radius_m": 5000.0,
        "ack_timeout_seconds": 45,
        "dispatch_timeout_seconds": None,
    }
    # The timers page shows the agency's own T1 and the server's T2 for it.
    await page.get_by_role("link", name="Pengaturan").click()
    timers = page.get_by_test_id("timers").locator("tr[data-agency='POLSEK-COBLONG']")
    await expect(timers).to_contain_text("45 detik")
    await expect(timers).to_contain_text("(server)")
    await page.context.close()
