"""Drills: an administrator makes synthetic residents and officers; they act through the public API like anyone
else; everything they raise is labelled an exercise; ending the drill takes them off duty and out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from siaga.accounts.domain import Role
from siaga.accounts.models import Resident, Staff
from siaga.alerts.models import Alert
from siaga.responders.models import Unit
from tests.conftest import Api, Person, eventually, sos_body
from tests.e2e.test_streams import COBLONG, Live, direct_offers, live, on_duty_near, stream

__all__ = ["live"]  # the fixture, used by name below


async def _coblong(api: Api, admin: Person) -> int:
    agencies = (await api.get(admin, "/agencies")).json()
    return int(next(a["id"] for a in agencies if a["code"] == "POLSEK-COBLONG"))


def _person(body: dict[str, Any], *, role: str = "resident") -> Person:
    return Person(
        token=body["access_token"],
        name=body["name"],
        id=str(body.get("resident_id") or body.get("staff_id")),
        role=role,
        unit_id=body.get("unit_id"),
    )


async def test_a_drill_residents_press_is_an_exercise_for_every_viewer_and_a_real_press_is_not(live: Live) -> None:
    api = live.api
    await direct_offers(api)
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    made = await api.post(admin, "/exercise/residents", {"count": 2})
    assert made.status_code == 201, made.text
    residents = [_person(r) for r in made.json()]
    assert len({r.id for r in residents}) == 2
    assert all(r.name.startswith("Warga Latihan") for r in residents)
    officers = await api.post(
        admin, "/exercise/officers", {"agency_id": await _coblong(api, admin), "count": 1, "kind": "motorbike"}
    )
    assert officers.status_code == 201, officers.text
    officer = _person(officers.json()[0], role="officer")
    real = await api.resident(name="Warga Sungguhan")

    await on_duty_near(live, officer, COBLONG[0] + 0.003, COBLONG[1])

    async with stream(live, "console", operator) as console:
        drill = await api.press(residents[0], lat=COBLONG[0], lon=COBLONG[1])
        genuine = await api.press(real, lat=COBLONG[0], lon=COBLONG[1])
        assert (await console.event("created", drill["id"]))["alert"]["is_exercise"] is True
        assert (await console.event("created", genuine["id"]))["alert"]["is_exercise"] is False

    staff_view = (await api.get(operator, f"/alerts/{drill['id']}")).json()
    assert staff_view["is_exercise"] is True
    assert (await api.get(operator, f"/alerts/{genuine['id']}")).json()["is_exercise"] is False

    # The exercise officer's unit takes part like any other: the drill's alert is offered to it and it can accept.
    # The offer is made after the press is committed, at the server's own pace: wait for it.
    async def offered() -> list[dict[str, Any]]:
        offers = (await api.get(officer, "/offers")).json()
        return [o for o in offers if o["alert_id"] == drill["id"]]

    mine = await eventually(offered, what="the drill's alert offered to the exercise officer's unit")
    accepted = await api.post(officer, f"/offers/{mine[0]['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert (await api.get(operator, f"/alerts/{drill['id']}")).json()["unit_id"] == officer.unit_id


async def test_exercise_officers_have_no_password_and_ending_the_drill_logs_every_exercise_account_out(
    api: Api,
) -> None:
    admin = await api.staff(Role.ADMIN)
    supervisor = await api.staff(Role.SUPERVISOR)
    coblong = await _coblong(api, admin)
    officer = _person((await api.post(admin, "/exercise/officers", {"agency_id": coblong, "count": 1})).json()[0])
    resident = _person((await api.post(admin, "/exercise/residents", {"count": 1})).json()[0])
    real = await api.resident(name="Warga Sungguhan")
    async with api.runtime.sessions() as session:
        username = await session.scalar(select(Staff.username).where(Staff.id == int(officer.id)))
    for password in ("!exercise", "", "correct horse battery"):
        login = await api.http.post("/api/v1/auth/login", json={"username": username, "password": password or "x"})
        assert login.status_code in (401, 422), login.text
    assert (await api.http.put("/api/v1/officers/me/duty", json={"mode": "post"}, headers=officer.headers)).is_success
    board = {u["unit_id"]: u for u in (await api.get(supervisor, "/units/board")).json()}
    assert board[officer.unit_id]["state"] == "available"

    ended = await api.post(admin, "/exercise/end")
    assert ended.status_code == 200, ended.text
    assert ended.json() == {"officers": 1, "residents": 1}

    assert (await api.get(officer, "/auth/me")).status_code == 401
    assert (await api.get(resident, "/residents/me")).status_code == 401
    assert (await api.get(real, "/residents/me")).status_code == 200, "a real resident was logged out by a drill"
    board = {u["unit_id"]: u for u in (await api.get(supervisor, "/units/board")).json()}
    assert officer.unit_id not in board, "an ended drill's unit still crowds the unit board"
    audit = (await api.get(admin, "/audit", action="exercise.end")).json()
    assert len(audit) == 1


async def test_bad_drill_requests_are_refused_and_create_nothing(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    coblong = await _coblong(api, admin)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/exercise/residents", {"count": 0}, "count"),
        ("/exercise/residents", {"count": 501}, "count"),
        ("/exercise/residents", {"count": 1, "phone": "0812"}, "phone"),
        ("/exercise/officers", {"agency_id": coblong, "count": 201}, "count"),
        ("/exercise/officers", {"agency_id": coblong, "count": 1, "kind": "helicopter"}, "kind"),
        ("/exercise/officers", {"agency_id": 999_999, "count": 1}, "agency_id"),
    ]
    for path, body, field in cases:
        answer = await api.post(admin, path, body)
        assert answer.status_code == 422, (path, body, answer.text)
        assert field in answer.text, (path, body, answer.text)
    async with api.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Staff).where(Staff.is_exercise)) == 0
        assert await session.scalar(select(func.count()).select_from(Resident).where(Resident.is_exercise)) == 0
        assert await session.scalar(select(func.count()).select_from(Unit).where(Unit.callsign.like("LAT-%"))) == 0


async def test_a_drill_press_with_a_revoked_session_is_refused_but_a_real_one_never_is(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    resident = _person((await api.post(admin, "/exercise/residents", {"count": 1})).json()[0])
    assert (await api.post(admin, "/exercise/end")).status_code == 200
    late = await api.http.post("/api/v1/alerts", json=sos_body(), headers=resident.headers)
    assert late.status_code == 401, late.text
    async with api.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Alert)) == 0


async def test_a_real_sos_goes_to_real_officers_only_unless_the_deployment_lets_drill_units_answer(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = live.api
    await direct_offers(api)
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    made = await api.post(admin, "/exercise/officers", {"agency_id": await _coblong(api, admin), "count": 1})
    drill_unit = _person(made.json()[0], role="officer")
    await on_duty_near(live, drill_unit, COBLONG[0] + 0.002, COBLONG[1])
    real = await api.resident(name="Warga Sungguhan")
    drill_resident = _person((await api.post(admin, "/exercise/residents", {"count": 1})).json()[0])

    genuine = await api.press(real, lat=COBLONG[0], lon=COBLONG[1])
    exercise = await api.press(drill_resident, lat=COBLONG[0], lon=COBLONG[1])
    recommended = (await api.get(operator, f"/alerts/{genuine['id']}/recommendations")).json()
    assert drill_unit.unit_id not in [r["unit_id"] for r in recommended]
    recommended = (await api.get(operator, f"/alerts/{exercise['id']}/recommendations")).json()
    assert drill_unit.unit_id in [r["unit_id"] for r in recommended]

    async def offered_alerts() -> set[str]:
        return {o["alert_id"] for o in (await api.get(drill_unit, "/offers")).json()}

    for _ in range(100):
        if exercise["id"] in await offered_alerts():
            break
        await asyncio.sleep(0.1)
    assert await offered_alerts() == {exercise["id"]}, "a drill unit was offered a real SOS"
    refused = await api.post(operator, f"/alerts/{genuine['id']}/dispatch", {"unit_id": drill_unit.unit_id})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "unit.exercise_only"
    assert (await api.get(operator, f"/alerts/{genuine['id']}")).json()["unit_id"] is None

    # The demo city, where the simulated officers are the only police, lets them answer real presses too.
    runtime = api.runtime
    monkeypatch.setattr(runtime.units.tracker, "exercise_units_answer_real_alerts", True)
    monkeypatch.setattr(
        runtime, "settings", runtime.settings.model_copy(update={"exercise_units_answer_real_alerts": True})
    )
    recommended = (await api.get(operator, f"/alerts/{genuine['id']}/recommendations")).json()
    assert drill_unit.unit_id in [r["unit_id"] for r in recommended]
    taken = await api.post(operator, f"/alerts/{genuine['id']}/dispatch", {"unit_id": drill_unit.unit_id})
    assert taken.status_code == 200, taken.text


async def test_ending_a_drill_hands_back_what_its_units_hold_so_no_sos_is_left_with_nobody(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    made = await api.post(admin, "/exercise/officers", {"agency_id": await _coblong(api, admin), "count": 2})
    drill_units = [_person(body, role="officer") for body in made.json()]
    drill_resident = _person((await api.post(admin, "/exercise/residents", {"count": 1})).json()[0])
    for officer in drill_units:
        await api.on_duty(officer)
    # The demo city lets drill units answer real presses: one holds a real SOS, the other a drill's.
    monkeypatch.setattr(
        api.runtime, "settings", api.runtime.settings.model_copy(update={"exercise_units_answer_real_alerts": True})
    )
    genuine = await api.press(await api.resident(name="Warga Sungguhan"), lat=COBLONG[0], lon=COBLONG[1])
    exercise = await api.press(drill_resident, lat=COBLONG[0], lon=COBLONG[1])
    for alert, officer in ((genuine, drill_units[0]), (exercise, drill_units[1])):
        sent = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": officer.unit_id})
        assert sent.status_code == 200, sent.text
    assert (await api.post(drill_units[0], f"/alerts/{genuine['id']}/en-route")).status_code == 200

    assert (await api.post(admin, "/exercise/end")).status_code == 200

    for alert in (genuine, exercise):
        seen = (await api.get(operator, f"/alerts/{alert['id']}")).json()
        assert (seen["state"], seen["unit_id"]) == ("acknowledged", None), "an SOS stayed with a drill that ended"
        kinds = [e["kind"] for e in (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()]
        assert kinds.count("handed_back") == 1
    board = {u["unit_id"]: u["state"] for u in (await api.get(admin, "/units/board")).json()}
    assert not {u.unit_id for u in drill_units} & set(board), "an ended drill's unit is still on the board"
    async with api.runtime.read_sessions() as session:
        held = await session.scalar(
            select(func.count()).select_from(Alert).where(Alert.unit_id.in_([u.unit_id for u in drill_units]))
        )
    assert held == 0
