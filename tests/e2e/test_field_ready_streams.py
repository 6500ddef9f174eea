"""Issue 12 over the real streams: what the resident's phone and the console are told when an officer takes a direct
offer before any operator, and when that officer hands the alert back by going off duty."""

from __future__ import annotations

from siaga.accounts.domain import Role
from tests.e2e.test_streams import COBLONG, Live, direct_offers, live, on_duty_near, stream

__all__ = ["live"]  # the fixture, used by name


async def test_the_resident_and_the_console_are_told_exactly_who_holds_the_alert(live: Live) -> None:
    api = live.api
    await direct_offers(api, size=1)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    asep = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-S1", name="Bripka Asep")
    await on_duty_near(live, asep, COBLONG[0] + 0.002, COBLONG[1])
    resident = await api.resident(name="Siti")
    async with stream(live, "console", operator) as console, stream(live, "resident", resident) as mine:
        alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
        offered = await console.event("offered", alert["id"])
        offer_id = offered["event"]["data"]["offer_ids"][0]
        assert (await api.post(asep, f"/offers/{offer_id}/accept")).status_code == 200

        # The officer took it; no operator did: the phone must not hear "acknowledged", the console marks it quietly.
        taken = await console.event("dispatched", alert["id"])
        assert (taken["alert"]["acknowledged_at"], taken["alert"]["awaiting_operator"]) == (None, True)
        status = await mine.until(lambda m: m["type"] == "alert_status" and m["state"] == "dispatched")
        assert (status["acknowledged"], status["officer_names"]) == (False, ["Bripka Asep"])

        # Asep hands it back going off duty: the phone no longer says an officer is coming.
        gone = await api.http.delete("/api/v1/officers/me/duty", headers=asep.headers, params={"hand_back": "true"})
        assert gone.status_code == 200, gone.text
        handed = await console.event("handed_back", alert["id"])
        assert (handed["event"]["actor_name"], handed["alert"]["unit_id"]) == ("Bripka Asep", None)
        escalated = await console.event("escalated", alert["id"])
        assert escalated["event"]["data"]["reason"] == "handed_back"
        back = await mine.until(lambda m: m["type"] == "alert_status" and m["state"] == "new")
        assert (back["acknowledged"], back["unit_callsign"], back["officer_names"]) == (False, None, [])
