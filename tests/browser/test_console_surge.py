"""The operator's surge view in a real browser: the queue grouped by kecamatan and filtered, the oldest and newest
waiting alert one key apart, a map cluster handed to the parent Polres in one action, and the surge banner naming the
area on two consoles at once (each computes it from the same alerts and the server's threshold).

Before, the queue drew the first 200 rows in one list, the map was a carpet of dots, and a surge raised no banner."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, screenshot
from tests.browser.test_console import DEADLINE_MS, open_console
from tests.conftest import eventually, sos_body

COBLONG = (-6.8915, 107.6107)
GEDEBAGE = (-6.9389, 107.7210)


async def _press(site: Site, where: tuple[float, float], n: int, **fields: Any) -> dict[str, Any]:
    resident = await site.api.resident(name=f"Warga {n}")
    return await site.api.press(resident, lat=where[0] + n * 1e-4, lon=where[1] + n * 1e-4, **fields)


async def test_the_queue_groups_filters_and_jumps_to_the_oldest_and_newest_waiting(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR)
    coblong = [await _press(site, COBLONG, n) for n in range(3)]
    injured = await _press(site, GEDEBAGE, 10, category="kesehatan")
    gedebage = [injured, await _press(site, GEDEBAGE, 11)]
    console = await open_console(site, operator)
    page = console.page
    await expect(page.locator(".queue-count")).to_have_attribute("data-count", "5", timeout=DEADLINE_MS)
    # The injured rise to the top of the waiting alerts, though pressed later.
    await expect(page.locator(".queue-row").first).to_have_attribute("data-alert-id", injured["id"])

    await page.select_option("[data-group-by]", "kecamatan")
    groups = page.locator(".queue-group")
    await expect(groups).to_have_count(2)
    await expect(groups.first).to_have_attribute("data-count", "3")  # Coblong, the larger, first
    await expect(groups.nth(1)).to_have_attribute("data-count", "2")

    await page.select_option('[data-filter="category"]', "kesehatan")
    await expect(page.locator(".queue-count")).to_have_attribute("data-shown", "1")
    await expect(page.locator(".queue-row")).to_have_count(1)
    await page.select_option('[data-filter="category"]', "")
    await expect(page.locator(".queue-row")).to_have_count(5)

    await page.keyboard.press("[")
    await expect(page.locator('.queue-row[aria-current="true"]')).to_have_attribute("data-alert-id", coblong[0]["id"])
    await page.keyboard.press("]")
    await expect(page.locator('.queue-row[aria-current="true"]')).to_have_attribute("data-alert-id", gedebage[1]["id"])
    await expect(page.locator('[data-action="oldest-waiting"] kbd')).to_have_text("[")  # the keys are shown
    await screenshot(page, "console-surge-grouped")


async def test_a_map_cluster_is_handed_to_the_parent_polres_in_one_action(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    polres = await site.api.staff(Role.OPERATOR, "POLRESTABES-BDG")
    alerts = [await _press(site, COBLONG, n) for n in range(6)]
    console = await open_console(site, operator)
    page = console.page
    cluster = page.locator(".alert-cluster span[data-count='6']")
    await expect(cluster).to_be_visible(timeout=DEADLINE_MS)
    await cluster.click()
    await expect(page.locator(".bulk-bar")).to_have_attribute("data-picked", "6")
    await page.click('[data-bulk-form="hand_to_agency"]')
    await page.fill("[data-bulk-note]", "Gempa Lembang: banyak korban")
    await page.click("[data-bulk-submit]")
    await expect(page.locator(".bulk-result")).to_contain_text("6", timeout=DEADLINE_MS)

    async def all_handed() -> bool:
        views = [(await site.api.get(polres, f"/alerts/{a['id']}")) for a in alerts]
        return all(v.status_code == 200 and v.json()["escalated"] for v in views)

    await eventually(all_handed, what="the parent Polres to see every alert of the cluster, escalated")


async def test_picked_alerts_are_handed_to_bpbd_whose_console_shows_them_with_the_hand_over(site: Site) -> None:
    """Floods in Coblong: the Polsek's operator picks the presses' cluster on the map, chooses BPBD and hands them over
    in one action; the BPBD operator's open console receives them live, and an alert's timeline says who had it and
    why."""
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    bpbd = await site.api.staff(Role.OPERATOR, "BPBD-BDG")
    agencies = (await site.api.get(operator, "/agencies")).json()
    [bpbd_id] = [a["id"] for a in agencies if a["code"] == "BPBD-BDG"]
    alerts = [await _press(site, COBLONG, n) for n in range(3)]
    rescuers = await open_console(site, bpbd)
    await expect(rescuers.page.locator(".queue-count")).to_have_attribute("data-count", "0", timeout=DEADLINE_MS)
    console = await open_console(site, operator)
    page = console.page
    cluster = page.locator(".alert-cluster span[data-count='3']")
    await expect(cluster).to_be_visible(timeout=DEADLINE_MS)
    await cluster.click()
    await expect(page.locator(".bulk-bar")).to_have_attribute("data-picked", "3")

    await page.click('[data-bulk-form="transfer"]')
    await page.select_option("[data-bulk-agency]", str(bpbd_id))
    await page.fill("[data-bulk-note]", "Banjir Coblong: ditangani BPBD")
    await page.click("[data-bulk-submit]")
    await expect(page.locator(".bulk-result")).to_contain_text("Selesai untuk 3", timeout=DEADLINE_MS)

    theirs = rescuers.page
    await expect(theirs.locator(".queue-count")).to_have_attribute("data-count", "3", timeout=DEADLINE_MS)
    await theirs.locator(f'.queue-row[data-alert-id="{alerts[0]["id"]}"]').click()
    handed = theirs.locator('.timeline [data-kind="transferred"]')
    await expect(handed).to_contain_text("Dialihkan ke instansi lain", timeout=DEADLINE_MS)
    await expect(handed).to_contain_text("POLSEK-COBLONG → BPBD-BDG: Banjir Coblong: ditangani BPBD")
    await expect(handed).to_contain_text(operator.name)
    await expect(theirs.locator('[data-action="acknowledge"]')).to_be_enabled()  # BPBD handles it now
    await screenshot(theirs, "console-handed-to-bpbd")
    assert not console.errors, console.errors
    assert not rescuers.errors, rescuers.errors


async def test_the_map_shades_each_kecamatan_by_its_open_alerts_and_names_it_with_the_count(site: Site) -> None:
    """Two presses in Coblong and none in Cidadap, its neighbour: the map's legend names Coblong, shaded, with 2 and
    leaves Cidadap out; a new press in Coblong makes it 3, and a kecamatan with one press far east is named after it."""
    console = await open_console(site, await site.api.staff(Role.OPERATOR))
    page = console.page
    legend = page.locator('[data-testid="area-shading"]')
    for n in range(2):
        await _press(site, COBLONG, n)
    coblong = legend.locator('li[data-area="Coblong"]')
    await expect(coblong).to_have_attribute("data-open-alerts", "2", timeout=DEADLINE_MS)
    await expect(coblong).to_have_text("Coblong: 2")
    await expect(legend.locator('li[data-area="Cidadap"]')).to_have_count(0)
    await expect(page.locator(".area-shading h3")).to_have_text("SOS terbuka per kecamatan")

    await _press(site, COBLONG, 2)
    await _press(site, GEDEBAGE, 3)
    await expect(coblong).to_have_attribute("data-open-alerts", "3", timeout=DEADLINE_MS)
    await expect(legend.locator("li")).to_have_count(2)
    await expect(legend.locator("li").first).to_have_attribute("data-area", "Coblong")  # the most first
    await expect(legend.locator("li").nth(1)).to_have_attribute("data-open-alerts", "1")
    await expect(legend.locator('li[data-area="Cidadap"]')).to_have_count(0)
    await screenshot(page, "console-map-shading")
    assert not console.errors, console.errors


async def test_a_surge_banner_names_the_area_on_two_consoles(site: Site) -> None:
    threshold = (await site.api.http.get("/api/v1/config/web")).json()["surge_presses_per_minute"]
    first = await open_console(site, await site.api.staff(Role.OPERATOR))
    second = await open_console(site, await site.api.staff(Role.SUPERVISOR))
    for console in (first, second):
        await expect(console.page.locator(".surge-banner")).to_have_count(0)
    # A few residents pressing again and again (a resident's repeated presses join their alert and count as presses):
    # the resident sign-up codes an address may ask for in an hour are fewer than the threshold.
    residents = [await site.api.resident(name=f"Warga {n}") for n in range(5)]
    for n in range(threshold):
        body = sos_body(lat=COBLONG[0] + n * 1e-4, lon=COBLONG[1])
        answer = await site.api.http.post("/api/v1/alerts", json=body, headers=residents[n % 5].headers)
        assert answer.status_code in (200, 201), answer.text
    for console in (first, second):
        area = console.page.locator(".surge-area")
        await expect(area).to_have_count(1, timeout=DEADLINE_MS)
        await expect(area).to_contain_text("Coblong")
        await expect(area).to_have_attribute("data-presses", str(threshold))
    await screenshot(first.page, "console-surge-banner")


async def test_the_area_message_from_the_surge_banner_shows_on_a_residents_status_screen(site: Site) -> None:
    from tests.browser.test_resident import headline, open_app, press_now, signed_in_phone

    threshold = (await site.api.http.get("/api/v1/config/web")).json()["surge_presses_per_minute"]
    console = await open_console(site, await site.api.staff(Role.OPERATOR))
    phone_owner = await site.api.resident(name="Dewi Warga")
    phone = await open_app(await signed_in_phone(site, phone_owner))
    await press_now(phone)
    await expect(headline(phone)).to_have_text("Diterima server", timeout=15_000)
    # Neighbours press 5 times each (the console learns a repeated press's count when it is flagged: at 2, 5, 10, ...)
    # and a few once, until the area reaches the threshold with the phone's own press.
    repeaters, singles = divmod(threshold - 1, 5)
    neighbours = [await site.api.resident(name=f"Tetangga {n}") for n in range(repeaters + singles)]
    presses = [(person, 5) for person in neighbours[:repeaters]] + [(person, 1) for person in neighbours[repeaters:]]
    for n, (person, times) in enumerate(presses):
        for _ in range(times):
            body = sos_body(lat=COBLONG[0] + n * 1e-4, lon=COBLONG[1])
            answer = await site.api.http.post("/api/v1/alerts", json=body, headers=person.headers)
            assert answer.status_code in (200, 201), answer.text

    area = console.page.locator(".surge-area")
    await expect(area).to_have_count(1, timeout=DEADLINE_MS)
    await area.locator('[data-action="message-area"]').click()
    await expect(console.page.locator("[data-area-message]")).to_have_value(
        "Petugas menuju wilayah Anda; tetap di tempat aman."
    )
    await console.page.click('[data-action="send-area-message"]')
    sent = console.page.locator(".surge-message [role=status]")
    await expect(sent).to_contain_text(f"Terkirim ke {len(neighbours) + 1} warga", timeout=DEADLINE_MS)
    message = phone.locator("[data-centre-message]")
    await expect(message).to_contain_text("Petugas menuju wilayah Anda", timeout=DEADLINE_MS)
    await expect(message).to_contain_text("Pesan dari pusat komando")
    await screenshot(phone, "resident-area-message")


async def test_a_console_opened_after_a_surge_shows_every_alert_and_keeps_up_with_new_presses(site: Site) -> None:
    """Several snapshot pages of open alerts: the header counts all of them, the map's clusters hold all of them, and
    presses that arrive afterwards join the queue, the count and the map (each batch moves only what changed)."""
    from benchmarks.population import insert_open_alerts

    from siaga.realtime.feed import newest_event_id
    from siaga.realtime.schemas import SNAPSHOT_PAGE

    surge = 2 * SNAPSHOT_PAGE + 7
    api = site.api
    async with api.runtime.unit_of_work() as session:
        await insert_open_alerts(session, surge)
    async with api.runtime.read_sessions() as session:
        newest = await newest_event_id(session)
    await eventually(lambda: _fed(site, newest), what="the feed to pass the surge's events")
    console = await open_console(site, await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG"))
    page = console.page
    await expect(page.locator(".queue-count")).to_have_attribute("data-count", str(surge), timeout=DEADLINE_MS)
    await expect(page.locator(".badge.waiting")).to_have_attribute("data-waiting", str(surge))
    assert await page.locator(".queue-row").count() < 100, "only the rows in view (and a margin) are drawn"

    async def on_the_map() -> int:
        counts = await page.locator(".alert-cluster span[data-count]").evaluate_all(
            "spans => spans.map((s) => Number(s.dataset.count))"
        )
        pins = await page.locator(".alert-pin").count()
        return int(sum(counts)) + pins

    await eventually(lambda: _equals(on_the_map, surge), what="every open alert in the map's clusters")

    later = [await _press(site, COBLONG, n) for n in range(3)]
    await expect(page.locator(".queue-count")).to_have_attribute("data-count", str(surge + 3), timeout=DEADLINE_MS)
    await page.keyboard.press("]")
    await expect(page.locator('.queue-row[aria-current="true"]')).to_have_attribute("data-alert-id", later[-1]["id"])
    await eventually(lambda: _equals(on_the_map, surge + 3), what="the new presses on the map")
    assert not console.errors, console.errors


async def _fed(site: Site, newest: int) -> bool:
    site.api.runtime.feed.wake()
    return site.api.runtime.feed.high_water >= newest


async def _equals(count: Any, expected: int) -> bool:
    return bool(await count() == expected)


async def test_in_a_surge_duress_the_injured_and_repeated_presses_still_come_first(site: Site) -> None:
    """Two thousand alerts of a disaster already wait (several snapshot pages, none of them injured); presses that
    arrive afterwards rise above all of them by the attention model: the duress alert first, then the injured, then
    the resident pressing again and again, while a plain new press waits at the end, one key (``]``) away."""
    from benchmarks.population import insert_open_alerts
    from sqlalchemy import update

    from siaga.alerts.models import Alert
    from siaga.realtime.feed import newest_event_id
    from siaga.realtime.schemas import SNAPSHOT_PAGE

    surge = 2 * SNAPSHOT_PAGE + 7
    api = site.api
    async with api.runtime.unit_of_work() as session:
        ids = await insert_open_alerts(session, surge)
        await session.execute(update(Alert).where(Alert.id.in_(ids)).values(category="bencana_alam"))
    async with api.runtime.read_sessions() as session:
        newest = await newest_event_id(session)
    await eventually(lambda: _fed(site, newest), what="the feed to pass the surge's events")
    console = await open_console(site, await api.staff(Role.OPERATOR, "POLSEK-COBLONG"))
    page = console.page
    await expect(page.locator(".queue-count")).to_have_attribute("data-count", str(surge), timeout=DEADLINE_MS)

    coerced = await site.api.resident(name="Warga Terancam")
    duress = await site.api.press(coerced, lat=COBLONG[0], lon=COBLONG[1])
    cancelled = await site.api.post(coerced, f"/alerts/{duress['id']}/cancel", {"pin": "9999"})
    assert cancelled.status_code == 200, cancelled.text
    injured = await _press(site, COBLONG, 2, category="kesehatan")
    again = await site.api.resident(name="Warga Berulang")
    repeated = await site.api.press(again, lat=COBLONG[0], lon=COBLONG[1])
    more = await api.http.post("/api/v1/alerts", json=sos_body(lat=COBLONG[0], lon=COBLONG[1]), headers=again.headers)
    assert more.status_code in (200, 201), more.text
    plain = await _press(site, COBLONG, 1)  # the newest

    await expect(page.locator(".queue-count")).to_have_attribute("data-count", str(surge + 4), timeout=DEADLINE_MS)
    rows = page.locator(".queue-row")
    first_three = [duress["id"], injured["id"], repeated["id"]]
    for n, alert_id in enumerate(first_three):
        await expect(rows.nth(n)).to_have_attribute("data-alert-id", alert_id, timeout=DEADLINE_MS)
    await page.keyboard.press("]")  # the newest nobody has taken, among thousands
    await expect(page.locator('.queue-row[aria-current="true"]')).to_have_attribute("data-alert-id", plain["id"])
    await page.keyboard.press("[")  # and the oldest, the first of the surge
    await expect(page.locator('.queue-row[aria-current="true"]')).to_have_attribute("data-alert-id", str(ids[0]))
    assert not console.errors, console.errors


async def test_a_drills_mass_event_surges_as_a_drill_and_hides_with_the_drills(site: Site) -> None:
    """``siaga simulate --mass-event`` raises drill alerts: the console names the area in a surge banner marked
    'Latihan' (before, drills never surged, so the README's surge walk-through showed no banner), picks only the
    drill's alerts, and hides it with the drills."""
    from tests.conftest import Person

    threshold = (await site.api.http.get("/api/v1/config/web")).json()["surge_presses_per_minute"]
    admin = await site.api.staff(Role.ADMIN)
    console = await open_console(site, await site.api.staff(Role.OPERATOR))
    page = console.page
    await _press(site, COBLONG, 99)  # a real alert in the same kecamatan, not the drill's to pick
    made = await site.api.post(admin, "/exercise/residents", {"count": 5})
    assert made.status_code == 201, made.text
    people = [Person(token=r["access_token"], name=r["name"], id=str(r["resident_id"])) for r in made.json()]
    for n in range(threshold):  # repeated presses count: five drill residents pressing again and again
        body = sos_body(lat=COBLONG[0] + n * 1e-4, lon=COBLONG[1])
        answer = await site.api.http.post("/api/v1/alerts", json=body, headers=people[n % 5].headers)
        assert answer.status_code in (200, 201), answer.text

    area = page.locator(".surge-area")
    await expect(area).to_have_count(1, timeout=DEADLINE_MS)
    await expect(area).to_have_attribute("data-exercise", "true")
    await expect(area).to_contain_text("Latihan")
    await expect(area).to_contain_text("Coblong")
    await area.locator('[data-action="pick-area"]').click()
    await expect(page.locator(".bulk-bar")).to_have_attribute("data-picked", "5")  # the drill's five, not the real one
    await page.click('[data-action="toggle-drills"]')
    await expect(page.locator(".surge-area")).to_have_count(0)
    await page.click('[data-action="toggle-drills"]')
    await expect(page.locator(".surge-area")).to_have_count(1)
    assert not console.errors, console.errors
