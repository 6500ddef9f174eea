"""The admin's Partners tab: an administrator adds a partner centre and sees its two secrets once (with a copy button
and a warning; the incoming one really verifies what the partner signs), then edits its label, address, agencies and
whether the caller goes with a handover, sees how the newest handover to it went, and disables it, after which an
operator's handover to it is refused. A name taken is refused in Indonesian."""

from __future__ import annotations

from playwright.async_api import expect
from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.audit.models import AuditRecord
from tests.browser.conftest import Site, screenshot
from tests.browser.test_admin import log_in
from tests.e2e.test_handover_bad_input import incident, signed
from tests.servers import free_port


async def test_an_admin_adds_a_partner_sees_its_secrets_once_then_edits_and_disables_it(site: Site) -> None:
    page, admin = await log_in(site)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.get_by_role("link", name="Mitra").click()
    await expect(page.get_by_text("Belum ada mitra.")).to_be_visible()

    nobody_there = f"https://127.0.0.1:{free_port()}/api/v1/partners/eido"
    await page.get_by_label("Nama singkat").fill("kota-112")
    await page.get_by_label("Label", exact=True).fill("Bandung Siaga 112")
    await page.get_by_label("URL EIDO").fill(nobody_there)
    await page.get_by_role("button", name="Tambah mitra").click()

    shown = page.get_by_test_id("partner-secrets")
    await expect(shown).to_contain_text("Hanya ditampilkan kali ini")
    outgoing = await page.get_by_test_id("outgoing_secret").inner_text()
    incoming = await page.get_by_test_id("incoming_secret").inner_text()
    assert outgoing.startswith("whsec_")
    assert incoming.startswith("whsec_")
    assert outgoing != incoming
    await page.get_by_role("button", name="Salin Rahasia keluar (outgoing)").click()
    await expect(shown.get_by_text("Tersalin.")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == outgoing
    await screenshot(page, "admin-partner-secrets")

    # The incoming secret shown is the one Siaga checks the partner's messages with.
    body = incident()
    taken = await site.api.http.post("/api/v1/partners/eido", content=body, headers=signed(incoming, body))
    assert taken.status_code == 201, taken.text

    table = page.get_by_test_id("partners")
    row = table.locator('tr[data-partner="kota-112"]')
    await expect(row).to_contain_text("Bandung Siaga 112")
    await expect(row).to_contain_text("Semua instansi")
    await expect(row).to_contain_text("Nama dan nomor dikirim")
    await expect(row).to_contain_text("Belum pernah")
    await page.get_by_role("button", name="Sudah saya simpan").click()
    await expect(shown).to_have_count(0)
    await page.reload()
    await expect(row).to_contain_text("Bandung Siaga 112")
    content = await page.content()
    assert outgoing not in content
    assert incoming not in content

    # Edited: another label and address, Polsek Coblong's alerts only, without the caller.
    await row.get_by_role("button", name="Ubah").click()
    editor = page.get_by_test_id("partner-editor")
    await editor.get_by_label("Label").fill("Siaga 112 Kota Bandung")
    await editor.get_by_label("URL EIDO").fill(nobody_there.replace("/api/v1/partners/eido", "/eido"))
    await editor.get_by_label("Instansi").select_option(["POLSEK-COBLONG"])
    await editor.get_by_label("Kirim nama dan nomor telepon penelepon bersama serahan").uncheck()
    await editor.get_by_role("button", name="Simpan").click()
    await expect(editor.get_by_text("Tersimpan.")).to_be_visible()
    await expect(row).to_contain_text("Siaga 112 Kota Bandung")
    await expect(row).to_contain_text("POLSEK-COBLONG")
    await expect(row).to_contain_text("Tidak dikirim")
    [stored] = (await site.api.get(admin, "/partners")).json()
    assert (stored["label"], stored["url"], stored["agencies"], stored["share_caller"]) == (
        "Siaga 112 Kota Bandung",
        nobody_there.replace("/api/v1/partners/eido", "/eido"),
        ["POLSEK-COBLONG"],
        False,
    )

    # An alert handed over to it (nobody answers there): the list says it is waiting.
    operator = await site.api.staff(Role.OPERATOR)
    alert = await site.api.press(await site.api.resident())
    handed = await site.api.post(operator, f"/alerts/{alert['id']}/handover", {"partner": "kota-112"})
    assert handed.status_code == 201, handed.text
    await page.reload()
    await expect(row).to_contain_text("Menunggu konfirmasi")

    # Disabled: no longer offered on the console, and a handover to it is refused.
    await row.get_by_role("button", name="Nonaktifkan").click()
    await expect(row.get_by_role("button", name="Aktifkan", exact=True)).to_be_visible()
    await expect(row.locator("td").nth(5)).to_have_text("Nonaktif")
    offered = await site.api.get(operator, f"/alerts/{alert['id']}/handover/choices")
    assert offered.json() == []
    other = await site.api.press(await site.api.resident())
    refused = await site.api.post(operator, f"/alerts/{other['id']}/handover", {"partner": "kota-112"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "partners.disabled")

    # The same short name again: the server's reason, in the admin's language.
    await page.get_by_label("Nama singkat").fill("kota-112")
    await page.get_by_label("URL EIDO").first.fill("https://112.example/eido")
    await page.get_by_role("button", name="Tambah mitra").click()
    await expect(page.get_by_test_id("error")).to_contain_text("Sudah ada mitra dengan nama ini.")
    await screenshot(page, "admin-partners")

    async with site.api.runtime.read_sessions() as session:
        actions = (
            await session.scalars(
                select(AuditRecord.action).where(AuditRecord.target_type == "partner").order_by(AuditRecord.id)
            )
        ).all()
    assert actions == ["partner.create", "partner.update", "partner.update"]
