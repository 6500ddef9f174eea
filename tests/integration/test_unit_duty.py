"""A unit on an active alert cannot silently leave (issue 12): its last officer on duty is refused, or hands the
alert back explicitly, and the alert then returns to dispatch with a timeline event and a new offer or an escalation.
No unit is left assigned while off duty; no alert is left dispatched to nobody."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.alerts.models import Alert
from siaga.responders.models import DutyPeriod, UnitStatus
from siaga.runtime import Runtime
from tests.conftest import Api, Person
from tests.integration.test_dispatch import (
    COBLONG,
    NEIGHBOUR,
    board_state,
    city,
    enable_direct_offers,
    error_code,
    escalations,
    eventually,
    moved,
    my_offer,
    offers_reach,
    officer,
    on_duty_at,
    timeline,
    unit,
)
from tests.integration.test_escalation_semantics import assert_someone_is_responsible

__all__ = ["city"]  # the fixture, used by name
RESPONDING = ("assigned", "en_route", "on_scene")


async def assert_no_unit_responds_off_duty(runtime: Runtime) -> None:
    """Every unit responding to an alert has an officer on duty."""
    async with runtime.read_sessions() as session:
        responding = (await session.scalars(select(UnitStatus).where(UnitStatus.state.in_(RESPONDING)))).all()
        for status in responding:
            on_duty = await session.scalar(
                select(DutyPeriod.id).where(DutyPeriod.unit_id == status.unit_id, DutyPeriod.ended_at.is_(None))
            )
            assert on_duty is not None, f"unit {status.unit_id} is {status.state} with nobody on duty"


async def t2_running(runtime: Runtime, alert_id: str) -> bool:
    async with runtime.read_sessions() as session:
        due = await session.scalar(select(Alert.dispatch_due_at).where(Alert.id == uuid.UUID(alert_id)))
    return due is not None


async def accepted(api: Api, who: Person, alert_id: str) -> None:
    await offers_reach(api.runtime, alert_id, {unit(who): "pending"})
    offer = await my_offer(api, who, alert_id)
    answer = await api.post(who, f"/offers/{offer['id']}/accept")
    assert answer.status_code == 200, answer.text


async def off_duty(api: Api, who: Person, **params: Any) -> Any:
    return await api.http.delete("/api/v1/officers/me/duty", headers=who.headers, params=params)


async def test_an_officer_on_an_alert_is_refused_going_off_duty_without_handing_it_back(city: Api) -> None:
    api = city
    await enable_direct_offers(api, size=1, radius_m=1_000, timeout_s=600)
    operator = await api.staff(Role.OPERATOR)
    asep = await officer(api, "COBLONG-91")
    await on_duty_at(api, asep, moved(COBLONG, north_m=300))
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    await accepted(api, asep, alert["id"])

    refused = await off_duty(api, asep)
    assert refused.status_code == 409, refused.text
    assert error_code(refused) == "officer.on_alert"
    assert refused.json()["error"]["details"]["alert_ids"] == [alert["id"]]
    # Nothing changed: still on duty, the unit still has the alert, the resident is still told who is coming.
    mine = (await api.get(asep, "/officers/me/duty")).json()
    assert mine["on_duty"] is True
    assert await board_state(api, operator, asep) == "assigned"
    seen = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (seen["state"], seen["unit_id"]) == ("dispatched", unit(asep))
    assert [e["kind"] for e in await timeline(api, operator, alert["id"])].count("handed_back") == 0
    await assert_no_unit_responds_off_duty(api.runtime)


async def test_handing_back_an_alert_nobody_else_holds_escalates_it_and_offers_it_to_another_unit(city: Api) -> None:
    api = city
    await enable_direct_offers(api, size=1, radius_m=1_000, timeout_s=600)
    operator = await api.staff(Role.OPERATOR)
    resident = await api.resident(name="Siti")
    asep = await officer(api, "COBLONG-92")
    budi = await officer(api, "COBLONG-93")
    await on_duty_at(api, asep, moved(COBLONG, north_m=300))
    await on_duty_at(api, budi, moved(COBLONG, east_m=600))  # farther: not asked while Asep is
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    await accepted(api, asep, alert["id"])
    before = (await api.get(resident, f"/alerts/{alert['id']}")).json()
    assert before["unit_callsign"] == "COBLONG-92"

    gone = await off_duty(api, asep, hand_back="true")
    assert gone.status_code == 200, gone.text
    assert gone.json()["state"] == "off_duty"
    assert await board_state(api, operator, asep) == "off_duty"

    seen = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (seen["state"], seen["unit_id"], seen["escalated"]) == ("new", None, True)
    assert await t2_running(api.runtime, alert["id"])  # T2 runs again
    events = await timeline(api, operator, alert["id"])
    handed = [e for e in events if e["kind"] == "handed_back"]
    assert len(handed) == 1
    assert (handed[0]["actor_name"], handed[0]["data"]) == (asep.name, {"unit_id": unit(asep), "reason": "off_duty"})
    escalated = [e["data"] for e in events if e["kind"] == "escalated"]
    assert [d["reason"] for d in escalated] == ["handed_back"]
    assert NEIGHBOUR in escalated[0]["agencies"]
    assert escalated[0]["supervisors"], "the escalation reached nobody"
    assert (await escalations(api.runtime, alert["id"]))[NEIGHBOUR] == "handed_back"
    # A new round of offers finds the next unit.
    await offers_reach(api.runtime, alert["id"], {unit(budi): "pending"})
    # The resident is no longer told that Asep is coming.
    after = (await api.get(resident, f"/alerts/{alert['id']}")).json()
    assert (after["state"], after["unit_callsign"], after["officer_names"]) == ("new", None, [])
    await assert_no_unit_responds_off_duty(api.runtime)
    await assert_someone_is_responsible(api.runtime)


async def test_an_alert_an_operator_holds_goes_back_to_that_operator_when_the_unit_hands_it_back(city: Api) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR)
    asep = await officer(api, "COBLONG-94")
    await on_duty_at(api, asep, moved(COBLONG, north_m=300))
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    assert (await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit(asep)})).status_code == 200
    assert (await api.post(asep, f"/alerts/{alert['id']}/en-route")).status_code == 200

    gone = await off_duty(api, asep, hand_back="true")
    assert gone.status_code == 200, gone.text
    seen = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (seen["state"], seen["unit_id"], seen["acknowledged_by"]) == ("acknowledged", None, operator.name)
    assert seen["escalated"] is False  # the operator still holds it: no need to alert the neighbours
    assert await t2_running(api.runtime, alert["id"])  # and T2 escalates if no unit takes it in time
    kinds = [e["kind"] for e in await timeline(api, operator, alert["id"])]
    assert kinds[-1] == "handed_back"
    await assert_no_unit_responds_off_duty(api.runtime)
    await assert_someone_is_responsible(api.runtime)


async def test_an_officer_whose_colleague_stays_on_duty_leaves_and_the_unit_keeps_the_alert(city: Api) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR)
    driver = await officer(api, "COBLONG-95")
    partner = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-95", name="Briptu Partner")
    assert partner.unit_id == driver.unit_id
    await on_duty_at(api, driver, moved(COBLONG, north_m=300))
    answer = await api.http.put("/api/v1/officers/me/duty", json={"mode": "patrol"}, headers=partner.headers)
    assert answer.status_code == 200, answer.text
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    assert (await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit(driver)})).status_code == 200

    gone = await off_duty(api, partner)
    assert gone.status_code == 200, gone.text
    assert gone.json()["state"] == "assigned"  # the driver is still on duty with the alert
    seen = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (seen["state"], seen["unit_id"]) == ("dispatched", unit(driver))
    # The last one on duty cannot leave without handing it back.
    assert (await off_duty(api, driver)).status_code == 409
    await assert_no_unit_responds_off_duty(api.runtime)


async def test_going_off_duty_when_free_still_just_works(city: Api) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR)
    asep = await officer(api, "COBLONG-96")
    await on_duty_at(api, asep, moved(COBLONG, north_m=300))
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    assert (await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit(asep)})).status_code == 200
    resolved = await api.post(asep, f"/alerts/{alert['id']}/resolve", {"outcome": "genuine", "report": "aman"})
    assert resolved.status_code == 200, resolved.text

    gone = await off_duty(api, asep)
    assert gone.status_code == 200, gone.text
    assert gone.json()["state"] == "off_duty"

    async def stored_off_duty() -> bool:
        async with api.runtime.read_sessions() as session:
            state = await session.scalar(select(UnitStatus.state).where(UnitStatus.unit_id == unit(asep)))
            unit_of_alert = await session.scalar(select(Alert.unit_id).where(Alert.id == uuid.UUID(alert["id"])))
        return state == "off_duty" and unit_of_alert == unit(asep)

    await eventually(stored_off_duty, "the unit off duty and the closed alert's record kept")


async def test_two_officers_of_a_unit_on_an_sos_leaving_at_once_leave_one_of_them_on_duty(city: Api) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR)
    driver = await officer(api, "COBLONG-97")
    partner = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-97", name="Briptu Rekan")
    await on_duty_at(api, driver, moved(COBLONG, north_m=300))
    answer = await api.http.put("/api/v1/officers/me/duty", json={"mode": "patrol"}, headers=partner.headers)
    assert answer.status_code == 200, answer.text
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    assert (await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit(driver)})).status_code == 200

    answers = await asyncio.gather(off_duty(api, driver), off_duty(api, partner))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    assert await board_state(api, operator, driver) == "assigned"
    seen = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (seen["state"], seen["unit_id"]) == ("dispatched", unit(driver))
    await assert_no_unit_responds_off_duty(api.runtime)


async def test_a_unit_that_lost_the_first_round_is_asked_again_after_a_hand_back(city: Api) -> None:
    api = city
    await enable_direct_offers(api, size=2, radius_m=1_000, timeout_s=600)
    asep = await officer(api, "COBLONG-98")
    budi = await officer(api, "COBLONG-99")
    await on_duty_at(api, asep, moved(COBLONG, north_m=300))
    await on_duty_at(api, budi, moved(COBLONG, east_m=-400))
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    await offers_reach(api.runtime, alert["id"], {unit(asep): "pending", unit(budi): "pending"})
    await accepted(api, asep, alert["id"])
    await offers_reach(api.runtime, alert["id"], {unit(budi): "taken"})

    assert (await off_duty(api, asep, hand_back="true")).status_code == 200
    # Budi lost the first round only because Asep was quicker: now he is the nearest unit free, and is asked again.
    await offers_reach(api.runtime, alert["id"], {unit(budi): "pending", unit(asep): "accepted"})
    again = await my_offer(api, budi, alert["id"])
    assert (await api.post(budi, f"/offers/{again['id']}/accept")).status_code == 200
    operator = await api.staff(Role.OPERATOR)
    seen = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (seen["state"], seen["unit_id"]) == ("dispatched", unit(budi))
    offered = [e["data"]["unit_ids"] for e in await timeline(api, operator, alert["id"]) if e["kind"] == "offered"]
    assert [sorted(units) for units in offered] == [sorted([unit(asep), unit(budi)]), [unit(budi)]]
    await assert_no_unit_responds_off_duty(api.runtime)
    await assert_someone_is_responsible(api.runtime)


async def test_an_operator_cannot_send_a_unit_nobody_is_on_duty_in(city: Api) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR)
    asep = await officer(api, "COBLONG-97")
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])

    never = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit(asep)})
    assert never.status_code == 409, never.text
    assert error_code(never) == "unit.off_duty"
    assert never.json()["error"]["details"]["callsign"] == "COBLONG-97"
    await on_duty_at(api, asep, moved(COBLONG, north_m=300))
    assert (await off_duty(api, asep)).status_code == 200
    left = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit(asep)})
    assert (left.status_code, error_code(left)) == (409, "unit.off_duty")
    # Nothing was written: the alert still waits for a unit, and its timeline has no dispatch.
    seen = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (seen["state"], seen["unit_id"]) == ("new", None)
    assert "dispatched" not in [e["kind"] for e in await timeline(api, operator, alert["id"])]
    await assert_no_unit_responds_off_duty(api.runtime)

    await api.on_duty(asep)
    sent = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit(asep)})
    assert sent.status_code == 200, sent.text
