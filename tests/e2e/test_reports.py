"""Reports through the API: residents per kecamatan and week, alerts per day, response-time percentiles, outcomes and
the prank rate, strikes and suspensions, officers on duty over the day; exercise data kept apart; CSV downloads; who
may read them.

Everything is built through the public API (register, press, acknowledge, dispatch, respond, resolve, cancel,
suspend, go on and off duty). Only the clock is set afterwards, by direct SQL updates in this test file (never
through the app): each row's timestamps are moved into October 2026 so the figures do not depend on when the test
runs, and so the percentiles come out of times the test chose.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, update

from siaga.accounts.domain import Role
from siaga.accounts.models import AuthSession, ModerationRecord, Resident, Staff
from siaga.agencies import service as agencies
from siaga.alerts.models import Alert
from siaga.devices import service as devices
from siaga.devices.models import Site
from siaga.responders.models import DutyPeriod
from tests.conftest import Api, Person

WIB = timezone(timedelta(hours=7))
# Two ISO weeks: 2026-W41 (Mon 5 Oct to Sun 11 Oct) and 2026-W42 (Mon 12 Oct to Sun 18 Oct).
PERIOD = {"from": "2026-10-05", "to": "2026-10-18"}
COBLONG = (-6.8915, 107.6107)
SUKASARI = "32.73.01"
NIK_COBLONG = ("3273024506900001", "3273021507920003", "3273022001950004")
NIK_SUKASARI = "3273011203850002"


def wib(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=WIB)


async def set_clock(api: Api, model: Any, where: Any, **values: Any) -> None:
    """Move timestamps (test only): a direct SQL update of rows the API created."""
    async with api.runtime.unit_of_work() as session:
        await session.execute(update(model).where(where).values(**values))


async def registered(api: Api, name: str, nik: str | None, at: datetime, *, exercise: bool = False) -> Person:
    """A resident who registered (verified their phone, opening a session) at ``at``."""
    person = await api.resident(name=name)
    if nik is not None:
        answer = await api.http.patch("/api/v1/residents/me", json={"nik": nik}, headers=person.headers)
        assert answer.status_code == 200, answer.text
    resident_id = uuid.UUID(person.id)
    values: dict[str, Any] = {"created_at": at, "is_exercise": exercise}
    await set_clock(api, Resident, Resident.id == resident_id, **values)
    await set_clock(api, AuthSession, AuthSession.resident_id == resident_id, created_at=at)
    return person


@dataclass
class Response:
    """Seconds after the press for each step; None: the step did not happen."""

    acknowledge: float
    dispatch: float
    arrive: float
    resolve: float


async def handled(
    api: Api,
    resident: Person,
    at: datetime,
    times: Response,
    outcome: str,
    *,
    operator: Person,
    officer: Person,
    where: tuple[float, float] = COBLONG,
    category: str = "kriminalitas",
) -> str:
    """A press handled to the end through the API, then its clock set to ``at`` plus ``times``."""
    await api.on_duty(officer)
    alert = await api.press(resident, lat=where[0], lon=where[1], category=category)
    alert_id = alert["id"]
    assert (await api.post(operator, f"/alerts/{alert_id}/acknowledge")).status_code == 200
    dispatched = await api.post(operator, f"/alerts/{alert_id}/dispatch", {"unit_id": officer.unit_id})
    assert dispatched.status_code == 200, dispatched.text
    for step in ("en-route", "on-scene"):
        assert (await api.post(officer, f"/alerts/{alert_id}/{step}")).status_code == 200
    resolved = await api.post(officer, f"/alerts/{alert_id}/resolve", {"outcome": outcome, "report": "selesai"})
    assert resolved.status_code == 200, resolved.text
    await set_clock(
        api,
        Alert,
        Alert.id == uuid.UUID(alert_id),
        created_at=at,
        acknowledged_at=at + timedelta(seconds=times.acknowledge),
        dispatched_at=at + timedelta(seconds=times.dispatch),
        en_route_at=at + timedelta(seconds=times.dispatch + 5),
        on_scene_at=at + timedelta(seconds=times.arrive),
        closed_at=at + timedelta(seconds=times.resolve),
    )
    return str(alert_id)


async def report(api: Api, who: Person, name: str, **params: str) -> dict[str, Any]:
    answer = await api.get(who, f"/reports/{name}", **{**PERIOD, **params})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def row(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, f"{len(found)} rows match {match}"
    return found[0]


async def sukasari_point(api: Api, who: Person) -> tuple[float, float]:
    kecamatan = next(j for j in (await api.get(who, "/jurisdictions")).json() if j["code"] == SUKASARI)
    return kecamatan["centroid_lat"], kecamatan["centroid_lon"]


async def test_registered_and_active_residents_per_kecamatan_and_week(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-1")
    siti = await registered(api, "Siti", NIK_COBLONG[0], wib(1, 9))  # before the period
    await registered(api, "Budi", NIK_COBLONG[1], wib(13, 20))  # W42
    # 05:00 on Monday in Jakarta is still Sunday in UTC: the resident is new in W42, not W41.
    await registered(api, "Ani", NIK_SUKASARI, wib(12, 5))
    await registered(api, "Tanpa NIK", None, wib(6, 12))  # no NIK: 'unknown'
    await registered(api, "Latihan", NIK_COBLONG[2], wib(7, 8), exercise=True)
    await handled(api, siti, wib(7, 10), Response(10, 30, 300, 1000), "genuine", operator=operator, officer=officer)

    rows = (await report(api, admin, "residents"))["rows"]
    assert {r["week"] for r in rows} == {"2026-W41", "2026-W42"}
    coblong_41 = row(rows, week="2026-W41", kecamatan_code="32.73.02")
    assert (coblong_41["kecamatan_name"], coblong_41["registered"], coblong_41["new"]) == ("Coblong", 1, 0)
    assert coblong_41["active"] == 1  # Siti pressed SOS that week
    coblong_42 = row(rows, week="2026-W42", kecamatan_code="32.73.02")
    assert (coblong_42["registered"], coblong_42["new"], coblong_42["active"]) == (2, 1, 1)  # Budi opened a session
    assert row(rows, week="2026-W41", kecamatan_code=SUKASARI)["registered"] == 0
    sukasari_42 = row(rows, week="2026-W42", kecamatan_code=SUKASARI)
    assert (sukasari_42["registered"], sukasari_42["new"], sukasari_42["active"]) == (1, 1, 1)
    unknown_41 = row(rows, week="2026-W41", kecamatan_code="unknown")
    assert (unknown_41["registered"], unknown_41["new"], unknown_41["active"]) == (1, 1, 1)
    assert len({r["kecamatan_code"] for r in rows}) == 31  # Bandung's 30 kecamatan and 'unknown'
    assert sum(r["registered"] for r in rows if r["week"] == "2026-W42") == 4  # the exercise account is left out

    drills = (await report(api, admin, "residents", exercise="only"))["rows"]
    assert sum(r["registered"] for r in drills if r["week"] == "2026-W42") == 1
    assert row(drills, week="2026-W41", kecamatan_code="32.73.02")["new"] == 1
    both = (await report(api, admin, "residents", exercise="include"))["rows"]
    assert sum(r["registered"] for r in both if r["week"] == "2026-W42") == 5

    # The map's figures: the whole period per kecamatan.
    kecamatan = (await report(api, admin, "kecamatan"))["rows"]
    coblong = row(kecamatan, kecamatan_code="32.73.02")
    assert (coblong["registered"], coblong["new"], coblong["active"], coblong["alerts"]) == (2, 1, 2, 1)
    assert coblong["acknowledge_p50_s"] == 10.0
    assert coblong["arrive_p50_s"] == 300.0

    # A Polsek supervisor sees the kecamatan it serves, not the rest of the city nor 'unknown'.
    supervisor = await api.staff(Role.SUPERVISOR, "POLSEK-COBLONG")
    own = (await report(api, supervisor, "residents"))["rows"]
    assert {r["kecamatan_code"] for r in own} == {"32.73.02"}


async def test_response_time_percentiles_per_agency_and_week_and_outcome_shares(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    coblong_officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-1")
    sukasari_officer = await api.staff(Role.OFFICER, "POLSEK-SUKASARI", unit_callsign="SUKASARI-1")
    resident = await registered(api, "Siti", NIK_COBLONG[0], wib(1, 9))
    # Five alerts in Coblong in W41: to acknowledge 10, 20, 30, 40 and 100 s, and so on.
    steps = [(10, 30, 300, 1000), (20, 50, 400, 2000), (30, 60, 500, 3000), (40, 80, 600, 4000), (100, 200, 1000, 5000)]
    outcomes = ["genuine", "genuine", "prank", "false_alarm", "genuine"]
    for day, (times, outcome) in enumerate(zip(steps, outcomes, strict=True)):
        await handled(
            api, resident, wib(5 + day, 14), Response(*times), outcome, operator=operator, officer=coblong_officer
        )
    # A press cancelled by the resident: an alert with no response times.
    cancelled = await api.press(resident)
    assert (await api.post(resident, f"/alerts/{cancelled['id']}/cancel", {"pin": "1234"})).status_code == 200
    await set_clock(api, Alert, Alert.id == uuid.UUID(cancelled["id"]), created_at=wib(9, 1), closed_at=wib(9, 1, 1))
    # One alert in Sukasari in W42, and a drill in Coblong that real reports leave out.
    sukasari = await sukasari_point(api, admin)
    week_42 = Response(7, 9, 60, 600)
    await handled(
        api, resident, wib(14, 23), week_42, "genuine", operator=operator, officer=sukasari_officer, where=sukasari
    )
    drill = await registered(api, "Latihan", NIK_COBLONG[2], wib(1, 9), exercise=True)
    await handled(api, drill, wib(6, 9), Response(1, 2, 3, 4), "test", operator=operator, officer=coblong_officer)

    rows = (await report(api, admin, "response-times"))["rows"]
    coblong = row(rows, week="2026-W41", agency_code="POLSEK-COBLONG")
    assert coblong["agency_name"] == "Polsek Coblong"
    assert coblong["alerts"] == 6
    assert (coblong["acknowledge_n"], coblong["acknowledge_p50_s"], coblong["acknowledge_p90_s"]) == (5, 30.0, 76.0)
    assert (coblong["dispatch_p50_s"], coblong["dispatch_p90_s"]) == (60.0, 152.0)
    assert (coblong["arrive_n"], coblong["arrive_p50_s"], coblong["arrive_p90_s"]) == (5, 500.0, 840.0)
    assert (coblong["resolve_n"], coblong["resolve_p50_s"], coblong["resolve_p90_s"]) == (5, 3000.0, 4600.0)
    sukasari_row = row(rows, week="2026-W42", agency_code="POLSEK-SUKASARI")
    assert (sukasari_row["acknowledge_p50_s"], sukasari_row["arrive_p90_s"]) == (7.0, 60.0)
    assert row(rows, week="2026-W42", agency_code="all")["alerts"] == 1
    total = row(rows, week="all", agency_code="all")
    assert (total["alerts"], total["acknowledge_n"], total["acknowledge_p50_s"]) == (7, 6, 25.0)
    assert not [r for r in rows if r["week"] == "2026-W42" and r["agency_code"] == "POLSEK-COBLONG"]

    drills = (await report(api, admin, "response-times", exercise="only"))["rows"]
    assert row(drills, week="all", agency_code="all")["acknowledge_p50_s"] == 1.0

    outcome_rows = (await report(api, admin, "outcomes"))["rows"]
    week = row(outcome_rows, week="2026-W41")
    assert (week["alerts"], week["resolved"], week["cancelled"], week["open"]) == (6, 5, 1, 0)
    assert (week["genuine"], week["prank"], week["false_alarm"], week["test"]) == (3, 1, 1, 0)
    assert (week["prank_share"], week["genuine_share"]) == (0.2, 0.6)
    assert row(outcome_rows, week="all")["prank_share"] == pytest.approx(1 / 6, abs=1e-4)

    # The Polsek's supervisor sees their own agency only, and may not ask for another's.
    supervisor = await api.staff(Role.SUPERVISOR, "POLSEK-SUKASARI")
    own = (await report(api, supervisor, "response-times"))["rows"]
    assert {r["agency_code"] for r in own} == {"POLSEK-SUKASARI", "all"}
    refused = await api.get(supervisor, "/reports/response-times", agency="POLSEK-COBLONG")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "report.agency_scope"
    narrowed = await report(api, admin, "response-times", agency="POLSEK-SUKASARI")
    assert narrowed["period"]["agency_code"] == "POLSEK-SUKASARI"
    assert row(narrowed["rows"], week="all", agency_code="all")["alerts"] == 1


async def test_alerts_per_day_by_category_and_kecamatan_and_strikes_and_suspensions(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    supervisor = await api.staff(Role.SUPERVISOR)
    operator = await api.staff(Role.OPERATOR)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-1")
    prankster = await registered(api, "Iseng", NIK_COBLONG[1], wib(1, 9))
    siti = await registered(api, "Siti", NIK_COBLONG[0], wib(1, 9))
    quick = Response(10, 20, 30, 40)
    # 23:30 in Jakarta on 6 October is 16:30 UTC: the same day either way; 00:30 on the 8th is the 7th in UTC.
    await handled(api, siti, wib(6, 23, 30), quick, "genuine", operator=operator, officer=officer, category="kebakaran")
    await handled(api, siti, wib(8, 0, 30), quick, "genuine", operator=operator, officer=officer, category="kebakaran")
    await handled(api, siti, wib(8, 12), quick, "genuine", operator=operator, officer=officer, category="kesehatan")
    prank = await handled(api, prankster, wib(8, 13), quick, "prank", operator=operator, officer=officer)
    suspended = await api.post(supervisor, f"/residents/{prankster.id}/suspend", {"reason": "iseng berulang"})
    assert suspended.status_code == 200, suspended.text
    await set_clock(api, ModerationRecord, ModerationRecord.alert_id == uuid.UUID(prank), created_at=wib(8, 14))
    await set_clock(api, ModerationRecord, ModerationRecord.kind == "suspend", created_at=wib(13, 9))

    rows = (await report(api, admin, "alerts"))["rows"]
    assert [(r["day"], r["kecamatan_code"], r["category"], r["alerts"]) for r in rows] == [
        ("2026-10-06", "32.73.02", "kebakaran", 1),
        ("2026-10-08", "32.73.02", "kebakaran", 1),
        ("2026-10-08", "32.73.02", "kesehatan", 1),
        ("2026-10-08", "32.73.02", "kriminalitas", 1),
    ]
    assert rows[0]["kecamatan_name"] == "Coblong"

    moderation = await report(api, admin, "moderation")
    assert row(moderation["rows"], week="2026-W41")["strikes"] == 1
    assert row(moderation["rows"], week="2026-W42")["suspensions"] == 1
    assert row(moderation["rows"], week="all")["strikes"] == 1
    assert moderation["now"] == {"suspended": 1, "with_strikes": 1}
    kecamatan = row((await report(api, admin, "kecamatan"))["rows"], kecamatan_code="32.73.02")
    assert (kecamatan["alerts"], kecamatan["prank"], kecamatan["prank_rate"]) == (4, 1, 0.25)

    # Alerts CSV: the same rows, with a file name that says what and when.
    answer = await api.http.get(
        "/api/v1/reports/alerts.csv", params={**PERIOD, "exercise": "include"}, headers=admin.headers
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == (
        'attachment; filename="siaga-alerts_2026-10-05_2026-10-18_exercise-include.csv"'
    )
    table = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(table[0]) == ["day", "kecamatan_code", "kecamatan_name", "category", "alerts"]
    assert [(r["day"], r["category"], r["alerts"]) for r in table][-1] == ("2026-10-08", "kriminalitas", "1")


async def test_officers_on_duty_over_the_day(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    patrol = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-1")
    post = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-2")
    for officer, mode in ((patrol, "patrol"), (post, "post")):
        assert (await api.http.put("/api/v1/officers/me/duty", json={"mode": mode}, headers=officer.headers)).is_success
        assert (await api.http.delete("/api/v1/officers/me/duty", headers=officer.headers)).is_success
    # On 6 October: the patrol officer 08:00-10:30, the post officer 09:00-09:30 (WIB); nobody on the 7th.
    await set_clock(
        api, DutyPeriod, DutyPeriod.staff_id == int(patrol.id), started_at=wib(6, 8), ended_at=wib(6, 10, 30)
    )
    await set_clock(api, DutyPeriod, DutyPeriod.staff_id == int(post.id), started_at=wib(6, 9), ended_at=wib(6, 9, 30))

    answer = await api.get(admin, "/reports/duty", **{"from": "2026-10-06", "to": "2026-10-07"})
    assert answer.status_code == 200, answer.text
    hours = {r["hour"]: r for r in answer.json()["rows"]}
    assert sorted(hours) == list(range(24))
    assert (hours[7]["average_on_duty"], hours[7]["peak_on_duty"]) == (0.0, 0)
    assert (hours[8]["average_on_duty"], hours[8]["peak_on_duty"], hours[8]["average_patrol"]) == (0.5, 1, 0.5)
    assert (hours[9]["average_on_duty"], hours[9]["peak_on_duty"], hours[9]["average_post"]) == (0.75, 2, 0.25)
    assert (hours[10]["average_on_duty"], hours[10]["peak_on_duty"]) == (0.25, 1)

    # A drill's officer is exercise data.
    await set_clock(api, Staff, Staff.id == int(post.id), is_exercise=True)
    real = {r["hour"]: r for r in (await api.get(admin, "/reports/duty", **{"from": "2026-10-06"})).json()["rows"]}
    assert real[9]["peak_on_duty"] == 1


async def test_who_may_read_reports_and_what_a_bad_range_says(api: Api) -> None:
    resident = await api.resident()
    for role in (Role.OPERATOR, Role.OFFICER):
        staff = await api.staff(role, "POLSEK-COBLONG")
        answer = await api.get(staff, "/reports/residents")
        assert answer.status_code == 403, answer.text
    assert (await api.get(resident, "/reports/alerts.csv")).status_code == 403
    assert (await api.http.get("/api/v1/reports/outcomes")).status_code == 401

    supervisor = await api.staff(Role.SUPERVISOR, "POLSEK-COBLONG")
    default = await api.get(supervisor, "/reports/outcomes")
    assert default.status_code == 200
    period = default.json()["period"]
    assert (period["timezone"], period["exercise"]) == ("Asia/Jakarta", "exclude")
    assert len([r for r in default.json()["rows"] if r["week"] != "all"]) == 8  # eight ISO weeks by default

    backwards = await api.get(supervisor, "/reports/alerts", **{"from": "2026-10-18", "to": "2026-10-05"})
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "report.range"
    too_long = await api.get(supervisor, "/reports/alerts.csv", **{"from": "2025-01-01", "to": "2026-10-05"})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["code"] == "report.range_too_long"
    malformed = await api.get(supervisor, "/reports/alerts", **{"from": "5 Oktober"})
    assert malformed.status_code == 422
    assert malformed.json()["error"]["details"]["problems"][0]["field"] == "from"
    unknown_mode = await api.get(supervisor, "/reports/alerts", exercise="sometimes")
    assert unknown_mode.status_code == 422
    missing = await api.get(supervisor, "/reports/alerts", agency="POLSEK-ATLANTIS")
    assert missing.status_code == 404


async def test_a_panic_button_site_is_not_counted_as_a_resident(api: Api) -> None:
    """A site's caller row (which raises its buttons' alerts) is nobody who registered: neither registered, new nor
    active, though its alert counts among the alerts."""
    admin = await api.staff(Role.ADMIN)
    await registered(api, "Tanpa NIK", None, wib(6, 12))  # a person with no NIK: 'unknown', as the site would be
    async with api.runtime.read_sessions() as session:
        polsek = await agencies.agency_by_code(session, "POLSEK-COBLONG")
    body = {"name": "Bank Uji", "address": "Jl. Dago 1", "lat": COBLONG[0], "lon": COBLONG[1], "agency_id": polsek.id}
    site = await api.post(admin, "/devices/sites", body)
    assert site.status_code == 201, site.text
    button = await api.post(admin, "/devices", {"site_id": site.json()["id"], "name": f"btn-{uuid.uuid4().hex[:8]}"})
    assert button.status_code == 201, button.text
    topic = f"siaga/devices/{button.json()['name']}/event"
    await devices.receive(api.runtime, topic, json.dumps({"id": "p-1", "type": "panic"}).encode())
    async with api.runtime.read_sessions() as session:
        caller = await session.scalar(select(Site.resident_id).where(Site.id == site.json()["id"]))
    assert caller is not None
    await set_clock(api, Resident, Resident.id == caller, created_at=wib(7, 9))
    await set_clock(api, Alert, Alert.resident_id == caller, created_at=wib(7, 10))

    rows = (await report(api, admin, "residents"))["rows"]
    unknown_41 = row(rows, week="2026-W41", kecamatan_code="unknown")
    assert (unknown_41["registered"], unknown_41["new"], unknown_41["active"]) == (1, 1, 1)
    assert sum(r["registered"] for r in rows if r["week"] == "2026-W42") == 1
    coblong = row((await report(api, admin, "kecamatan"))["rows"], kecamatan_code="32.73.02")
    assert (coblong["registered"], coblong["active"], coblong["alerts"]) == (0, 0, 1)
    # Nor is it a resident an administrator moderates.
    listed = await api.get(admin, "/residents", limit="500")
    assert listed.status_code == 200, listed.text
    assert caller not in {r["id"] for r in listed.json()}
    assert "Tanpa NIK" in {r["name"] for r in listed.json()}
