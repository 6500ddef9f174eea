"""A resident forced to enter the duress PIN: whoever holds the phone sees a cancelled alert that never changes again,
over the API and the stream, while staff acknowledge, dispatch and write notes on it."""

from __future__ import annotations

from typing import Any

from siaga.accounts.domain import Role
from tests.conftest import Api, Person
from tests.e2e.test_streams import COBLONG, Client, Live, live, on_duty_near, stream

__all__ = ["live"]  # the fixture, used by name


async def _phone_view(api: Api, resident: Person, alert_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the phone reads over the API: the alert, and the alert in the resident's own list."""
    one = await api.get(resident, f"/alerts/{alert_id}")
    assert one.status_code == 200, one.text
    listed = await api.get(resident, "/alerts")
    assert listed.status_code == 200, listed.text
    return one.json(), next(a for a in listed.json() if a["id"] == alert_id)


def _latest_status(client: Client, alert_id: str) -> dict[str, Any]:
    return [m for m in client.seen if m["type"] == "alert_status" and m["alert_id"] == alert_id][-1]


async def test_nothing_staff_do_after_a_duress_pin_shows_on_the_phone(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-D1", name="Bripka Dewi")
    await on_duty_near(live, officer, COBLONG[0] + 0.002, COBLONG[1])
    resident = await api.resident(name="Siti")

    async with stream(live, "console", operator) as console, stream(live, "resident", resident) as phone:
        alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
        alert_id = alert["id"]
        await phone.until(lambda m: m["type"] == "alert_status" and m["state"] == "new")

        answer = await api.post(resident, f"/alerts/{alert_id}/cancel", {"pin": "9999"})
        assert answer.status_code == 200, answer.text
        after_pin = answer.json()
        assert after_pin["state"] == "cancelled"
        assert after_pin["closed_at"] is not None
        streamed = await phone.until(
            lambda m: m["type"] == "alert_status" and m["alert_id"] == alert_id and m["state"] == "cancelled"
        )
        read_after_pin = await _phone_view(api, resident, alert_id)
        assert read_after_pin == (after_pin, after_pin)
        # The last change the PIN made: a phone whose stream drops now resumes from here.
        escalated = await console.event("escalated", alert_id)

        # Staff act on it, as they must: acknowledge, send the on-duty officer's unit, write a note.
        acknowledged = await api.post(operator, f"/alerts/{alert_id}/acknowledge")
        assert acknowledged.status_code == 200, acknowledged.text
        dispatched = await api.post(operator, f"/alerts/{alert_id}/dispatch", {"unit_id": officer.unit_id})
        assert dispatched.status_code == 200, dispatched.text
        assert dispatched.json()["state"] == "dispatched"
        noted = await api.post(operator, f"/alerts/{alert_id}/notes", {"text": "Penelepon dipaksa, kirim diam-diam"})
        assert noted.status_code == 200, noted.text
        await console.event("note", alert_id)  # every change has reached the streams

        assert await _phone_view(api, resident, alert_id) == read_after_pin
        assert _latest_status(phone, alert_id) == streamed

        # The unit gets there and the alert is closed: the phone still shows the same cancelled alert.
        for step in ("en-route", "on-scene"):
            assert (await api.post(officer, f"/alerts/{alert_id}/{step}")).status_code == 200
        resolved = await api.post(
            officer, f"/alerts/{alert_id}/resolve", {"outcome": "genuine", "report": "Korban aman"}
        )
        assert resolved.status_code == 200, resolved.text
        await console.event("resolved", alert_id)
        assert await _phone_view(api, resident, alert_id) == read_after_pin
        assert _latest_status(phone, alert_id) == streamed

    # A phone that reconnects from just after the PIN catches up on what staff did meanwhile (the closed alert is
    # no longer in its snapshot), and is told about its alert exactly what it was told right after the PIN.
    async with stream(live, "resident", resident, cursor=escalated["cursor"]) as again:
        told = await again.until(lambda m: m["type"] == "alert_status" and m["alert_id"] == alert_id)
        assert told == streamed
