"""The README walk-through, through the API: register, press, acknowledge, dispatch, respond, resolve."""

from __future__ import annotations

from siaga.accounts.domain import Role
from tests.conftest import Api


async def test_a_press_goes_from_resident_to_resolved_with_timings_and_timeline(api: Api) -> None:
    resident = await api.resident(name="Siti Rahma")
    operator = await api.staff(Role.OPERATOR)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-9", name="Bripka Asep")

    await api.on_duty(officer)
    alert = await api.press(resident)
    assert alert["state"] == "new"

    staff_view = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert staff_view["agency_code"] == "POLSEK-COBLONG"
    assert staff_view["jurisdiction_name"] == "Coblong"
    assert staff_view["resident"]["name"] == "Siti Rahma"

    assert (await api.post(operator, f"/alerts/{alert['id']}/acknowledge")).status_code == 200
    dispatched = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": officer.unit_id})
    assert dispatched.json()["unit_callsign"] == "COBLONG-9"

    seen = (await api.get(resident, f"/alerts/{alert['id']}")).json()
    assert seen["state"] == "dispatched"
    assert seen["officer_names"] == ["Bripka Asep"]

    assert (await api.post(officer, f"/alerts/{alert['id']}/en-route")).json()["state"] == "en_route"
    assert (await api.post(officer, f"/alerts/{alert['id']}/on-scene")).json()["state"] == "on_scene"
    resolved = await api.post(officer, f"/alerts/{alert['id']}/resolve", {"outcome": "genuine", "report": "aman"})
    body = resolved.json()
    assert body["state"] == "resolved"
    timings = body["timings"]
    assert (
        0 <= timings["to_acknowledge_s"] <= timings["to_dispatch_s"] <= timings["to_arrive_s"] <= timings["to_close_s"]
    )

    timeline = (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
    assert [e["kind"] for e in timeline] == [
        "created",
        "acknowledged",
        "dispatched",
        "en_route",
        "on_scene",
        "resolved",
    ]
    assert [e["actor_name"] for e in timeline][-1] == "Bripka Asep"
