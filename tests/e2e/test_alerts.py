"""Alerts through the API: one press is one alert, exactly one operator wins, duress, pranks and suspension."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from siaga.accounts.domain import Role
from siaga.alerts.models import Alert, AlertEvent, AlertLocation
from tests.conftest import Api, sos_body


async def _count(api: Api, model: type, **where: object) -> int:
    async with api.runtime.unit_of_work() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(await session.scalar(query) or 0)


async def test_the_same_press_sent_twice_is_one_alert(api: Api) -> None:
    resident = await api.resident()
    body = sos_body()
    first = await api.http.post("/api/v1/alerts", json=body, headers=resident.headers)
    again = await api.http.post("/api/v1/alerts", json=body, headers=resident.headers)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert await _count(api, Alert) == 1
    assert await _count(api, AlertEvent) == 1


async def test_the_same_press_racing_in_parallel_is_still_one_alert(api: Api) -> None:
    resident = await api.resident()
    body = sos_body()
    answers = await asyncio.gather(
        *(api.http.post("/api/v1/alerts", json=body, headers=resident.headers) for _ in range(6))
    )
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert {a.json()["id"] for a in answers} == {body["id"]}
    assert await _count(api, Alert) == 1


async def test_an_id_reused_for_a_different_press_is_a_conflict(api: Api) -> None:
    resident = await api.resident()
    body = sos_body()
    await api.http.post("/api/v1/alerts", json=body, headers=resident.headers)
    changed = {**body, "category": "kebakaran"}
    answer = await api.http.post("/api/v1/alerts", json=changed, headers=resident.headers)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "alert.id_reused"

    stranger = await api.resident()
    stolen = await api.http.post("/api/v1/alerts", json=body, headers=stranger.headers)
    assert stolen.status_code == 409
    assert "Warga" not in stolen.text  # says nothing about the other resident's alert


async def test_exactly_one_of_many_racing_operators_acknowledges(api: Api) -> None:
    resident = await api.resident()
    operators = [await api.staff(Role.OPERATOR, name=f"Operator {i}") for i in range(5)]
    alert = await api.press(resident)
    answers = await asyncio.gather(*(api.post(op, f"/alerts/{alert['id']}/acknowledge") for op in operators))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == 4, statuses
    winner = operators[statuses.index(200)]
    for answer in answers:
        if answer.status_code == 409:
            error = answer.json()["error"]
            assert error["code"] == "alert.already_acknowledged"
            assert winner.name in error["message"]
    assert await _count(api, AlertEvent, kind="acknowledged") == 1


async def test_every_step_is_a_timeline_event_with_who_and_where(api: Api) -> None:
    resident = await api.resident(name="Dewi")
    operator = await api.staff(Role.OPERATOR, name="Operator Budi")
    alert = await api.press(resident, lat=-6.9025, lon=107.6188)
    await api.post(operator, f"/alerts/{alert['id']}/acknowledge", {"where": {"lat": -6.91, "lon": 107.61}})
    await api.post(operator, f"/alerts/{alert['id']}/notes", {"text": "Penelepon tidak menjawab"})
    events = (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
    assert [(e["kind"], e["actor_name"]) for e in events] == [
        ("created", "Dewi"),
        ("acknowledged", "Operator Budi"),
        ("note", "Operator Budi"),
    ]
    assert (events[0]["lat"], events[0]["lon"]) == (-6.9025, 107.6188)
    assert (events[1]["lat"], events[1]["lon"]) == (-6.91, 107.61)
    assert events[2]["data"]["text"] == "Penelepon tidak menjawab"


async def test_cancel_with_the_pin_closes_the_alert(api: Api) -> None:
    resident = await api.resident()
    operator = await api.staff(Role.OPERATOR)
    alert = await api.press(resident)
    answer = await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "1234"})
    assert answer.status_code == 200
    assert answer.json()["state"] == "cancelled"
    staff_view = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert staff_view["state"] == "cancelled"
    assert staff_view["duress"] is False


async def test_the_duress_pin_looks_cancelled_to_the_resident_and_escalates_for_staff(api: Api) -> None:
    resident = await api.resident()
    operator = await api.staff(Role.OPERATOR)
    alert = await api.press(resident)
    await api.post(operator, f"/alerts/{alert['id']}/acknowledge")

    answer = await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "9999"})
    assert answer.status_code == 200
    assert answer.json()["state"] == "cancelled"
    assert answer.json()["officer_names"] == []
    assert (await api.get(resident, f"/alerts/{alert['id']}")).json()["state"] == "cancelled"
    mine = (await api.get(resident, "/alerts")).json()
    assert [a["state"] for a in mine] == ["cancelled"]

    staff_view = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert staff_view["state"] == "acknowledged"
    assert staff_view["duress"] is True
    assert staff_view["escalated"] is True
    assert staff_view["priority"] == "critical"

    # Whatever the phone is then made to do, the alert stays open for staff.
    again = await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "1234"})
    assert again.json()["state"] == "cancelled"
    assert (await api.get(operator, f"/alerts/{alert['id']}")).json()["state"] == "acknowledged"
    # The phone keeps sending its location: the trail is still accepted.
    trail = await api.post(resident, f"/alerts/{alert['id']}/locations", {"points": [{"lat": -6.89, "lon": 107.61}]})
    assert trail.status_code == 200


async def test_the_trail_grows_while_active_and_stops_when_closed(api: Api) -> None:
    resident = await api.resident()
    operator = await api.staff(Role.OPERATOR)
    alert = await api.press(resident)
    points = [
        {"lat": -6.8916, "lon": 107.6108, "accuracy_m": 10, "recorded_at": "2026-11-23T01:00:05+07:00"},
        {"lat": -6.8917, "lon": 107.6109, "accuracy_m": 8, "recorded_at": "2026-11-23T01:00:10+07:00"},
    ]
    answer = await api.post(resident, f"/alerts/{alert['id']}/locations", {"points": points, "battery": 50})
    assert answer.json() == {"stored": 2, "active": True}
    trail = (await api.get(operator, f"/alerts/{alert['id']}/trail")).json()
    assert len(trail) == 3
    staff_view = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (staff_view["lat"], staff_view["lon"], staff_view["battery"]) == (-6.8917, 107.6109, 50)

    await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "1234"})
    closed = await api.post(resident, f"/alerts/{alert['id']}/locations", {"points": points[:1]})
    assert closed.status_code == 409
    assert closed.json()["error"]["code"] == "alert.closed"
    assert await _count(api, AlertLocation) == 3


async def test_a_prank_adds_a_strike_and_a_suspended_residents_sos_is_still_delivered_flagged(api: Api) -> None:
    resident = await api.resident(name="Iseng")
    operator = await api.staff(Role.OPERATOR)
    supervisor = await api.staff(Role.SUPERVISOR)
    alert = await api.press(resident)
    await api.post(operator, f"/alerts/{alert['id']}/acknowledge")
    resolved = await api.post(operator, f"/alerts/{alert['id']}/resolve", {"outcome": "prank", "report": "iseng"})
    assert resolved.json()["outcome"] == "prank"
    profile = (await api.get(supervisor, f"/residents/{resident.id}")).json()
    assert profile["strikes"] == 1

    suspended = await api.post(supervisor, f"/residents/{resident.id}/suspend", {"reason": "tiga kali iseng"})
    assert suspended.json()["suspended"] is True

    second = await api.press(resident)
    assert second["state"] == "new"
    staff_view = (await api.get(operator, f"/alerts/{second['id']}")).json()
    assert staff_view["resident_suspended"] is True
    events = (await api.get(operator, f"/alerts/{second['id']}/timeline")).json()
    assert [e["kind"] for e in events] == ["created", "flagged"]
    assert events[1]["data"]["reason"] == "resident_suspended"

    reinstated = await api.post(supervisor, f"/residents/{resident.id}/reinstate", {"reason": "banding diterima"})
    assert reinstated.json()["suspended"] is False
    history = (await api.get(supervisor, f"/residents/{resident.id}/moderation")).json()
    assert [h["kind"] for h in history] == ["strike", "suspend", "reinstate"]


async def test_an_operator_may_not_suspend_but_a_supervisor_may(api: Api) -> None:
    resident = await api.resident()
    operator = await api.staff(Role.OPERATOR)
    await api.press(resident)
    answer = await api.post(operator, f"/residents/{resident.id}/suspend", {"reason": "coba"})
    assert answer.status_code == 403


async def test_a_press_outside_every_kecamatan_goes_to_the_default_agency(api: Api) -> None:
    resident = await api.resident()
    admin = await api.staff(Role.ADMIN)
    jakarta = await api.press(resident, lat=-6.2, lon=106.8)
    view = (await api.get(admin, f"/alerts/{jakarta['id']}")).json()
    assert view["agency_code"] == "BDG-CC"
    assert view["placement"] == "default"
    assert view["jurisdiction_code"] is None


async def test_a_press_from_a_phone_without_any_fix_reaches_the_command_centre_and_takes_its_first_point(
    api: Api,
) -> None:
    resident = await api.resident(name="Tanpa GPS")
    operator = await api.staff(Role.OPERATOR)  # of the command centre, above every Polsek
    body = sos_body()
    del body["location"]
    answer = await api.http.post("/api/v1/alerts", json=body, headers=resident.headers)
    assert answer.status_code == 201, answer.text
    view = (await api.get(operator, f"/alerts/{body['id']}")).json()
    assert (view["agency_code"], view["placement"], view["jurisdiction_code"]) == ("BDG-CC", "no_location", None)
    assert view["accuracy_m"] is None
    timeline = (await api.get(operator, f"/alerts/{body['id']}/timeline")).json()
    assert {"kind": "flagged", "reason": "no_location"} in [
        {"kind": e["kind"], "reason": e["data"].get("reason")} for e in timeline
    ]
    assert (await api.get(operator, f"/alerts/{body['id']}/trail")).json() == []
    # The same press retried (the phone's outbox) is the same alert, with or without "location": null.
    again = await api.http.post("/api/v1/alerts", json={**body, "location": None}, headers=resident.headers)
    assert again.status_code in (200, 201), again.text
    assert await _count(api, Alert) == 1

    # The phone finds its position later: the alert moves there.
    point = {"lat": -6.9039, "lon": 107.6186, "accuracy_m": 25}
    sent = await api.post(resident, f"/alerts/{body['id']}/locations", {"points": [point]})
    assert sent.status_code == 200, sent.text
    view = (await api.get(operator, f"/alerts/{body['id']}")).json()
    assert (view["lat"], view["lon"], view["accuracy_m"]) == (-6.9039, 107.6186, 25)


async def test_a_press_just_outside_the_city_goes_to_the_nearest_kecamatan(api: Api) -> None:
    resident = await api.resident()
    admin = await api.staff(Role.ADMIN)
    # A few hundred metres north of Cidadap's boundary, in Kabupaten Bandung Barat.
    placed = (await api.get(admin, "/placement", lat=-6.8355, lon=107.6035)).json()
    assert placed["method"] in {"nearest", "inside"}
    alert = await api.press(resident, lat=-6.8355, lon=107.6035)
    view = (await api.get(admin, f"/alerts/{alert['id']}")).json()
    assert view["jurisdiction_code"] == placed["jurisdiction_code"]
    assert view["agency_code"] == placed["agency_code"]


async def test_staff_lists_show_only_their_agencys_alerts(api: Api) -> None:
    resident = await api.resident()
    coblong = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    sukajadi = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
    centre = await api.staff(Role.OPERATOR, "BDG-CC")
    alert = await api.press(resident)  # Coblong
    assert [a["id"] for a in (await api.get(coblong, "/alerts", active=True)).json()] == [alert["id"]]
    assert (await api.get(sukajadi, "/alerts")).json() == []
    assert [a["id"] for a in (await api.get(centre, "/alerts")).json()] == [alert["id"]]
    assert (await api.get(sukajadi, f"/alerts/{alert['id']}")).status_code == 404


async def test_logins_are_audited_whether_they_succeed_or_fail(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    bad = await api.http.post("/api/v1/auth/login", json={"username": admin.extra["username"], "password": "nope"})
    assert bad.status_code == 401
    records = (await api.get(admin, "/audit", action="staff.login")).json()
    assert [r["outcome"] for r in records] == ["failure", "success"]
    assert {r["actor_name"] for r in records} == {admin.extra["username"]}


async def test_health_and_openapi_describe_the_service(api: Api) -> None:
    health = await api.http.get("/healthz")
    assert health.json()["status"] == "ok"
    spec = (await api.http.get("/openapi.json")).json()
    press = spec["paths"]["/api/v1/alerts"]["post"]
    assert {"201", "409", "422", "413"} <= set(press["responses"])
    acknowledge = spec["paths"]["/api/v1/alerts/{alert_id}/acknowledge"]["post"]
    assert "409" in acknowledge["responses"]


async def test_an_unknown_alert_id_is_a_404_for_everyone(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    answer = await api.get(admin, f"/alerts/{uuid.uuid4()}")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "alert.not_found"


async def test_an_expired_session_still_raises_an_sos_flagged_but_a_revoked_one_does_not(api: Api) -> None:
    from sqlalchemy import update

    from siaga.accounts.models import AuthSession
    from siaga.db import utcnow

    resident = await api.resident()
    operator = await api.staff(Role.OPERATOR)
    async with api.runtime.unit_of_work() as session:
        await session.execute(
            update(AuthSession).where(AuthSession.resident_id == uuid.UUID(resident.id)).values(expires_at=utcnow())
        )
    api.runtime.principals.forget_all()  # the server remembers a session for a few seconds; this one "aged" at once
    assert (await api.get(resident, "/residents/me")).status_code == 401
    alert = await api.press(resident)
    events = (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
    assert [(e["kind"], e["data"].get("reason")) for e in events] == [("created", None), ("flagged", "session_expired")]
    trail = await api.post(resident, f"/alerts/{alert['id']}/locations", {"points": [{"lat": -6.89, "lon": 107.61}]})
    assert trail.status_code == 200

    other = await api.resident()
    assert (await api.post(other, "/auth/logout")).status_code == 204
    refused = await api.http.post("/api/v1/alerts", json=sos_body(), headers=other.headers)
    assert refused.status_code == 401


async def test_a_duress_pin_after_staff_closed_the_alert_raises_a_new_silent_critical_alert(api: Api) -> None:
    resident = await api.resident()
    operator = await api.staff(Role.OPERATOR)
    alert = await api.press(resident)
    await api.post(operator, f"/alerts/{alert['id']}/acknowledge")
    await api.post(operator, f"/alerts/{alert['id']}/resolve", {"outcome": "false_alarm", "report": "Tidak sengaja"})
    answer = await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "9999"})
    assert answer.status_code == 200
    assert answer.json()["state"] == "cancelled"
    active = (await api.get(operator, "/alerts", active=True)).json()
    assert len(active) == 1
    fresh = active[0]
    assert fresh["id"] != alert["id"]
    assert (fresh["duress"], fresh["priority"], fresh["silent"], fresh["escalated"]) == (True, "critical", True, True)
    assert alert["id"] in fresh["description"]
    assert fresh["follows_id"] == alert["id"]
    # The resident's phone still sees nothing but its one "cancelled" alert: no second entry gives it away.
    mine = (await api.get(resident, "/alerts")).json()
    assert [(a["id"], a["state"]) for a in mine] == [(alert["id"], "cancelled")]
    assert (await api.get(resident, f"/alerts/{fresh['id']}")).status_code == 404
