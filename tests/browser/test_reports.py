"""The reports page: a supervisor logs in, picks a period, reads how many residents use Siaga and how fast the
response is from charts and a shaded kecamatan map, switches to exercise data and to English, and downloads a CSV.

The scene is built through the API, with the clock moved into October 2026 by the e2e helpers (direct SQL updates
in tests only), so the figures are the same whenever the test runs.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from playwright.async_api import Page, expect

from siaga.accounts.domain import Role
from siaga.accounts.models import ModerationRecord
from siaga.responders.models import DutyPeriod
from tests.browser.conftest import Site, screenshot
from tests.conftest import PASSWORD, Person
from tests.e2e.test_reports import (
    NIK_COBLONG,
    NIK_SUKASARI,
    Response,
    handled,
    registered,
    set_clock,
    sukasari_point,
    wib,
)


async def scene(site: Site) -> Person:
    """Three residents of Coblong and one of Sukasari; four real alerts and a drill; the supervisor who reads."""
    api = site.api
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC", name="Supervisor Rina")
    operator = await api.staff(Role.OPERATOR)
    coblong = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-1")
    sukasari = await api.staff(Role.OFFICER, "POLSEK-SUKASARI", unit_callsign="SUKASARI-1")
    siti = await registered(api, "Siti", NIK_COBLONG[0], wib(1, 9))
    budi = await registered(api, "Budi", NIK_COBLONG[1], wib(6, 9))
    await registered(api, "Dewi", "3273025808880005", wib(13, 9))
    ani = await registered(api, "Ani", NIK_SUKASARI, wib(7, 9))
    drill = await registered(api, "Latihan", NIK_COBLONG[2], wib(7, 9), exercise=True)
    staff = {"operator": operator, "officer": coblong}
    await handled(api, siti, wib(6, 10), Response(30, 60, 420, 1800), "genuine", **staff, category="kebakaran")
    await handled(api, siti, wib(8, 22), Response(45, 90, 600, 2400), "genuine", **staff, category="kesehatan")
    prank = await handled(api, budi, wib(13, 2), Response(120, 150, 900, 3000), "prank", **staff)
    where = await sukasari_point(api, supervisor)
    await handled(api, ani, wib(14, 18), Response(20, 40, 300, 1200), "genuine", operator=operator, officer=sukasari,
                  where=where)  # fmt: skip
    await handled(api, drill, wib(9, 9), Response(5, 10, 60, 300), "test", **staff)
    await set_clock(api, ModerationRecord, ModerationRecord.alert_id == uuid.UUID(prank), created_at=wib(13, 3))
    # A day shift on patrol in Coblong (07:00-19:00) and a night at the Sukasari post (20:00-06:00).
    for officer, mode in ((coblong, "patrol"), (sukasari, "post")):
        assert (await api.http.put("/api/v1/officers/me/duty", json={"mode": mode}, headers=officer.headers)).is_success
        assert (await api.http.delete("/api/v1/officers/me/duty", headers=officer.headers)).is_success
    # Every period of each officer (handling an alert put them on duty too) becomes that one shift.
    on_duty = ((coblong, "patrol", wib(6, 7), wib(6, 19)), (sukasari, "post", wib(13, 20), wib(14, 6)))
    for officer, mode, start, end in on_duty:
        where = DutyPeriod.staff_id == int(officer.id)
        await set_clock(api, DutyPeriod, where, mode=mode, started_at=start, ended_at=end)
    return supervisor


async def open_reports(site: Site, supervisor: Person, *, width: int = 1280, height: int = 800) -> Page:
    context = await site.context(width=width, height=height)
    page = await context.new_page()
    await page.goto("/reports")
    await page.fill("#reports-username", supervisor.extra["username"])
    await page.fill("#reports-password", PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_test_id("period")).to_be_visible()  # the last eight weeks, by default
    await page.get_by_label("Dari tanggal").fill("2026-10-05")
    await page.get_by_label("Sampai tanggal").fill("2026-10-18")
    await page.get_by_role("button", name="Tampilkan").click()
    await expect(page.get_by_test_id("period")).to_contain_text("5 Okt")
    return page


async def test_a_supervisor_reads_adoption_and_response_times_and_downloads_a_csv(site: Site) -> None:
    supervisor = await scene(site)
    page = await open_reports(site, supervisor)

    # How many residents use it, and how fast do we respond.
    await expect(page.get_by_test_id("headline-registered")).to_contain_text("4")
    await expect(page.get_by_test_id("headline-active")).to_contain_text("4")
    await expect(page.get_by_test_id("headline-alerts")).to_contain_text("4")
    await expect(page.get_by_test_id("headline-acknowledge")).to_contain_text("0:37")  # 20, 30, 45, 120 s
    await expect(page.get_by_test_id("headline-arrive")).to_contain_text("8:30")  # median of 300, 420, 600, 900 s
    await expect(page.get_by_test_id("headline-prank")).to_contain_text("25%")

    # Charts drawn from the data: four alert bars, the weekly response-time lines, officers' table per agency.
    await expect(page.get_by_test_id("chart-alerts").locator("rect.bar")).to_have_count(4)
    await expect(page.get_by_test_id("chart-response").locator("g.line polyline")).to_have_count(4)
    await expect(page.get_by_test_id("chart-residents").locator("g.line")).to_have_count(3)
    table = page.get_by_test_id("response-table")
    await expect(table.locator('tr[data-agency="POLSEK-COBLONG"]')).to_contain_text("Polsek Coblong")
    await expect(page.get_by_test_id("outcome-shares")).to_contain_text("Iseng: 25%")
    await expect(page.get_by_test_id("moderation-now")).to_contain_text("1 warga pernah mendapat peringatan")
    await expect(page.get_by_test_id("chart-moderation").locator("rect.bar")).to_have_count(1)
    # Officers on duty by hour: twelve hours on patrol and ten at a post, none overlapping.
    await expect(page.get_by_test_id("chart-duty").locator('rect.bar[data-series="patrol"]')).to_have_count(12)
    await expect(page.get_by_test_id("chart-duty").locator('rect.bar[data-series="post"]')).to_have_count(10)

    # The map shades Coblong (three residents) darkest, Sukasari lighter; the legend says what the shades mean.
    kecamatan_map = page.get_by_test_id("kecamatan-map")
    await expect(kecamatan_map.locator('path[data-code="32.73.02"]')).to_have_attribute("data-shade", "4")
    await expect(kecamatan_map.locator('path[data-code="32.73.01"]')).to_have_attribute("data-shade", "1")
    await expect(kecamatan_map.locator('path[data-code="32.73.03"]')).to_have_attribute("data-shade", "0")
    await expect(page.get_by_test_id("map-legend")).to_contain_text("Warga terdaftar")
    await expect(page.get_by_test_id("kecamatan-table").locator("tbody tr").first).to_contain_text("Coblong")
    await page.get_by_label("Warnai peta menurut").select_option("arrive_p50_s")
    await expect(page.get_by_test_id("map-legend")).to_contain_text("Median sampai tiba")
    await expect(kecamatan_map.locator('path[data-code="32.73.01"]')).to_have_attribute("data-shade", "0")
    await expect(kecamatan_map.locator('path[data-code="32.73.03"]')).to_have_attribute("data-shade", "-1")
    await screenshot(page, "reports")

    # A CSV of exactly what is on screen, named after the report and the period.
    async with page.expect_download() as waiting:
        await page.get_by_test_id("csv-response-times").click()
    download = await waiting.value
    assert download.suggested_filename == "siaga-response-times_2026-10-05_2026-10-18.csv"
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    assert text.splitlines()[0].startswith("week,week_start,agency_code,agency_name,alerts,acknowledge_n")
    # Each alert counts for its responsible agency: Siti's kebakaran went to Damkar's sector (her kesehatan to PSC 119).
    assert "2026-W41,2026-10-05,DAMKAR-SEKTOR-UTARA,Damkar Sektor Utara,1,1,30.0," in text

    # Exercise data on its own: flagged on screen, and only the drill counted.
    await page.get_by_label("Data latihan").check()
    await page.get_by_role("button", name="Tampilkan").click()
    await expect(page.get_by_test_id("exercise-banner")).to_be_visible()
    await expect(page.get_by_test_id("headline-registered")).to_contain_text("1")
    await expect(page.get_by_test_id("headline-acknowledge")).to_contain_text("0:05")

    # English on request.
    await page.get_by_label("Bahasa").select_option("en")
    await expect(page.get_by_role("heading", name="Response times")).to_be_visible()
    await expect(page.get_by_test_id("exercise-banner")).to_contain_text("exercise data only")
    await expect(page.get_by_role("button", name="Show")).to_be_visible()
    await page.context.close()


async def test_the_reports_fit_a_phone(site: Site) -> None:
    supervisor = await scene(site)
    page = await open_reports(site, supervisor, width=360, height=740)
    await expect(page.get_by_test_id("headline-alerts")).to_contain_text("4")
    await expect(page.get_by_test_id("chart-alerts").locator("rect.bar")).to_have_count(4)
    await expect(page.get_by_test_id("kecamatan-map").locator('path[data-code="32.73.02"]')).to_be_attached()
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px on a phone"
    await screenshot(page, "reports-phone")
    await page.context.close()


async def test_an_operator_cannot_open_the_reports(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR)
    context = await site.context()
    page = await context.new_page()
    await page.goto("/reports")
    await page.fill("#reports-username", operator.extra["username"])
    await page.fill("#reports-password", PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("alert")).to_contain_text("hanya untuk supervisor dan administrator")
    await context.close()
