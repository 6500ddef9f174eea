"""The admin's Panic buttons tab: register a site and a button (its broker password shown once), see the broker's
generated files name it, and disable it (it leaves the files); and the console's device troubles: a silent button
shows under the unit board, apart from the alerts."""

from __future__ import annotations

from playwright.async_api import expect

from siaga.accounts.domain import Role
from siaga.agencies import service as agencies
from siaga.audit.actor import ActorContext
from siaga.devices import domain
from siaga.devices import service as devices
from tests.browser.conftest import Site, screenshot
from tests.browser.test_admin import log_in
from tests.browser.test_console import open_console
from tests.conftest import eventually


async def test_an_admin_registers_a_site_and_a_button_and_reads_the_broker_files(site: Site) -> None:
    page, _ = await log_in(site)
    await page.get_by_role("link", name="Tombol panik").click()
    await page.get_by_label("Nama lokasi").fill("Bank Uji Dago")
    await page.get_by_label("Alamat").fill("Jl. Ir. H. Juanda 12")
    await page.get_by_label("Lintang").fill("-6.8915")
    await page.get_by_label("Bujur").fill("107.6107")
    await page.get_by_label("Catatan lantai").fill("Lantai 2, pintu samping")
    await page.get_by_label("Instansi (gangguan masuk ke konsolnya)").select_option(
        label="POLSEK-COBLONG · Polsek Coblong"
    )
    await page.get_by_label("Orang yang dihubungi").fill("Pak Budi")
    await page.get_by_label("Nomor HP-nya").fill("081234500001")
    await page.get_by_role("button", name="Daftarkan lokasi").click()

    await page.get_by_label("Nama", exact=True).fill("bank-dago-1")
    await page.get_by_label("Letak tombol").fill("teller 2")
    await page.get_by_role("button", name="Daftarkan tombol").click()
    await expect(page.get_by_test_id("device-password")).to_contain_text("bank-dago-1")
    table = page.get_by_test_id("devices")
    await expect(table).to_contain_text("siaga/devices/bank-dago-1/event")
    await expect(table).to_contain_text("Bank Uji Dago")

    # The same name again: refused in the admin's language.
    await page.get_by_label("Nama", exact=True).fill("bank-dago-1")
    await page.get_by_role("button", name="Daftarkan tombol").click()
    await expect(page.get_by_test_id("error")).to_contain_text("Perangkat dengan nama ini sudah terdaftar")

    await page.get_by_role("button", name="Buat").click()
    await expect(page.get_by_test_id("acl-file")).to_contain_text("topic write siaga/devices/bank-dago-1/event")
    await expect(page.get_by_test_id("password-file")).to_contain_text("bank-dago-1:$7$101$")
    await screenshot(page, "admin-devices")

    row = table.locator("tr", has_text="bank-dago-1")
    await row.get_by_role("button", name="Nonaktifkan").click()
    # Disabled once the list reloads: the button turns to "Aktifkan" ("Nonaktifkan" itself contains "Nonaktif").
    await expect(row.get_by_role("button", name="Aktifkan", exact=True)).to_be_visible()
    await expect(row.get_by_role("cell", name="Nonaktif", exact=True)).to_be_visible()
    await page.get_by_role("button", name="Buat").click()
    await expect(page.get_by_test_id("password-file")).not_to_contain_text("bank-dago-1")


async def test_a_silent_button_is_a_trouble_on_its_agencys_console(site: Site) -> None:
    runtime = site.api.runtime
    async with runtime.unit_of_work() as session:
        agency = await agencies.agency_by_code(session, "POLSEK-COBLONG")
        shop = await devices.create_site(
            session,
            ActorContext.command_line("uji"),
            name="Toko Emas Uji",
            address="Jl. Dago 1",
            lat=-6.8915,
            lon=107.6107,
            floor_notes="",
            agency_id=agency.id,
            contacts=[],
        )
        await devices.add_device(
            session,
            ActorContext.command_line("uji"),
            site_id=shop.id,
            name="toko-emas-1",
            protocol=domain.Protocol.SIAGA,
            label="kasir",
            heartbeat_interval_s=1,
        )

    async def swept() -> int:
        return await runtime.sweep_devices()

    await eventually(swept, what="the silent button's trouble")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    console = await open_console(site, operator)
    troubles = console.page.get_by_test_id("device-troubles")
    await expect(troubles).to_contain_text("Tombol tidak terhubung")
    await expect(troubles).to_contain_text("Toko Emas Uji")
    await troubles.get_by_role("button").first.click()
    await expect(troubles).to_contain_text("muncul")
    await screenshot(console.page, "console-device-troubles")
    await console.close()  # and no script error on the way
