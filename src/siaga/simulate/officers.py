"""A simulated officer's phone: on duty, sharing its position, ringing with offers, driving to the scene, reporting.

Like the officer app, it sends one position per request, queued while the server cannot take them and drained
oldest first, and it learns of offers and assignments from its own officer stream.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from datetime import UTC, datetime
from typing import Any

from siaga.simulate.client import ApiError, follow_stream
from siaga.simulate.geometry import Area, LatLon, distance_m, offset, random_point, step_toward
from siaga.simulate.scenario import (
    PATROL_SPEED_MPS,
    RESPONSE_SPEED_MPS,
    START_DELAY_S,
    Nature,
    OfficerPlan,
    report_for,
)
from siaga.simulate.world import World

log = logging.getLogger("siaga.simulate")

MAX_QUEUED_FIXES = 500
ARRIVED_WITHIN_M = 30.0
STATIONARY_EVERY = 3  # a phone standing still re-sends its position every third tick, as a sign of life
ACCEPT_CHANCE = {"patrol": 0.8, "post": 0.7, "home": 0.5}
CLOSED = {"resolved", "cancelled"}


class Officer:
    """One simulated officer with their unit."""

    def __init__(
        self, world: World, account: dict[str, Any], plan: OfficerPlan, area: Area, rng: random.Random
    ) -> None:
        self.world = world
        self.plan = plan
        self.area = area
        self.rng = rng
        self.token = str(account["access_token"])
        self.unit_id = int(account["unit_id"])
        self.callsign = str(account.get("callsign", self.unit_id))
        self.base = random_point(area, rng)  # the post, the home, or where the patrol starts
        self.position: LatLon = self.base
        self.waypoint: LatLon | None = None
        self.pause_s = 0.0
        self.speed = 0.0
        self.battery = rng.randint(60, 100)
        self.fixes: deque[dict[str, Any]] = deque(maxlen=MAX_QUEUED_FIXES)
        self.alert_id: str | None = None
        self.target: LatLon | None = None
        self.phase = "idle"  # idle, assigned, driving, on_scene
        self.arrived = asyncio.Event()
        self.response: asyncio.Task[Any] | None = None
        self.considering: set[str] = set()
        self.left_to_staff: set[str] = set()
        self.revoked = False

    # Duty and position ------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Go on duty, listen for offers, and share the position until the simulation stops."""
        world = self.world
        if not await self.go_on_duty():
            return
        world.crew.spawn(
            follow_stream(world.api, "officer", self.token, self.on_message, world.stop), name=f"{self.callsign} stream"
        )
        tick = 0
        # Phones do not all send at the same instant.
        if not await world.sleep(self.rng.uniform(0, world.position_every_s)):
            return
        while not self.revoked and await world.sleep(world.position_every_s):
            self.advance(world.pace.scale * world.position_every_s)
            tick += 1
            if self.speed > 0 or tick % STATIONARY_EVERY == 0:
                self.enqueue_fix()
                await self.flush()

    async def go_on_duty(self) -> bool:
        try:
            await self.world.api.call("PUT", "/officers/me/duty", token=self.token, body={"mode": self.plan.mode})
        except ApiError as exc:
            if exc.status == 401:
                self.revoked = True
            return False
        self.world.stats.on_duty.add(self.unit_id)
        self.enqueue_fix()
        await self.flush()
        return True

    def advance(self, seconds: float) -> None:
        """Move for ``seconds`` of simulated time."""
        if self.phase == "driving" and self.target is not None:
            self.speed = RESPONSE_SPEED_MPS.get(self.plan.kind, 10.0) * self.rng.uniform(0.7, 1.0)
            self.position, arrived = step_toward(self.position, self.target, self.speed * seconds)
            if arrived or distance_m(self.position, self.target) <= ARRIVED_WITHIN_M:
                self.speed = 0.0
                self.arrived.set()
            return
        if self.phase != "idle":
            self.speed = 0.0
            return
        if self.plan.mode != "patrol":
            # Back to the post or home after a call, then stay.
            self.speed = PATROL_SPEED_MPS.get(self.plan.kind, 6.0) if self.position != self.base else 0.0
            self.position, _ = step_toward(self.position, self.base, self.speed * seconds)
            return
        if self.pause_s > 0:
            self.pause_s -= seconds
            self.speed = 0.0
            return
        if self.waypoint is None:
            self.waypoint = random_point(self.area, self.rng)
        self.speed = PATROL_SPEED_MPS.get(self.plan.kind, 6.0) * self.rng.uniform(0.6, 1.2)
        self.position, arrived = step_toward(self.position, self.waypoint, self.speed * seconds)
        if arrived:
            self.waypoint = None
            # Now and then a patrol stops a while (a junction, a market, a word with a resident).
            if self.rng.random() < 0.3:
                self.pause_s = self.rng.uniform(30, 180)

    def enqueue_fix(self) -> None:
        # GPS is never exact: a few metres of noise, as a phone reports.
        accuracy = self.rng.uniform(4, 20)
        lat, lon = offset(
            self.position, north_m=self.rng.gauss(0, accuracy / 3), east_m=self.rng.gauss(0, accuracy / 3)
        )
        if self.rng.random() < 0.01:
            self.battery = max(self.battery - 1, 5)
        self.fixes.append(
            {
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "accuracy_m": round(accuracy, 1),
                "speed_mps": round(self.speed, 1),
                "battery": self.battery,
                "recorded_at": datetime.now(UTC).isoformat(),
            }
        )

    async def flush(self) -> None:
        """Send queued fixes oldest first; stop at the first the server cannot take now (they wait)."""
        while self.fixes and not self.revoked:
            try:
                await self.world.api.call("POST", "/officers/me/location", token=self.token, body=self.fixes[0])
            except ApiError as exc:
                if exc.status == 401:
                    self.revoked = True
                    self.world.stats.on_duty.discard(self.unit_id)
                    return
                if exc.status == 0 or exc.status == 429 or exc.status >= 500:
                    return
                if exc.code == "officer.off_duty":
                    self.fixes.clear()
                    self.world.stats.on_duty.discard(self.unit_id)
                    if not self.world.stop.is_set():
                        await self.go_on_duty()
                    return
                # Refused for itself (logged): the next one may well pass.
            self.fixes.popleft()
            self.world.stats.add("positions")

    # The officer stream -----------------------------------------------------------------------------------------

    def on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("snapshot", "snapshot_page"):
            for alert in message.get("alerts", []):
                self.on_alert(alert, event=None)
        elif kind == "alert_event":
            self.on_alert(message["alert"], event=message["event"])
        elif kind == "alert_location" and str(message.get("alert_id")) == self.alert_id:
            self.target = (float(message["lat"]), float(message["lon"]))

    def on_alert(self, alert: dict[str, Any], *, event: dict[str, Any] | None) -> None:
        alert_id, state = str(alert["id"]), str(alert["state"])
        mine = alert.get("unit_id") == self.unit_id
        if alert_id == self.alert_id and (state in CLOSED or not mine):
            self.stand_down(alert_id)  # closed, or given to another unit
            return
        if mine and state in {"dispatched", "en_route", "on_scene"}:
            self.assign(alert)
            return
        offered = event is None or (
            event["kind"] == "offered" and self.unit_id in (event.get("data") or {}).get("unit_ids", [])
        )
        if offered and state in {"new", "acknowledged"} and alert.get("unit_id") is None:
            self.consider(alert)

    def consider(self, alert: dict[str, Any]) -> None:
        alert_id = str(alert["id"])
        if alert_id in self.considering or self.alert_id is not None:
            return
        self.considering.add(alert_id)
        self.world.crew.spawn(self._answer_offer(alert), name=f"{self.callsign} offer")

    async def _answer_offer(self, alert: dict[str, Any]) -> None:
        alert_id, world = str(alert["id"]), self.world
        try:
            may = world.may_answer(alert)
            accept = may and self.rng.random() < ACCEPT_CHANCE.get(self.plan.mode, 0.7)
            # The phone rings; the officer reads the alert (or lets it ring, or says no).
            delay = world.pace.human(self.rng, 3, 15) if accept else world.pace.human(self.rng, 2, 20)
            if not may:
                delay = world.pace.human(self.rng, 1, 4)  # a drill phone says no at once: a real SOS needs real people
            if not await world.sleep(delay) or self.alert_id is not None:
                return
            offers = await world.api.call("GET", "/offers", token=self.token)
            offer = next((o for o in offers if str(o["alert_id"]) == alert_id), None)
            if offer is None:
                return  # taken by another unit, expired or closed meanwhile
            if accept:
                taken = await world.api.call(
                    "POST", f"/offers/{offer['id']}/accept", token=self.token, quiet=(404, 409)
                )
                world.stats.add("offers_accepted")
                self.assign(taken)
            elif not may or self.rng.random() < 0.5:
                await world.api.call("POST", f"/offers/{offer['id']}/decline", token=self.token, quiet=(404, 409))
                world.stats.add("offers_declined")
        except ApiError as exc:
            if exc.status == 409:
                world.stats.add("offers_lost")
        finally:
            self.considering.discard(alert_id)

    # Answering an alert -----------------------------------------------------------------------------------------

    def assign(self, alert: dict[str, Any]) -> None:
        alert_id = str(alert["id"])
        if alert_id == self.alert_id:
            return
        if not self.world.may_answer(alert):
            if alert_id not in self.left_to_staff:
                self.left_to_staff.add(alert_id)
                log.warning(
                    "%s was dispatched to %s, which is not an exercise: dispatch a real unit", self.callsign, alert_id
                )
            return
        if self.alert_id is not None:
            self.stand_down(self.alert_id)  # dispatched elsewhere: the newer assignment wins
        self.alert_id = alert_id
        self.target = (float(alert["lat"]), float(alert["lon"]))
        self.waypoint = None
        self.response = self.world.crew.spawn(self._respond(alert), name=f"{self.callsign} response")

    def stand_down(self, alert_id: str) -> None:
        if self.alert_id != alert_id:
            return
        self.alert_id, self.target, self.phase = None, None, "idle"
        self.arrived.clear()
        if self.response is not None and self.response is not asyncio.current_task():
            self.response.cancel()
        self.response = None

    async def _respond(self, alert: dict[str, Any]) -> None:
        world, alert_id, state = self.world, str(alert["id"]), str(alert["state"])
        press = world.presses.get(alert_id)
        nature = press.nature if press else Nature.GENUINE
        category = press.category if press else str(alert.get("category", "lainnya"))
        path = f"/alerts/{alert_id}"
        try:
            if state == "dispatched":
                self.phase = "assigned"
                low, high = START_DELAY_S.get(self.plan.mode, (10.0, 30.0))
                if not await world.sleep(world.pace.human(self.rng, low, high)):
                    return
                await world.api.call("POST", f"{path}/en-route", token=self.token, body=self._where(), quiet=(409,))
                world.stats.add("en_route")
            if state in {"dispatched", "en_route"}:
                self.arrived.clear()
                self.phase = "driving"
                await self.arrived.wait()
                await world.api.call("POST", f"{path}/on-scene", token=self.token, body=self._where(), quiet=(409,))
                world.stats.add("on_scene")
            self.phase = "on_scene"
            dwell = (180, 600) if nature is Nature.GENUINE else (30, 90)
            if not await world.sleep(world.pace.human(self.rng, *dwell)):
                return
            outcome, report = report_for(nature, category, self.rng)
            await world.api.call(
                "POST",
                f"{path}/resolve",
                token=self.token,
                body={"outcome": outcome, "report": report, **self._where()},
                quiet=(409,),
            )
        except ApiError:
            pass  # closed by someone else meanwhile, or refused (logged): back to patrol
        finally:
            self.stand_down(alert_id)

    def _where(self) -> dict[str, Any]:
        return {"where": {"lat": round(self.position[0], 6), "lon": round(self.position[1], 6)}}
