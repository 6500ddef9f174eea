"""A supervisor finds refused requests on the audit page: a filter for them, a marker that stands out, and a
summary that says how many more one caller had refused in a minute."""

from __future__ import annotations

from playwright.async_api import expect

from siaga.accounts.domain import Role
from siaga.audit.service import DENIED_RECORDS_PER_MINUTE
from tests.browser.conftest import Site, screenshot
from tests.conftest import PASSWORD, eventually


async def test_a_supervisor_finds_refused_requests_on_the_audit_page(site: Site) -> None:
    supervisor = await site.api.staff(Role.SUPERVISOR, "BDG-CC", name="Supervisor Uji")
    owner = await site.api.resident(name="Siti Pemilik")
    intruder = await site.api.resident(name="Budi Penyusup")
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", name="Petugas Penasaran")
    alert = await site.api.press(owner)
    assert (await site.api.get(intruder, f"/alerts/{alert['id']}")).status_code == 404
    extra = 5
    for _ in range(DENIED_RECORDS_PER_MINUTE + extra):
        assert (await site.api.get(officer, "/audit")).status_code == 403
    assert (await site.api.get(supervisor, "/audit")).status_code == 200  # a success, left out by the filter

    async def recorded() -> bool:  # refusals are recorded once their answer is sent
        records = (await site.api.get(supervisor, "/audit", outcome="denied")).json()
        counted = sum(r["detail"].get("requests", 1) for r in records)
        return counted == 1 + DENIED_RECORDS_PER_MINUTE + extra

    await eventually(recorded, what="the refusals' records")

    page = await (await site.context()).new_page()
    await page.goto("/admin")
    await page.fill("#admin-username", supervisor.extra["username"])
    await page.fill("#admin-password", PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await page.get_by_role("link", name="Log audit").click()
    await page.get_by_role("button", name="Hanya yang ditolak").click()

    audit = page.get_by_test_id("audit")
    rows = audit.locator("tbody tr")
    await expect(rows).to_have_count(1 + DENIED_RECORDS_PER_MINUTE + 1)  # the resident's; the officer's and summary
    await expect(audit.get_by_test_id("denied")).to_have_count(1 + DENIED_RECORDS_PER_MINUTE + 1)
    await expect(page.get_by_label("Hasil")).to_have_value("denied")
    intruders = rows.filter(has_text=intruder.id)
    await expect(intruders).to_contain_text(f"/api/v1/alerts/{alert['id']}")
    await expect(intruders).to_contain_text("Ditolak")
    await expect(audit.get_by_test_id("denied-more")).to_have_text(f"+{extra} permintaan lain ditolak pada menit itu")
    await expect(audit).not_to_contain_text("Siti")  # who was refused, never whose data
    await screenshot(page, "admin-audit-denied")

    await page.get_by_label("Bahasa").select_option("en")
    await expect(page.get_by_test_id("denied-more")).to_have_text(f"+{extra} more refused requests that minute")
    await page.context.close()
