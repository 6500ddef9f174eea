"""What a walk through the living demo city found in the resident, officer and admin apps (issue 12, "tried as a new
user would"), each kept fixed by a test."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Route, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_admin import log_in as admin_logs_in
from tests.browser.test_officer import log_in
from tests.browser.test_resident import signed_in_phone
from tests.conftest import PASSWORD


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


async def test_a_notice_that_an_alert_left_the_officer_goes_when_it_comes_back_to_them(site: Site) -> None:
    # In the demo an officer's offer ran out ("waktu tawaran habis"), then the operator dispatched the same unit to
    # the same alert: the phone showed the assignment under a notice that it had gone.
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-JALAN-1")
    other = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-JALAN-2")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    await site.api.on_duty(other)
    context = await site.phone()
    page = await context.new_page()
    await log_in(page, officer)
    await page.get_by_role("button", name="Mulai tugas").click()
    await expect(page.get_by_test_id("sharing")).to_contain_text("Lokasi dibagikan")
    alert = await site.api.press(await site.api.resident(), category="kecelakaan")  # the police's to handle

    async def dispatch(unit_id: int | None) -> None:
        sent = await site.api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit_id})
        assert sent.status_code == 200, sent.text

    await dispatch(officer.unit_id)
    card = page.locator(f'[data-testid="assignment"][data-alert-id="{alert["id"]}"]')
    await expect(card).to_be_visible()
    await dispatch(other.unit_id)
    notice = page.get_by_text("dialihkan ke unit lain")
    await expect(notice).to_be_visible()
    await expect(card).to_have_count(0)

    await dispatch(officer.unit_id)
    await expect(card).to_be_visible()
    await expect(notice).to_have_count(0)
    await context.close()


async def test_going_on_duty_before_the_start_read_has_answered_stays_on_duty(site: Site) -> None:
    # On a loaded run the officer tapped "Mulai tugas" while the app's first read of its duty was still on its way:
    # the server put the unit on duty, then the late answer ("off duty", read before the tap) turned the screen back
    # to "Tidak bertugas", and the phone stopped sharing its position while dispatch counted the unit as available.
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-JALAN-3")
    context = await site.phone()
    page = await context.new_page()
    put_answered = asyncio.Event()

    async def late_first_read(route: Route) -> None:
        if route.request.method == "GET":
            answer = await route.fetch()  # read now, as the app asked: off duty
            await put_answered.wait()  # and delivered only after the tap's answer
            await route.fulfill(response=answer)
            return
        answer = await route.fetch()
        await route.fulfill(response=answer)
        put_answered.set()

    await page.route("**/api/v1/officers/me/duty*", late_first_read)
    await log_in(page, officer)
    await page.get_by_role("button", name="Mulai tugas").click()
    await expect(page.get_by_test_id("sharing")).to_contain_text("Lokasi dibagikan")
    await page.unroute("**/api/v1/officers/me/duty*")
    reread = await site.api.get(officer, "/officers/me/duty")
    assert reread.json()["on_duty"] is True
    await page.reload()  # the server's word, read again, agrees with the screen
    await expect(page.get_by_test_id("sharing")).to_contain_text("Lokasi dibagikan")
    await context.close()


async def test_timers_in_the_wrong_order_are_refused_saying_which_and_why(site: Site) -> None:
    # It said "Isian tidak valid: body. • body: tidak valid" for a T2 shorter than T1.
    page, _ = await admin_logs_in(site)
    await page.get_by_role("link", name="Instansi").click()
    row = page.get_by_test_id("agencies").locator("tr", has_text="POLSEK-COBLONG")
    await row.get_by_role("button", name="Pengaturan tawaran").click()
    form = page.get_by_test_id("dispatch-settings")
    await form.get_by_label("T1: eskalasi bila operator belum menerima dalam (detik)").fill("120")
    await form.get_by_label("T2: eskalasi bila belum ada unit ditugaskan dalam (detik)").fill("60")
    await form.get_by_role("button", name="Simpan").click()
    refusal = form.get_by_test_id("error")
    await expect(refusal).to_contain_text("Isian tidak valid: T2 (detik).")
    await expect(refusal.get_by_role("listitem")).to_have_text(["T2 (detik): harus lebih lama dari T1"])


async def test_the_profile_says_when_emergency_contacts_are_texted(site: Site) -> None:
    # It said they get an SMS "when you press SOS"; a press cancelled within the countdown sends nothing, and a later
    # cancel sends an all-clear (notify/contacts.py).
    resident = await site.api.resident(profile=False, pins=False)
    context = await signed_in_phone(site, resident)
    page = await context.new_page()
    await page.goto("/app")
    await expect(page.get_by_text("tidak segera membatalkannya, mereka menerima SMS berisi lokasi")).to_be_visible()
    await expect(page.get_by_text("bila Anda membatalkannya kemudian, mereka diberi tahu")).to_be_visible()
    await context.close()


async def test_a_kecamatan_file_that_is_not_json_is_refused_in_the_admins_language(site: Site, tmp_path: Path) -> None:
    # It said "Berkas ini bukan JSON: Unexpected token 'o', "not json" is not valid JSON" (the browser's English).
    page, _ = await admin_logs_in(site)
    await page.get_by_role("link", name="Wilayah").click()
    upload = page.locator(".card").filter(has_text="Unggah GeoJSON")
    refusal = upload.get_by_role("alert")
    broken = tmp_path / "kecamatan.geojson"
    broken.write_text('{\n  "type": "FeatureCollection",\n}\n', encoding="utf-8")
    await page.locator("input[type=file]").set_input_files(str(broken))
    await upload.get_by_role("button", name="Unggah").click()
    await expect(refusal).to_have_text("Berkas ini bukan JSON yang valid: ada kesalahan di baris 3, kolom 1.")
    broken.write_text("not json", encoding="utf-8")
    await page.locator("input[type=file]").set_input_files(str(broken))
    await upload.get_by_role("button", name="Unggah").click()
    await expect(refusal).to_have_text("Berkas ini bukan JSON yang valid.")


async def test_the_staff_editor_says_truly_who_will_be_asked_for_two_step_login(site: Site) -> None:
    # In the demo (second factor optional) it said administrators and supervisors "set it up at their next login".
    supervisor = await site.api.staff(Role.SUPERVISOR, name="Supervisor Tanpa Kode")
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", name="Petugas Tanpa Kode")
    page, _ = await admin_logs_in(site)
    await page.get_by_role("link", name="Staf & unit").click()
    editor = page.get_by_test_id("staff-editor")

    async def factor_line(name: str) -> str:
        await page.get_by_label("Cari staf").fill(name)
        await page.get_by_role("button", name="Cari", exact=True).click()
        staff = page.get_by_test_id("staff")
        await expect(staff.locator("tbody tr")).to_have_count(1)
        await expect(staff.locator("tbody tr")).to_contain_text(name)
        await staff.get_by_role("button", name="Ubah").click()
        await expect(editor.get_by_role("heading")).to_contain_text(name_of[name])
        return await editor.get_by_test_id("second-factor").inner_text()

    name_of = {"Supervisor Tanpa Kode": supervisor.extra["username"], "Petugas Tanpa Kode": officer.extra["username"]}
    required = site.api.runtime.settings.requires_second_factor
    said = await factor_line("Supervisor Tanpa Kode")
    assert ("wajib mengaturnya saat login berikutnya" in said) is required, said
    assert "aplikasi petugas" in await factor_line("Petugas Tanpa Kode")


async def test_the_sos_button_shows_while_a_slow_network_still_loads_the_profile(site: Site) -> None:
    # A phone with a session but no copy of the profile (just verified, or its storage cleared) showed "Memuat…"
    # for as long as /residents/me took: on a stalled connection, for ever, with no SOS button.
    resident = await site.api.resident(profile=False, pins=False)
    context = await signed_in_phone(site, resident)
    stalled: list[Route] = []

    async def stall(route: Route) -> None:
        stalled.append(route)  # never answered while the test looks

    await context.route("**/api/v1/residents/me", stall)
    page = await context.new_page()
    await page.goto("/app")
    await expect(page.get_by_text("Memuat…")).to_be_visible()
    await expect(page.locator(".sos-button")).to_be_visible()
    assert stalled, "the profile was asked for"
    await context.close()


async def test_a_login_on_a_stalled_network_gives_up_and_can_be_tried_again(site: Site) -> None:
    # An officer on a bad network saw "Memuat…" on the login button for as long as the request hung: for ever.
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-JALAN-3")
    context = await site.phone()
    stalled: list[Route] = []

    async def stall(route: Route) -> None:
        stalled.append(route)

    await context.route("**/api/v1/auth/login", stall)
    page = await context.new_page()
    await page.goto("/officer")
    await page.fill("#officer-username", officer.extra["username"])
    await page.fill("#officer-password", PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("alert")).to_contain_text("Tidak ada koneksi ke server")
    assert stalled

    await context.unroute("**/api/v1/auth/login")
    await page.fill("#officer-password", PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("heading", name="Tugas", exact=True)).to_be_visible()
    await context.close()
