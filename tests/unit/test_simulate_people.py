"""Simulated officers' decisions against a fake API (no server): what a drill phone does with offers and
assignments."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

from shapely.geometry import box

from siaga.simulate.client import Api, ApiError, Stats
from siaga.simulate.geometry import Area, offset
from siaga.simulate.officers import Officer
from siaga.simulate.scenario import Nature, OfficerPlan, Pace
from siaga.simulate.world import Press, World

AREA = Area("Coblong", box(107.60, -6.90, 107.62, -6.88))
SCENE = (-6.89, 107.61)
EXERCISE_ALERT = "5b7f0d5e-0000-4000-8000-000000000001"
REAL_ALERT = "5b7f0d5e-0000-4000-8000-000000000002"


class FakeApi(Api):
    """Answers like Siaga would, and remembers what was asked."""

    def __init__(self) -> None:
        super().__init__("http://siaga.invalid", Stats())
        self.calls: list[tuple[str, str, Any]] = []

    async def call(self, method: str, path: str, *, token: str | None = None, body: Any = None, **_: Any) -> Any:
        self.calls.append((method, path, body))
        if path == "/offers":
            return [{"id": 11, "alert_id": EXERCISE_ALERT}, {"id": 12, "alert_id": REAL_ALERT}]
        if path.endswith("/accept"):
            return _alert(EXERCISE_ALERT, "dispatched", unit_id=7)
        return {}

    def paths(self) -> list[str]:
        return [f"{method} {path}" for method, path, _ in self.calls]


def _alert(alert_id: str, state: str, *, unit_id: int | None = None, exercise: bool = True) -> dict[str, Any]:
    return {
        "id": alert_id,
        "state": state,
        "category": "kecelakaan",
        "lat": SCENE[0],
        "lon": SCENE[1],
        "unit_id": unit_id,
        "is_exercise": exercise,
    }


def _offered(alert: dict[str, Any], unit_id: int = 7) -> dict[str, Any]:
    return {
        "type": "alert_event",
        "cursor": 1,
        "alert": alert,
        "event": {"kind": "offered", "data": {"unit_ids": [unit_id]}},
    }


async def _world(*, answer_real: bool = False) -> tuple[World, FakeApi, Officer]:
    api = FakeApi()
    world = World(api=api, stats=api.stats, pace=Pace(1000.0), answer_real_alerts=answer_real)
    account = {"access_token": "t", "unit_id": 7, "callsign": "LAT-1"}
    plan = OfficerPlan(agency_id=1, agency_code="POLSEK-COBLONG", kind="motorbike", mode="patrol")
    return world, api, Officer(world, account, plan, AREA, random.Random(1))


async def _settle(world: World) -> None:
    for _ in range(200):
        if not world.crew.tasks:
            return
        await asyncio.sleep(0.01)


async def test_a_drill_phone_declines_a_real_sos_so_real_officers_get_it() -> None:
    world, api, officer = await _world(answer_real=False)
    officer.on_message(_offered(_alert(REAL_ALERT, "new", exercise=False)))
    await _settle(world)
    assert "POST /offers/12/decline" in api.paths()
    assert not any(path.endswith("/accept") for path in api.paths())
    await api.close()


async def test_an_officer_accepts_an_exercise_offer_drives_there_and_reports_what_they_found() -> None:
    world, api, officer = await _world()
    world.presses[EXERCISE_ALERT] = Press(nature=Nature.PRANK, category="kecelakaan")
    officer.position = offset(SCENE, north_m=1500, east_m=0)
    officer.rng = _always_accepts()
    officer.on_message(_offered(_alert(EXERCISE_ALERT, "new")))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if officer.phase == "driving":
            break
    assert "POST /offers/11/accept" in api.paths()
    assert f"POST /alerts/{EXERCISE_ALERT}/en-route" in api.paths()
    while officer.phase == "driving":
        officer.advance(30.0)  # 30 simulated seconds a step at motorbike speed: there in a few steps
        await asyncio.sleep(0.01)
    await _settle(world)
    assert f"POST /alerts/{EXERCISE_ALERT}/on-scene" in api.paths()
    resolve = next(body for method, path, body in api.calls if path.endswith("/resolve"))
    assert resolve["outcome"] == "prank"
    assert officer.alert_id is None  # back on patrol
    await api.close()


async def test_an_officer_stands_down_when_the_resident_cancels() -> None:
    world, api, officer = await _world()
    officer.on_message(
        {"type": "snapshot", "cursor": 1, "alerts": [_alert(EXERCISE_ALERT, "en_route", unit_id=7)], "units": []}
    )
    await asyncio.sleep(0.01)
    assert officer.alert_id == EXERCISE_ALERT
    assert officer.phase == "driving"
    cancelled = _alert(EXERCISE_ALERT, "cancelled", unit_id=7)
    officer.on_message(
        {"type": "alert_event", "cursor": 2, "alert": cancelled, "event": {"kind": "cancelled", "data": {}}}
    )
    await _settle(world)
    assert officer.alert_id is None
    assert officer.phase == "idle"
    assert not any(path.endswith(("/on-scene", "/resolve")) for path in api.paths())
    await api.close()


def _always_accepts() -> random.Random:
    class Eager(random.Random):
        def random(self) -> float:
            return 0.0

    return Eager(1)


class LostAnswerApi(Api):
    """The server stores each press, but the first answer never reaches the simulator (a dropped connection)."""

    def __init__(self) -> None:
        super().__init__("http://siaga.invalid", Stats())
        self.stored: set[str] = set()

    async def call(self, method: str, path: str, *, token: str | None = None, body: Any = None, **_: Any) -> Any:
        first = body["id"] not in self.stored
        self.stored.add(body["id"])
        if first:
            raise ApiError(0, "transport", "ReadTimeout")
        return {"id": body["id"]}


def test_a_press_whose_answer_was_lost_is_sent_again_at_the_end_and_counted_once() -> None:
    api = LostAnswerApi()
    world = World(api=api, stats=api.stats, pace=Pace(60))
    world.unanswered[EXERCISE_ALERT] = ("token", {"id": EXERCISE_ALERT, "category": "kriminal"}, Nature.GENUINE)

    async def scenario() -> None:
        with contextlib.suppress(ApiError):
            await world.send_press(EXERCISE_ALERT)
        assert EXERCISE_ALERT in world.unanswered  # stored on the server, unknown to the simulator
        await world.send_unanswered()

    asyncio.run(scenario())
    assert world.unanswered == {}
    assert world.stats.counts["raised"] == 1
    assert world.stats.open_alerts == {EXERCISE_ALERT}  # so the end closes it
