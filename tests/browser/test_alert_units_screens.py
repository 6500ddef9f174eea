"""The README's story of several units on one alert, in real browsers: a kebakaran goes to Damkar, whose operator
dispatches a fire engine from the console; the police operator, informed of it, adds a patrol car; the fire
engine's crew on scene asks for an ambulance from the officer app; PSC 119's console sees the alert flagged with the
request and adds its ambulance; the resident's status says one more unit is coming."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect
from sqlalchemy import update

from siaga.accounts.domain import Role
from siaga.responders.models import Unit
from tests.browser.conftest import Site
from tests.browser.test_console import COBLONG, DEADLINE_MS, eventually, open_console, row
from tests.browser.test_officer import log_in
from tests.conftest import Person


async def crew(site: Site, agency: str, callsign: str, kind: str, *, north: float) -> Person:
    """An officer of a unit of ``kind``, on duty near the fire."""
    officer = await site.api.staff(Role.OFFICER, agency, unit_callsign=callsign, name=f"Petugas {callsign}")
    async with site.api.runtime.unit_of_work() as session:
        await session.execute(update(Unit).where(Unit.id == officer.unit_id).values(kind=kind))
    await site.api.runtime.units.reload()
    await site.api.on_duty(officer)
    fix = {"lat": COBLONG[0] + north, "lon": COBLONG[1], "accuracy_m": 9}
    assert (await site.api.post(officer, "/officers/me/location", fix)).status_code == 202
    return officer


async def units_on(site: Site, viewer: Person, alert_id: str) -> dict[str, str]:
    seen: dict[str, Any] = (await site.api.get(viewer, f"/alerts/{alert_id}")).json()
    return {u["callsign"]: u["state"] for u in seen.get("units", [])}


async def test_a_fire_engine_a_police_backup_and_the_ambulance_its_crew_asked_for(site: Site) -> None:
    damkar = await site.api.staff(Role.OPERATOR, "DAMKAR-SEKTOR-UTARA", name="Operator Joko")
    police = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG", name="Operator Ani")
    medics = await site.api.staff(Role.OPERATOR, "PSC119-BDG", name="Operator Dewi")
    engine = await crew(site, "DAMKAR-SEKTOR-UTARA", "DAMKAR-UJI-9", "fire_engine", north=0.002)
    patrol = await crew(site, "POLSEK-COBLONG", "COBLONG-UJI-9", "patrol_car", north=0.001)
    ambulance = await crew(site, "PSC119-BDG", "PSC-UJI-9", "ambulance", north=0.003)
    resident = await site.api.resident(name="Rina")
    fire = await site.api.press(resident, lat=COBLONG[0], lon=COBLONG[1], category="kebakaran")

    # Damkar's operator dispatches the fire engine.
    damkar_console = await open_console(site, damkar)
    page = damkar_console.page
    await row(page, fire["id"]).click()
    await page.get_by_test_id("unit-type").select_option("fire_engine")
    await page.locator(f'[data-action="dispatch-unit"][data-unit-id="{engine.unit_id}"]').click(timeout=DEADLINE_MS)

    async def engine_assigned() -> bool:
        return (await units_on(site, damkar, fire["id"])).get("DAMKAR-UJI-9") == "assigned"

    await eventually(engine_assigned, "the fire engine to be the alert's unit")

    # The police operator, informed of the fire, adds a patrol car beside it.
    police_console = await open_console(site, police)
    ppage = police_console.page
    await row(ppage, fire["id"]).click()
    add = ppage.locator(f'[data-action="add-unit"][data-unit-id="{patrol.unit_id}"]')
    await add.click(timeout=DEADLINE_MS)
    await expect(ppage.locator('[data-testid="unit-on-alert"][data-callsign="COBLONG-UJI-9"]')).to_have_attribute(
        "data-state", "offered", timeout=DEADLINE_MS
    )
    await expect(ppage.locator('[data-action="dispatch-unit"]')).to_have_count(0)  # the fire is Damkar's to send
    offer = next(o for o in (await site.api.get(patrol, "/offers")).json() if o["alert_id"] == fire["id"])
    assert (await site.api.post(patrol, f"/offers/{offer['id']}/accept")).status_code == 200

    # The fire engine's crew, on scene, asks for an ambulance from the officer app.
    phone = await site.phone()
    officer_page = await phone.new_page()
    await log_in(officer_page, engine)
    ringing = officer_page.get_by_test_id("ringing")  # the new assignment rings first
    await ringing.get_by_role("button", name="Terima tugas").click(timeout=DEADLINE_MS)
    card = officer_page.get_by_test_id("assignment")
    await expect(card).to_be_visible(timeout=DEADLINE_MS)
    await card.get_by_role("button", name="Tiba di lokasi").click()
    await expect(card.get_by_test_id("alert-state")).to_have_text("Tiba di lokasi", timeout=DEADLINE_MS)
    await expect(card.get_by_test_id("other-units")).to_contain_text("COBLONG-UJI-9")
    await card.get_by_test_id("request-ambulance").click()
    await expect(card.get_by_test_id("open-request")).to_contain_text("ambulans", timeout=DEADLINE_MS)

    # PSC 119's console now has the fire, flagged with the request, and adds its ambulance.
    medics_console = await open_console(site, medics)
    mpage = medics_console.page
    flagged = row(mpage, fire["id"])
    await expect(flagged).to_be_visible(timeout=DEADLINE_MS)
    await expect(flagged).to_contain_text("MINTA UNIT")
    await flagged.click()
    await expect(mpage.get_by_test_id("unit-request")).to_contain_text("DAMKAR-UJI-9")
    await mpage.get_by_test_id("unit-request").get_by_role("button").click()
    await mpage.locator(f'[data-action="add-unit"][data-unit-id="{ambulance.unit_id}"]').click(timeout=DEADLINE_MS)
    await expect(mpage.locator('[data-testid="unit-on-alert"][data-callsign="PSC-UJI-9"]')).to_have_attribute(
        "data-state", "offered", timeout=DEADLINE_MS
    )
    await expect(mpage.get_by_test_id("unit-request")).to_have_count(0, timeout=DEADLINE_MS)  # answered
    offer = next(o for o in (await site.api.get(ambulance, "/offers")).json() if o["alert_id"] == fire["id"])
    assert (await site.api.post(ambulance, f"/offers/{offer['id']}/accept")).status_code == 200

    # The resident sees the fire engine and more units coming.
    mine = (await site.api.get(resident, f"/alerts/{fire['id']}")).json()
    assert (mine["unit_callsign"], mine["other_units"]) == ("DAMKAR-UJI-9", 2)
    for console in (damkar_console, police_console, medics_console):
        assert not console.errors, console.errors
        await console.close()
    await phone.close()


async def test_a_backup_officer_takes_the_offer_and_moves_their_own_unit_until_they_leave(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    lead = await crew(site, "POLSEK-COBLONG", "COBLONG-UJI-10", "patrol_car", north=0.001)
    backup = await crew(site, "POLSEK-COBLONG", "COBLONG-UJI-11", "motorbike", north=0.002)
    alert = await site.api.press(await site.api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    assert (await site.api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": lead.unit_id})).is_success
    added = await site.api.post(operator, f"/alerts/{alert['id']}/units", {"unit_ids": [backup.unit_id]})
    assert added.status_code == 200, added.text

    phone = await site.phone()
    page = await phone.new_page()
    await log_in(page, backup)
    ringing = page.get_by_test_id("ringing")  # the backup's offer rings as any offer does
    await ringing.get_by_role("button", name="Terima", exact=True).click(timeout=DEADLINE_MS)
    card = page.get_by_test_id("assignment")
    await expect(card.get_by_test_id("backup-state")).to_contain_text("Ditugaskan", timeout=DEADLINE_MS)
    await expect(card.get_by_test_id("other-units")).to_contain_text("COBLONG-UJI-10")
    steps = card.get_by_test_id("backup-steps")
    await steps.get_by_role("button", name="Dalam perjalanan").click()
    await expect(card.get_by_test_id("backup-state")).to_contain_text("Dalam perjalanan", timeout=DEADLINE_MS)
    await steps.get_by_role("button", name="Tiba di lokasi").click()
    await expect(card.get_by_test_id("backup-state")).to_contain_text("Di lokasi", timeout=DEADLINE_MS)
    # On the alert, the backup's officer writes to the command centre as the lead's crew does.
    await card.get_by_placeholder("Catatan untuk pusat komando").fill("Motor tiba dari utara")
    await card.get_by_role("button", name="Kirim").click()

    async def noted() -> bool:
        timeline = (await site.api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
        return any(e["kind"] == "note" and e["data"]["text"] == "Motor tiba dari utara" for e in timeline)

    await eventually(noted, "the backup's note on the timeline")
    # The lead's alert is untouched by the backup's steps, and the backup cannot resolve it: it leaves instead.
    assert (await site.api.get(operator, f"/alerts/{alert['id']}")).json()["state"] == "dispatched"
    await expect(card.get_by_role("button", name="Selesai", exact=True)).to_have_count(0)
    await steps.get_by_test_id("backup-release").click()
    await expect(card).to_be_hidden(timeout=DEADLINE_MS)

    async def released() -> bool:
        return (await units_on(site, operator, alert["id"])).get("COBLONG-UJI-11") == "released"

    await eventually(released, "the backup to have left the alert")
    await phone.close()
