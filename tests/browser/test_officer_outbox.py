"""The officer's actions on a bad network: a step whose answer is lost is sent again and applied once; a report or an
accepted offer made without signal waits on the phone, says so, and is sent once the signal is back (applied exactly
once)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from playwright.async_api import Route, expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, eventually
from tests.browser.test_officer import COBLONG, RING_TIMEOUT_MS, enable_direct_offers, log_in
from tests.conftest import Person


async def timeline(site: Site, viewer: Person, alert_id: str) -> Counter[str]:
    answer = await site.api.get(viewer, f"/alerts/{alert_id}/timeline")
    assert answer.status_code == 200, answer.text
    return Counter(event["kind"] for event in answer.json())


async def test_a_report_made_offline_is_sent_when_the_signal_returns_and_applied_once(site: Site) -> None:
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-40")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    context = await site.phone()
    page = await context.new_page()
    await log_in(page, officer)
    await page.get_by_role("button", name="Mulai tugas").click()
    await expect(page.get_by_test_id("sharing")).to_contain_text("Lokasi dibagikan")

    alert = await site.api.press(await site.api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    sent = await site.api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": officer.unit_id})
    assert sent.status_code == 200, sent.text
    ringing = page.get_by_test_id("ringing")
    await ringing.get_by_role("button", name="Terima tugas").click(timeout=RING_TIMEOUT_MS)
    card = page.get_by_test_id("assignment")
    state = card.get_by_test_id("alert-state")

    # "En route" reaches the server, but its answer is lost on the way back: the phone sends it again.
    lost: list[str] = []

    async def lose_the_first_answer(route: Route) -> None:
        if lost:
            await route.continue_()
            return
        answer = await route.fetch()
        lost.append(str(answer.status))
        await route.abort("connectionreset")

    await page.route("**/en-route", lose_the_first_answer)
    await card.get_by_role("button", name="Dalam perjalanan").click()
    await expect(state).to_have_text("Dalam perjalanan", timeout=20_000)
    assert lost == ["200"]
    await card.get_by_role("button", name="Tiba di lokasi").click()
    await expect(state).to_have_text("Tiba di lokasi")

    # No signal: the report is kept on the phone and says it has not been sent.
    await context.set_offline(True)
    await card.get_by_label("Hasil").select_option("genuine")
    await card.get_by_label("Laporan singkat").fill("Korban aman, pelaku diamankan warga.")
    await card.get_by_role("button", name="Selesai", exact=True).click()
    await expect(card.get_by_test_id("resolve-queued")).to_be_visible()
    await expect(page.get_by_test_id("outbox-pending")).to_contain_text("Laporan selesai: belum terkirim")
    assert (await site.api.get(operator, f"/alerts/{alert['id']}")).json()["state"] == "on_scene"

    # The signal returns: the report goes by itself, once.
    await context.set_offline(False)
    await expect(page.get_by_role("status").filter(has_text="Laporan terkirim")).to_be_visible(timeout=20_000)
    await expect(card).to_be_hidden()
    await expect(page.get_by_test_id("outbox")).to_be_hidden()

    async def resolved() -> dict[str, Any] | None:
        seen: dict[str, Any] = (await site.api.get(operator, f"/alerts/{alert['id']}")).json()
        return seen if seen["state"] == "resolved" else None

    closed = await eventually(resolved, what="the report made offline to reach the server")
    assert closed["report"] == "Korban aman, pelaku diamankan warga."
    kinds = await timeline(site, operator, alert["id"])
    assert (kinds["en_route"], kinds["on_scene"], kinds["resolved"]) == (1, 1, 1), kinds
    await context.close()


async def test_an_offer_accepted_without_signal_is_taken_once_the_signal_returns(site: Site) -> None:
    officer = await site.api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-41")
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    context = await site.phone()
    page = await context.new_page()
    await log_in(page, officer)
    await page.get_by_role("button", name="Mulai tugas").click()
    await expect(page.get_by_test_id("sharing")).to_contain_text("Lokasi dibagikan")
    await enable_direct_offers(site)
    alert = await site.api.press(await site.api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    ringing = page.get_by_test_id("ringing")
    await expect(ringing).to_be_visible(timeout=RING_TIMEOUT_MS)

    await context.set_offline(True)
    await ringing.get_by_role("button", name="Terima", exact=True).click()
    await expect(ringing).to_be_hidden()
    await expect(page.get_by_test_id("outbox-pending")).to_contain_text("Terima tawaran: belum terkirim")
    assert (await site.api.get(operator, f"/alerts/{alert['id']}")).json()["unit_id"] is None

    await context.set_offline(False)
    card = page.get_by_test_id("assignment")
    await expect(card).to_be_visible(timeout=20_000)
    await expect(page.get_by_test_id("outbox")).to_be_hidden()
    await expect(ringing).to_be_hidden()
    taken = (await site.api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (taken["state"], taken["unit_id"]) == ("dispatched", officer.unit_id)
    assert (await timeline(site, operator, alert["id"]))["dispatched"] == 1
    await context.close()
