"""Dispatch end to end: recommendations, unit states, direct offers in rings, escalation, position retention and
notifications. People act through the API; timers are driven through the runtime's sweep, as a clock would."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select, update

from siaga.accounts.domain import Role
from siaga.agencies.models import Agency
from siaga.alerts.models import Alert, AlertEscalation, AlertEvent, AlertOffer
from siaga.app import create_app
from siaga.db import utcnow
from siaga.notify.models import DeliveryAttempt, OutboundMessage
from siaga.notify.push import RecordedPush, RecordingPush
from siaga.notify.sms import DevSMS, HttpSMS
from siaga.responders import service as responders
from siaga.responders.models import PositionRecord
from siaga.runtime import Runtime
from tests.conftest import Api, Person

T = TypeVar("T")

DEADLINE = 15.0  # generous: these wait for something to happen, they never judge how fast
COBLONG = (-6.8915, 107.6107)  # near ITB, in Kecamatan Coblong (POLSEK-COBLONG)
NEIGHBOUR = "POLSEK-CIDADAP"  # Cidadap borders Coblong
FAR_AWAY = "POLSEK-GEDEBAGE"  # the other end of the city
EARTH_RADIUS_M = 6_371_008.8


# Geometry, independent of the code under test ---------------------------------------------------------------------


def moved(origin: tuple[float, float], *, north_m: float = 0.0, east_m: float = 0.0) -> tuple[float, float]:
    """A point ``north_m`` north and ``east_m`` east of ``origin`` (small distances)."""
    lat = origin[0] + math.degrees(north_m / EARTH_RADIUS_M)
    lon = origin[1] + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(origin[0]))))
    return lat, lon


def great_circle_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance by the Vincenty formula on a sphere (well conditioned at every distance)."""
    phi1, phi2 = math.radians(a[0]), math.radians(b[0])
    dlmb = math.radians(b[1] - a[1])
    y = math.hypot(
        math.cos(phi2) * math.sin(dlmb),
        math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlmb),
    )
    x = math.sin(phi1) * math.sin(phi2) + math.cos(phi1) * math.cos(phi2) * math.cos(dlmb)
    return EARTH_RADIUS_M * math.atan2(y, x)


# Waiting and looking ----------------------------------------------------------------------------------------------


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Poll ``probe`` until it gives something truthy (asynchronous effects), or fail after ``DEADLINE``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    last: T | None = None
    while loop.time() < end:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last seen: {last!r})")


@pytest.fixture
async def city(api: Api) -> Api:
    """The app running on a freshly seeded database, its unit tracker holding only this database's units (the
    runtime outlives each test's database, and its in-memory tracker would otherwise remember earlier tests')."""
    tracker = api.runtime.units.tracker
    for point in tracker.all():
        tracker.remove(point.unit_id)
    await api.runtime.units.reload()
    return api


async def officer(api: Api, callsign: str, agency: str = "POLSEK-COBLONG") -> Person:
    return await api.staff(Role.OFFICER, agency, unit_callsign=callsign, name=f"Petugas {callsign}")


def unit(person: Person) -> int:
    assert person.unit_id is not None
    return person.unit_id


async def on_duty_at(api: Api, who: Person, where: tuple[float, float], *, mode: str = "patrol") -> None:
    """The officer goes on duty and shares a position; wait until the process's tracker has both."""
    answer = await api.http.put("/api/v1/officers/me/duty", json={"mode": mode}, headers=who.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "available"
    sent = await api.post(who, "/officers/me/location", {"lat": where[0], "lon": where[1], "accuracy_m": 8})
    assert sent.status_code == 202, sent.text

    async def placed() -> bool:
        # Available, or already rung: an alert waiting for a unit near ``where`` is offered to it at once.
        point = api.runtime.units.tracker.get(unit(who))
        return point is not None and point.state in ("available", "offered") and (point.lat, point.lon) == where

    await eventually(placed, f"{who.name}'s position in the tracker")


async def tracker_state(api: Api, who: Person, state: str) -> None:
    async def reached() -> bool:
        point = api.runtime.units.tracker.get(unit(who))
        return point is not None and point.state == state

    await eventually(reached, f"{who.name} to be {state} in the tracker")


async def board_state(api: Api, viewer: Person, who: Person) -> str:
    answer = await api.get(viewer, "/units/board")
    assert answer.status_code == 200, answer.text
    states: list[str] = [u["state"] for u in answer.json() if u["unit_id"] == unit(who)]
    assert len(states) == 1, f"unit {unit(who)} is not on the board"
    return states[0]


async def board_reaches(api: Api, viewer: Person, who: Person, state: str) -> None:
    async def reached() -> bool:
        return await board_state(api, viewer, who) == state

    await eventually(reached, f"{who.name} to be {state} on the board")


async def enable_direct_offers(
    api: Api, *, agency: str = "POLSEK-COBLONG", size: int = 3, radius_m: float = 3000, timeout_s: int = 60
) -> None:
    admin = await api.staff(Role.ADMIN)
    body = {"direct_offers": True, "offer_size": size, "offer_timeout_seconds": timeout_s, "offer_radius_m": radius_m}
    answer = await api.http.put(f"/api/v1/agencies/{agency}/dispatch-settings", json=body, headers=admin.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "agency_code": agency,
        "ack_timeout_seconds": None,
        "dispatch_timeout_seconds": None,
        **body,
    }


async def offers(runtime: Runtime, alert_id: str) -> dict[int, AlertOffer]:
    """The alert's offers by unit."""
    async with runtime.read_sessions() as session:
        rows = await session.scalars(select(AlertOffer).where(AlertOffer.alert_id == uuid.UUID(alert_id)))
        return {o.unit_id: o for o in rows.all()}


async def offers_reach(runtime: Runtime, alert_id: str, wanted: dict[int, str]) -> dict[int, AlertOffer]:
    """Wait until the alert's offers to these units are in these states."""

    async def reached() -> dict[int, AlertOffer] | None:
        found = await offers(runtime, alert_id)
        return found if all(u in found and found[u].state == s for u, s in wanted.items()) else None

    return await eventually(reached, f"offers {wanted}")


async def my_offer(api: Api, who: Person, alert_id: str) -> dict[str, Any]:
    """The officer's pending offer for the alert, as their phone lists it."""
    answer = await api.get(who, "/offers")
    assert answer.status_code == 200, answer.text
    mine = [o for o in answer.json() if o["alert_id"] == alert_id]
    assert len(mine) == 1, answer.json()
    offer: dict[str, Any] = mine[0]
    return offer


async def timeline(api: Api, viewer: Person, alert_id: str) -> list[dict[str, Any]]:
    answer = await api.get(viewer, f"/alerts/{alert_id}/timeline")
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()
    return events


async def make_due(runtime: Runtime, alert_id: str, column: str) -> None:
    """Let a timer run out now (as the clock would)."""
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(Alert).where(Alert.id == uuid.UUID(alert_id)).values({column: utcnow() - timedelta(seconds=1)})
        )


async def escalations(runtime: Runtime, alert_id: str) -> dict[str, str]:
    """Agency code -> reason, for every agency the alert was escalated to."""
    async with runtime.read_sessions() as session:
        rows = await session.execute(
            select(Agency.code, AlertEscalation.reason)
            .join(Agency, Agency.id == AlertEscalation.agency_id)
            .where(AlertEscalation.alert_id == uuid.UUID(alert_id))
        )
        return {str(code): str(reason) for code, reason in rows.all()}


def error_code(answer: httpx.Response) -> str:
    code: str = answer.json()["error"]["code"]
    return code


# 1. Recommendations -----------------------------------------------------------------------------------------------


async def test_recommendations_list_the_nearest_available_units_first_and_dispatch_takes_one(city: Api) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR)
    near, middle, far = [await officer(api, f"COBLONG-{n}") for n in (11, 12, 13)]
    resting, busy = await officer(api, "COBLONG-14"), await officer(api, "COBLONG-15")
    spots = {
        unit(near): moved(COBLONG, north_m=400),
        unit(middle): moved(COBLONG, east_m=1_100),
        unit(far): moved(COBLONG, north_m=-1_600, east_m=-1_700),
        unit(resting): moved(COBLONG, north_m=80),  # nearest of all, but off duty
        unit(busy): moved(COBLONG, east_m=-150),  # nearer than the three, but on another alert
    }
    for who in (near, middle, far, resting, busy):
        await on_duty_at(api, who, spots[unit(who)])
    gone = await api.http.delete("/api/v1/officers/me/duty", headers=resting.headers)
    assert gone.status_code == 200, gone.text
    assert gone.json()["state"] == "off_duty"
    elsewhere = await api.press(await api.resident(name="Warga Lain"), lat=-6.9175, lon=107.6191)
    taken = await api.post(operator, f"/alerts/{elsewhere['id']}/dispatch", {"unit_id": unit(busy)})
    assert taken.status_code == 200, taken.text
    assert await board_state(api, operator, busy) == "assigned"
    await tracker_state(api, resting, "off_duty")
    await tracker_state(api, busy, "assigned")

    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    answer = await api.get(operator, f"/alerts/{alert['id']}/recommendations", count=10)
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert [r["unit_id"] for r in listed] == [unit(near), unit(middle), unit(far)]
    for row in listed:
        true_distance = great_circle_m(COBLONG, spots[row["unit_id"]])
        assert row["distance_m"] == pytest.approx(true_distance, abs=1.0)
        assert row["eta_s"] > 0
        assert (row["lat"], row["lon"]) == spots[row["unit_id"]]
        assert row["duty_mode"] == "patrol"
        assert row["callsign"].startswith("COBLONG-")
    assert [r["eta_s"] for r in listed] == sorted(r["eta_s"] for r in listed)
    assert len((await api.get(operator, f"/alerts/{alert['id']}/recommendations", count=2)).json()) == 2

    first = listed[0]["unit_id"]
    dispatched = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": first})
    assert dispatched.status_code == 200, dispatched.text
    assert dispatched.json()["state"] == "dispatched"
    assert dispatched.json()["unit_id"] == first
    assert await board_state(api, operator, near) == "assigned"
    assert await board_state(api, operator, middle) == "available"

    async def without_the_dispatched_unit() -> list[int] | None:
        again = await api.get(operator, f"/alerts/{alert['id']}/recommendations", count=10)
        ids = [r["unit_id"] for r in again.json()]
        return ids if first not in ids else None

    assert await eventually(without_the_dispatched_unit, "the dispatched unit to leave the list") == [
        unit(middle),
        unit(far),
    ]


async def test_a_polsek_operator_is_recommended_only_units_they_can_dispatch(city: Api) -> None:
    """The recommendation is "dispatch from this list with one action": a unit the operator may not dispatch
    (another Polsek's, outside their agency) must not head it, and its position is not theirs to see."""
    api = city
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    outsider = await officer(api, "SUKAJADI-21", "POLSEK-SUKAJADI")
    own = await officer(api, "COBLONG-21")
    await on_duty_at(api, outsider, moved(COBLONG, north_m=200))
    await on_duty_at(api, own, moved(COBLONG, north_m=900))
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])

    answer = await api.get(operator, f"/alerts/{alert['id']}/recommendations")
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert listed, "no unit recommended"
    dispatched = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": listed[0]["unit_id"]})
    assert dispatched.status_code == 200, (listed, dispatched.text)
    assert [r["unit_id"] for r in listed] == [unit(own)]


# 2. Unit states follow the alert ----------------------------------------------------------------------------------


async def test_unit_states_follow_the_alert_by_themselves(city: Api) -> None:
    api = city
    await enable_direct_offers(api)
    operator = await api.staff(Role.OPERATOR)
    asep = await officer(api, "COBLONG-31")
    resident = await api.resident(name="Siti")
    await on_duty_at(api, asep, moved(COBLONG, north_m=500))
    assert await board_state(api, operator, asep) == "available"

    # Offered, then assigned, en route, on scene, and free again once resolved.
    first = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    await board_reaches(api, operator, asep, "offered")
    await tracker_state(api, asep, "offered")
    offer = await my_offer(api, asep, first["id"])
    accepted = await api.post(asep, f"/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert await board_state(api, operator, asep) == "assigned"
    for step, state in (("en-route", "en_route"), ("on-scene", "on_scene")):
        answer = await api.post(asep, f"/alerts/{first['id']}/{step}")
        assert answer.status_code == 200, answer.text
        assert await board_state(api, operator, asep) == state
    resolved = await api.post(asep, f"/alerts/{first['id']}/resolve", {"outcome": "genuine", "report": "aman"})
    assert resolved.status_code == 200, resolved.text
    assert await board_state(api, operator, asep) == "available"
    await tracker_state(api, asep, "available")

    # The resident's cancel frees the unit too.
    second = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    await board_reaches(api, operator, asep, "offered")
    offer = await my_offer(api, asep, second["id"])
    assert (await api.post(asep, f"/offers/{offer['id']}/accept")).status_code == 200
    assert await board_state(api, operator, asep) == "assigned"
    cancelled = await api.post(resident, f"/alerts/{second['id']}/cancel", {"pin": "1234"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    assert await board_state(api, operator, asep) == "available"
    await tracker_state(api, asep, "available")

    # A unit reassigned by the operator is freed; the new one is assigned.
    budi = await officer(api, "COBLONG-32")
    await on_duty_at(api, budi, moved(COBLONG, east_m=700))
    third = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    await offers_reach(api.runtime, third["id"], {unit(asep): "pending", unit(budi): "pending"})
    assert (await api.post(operator, f"/alerts/{third['id']}/dispatch", {"unit_id": unit(asep)})).status_code == 200
    assert await board_state(api, operator, asep) == "assigned"
    assert await board_state(api, operator, budi) == "available"
    assert (await api.post(operator, f"/alerts/{third['id']}/dispatch", {"unit_id": unit(budi)})).status_code == 200
    assert await board_state(api, operator, asep) == "available"
    assert await board_state(api, operator, budi) == "assigned"

    # Off duty.
    off = await api.http.delete("/api/v1/officers/me/duty", headers=asep.headers)
    assert off.status_code == 200, off.text
    assert off.json()["state"] == "off_duty"
    assert await board_state(api, operator, asep) == "off_duty"
    await tracker_state(api, asep, "off_duty")
    # Off duty, the phone no longer shares its position.
    refused = await api.post(asep, "/officers/me/location", {"lat": COBLONG[0], "lon": COBLONG[1]})
    assert refused.status_code == 422, refused.text
    assert error_code(refused) == "officer.off_duty"


# 3. Direct offers in rings ----------------------------------------------------------------------------------------


async def three_officers(api: Api) -> tuple[Person, Person, Person]:
    """Two officers inside the first ring (1 km) and one in the second (2 km)."""
    a, b, c = [await officer(api, f"COBLONG-4{n}") for n in (1, 2, 3)]
    await on_duty_at(api, a, moved(COBLONG, north_m=300))
    await on_duty_at(api, b, moved(COBLONG, east_m=-600))
    await on_duty_at(api, c, moved(COBLONG, north_m=-1_500))
    return a, b, c


async def test_offers_go_to_the_nearest_ring_first_then_widen_when_it_times_out(city: Api) -> None:
    api = city
    await enable_direct_offers(api, size=2, radius_m=1_000, timeout_s=60)
    operator = await api.staff(Role.OPERATOR)
    a, b, c = await three_officers(api)
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])

    ring1 = await offers_reach(api.runtime, alert["id"], {unit(a): "pending", unit(b): "pending"})
    assert unit(c) not in ring1
    assert {o.ring for o in ring1.values()} == {1}
    assert ring1[unit(a)].distance_m == pytest.approx(300, abs=1)
    assert (await api.get(c, "/offers")).json() == []
    assert await board_state(api, operator, c) == "available"
    for who in (a, b):
        assert await board_state(api, operator, who) == "offered"
    # The first ring is not widened before its time is up.
    await api.runtime.timers.sweep()
    assert unit(c) not in await offers(api.runtime, alert["id"])

    await make_due(api.runtime, alert["id"], "offer_due_at")
    await api.runtime.timers.sweep()
    after = await offers_reach(api.runtime, alert["id"], {unit(a): "expired", unit(b): "expired", unit(c): "pending"})
    assert after[unit(c)].ring == 2
    assert after[unit(c)].distance_m == pytest.approx(1_500, abs=1)
    assert (await my_offer(api, c, alert["id"]))["ring"] == 2
    events = await timeline(api, operator, alert["id"])
    expired = [e for e in events if e["kind"] == "offer_expired"]
    assert len(expired) == 1
    assert sorted(expired[0]["data"]["unit_ids"]) == sorted([unit(a), unit(b)])
    offered = [e["data"] for e in events if e["kind"] == "offered"]
    assert [(d["ring"], sorted(d["unit_ids"])) for d in offered] == [
        (1, sorted([unit(a), unit(b)])),
        (2, [unit(c)]),
    ]
    for who in (a, b):
        assert await board_state(api, operator, who) == "available"
    assert await board_state(api, operator, c) == "offered"

    # The expired offer can no longer be taken; the current one can.
    late = await api.post(a, f"/offers/{ring1[unit(a)].id}/accept")
    assert late.status_code == 409, late.text
    assert error_code(late) == "offer.expired"
    taken = await api.post(c, f"/offers/{after[unit(c)].id}/accept")
    assert taken.status_code == 200, taken.text
    assert taken.json()["unit_id"] == unit(c)


async def test_when_everyone_in_a_ring_declines_the_next_ring_is_asked_without_waiting(city: Api) -> None:
    api = city
    await enable_direct_offers(api, size=2, radius_m=1_000, timeout_s=600)  # the timeout never runs out here
    a, b, c = await three_officers(api)
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    await offers_reach(api.runtime, alert["id"], {unit(a): "pending", unit(b): "pending"})

    first = await my_offer(api, a, alert["id"])
    declined = await api.post(a, f"/offers/{first['id']}/decline")
    assert declined.status_code == 200, declined.text
    assert declined.json()["state"] == "declined"
    again = await api.post(a, f"/offers/{first['id']}/decline")
    assert again.status_code == 409
    assert error_code(again) == "offer.declined"
    # One of two declined: the ring is still waiting for the other.
    await api.runtime.timers.sweep()
    assert unit(c) not in await offers(api.runtime, alert["id"])

    second = await my_offer(api, b, alert["id"])
    assert (await api.post(b, f"/offers/{second['id']}/decline")).status_code == 200
    # Nobody is left to answer the first ring: its timer is due now, not when the ring would have timed out.
    async with api.runtime.read_sessions() as session:
        due = await session.scalar(select(Alert.offer_due_at).where(Alert.id == uuid.UUID(alert["id"])))
    assert due is not None
    assert due <= utcnow(), "the last decline of a ring did not make the next ring due"
    widened = await offers_reach(
        api.runtime, alert["id"], {unit(a): "declined", unit(b): "declined", unit(c): "pending"}
    )
    assert widened[unit(c)].ring == 2
    operator = await api.staff(Role.OPERATOR)
    kinds = [e["kind"] for e in await timeline(api, operator, alert["id"])]
    assert kinds.count("offer_declined") == 2
    assert "offer_expired" not in kinds


async def test_the_operator_overrides_pending_offers_and_a_late_accept_is_told_it_is_taken(city: Api) -> None:
    api = city
    await enable_direct_offers(api, size=2, radius_m=1_000, timeout_s=600)
    operator = await api.staff(Role.OPERATOR)
    a, b, c = await three_officers(api)
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    ring1 = await offers_reach(api.runtime, alert["id"], {unit(a): "pending", unit(b): "pending"})

    dispatched = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit(c)})
    assert dispatched.status_code == 200, dispatched.text
    after = await offers(api.runtime, alert["id"])
    assert {after[unit(a)].state, after[unit(b)].state} == {"taken"}
    assert unit(c) not in after
    for who in (a, b):
        assert (await api.get(who, "/offers")).json() == []
        late = await api.post(who, f"/offers/{ring1[unit(who)].id}/accept")
        assert late.status_code == 409, late.text
        assert error_code(late) == "offer.taken"
        assert await board_state(api, operator, who) == "available"
    assert await board_state(api, operator, c) == "assigned"
    withdrawn = [e["data"] for e in await timeline(api, operator, alert["id"]) if e["kind"] == "offers_withdrawn"]
    assert len(withdrawn) == 1
    assert sorted(withdrawn[0]["unit_ids"]) == sorted([unit(a), unit(b)])
    assert withdrawn[0]["taken_by"] == unit(c)
    # The alert stays with the operator's choice.
    read = await api.get(operator, f"/alerts/{alert['id']}")
    assert read.json()["unit_id"] == unit(c)


async def test_an_officer_coming_on_duty_after_every_ring_was_empty_is_still_offered_the_alert(city: Api) -> None:
    """Nobody in reach: the alert waits at the widest ring for a unit (offer_next_ring). An officer who comes on
    duty near it afterwards is asked at once, without waiting for any timer."""
    api = city
    await enable_direct_offers(api, size=2, radius_m=1_000, timeout_s=600)
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])

    async def rings_tried() -> bool:
        async with api.runtime.read_sessions() as session:
            ring = await session.scalar(select(Alert.offer_ring).where(Alert.id == uuid.UUID(alert["id"])))
        return bool(ring)

    await eventually(rings_tried, "the first offer round")
    assert await offers(api.runtime, alert["id"]) == {}

    latecomer = await officer(api, "COBLONG-51")
    await on_duty_at(api, latecomer, moved(COBLONG, north_m=400))
    await offers_reach(api.runtime, alert["id"], {unit(latecomer): "pending"})


async def test_an_officer_going_off_duty_while_an_offer_rings_is_off_duty_and_no_longer_asked(city: Api) -> None:
    api = city
    await enable_direct_offers(api, size=1, radius_m=1_000, timeout_s=600)
    operator = await api.staff(Role.OPERATOR)
    asep = await officer(api, "COBLONG-52")
    await on_duty_at(api, asep, moved(COBLONG, north_m=300))
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    await offers_reach(api.runtime, alert["id"], {unit(asep): "pending"})

    off = await api.http.delete("/api/v1/officers/me/duty", headers=asep.headers)
    assert off.status_code == 200, off.text
    assert off.json()["state"] == "off_duty"
    assert await board_state(api, operator, asep) == "off_duty"
    assert (await api.get(asep, "/offers")).json() == []


# 4. Escalation ----------------------------------------------------------------------------------------------------


async def test_no_officer_in_time_escalates_to_the_neighbouring_polsek_once(city: Api) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR)
    neighbour = await api.staff(Role.OPERATOR, NEIGHBOUR)
    stranger = await api.staff(Role.OPERATOR, FAR_AWAY)
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    assert (await api.get(neighbour, f"/alerts/{alert['id']}")).status_code == 404
    assert await escalations(api.runtime, alert["id"]) == {}
    # Acknowledged is not enough: T2 is about an officer.
    assert (await api.post(operator, f"/alerts/{alert['id']}/acknowledge")).status_code == 200

    await make_due(api.runtime, alert["id"], "dispatch_due_at")
    await api.runtime.timers.sweep()

    async def escalated() -> list[dict[str, Any]]:
        return [e for e in await timeline(api, operator, alert["id"]) if e["kind"] == "escalated"]

    events = await eventually(escalated, "the escalated event")
    assert events[0]["data"]["reason"] == "no_officer"
    assert events[0]["actor_kind"] == "system"
    rows = await escalations(api.runtime, alert["id"])
    assert rows[NEIGHBOUR] == "no_officer"
    assert rows["POLRESTABES-BDG"] == "no_officer"
    assert "POLSEK-COBLONG" not in rows
    assert FAR_AWAY not in rows
    assert set(events[0]["data"]["agencies"]) >= {NEIGHBOUR, "POLRESTABES-BDG"}

    seen = await api.get(neighbour, f"/alerts/{alert['id']}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["escalated"] is True
    assert (await api.get(stranger, f"/alerts/{alert['id']}")).status_code == 404

    # The timer is spent: more sweeps change nothing.
    await api.runtime.timers.sweep()
    await api.runtime.timers.sweep()
    assert len(await escalated()) == 1
    async with api.runtime.read_sessions() as session:
        due = await session.scalar(select(Alert.dispatch_due_at).where(Alert.id == uuid.UUID(alert["id"])))
    assert due is None


async def test_the_duress_pin_escalates_at_once(city: Api) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR)
    neighbour = await api.staff(Role.OPERATOR, NEIGHBOUR)
    resident = await api.resident()
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    assert (await api.get(neighbour, f"/alerts/{alert['id']}")).status_code == 404

    answer = await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "9999"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "cancelled"  # what the phone shows
    # No timer, no waiting: the escalation was written with the cancel.
    rows = await escalations(api.runtime, alert["id"])
    assert rows.get(NEIGHBOUR) == "duress"
    assert rows.get("POLRESTABES-BDG") == "duress"
    seen = await api.get(neighbour, f"/alerts/{alert['id']}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["duress"] is True
    assert seen.json()["state"] != "cancelled"
    kinds = {e["kind"]: e["data"] for e in await timeline(api, operator, alert["id"])}
    assert kinds["escalated"]["reason"] == "duress"


@asynccontextmanager
async def serving(runtime: Runtime) -> AsyncIterator[Api]:
    """The app running on ``runtime`` for the duration of the block (its timers included)."""
    app = create_app(runtime.settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        app.state.runtime = runtime
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://siaga.test") as http:
            yield Api(http=http, runtime=runtime)


async def test_timers_live_in_the_database_and_fire_once_after_a_restart(db: Runtime) -> None:
    async with serving(db) as api:
        alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    # The process is gone; another one starts on the same database and its clock runs out the T2 timer.
    second = Runtime.build(db.settings)
    try:
        await make_due(second, alert["id"], "dispatch_due_at")
        assert await second.timers.sweep() == 1
        assert await second.timers.sweep() == 0
        assert await db.timers.sweep() == 0  # nor in any other process
        async with second.read_sessions() as session:
            kinds = (
                await session.scalars(
                    select(AlertEvent.kind).where(AlertEvent.alert_id == uuid.UUID(alert["id"])).order_by(AlertEvent.id)
                )
            ).all()
        assert list(kinds).count("escalated") == 1
        assert (await escalations(second, alert["id"])).get(NEIGHBOUR) == "no_officer"
    finally:
        await second.close()


# 5. Position retention --------------------------------------------------------------------------------------------


async def test_old_positions_are_purged_unless_they_belong_to_an_alert(city: Api) -> None:
    api = city
    runtime = api.runtime
    operator = await api.staff(Role.OPERATOR)
    idle, busy = await officer(api, "COBLONG-61"), await officer(api, "COBLONG-62")
    await on_duty_at(api, idle, moved(COBLONG, north_m=300))
    await on_duty_at(api, busy, moved(COBLONG, north_m=600))
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    assert (await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit(busy)})).status_code == 200

    retention = timedelta(hours=runtime.settings.position_retention_hours)
    old = (utcnow() - retention - timedelta(hours=1)).isoformat()
    recent = (utcnow() - retention + timedelta(hours=1)).isoformat()
    for who, at in ((idle, old), (idle, recent), (busy, old)):
        body = {"lat": COBLONG[0], "lon": COBLONG[1], "recorded_at": at}
        assert (await api.post(who, "/officers/me/location", body)).status_code == 202

    async def stored() -> list[PositionRecord] | None:
        async with runtime.read_sessions() as session:
            rows = list((await session.scalars(select(PositionRecord).order_by(PositionRecord.id))).all())
        return rows if len(rows) == 5 else None  # two from going on duty, three above

    rows = await eventually(stored, "the position batch to be written")
    tied = [r for r in rows if r.alert_id is not None]
    assert [(r.unit_id, str(r.alert_id)) for r in tied] == [(unit(busy), alert["id"])]

    async with runtime.unit_of_work() as session:
        # (The timer sweep also purges, every few minutes: if it just did, there is nothing left for this call.)
        assert await responders.purge_positions(session, older_than=retention) in (0, 1)
    async with runtime.read_sessions() as session:
        kept = list((await session.scalars(select(PositionRecord))).all())
    assert len(kept) == 4
    old_ones = [r for r in kept if r.recorded_at < utcnow() - retention]
    assert [(r.unit_id, str(r.alert_id)) for r in old_ones] == [(unit(busy), alert["id"])]
    # Purging again finds nothing more.
    async with runtime.unit_of_work() as session:
        assert await responders.purge_positions(session, older_than=retention) == 0


# 6. Notifications -------------------------------------------------------------------------------------------------


async def with_contacts(api: Api, resident: Person, phones: list[str], *, agree: bool = True) -> list[str]:
    """Give the resident emergency contacts, who agree to be ones through the SMS asking them (unless not
    ``agree``); returns their numbers as stored (E.164)."""
    contacts = [{"name": f"Keluarga {n}", "phone": p, "relation": "keluarga"} for n, p in enumerate(phones)]
    answer = await api.http.patch(
        "/api/v1/residents/me", json={"emergency_contacts": contacts}, headers=resident.headers
    )
    assert answer.status_code == 200, answer.text
    stored: list[str] = [c["phone"] for c in answer.json()["emergency_contacts"]]
    assert len(stored) == len(phones)
    if agree:
        for phone in stored:
            code = await consent_code(api, phone, asked_by=resident.name)
            assert (await api.http.post(f"/k/{code}/setuju")).status_code == 200
    return stored


CONSENT_LINK = re.compile(r"/k/([A-Za-z0-9_-]+)")


async def consent_code(api: Api, phone: str, *, asked_by: str) -> str:
    """The code in the SMS that asked this number's consent for the resident named ``asked_by`` (sent after the
    commit, by the app's own worker)."""
    assert isinstance(api.runtime.sms, DevSMS)
    sms = api.runtime.sms

    async def asked() -> str | None:
        sent = sms.read(to=phone)
        found = [CONSENT_LINK.search(m["body"]) for m in sent if f"{asked_by} mencantumkan" in m["body"]]
        return found[-1].group(1) if found and found[-1] else None

    return await eventually(asked, f"the SMS asking {phone} to be an emergency contact")


def alarms_to(sms: DevSMS, phone: str) -> list[dict[str, str]]:
    """What a contact was told about alarms (not the SMS that asked whether they agree to be one)."""
    return [m for m in sms.read(to=phone) if "mencantumkan" not in m["body"]]


async def messages_for(runtime: Runtime, alert_id: str) -> list[OutboundMessage]:
    async with runtime.read_sessions() as session:
        rows = await session.scalars(
            select(OutboundMessage).where(OutboundMessage.alert_id == alert_id).order_by(OutboundMessage.id)
        )
        return list(rows.all())


async def attempts_for(runtime: Runtime, message_id: int) -> list[DeliveryAttempt]:
    async with runtime.read_sessions() as session:
        rows = await session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.message_id == message_id).order_by(DeliveryAttempt.id)
        )
        return list(rows.all())


async def test_emergency_contacts_get_an_sms_through_the_development_adapter(
    city: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = city
    # No time to cancel a press by mistake here (that is tests/integration/test_contact_alarms.py).
    monkeypatch.setattr(api.runtime.settings, "contact_alarm_delay_seconds", 0)
    resident = await api.resident(name="Siti Aminah")
    contacts = await with_contacts(api, resident, ["081299990001", "081299990002"])
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])

    queued = await messages_for(api.runtime, alert["id"])
    assert [(m.channel, m.purpose, m.recipient) for m in queued] == [
        ("sms", "emergency_contact", contacts[0]),
        ("sms", "emergency_contact", contacts[1]),
    ]
    assert isinstance(api.runtime.sms, DevSMS)
    sms = api.runtime.sms

    async def delivered() -> list[OutboundMessage] | None:
        rows = await messages_for(api.runtime, alert["id"])
        return rows if all(m.status == "sent" for m in rows) else None

    for message in await eventually(delivered, "both SMS to be sent"):
        assert message.attempts == 1
        attempts = await attempts_for(api.runtime, message.id)
        assert [(a.ok, a.error) for a in attempts] == [(True, "")]
    for phone in contacts:
        received = alarms_to(sms, phone)
        assert len(received) == 1
        assert "Siti Aminah" in received[0]["body"]
        assert f"mlat={COBLONG[0]:.5f}&mlon={COBLONG[1]:.5f}" in received[0]["body"]  # a map link
        assert "Kec. Coblong" in received[0]["body"]


@asynccontextmanager
async def recording_push(runtime: Runtime) -> AsyncIterator[RecordingPush]:
    """Web Push on ``runtime`` recorded instead of sent, for the block."""
    original = runtime.push
    recorder = RecordingPush()
    runtime.push = recorder
    try:
        yield recorder
    finally:
        runtime.push = original


def browser_keys() -> dict[str, str]:
    """What a browser's PushSubscription.toJSON() holds: a P-256 public key and a 16-byte auth secret."""
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {
        "p256dh": base64.urlsafe_b64encode(point).rstrip(b"=").decode(),
        "auth": base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode(),
    }


async def test_offers_and_assignments_ring_the_officers_phone_by_web_push(city: Api) -> None:
    api = city
    async with recording_push(api.runtime) as recorder:
        await enable_direct_offers(api)
        operator = await api.staff(Role.OPERATOR)
        asep = await officer(api, "COBLONG-71")
        endpoint = f"https://push.example/send/{uuid.uuid4().hex}"
        subscribed = await api.post(
            asep, "/officers/me/push-subscription", {"endpoint": endpoint, "keys": browser_keys()}
        )
        assert subscribed.status_code == 204, subscribed.text
        await on_duty_at(api, asep, moved(COBLONG, north_m=250))
        alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])

        async def pushed(kind: str) -> list[RecordedPush]:
            return [m for m in recorder.messages(endpoint=endpoint) if m.payload.get("type") == kind]

        ring = (await eventually(lambda: pushed("offer"), "the offer push"))[0].payload
        offer = await my_offer(api, asep, alert["id"])
        assert ring["alert_id"] == alert["id"]
        assert ring["offer_id"] == offer["id"]
        assert ring["category"] == "kriminalitas"
        assert ring["url"] == f"/officer#alert={alert['id']}"  # a tap opens the officer app on this alert

        answer = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit(asep)})
        assert answer.status_code == 200, answer.text
        assignment = (await eventually(lambda: pushed("assignment"), "the assignment push"))[0].payload
        assert assignment["alert_id"] == alert["id"]
        assert assignment["offer_id"] is None

        async def sent() -> list[OutboundMessage] | None:
            rows = [m for m in await messages_for(api.runtime, alert["id"]) if m.channel == "push"]
            return rows if len(rows) == 2 and all(m.status == "sent" for m in rows) else None

        rows = await eventually(sent, "both pushes recorded as sent")
        assert sorted(m.purpose for m in rows) == ["assignment", "offer"]
        assert all(json.loads(m.body)["alert_id"] == alert["id"] for m in rows)
        assert len(recorder.messages(endpoint=endpoint)) == 2


async def test_a_failing_sms_gateway_is_recorded_and_shown_on_the_console(
    city: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR)
    resident = await api.resident(name="Siti")
    contacts = await with_contacts(api, resident, ["081299990003"])
    monkeypatch.setattr(api.runtime.settings, "contact_alarm_delay_seconds", 0)
    api.runtime.sms = HttpSMS(url="http://127.0.0.1:9/sms", token="t", sender="SIAGA", timeout=5.0)  # nobody there
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    assert alert["state"] == "new"  # the SOS itself is safe whatever the gateway does

    async def failed() -> OutboundMessage | None:
        rows = await messages_for(api.runtime, alert["id"])
        return rows[0] if rows and rows[0].status == "failed" else None

    message = await eventually(failed, "the SMS to fail")
    assert message.recipient == contacts[0]
    assert message.last_error
    attempts = await attempts_for(api.runtime, message.id)
    assert attempts
    assert attempts[0].ok is False
    assert "unreachable" in attempts[0].error

    async def on_the_timeline() -> list[dict[str, Any]]:
        return [e for e in await timeline(api, operator, alert["id"]) if e["kind"] == "delivery_failed"]

    shown = (await eventually(on_the_timeline, "a delivery_failed event"))[0]
    assert shown["data"]["channel"] == "sms"
    assert shown["data"]["purpose"] == "emergency_contact"
    assert shown["data"]["attempt"] == 1
    assert shown["data"]["final"] is False
    assert "unreachable" in shown["data"]["error"]
    # The alert carries the failure too, so a console opened later (or reloaded) still shows it.
    assert (await api.get(operator, f"/alerts/{alert['id']}")).json()["delivery_failed"] is True
    async with api.runtime.read_sessions() as session:
        state = await session.scalar(select(Alert.state).where(Alert.id == uuid.UUID(alert["id"])))
        total = await session.scalar(select(func.count()).select_from(Alert))
    assert (state, total) == ("new", 1)


async def test_an_agencys_own_escalation_timers_run_on_its_new_alerts_and_others_keep_the_servers(city: Api) -> None:
    api = city
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    path = "/api/v1/agencies/POLSEK-COBLONG/dispatch-settings"
    wrong = {"direct_offers": False, "ack_timeout_seconds": 120, "dispatch_timeout_seconds": 90}
    refused = await api.http.put(path, json=wrong, headers=admin.headers)
    assert refused.status_code == 422, refused.text
    assert "longer than ack_timeout_seconds" in refused.text
    body = {"direct_offers": False, "ack_timeout_seconds": 20, "dispatch_timeout_seconds": 75}
    assert (await api.http.put(path, json=body, headers=admin.headers)).status_code == 200
    listed = {a["code"]: a for a in (await api.get(admin, "/agencies")).json()}
    assert (listed["POLSEK-COBLONG"]["ack_timeout_seconds"], listed["POLSEK-COBLONG"]["dispatch_timeout_seconds"]) == (
        20,
        75,
    )
    assert listed["POLSEK-SUKAJADI"]["ack_timeout_seconds"] is None

    def due_after(alert: dict[str, Any], field: str) -> float:
        created = datetime.fromisoformat(alert["created_at"])
        return (datetime.fromisoformat(alert[field]) - created).total_seconds()

    coblong = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    seen = (await api.get(operator, f"/alerts/{coblong['id']}")).json()
    assert due_after(seen, "ack_due_at") == pytest.approx(20, abs=0.01)
    assert due_after(seen, "dispatch_due_at") == pytest.approx(75, abs=0.01)

    sukajadi = await api.press(await api.resident(), lat=-6.8850, lon=107.5900)
    seen = (await api.get(operator, f"/alerts/{sukajadi['id']}")).json()
    assert seen["agency_code"] != "POLSEK-COBLONG"
    settings = api.runtime.settings
    assert due_after(seen, "ack_due_at") == pytest.approx(settings.ack_timeout_seconds, abs=0.01)
    assert due_after(seen, "dispatch_due_at") == pytest.approx(settings.dispatch_timeout_seconds, abs=0.01)

    # Once acknowledged, T1 no longer runs: the console stops counting it down.
    assert (await api.post(operator, f"/alerts/{coblong['id']}/acknowledge")).status_code == 200
    seen = (await api.get(operator, f"/alerts/{coblong['id']}")).json()
    assert seen["ack_due_at"] is None
    assert seen["dispatch_due_at"] is not None
