"""One resident pressing again and again is one alert: every press is stored and answered, none refused, but they
join the resident's active alert (counted, on its trail, flagged at 2, 5, 10, 20, ... presses) instead of filling
the operators' queue with cards and the emergency contacts' phones with alarms.

Before, 1,000 presses in a minute from one account were 1,000 alerts: 475 of the 500 in an operator's queue, none
flagged, and 5,000 SMS to the resident's five contacts."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func, select

from siaga.accounts.domain import Role
from siaga.alerts.models import Alert, AlertPress
from siaga.notify.models import OutboundMessage
from siaga.runtime import Runtime
from tests.conftest import Api, Person, sos_body

CONTACTS = [{"name": f"Kontak {i}", "phone": f"0813-1111-22{i:02d}", "relation": "keluarga"} for i in range(5)]


async def _count(db: Runtime, query: Any) -> int:
    async with db.read_sessions() as session:
        return int(await session.scalar(query) or 0)


async def _resident_with_contacts(api: Api) -> Person:
    resident = await api.resident()
    answer = await api.http.patch(
        "/api/v1/residents/me", json={"emergency_contacts": CONTACTS}, headers=resident.headers
    )
    assert answer.status_code == 200, answer.text
    return resident


async def _press(api: Api, resident: Person, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    answer = await api.http.post("/api/v1/alerts", json=body, headers=resident.headers)
    return answer.status_code, answer.json()


async def test_a_flood_of_presses_is_one_flagged_alert_with_one_alarm_per_contact(api: Api, db: Runtime) -> None:
    resident = await _resident_with_contacts(api)
    bystander = await api.resident()
    operator = await api.staff(Role.OPERATOR)
    first = await api.press(resident)
    bodies = [sos_body(lat=-6.8915 + i * 1e-4) for i in range(29)]
    answers = [await _press(api, resident, body) for body in bodies[:9]]  # one by one...
    answers += await asyncio.gather(*(_press(api, resident, body) for body in bodies[9:]))  # ...and all at once
    assert {status for status, _ in answers} == {200}, answers  # stored and answered, none refused
    assert {view["id"] for _, view in answers} == {first["id"]}  # each joined the resident's alert
    mine = Alert.resident_id == uuid.UUID(resident.id)
    assert await _count(db, select(func.count()).select_from(Alert).where(mine)) == 1
    assert await _count(db, select(func.count()).select_from(AlertPress)) == 29  # every press durable
    alert = (await api.get(operator, f"/alerts/{first['id']}")).json()
    assert alert["press_count"] == 30
    assert len((await api.get(operator, f"/alerts/{first['id']}/trail")).json()) == 30  # where each press was
    flags = [
        e["data"]["count"]
        for e in (await api.get(operator, f"/alerts/{first['id']}/timeline")).json()
        if e["kind"] == "flagged" and e["data"].get("reason") == "repeated_presses"
    ]
    assert flags == sorted(flags), flags
    assert flags[-1] >= 20, flags  # flagged as the count grew...
    assert len(flags) <= 4, flags  # ...a few times, not 29
    alarms = select(func.count()).select_from(OutboundMessage).where(OutboundMessage.purpose == "emergency_contact")
    assert await _count(db, alarms) == len(CONTACTS)  # one alarm per contact, not one per press
    # The operator's queue holds one card for the resident, beside the bystander's own alert.
    other = await api.press(bystander)
    queue = (await api.get(operator, "/alerts", active="true")).json()
    assert sorted(a["id"] for a in queue) == sorted([first["id"], other["id"]])


async def test_a_joined_press_retried_is_the_same_press_and_another_reusing_its_id_is_refused(api: Api) -> None:
    resident = await api.resident()
    operator = await api.staff(Role.OPERATOR)
    first = await api.press(resident)
    again = sos_body()
    assert (await _press(api, resident, again))[0] == 200
    assert (await _press(api, resident, again))[0] == 200  # the phone retried: the same press, not counted twice
    assert (await api.get(operator, f"/alerts/{first['id']}")).json()["press_count"] == 2
    status, error = await _press(api, resident, {**again, "category": "kebakaran"})
    assert status == 409, error
    stranger = await api.resident()
    assert (await _press(api, stranger, again))[0] == 409  # someone else's id: refused, nothing said about it


async def test_after_the_alert_is_closed_a_press_opens_a_new_alert(api: Api) -> None:
    resident = await api.resident()
    operator = await api.staff(Role.OPERATOR)
    first = await api.press(resident)
    assert (await api.post(operator, f"/alerts/{first['id']}/acknowledge")).status_code == 200
    resolved = await api.post(
        operator, f"/alerts/{first['id']}/resolve", {"outcome": "genuine", "report": "Korban aman"}
    )
    assert resolved.status_code == 200, resolved.text
    status, view = await _press(api, resident, sos_body())
    assert status == 201
    assert view["id"] != first["id"]


async def test_presses_arriving_together_before_any_alert_open_one(api: Api, db: Runtime) -> None:
    resident = await api.resident()
    answers = await asyncio.gather(*(_press(api, resident, sos_body()) for _ in range(8)))
    assert sorted(status for status, _ in answers).count(201) >= 1, answers
    assert {status for status, _ in answers} <= {200, 201}, answers
    assert len({view["id"] for _, view in answers}) == 1, answers  # all of them are that one alert
    mine = Alert.resident_id == uuid.UUID(resident.id)
    assert await _count(db, select(func.count()).select_from(Alert).where(mine)) == 1
    assert await _count(db, select(Alert.press_count).where(mine)) == 8
