"""The officer app on a 360 px phone: duty, position sharing (over the open stream, over HTTP when the stream does
not answer), a ringing offer, accept, en route, on scene, resolve, and the alert a notification opens."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import BrowserContext, Page, Request, WebSocket, WebSocketRoute, expect
from sqlalchemy import func, select

from siaga.accounts.domain import Role
from siaga.realtime.schemas import unbatch
from siaga.responders.models import PositionRecord
from tests.browser.conftest import Site, eventually, screenshot
from tests.conftest import PASSWORD, Person

COBLONG = (-6.8915, 107.6107)  # where site.phone() says the browser is
RING_TIMEOUT_MS = 30_000


async def log_in(page: Page, officer: Person) -> None:
    await page.goto("/officer")
    await page.fill("#officer-username", officer.extra["username"])
    await page.fill("#officer-password", PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("heading", name="Tugas", exact=True)).to_be_visible()


async def enable_direct_offers(site: Site) -> None:
    admin = await site.api.staff(Role.ADMIN, "BDG-CC")
    answer = await site.api.http.put(
        "/api/v1/agencies/POLSEK-COBLONG/dispatch-settings",
        json={"direct_offers": True, "offer_size": 3, "offer_timeout_seconds": 120, "offer_radius_m": 5000},
        headers=admin.headers,
    )
    assert answer.status_code == 200, answer.text


async def board_entry(site: Site, viewer: Person, unit_id: int | None) -> dict[str, Any] | None:
    answer = await site.api.get(viewer, "/units/board")
    assert answer.status_code == 200, answer.text
    return next((u for u in answer.json() if u["unit_id"] == unit_id), None)


async def test_an_officer_goes_on_duty_accepts_a_ringing_offer_and_resolves_it(site: Site) -> None:
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-1", name="Bripka Andi")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    context = await site.phone()
    page = await context.new_page()
    await log_in(page, officer)

    await page.get_by_role("button", name="Patroli").click()
    await page.get_by_role("button", name="Mulai tugas").click()

    async def available_here() -> dict[str, Any] | None:
        unit = await board_entry(site, operator, officer.unit_id)
        if unit and unit["state"] == "available" and unit["lat"] is not None:
            return unit
        return None

    unit = await eventually(available_here, what="the unit to be available with a position")
    assert (round(unit["lat"], 4), round(unit["lon"], 4)) == COBLONG
    assert unit["duty_mode"] == "patrol"

    await enable_direct_offers(site)
    resident = await site.api.resident(name="Sari Warga")
    alert = await site.api.press(resident, lat=COBLONG[0], lon=COBLONG[1])

    ringing = page.get_by_test_id("ringing")
    await expect(ringing).to_be_visible(timeout=RING_TIMEOUT_MS)
    await expect(ringing).to_contain_text("Tawaran SOS")
    await expect(ringing).to_contain_text("Kriminalitas")
    await expect(ringing).to_contain_text("Coblong")
    await screenshot(page, "officer")
    await ringing.get_by_role("button", name="Terima", exact=True).click()

    async def dispatched_to_us() -> dict[str, Any] | None:
        seen = (await site.api.get(operator, f"/alerts/{alert['id']}")).json()
        return seen if seen["state"] == "dispatched" and seen["unit_id"] == officer.unit_id else None

    await eventually(dispatched_to_us, what="the alert to be dispatched to the officer's unit")
    await expect(ringing).to_be_hidden()
    card = page.get_by_test_id("assignment")
    geo = await card.get_by_test_id("nav-geo").get_attribute("href")
    osm = await card.get_by_test_id("nav-osm").get_attribute("href")
    assert geo is not None
    assert geo.startswith("geo:-6.891500,107.610700")
    assert osm is not None
    assert osm.startswith("https://www.openstreetmap.org/directions?")
    assert "-6.891500%2C107.610700" in osm

    state = card.get_by_test_id("alert-state")
    await card.get_by_role("button", name="Dalam perjalanan").click()
    await expect(state).to_have_text("Dalam perjalanan")
    await card.get_by_role("button", name="Tiba di lokasi").click()
    await expect(state).to_have_text("Tiba di lokasi")
    await card.get_by_label("Hasil").select_option("genuine")
    await card.get_by_label("Laporan singkat").fill("Motor korban ditemukan, pelaku kabur ke arah Dago.")
    await card.get_by_role("button", name="Selesai", exact=True).click()
    await expect(page.get_by_role("status").filter(has_text="Laporan terkirim")).to_be_visible()
    await expect(card).to_be_hidden()
    await context.close()

    closed = (await site.api.get(operator, f"/alerts/{alert['id']}")).json()
    assert closed["state"] == "resolved"
    assert closed["outcome"] == "genuine"
    assert closed["report"] == "Motor korban ditemukan, pelaku kabur ke arah Dago."
    assert closed["en_route_at"] is not None
    assert closed["on_scene_at"] is not None


async def test_a_ringing_offer_taken_by_another_unit_stops_and_says_so(site: Site) -> None:
    mine = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-2")
    rival = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-3")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    context = await site.phone()
    page = await context.new_page()
    await log_in(page, mine)
    # The language switch turns the officer's screen into English.
    await page.get_by_label("Bahasa").select_option("en")
    await expect(page.get_by_role("button", name="Go on duty")).to_be_visible()
    await page.get_by_role("button", name="Go on duty").click()
    await expect(page.get_by_test_id("sharing")).to_contain_text("Sharing your position")

    # The rival unit is on duty a street away (through the API, as another phone would).
    assert (
        await site.api.http.put("/api/v1/officers/me/duty", json={"mode": "post"}, headers=rival.headers)
    ).is_success
    fix = {"lat": COBLONG[0] + 0.001, "lon": COBLONG[1], "accuracy_m": 10}
    assert (await site.api.post(rival, "/officers/me/location", fix)).status_code == 202

    async def both_available() -> bool:
        units = [await board_entry(site, operator, who.unit_id) for who in (mine, rival)]
        return all(u and u["state"] == "available" and u["lat"] is not None for u in units)

    await eventually(both_available, what="both units to be available with positions")
    await enable_direct_offers(site)
    await site.api.press(await site.api.resident(), lat=COBLONG[0], lon=COBLONG[1])

    ringing = page.get_by_test_id("ringing")
    await expect(ringing).to_be_visible(timeout=RING_TIMEOUT_MS)
    await expect(ringing).to_contain_text("SOS offer")

    async def rival_offer() -> list[dict[str, Any]]:
        offers: list[dict[str, Any]] = (await site.api.get(rival, "/offers")).json()
        return offers

    offer = (await eventually(rival_offer, what="the rival's offer"))[0]
    assert (await site.api.post(rival, f"/offers/{offer['id']}/accept")).status_code == 200

    await expect(ringing).to_be_hidden(timeout=RING_TIMEOUT_MS)
    await expect(page.get_by_test_id("notice")).to_contain_text("taken by another unit")
    await context.close()


async def test_positions_taken_without_signal_are_sent_when_it_returns(site: Site) -> None:
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-4")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    context = await site.phone()
    page = await context.new_page()
    await log_in(page, officer)
    await page.get_by_role("button", name="Mulai tugas").click()
    sharing = page.get_by_test_id("sharing")
    await expect(sharing).to_contain_text("Lokasi dibagikan")

    await context.set_offline(True)
    moved = (-6.8950, 107.6150)
    await context.set_geolocation({"latitude": moved[0], "longitude": moved[1]})
    await expect(sharing).to_contain_text("Tidak ada sinyal", timeout=15_000)
    await expect(sharing).to_contain_text("menunggu dikirim")

    await context.set_offline(False)

    async def moved_on_the_board() -> dict[str, Any] | None:
        unit = await board_entry(site, operator, officer.unit_id)
        return unit if unit and unit["lat"] is not None and round(unit["lat"], 4) == moved[0] else None

    unit = await eventually(moved_on_the_board, what="the position taken offline to reach the server")
    assert round(unit["lon"], 4) == moved[1]
    await expect(sharing).to_contain_text("Lokasi dibagikan")
    await expect(sharing).not_to_contain_text("menunggu dikirim")
    await context.close()


async def test_the_app_shows_the_duty_the_server_has_after_a_restart_or_a_shift_ended_elsewhere(site: Site) -> None:
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-9", name="Bripda Sinta")
    context = await site.phone()
    page = await context.new_page()
    await log_in(page, officer)
    await expect(page.get_by_role("button", name="Mulai tugas")).to_be_visible()

    # On duty at a post from another phone: this one, opened again, says so.
    on = await site.api.http.put("/api/v1/officers/me/duty", json={"mode": "post"}, headers=officer.headers)
    assert on.status_code == 200, on.text
    await page.reload()
    await expect(page.get_by_role("button", name="Selesai tugas")).to_be_visible()

    # The shift ends elsewhere while this phone still remembers being on duty: the server's word wins.
    off = await site.api.http.delete("/api/v1/officers/me/duty", headers=officer.headers)
    assert off.status_code == 200, off.text
    await page.reload()
    await expect(page.get_by_role("button", name="Mulai tugas")).to_be_visible()
    mine = (await site.api.get(officer, "/officers/me/duty")).json()
    assert mine["on_duty"] is False
    await context.close()


# Positions over the officer stream ----------------------------------------------------------------------------------


class Wire:
    """What the page sent: position messages on its officer stream, the acks it got, and HTTP position requests."""

    def __init__(self, page: Page) -> None:
        self.sent: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.posts = 0
        page.on("websocket", self._socket)
        page.on("request", self._request)

    def _socket(self, socket: WebSocket) -> None:
        if "/api/v1/stream/officer" not in socket.url:
            return
        socket.on("framesent", lambda payload: self._frame(payload, self.sent, "positions"))
        socket.on("framereceived", lambda payload: self._frame(payload, self.acks, "positions_ack"))

    @staticmethod
    def _frame(payload: str | bytes, into: list[dict[str, Any]], kind: str) -> None:
        for message in unbatch(json.loads(payload)):  # an ack may come in a batch with other messages
            if message.get("type") == kind:
                into.append(message)

    def _request(self, request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/v1/officers/me/location"):
            self.posts += 1


async def positions_stored(site: Site, unit_id: int | None) -> int:
    async with site.api.runtime.read_sessions() as session:
        query = select(func.count()).select_from(PositionRecord).where(PositionRecord.unit_id == unit_id)
        return int(await session.scalar(query) or 0)


async def sharing_on_duty(site: Site, callsign: str) -> tuple[Person, BrowserContext, Page, Wire]:
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign=callsign)
    context = await site.phone()
    page = await context.new_page()
    wire = Wire(page)
    await log_in(page, officer)
    await expect(page.get_by_test_id("connection")).to_have_text("Terhubung")
    await page.get_by_role("button", name="Mulai tugas").click()
    await expect(page.get_by_test_id("sharing")).to_contain_text("Lokasi dibagikan")
    return officer, context, page, wire


async def test_positions_go_over_the_open_stream_and_reach_the_board_and_the_database(site: Site) -> None:
    officer, context, _, wire = await sharing_on_duty(site, "COBLONG-UJI-20")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")

    moved = (-6.8890, 107.6130)
    await context.set_geolocation({"latitude": moved[0], "longitude": moved[1]})

    async def moved_on_the_board() -> dict[str, Any] | None:
        unit = await board_entry(site, operator, officer.unit_id)
        return unit if unit and unit["lat"] is not None and round(unit["lat"], 4) == moved[0] else None

    unit = await eventually(moved_on_the_board, what="the moved position to reach the board")
    assert round(unit["lon"], 4) == moved[1]
    assert await positions_stored(site, officer.unit_id) >= 2  # where duty started, and where the officer went
    # Every one of them over the stream, each message answered by its seq; not one HTTP request.
    assert wire.sent, "no positions message on the stream"
    assert all(len(m["points"]) >= 1 for m in wire.sent)
    answered = {a["seq"] for a in wire.acks if a["accepted"] >= 1}
    assert {m["seq"] for m in wire.sent} <= answered | {wire.sent[-1]["seq"]}  # the newest may still be on its way
    assert wire.posts == 0
    await context.close()


async def test_a_position_whose_ack_never_comes_is_sent_again_over_http(site: Site) -> None:
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-21")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    context = await site.phone()
    page = await context.new_page()
    wire = Wire(page)
    swallowed: list[str] = []

    def stream(route: WebSocketRoute) -> None:
        # The stream connects and works, except that the server never hears the phone's positions (a proxy that
        # drops them, a half-open connection): no ack comes back.
        server = route.connect_to_server()

        def to_server(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode()
            if json.loads(text).get("type") == "positions":
                swallowed.append(text)
            else:
                server.send(message)

        route.on_message(to_server)

    await page.route_web_socket("**/api/v1/stream/officer*", stream)
    await log_in(page, officer)
    await expect(page.get_by_test_id("connection")).to_have_text("Terhubung")
    await page.get_by_role("button", name="Mulai tugas").click()

    async def on_the_board() -> dict[str, Any] | None:
        unit = await board_entry(site, operator, officer.unit_id)
        return unit if unit and unit["lat"] is not None else None

    unit = await eventually(on_the_board, within=40, what="the position to arrive over HTTP after the stream's silence")
    assert (round(unit["lat"], 4), round(unit["lon"], 4)) == COBLONG
    assert swallowed, "the position was not offered to the stream first"
    assert wire.posts >= 1
    await expect(page.get_by_test_id("sharing")).to_contain_text("Lokasi dibagikan")
    await context.close()


async def test_a_shift_ended_elsewhere_is_learned_from_the_streams_refusal(site: Site) -> None:
    officer, context, page, wire = await sharing_on_duty(site, "COBLONG-UJI-22")
    await eventually(lambda: positions_stored(site, officer.unit_id), what="a first position to be stored")

    # A supervisor (here: the API, as another phone) ends the shift; the app is not told, but its next position is
    # refused on the stream, and the app believes the server.
    off = await site.api.http.delete("/api/v1/officers/me/duty", headers=officer.headers)
    assert off.status_code == 200, off.text
    await expect(page.get_by_role("button", name="Mulai tugas")).to_be_visible(timeout=20_000)
    assert any(a["refused"] == "officer.off_duty" for a in wire.acks)
    assert wire.posts == 0
    await context.close()


# The alert a notification opens ------------------------------------------------------------------------------------


async def test_a_notification_link_rings_its_assignment_first_and_shows_it(site: Site) -> None:
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-23")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    context = await site.phone()
    page = await context.new_page()
    await log_in(page, officer)
    await page.get_by_role("button", name="Mulai tugas").click()
    await expect(page.get_by_test_id("sharing")).to_contain_text("Lokasi dibagikan")

    alerts = []
    for category in ("kriminalitas", "kecelakaan"):  # both the police's to handle (a kebakaran is Damkar's)
        alert = await site.api.press(await site.api.resident(), lat=COBLONG[0], lon=COBLONG[1], category=category)
        sent = await site.api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": officer.unit_id})
        assert sent.status_code == 200, sent.text
        alerts.append(alert)
    first, second = alerts
    ringing = page.get_by_test_id("ringing")
    await expect(ringing).to_contain_text("Kecelakaan", timeout=RING_TIMEOUT_MS)  # the newest rings first

    # The push notification of the older one is tapped: the app (already logged in) opens at its link.
    linked = await context.new_page()
    await linked.goto(f"/officer#alert={first['id']}")
    ringing = linked.get_by_test_id("ringing")
    await expect(ringing).to_contain_text("Penugasan SOS")
    await expect(ringing).to_contain_text("Kriminalitas")
    await ringing.get_by_role("button", name="Terima tugas").click()
    await expect(ringing).to_contain_text("Kecelakaan")  # then the other one, still unanswered
    await ringing.get_by_role("button", name="Terima tugas").click()
    await expect(ringing).to_be_hidden()

    card = linked.locator(f'[data-testid="assignment"][data-alert-id="{first["id"]}"]')
    await expect(card).to_have_attribute("aria-current", "true")
    await expect(card).to_be_in_viewport()
    other = linked.locator(f'[data-testid="assignment"][data-alert-id="{second["id"]}"]')
    await expect(other).not_to_have_attribute("aria-current", "true")
    assert "#alert=" not in linked.url  # followed: reopening the app does not bring it back
    await context.close()


async def test_a_notification_link_to_an_alert_no_longer_ours_says_so(site: Site) -> None:
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-24")
    context = await site.phone()
    page = await context.new_page()
    await log_in(page, officer)
    somebody_elses = await site.api.press(await site.api.resident())
    # The app is open when the notification is tapped: only the address's hash changes.
    await page.goto(f"/officer#alert={somebody_elses['id']}")
    gone = page.get_by_test_id("link-gone")
    await expect(gone).to_contain_text("tidak lagi untuk unit Anda")
    await gone.get_by_role("button", name="Tutup").click()
    await expect(gone).to_be_hidden()
    await context.close()
