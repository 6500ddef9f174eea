"""The simulator's console: one console stream that keeps count of what happens to the exercise's alerts and, with
``--operators auto``, simulated operators who acknowledge, call back, close pranks and dispatch when no officer
took the alert."""

from __future__ import annotations

import logging
import random
from typing import Any

from siaga.simulate.client import ApiError, follow_stream
from siaga.simulate.scenario import UNIT_FOR_CATEGORY, Nature
from siaga.simulate.world import World

log = logging.getLogger("siaga.simulate")

CLOSED = {"resolved", "cancelled"}
DISPATCH_TRIES = 12
CALLBACK_REPORTS = {
    Nature.PRANK: ("prank", "Ditelepon balik: pelapor mengaku iseng, diberi peringatan"),
    Nature.ACCIDENTAL: ("false_alarm", "Ditelepon balik: tombol tertekan tidak sengaja, warga aman"),
}


class Console:
    """Watches the console stream (as the administrator the simulator logged in as)."""

    def __init__(self, world: World, token: str, rng: random.Random, *, auto: bool) -> None:
        self.world = world
        self.token = token
        self.rng = rng
        self.auto = auto
        self.handled: set[str] = set()
        self.closed: set[str] = set()

    async def run(self) -> None:
        await follow_stream(self.world.api, "console", self.token, self.on_message, self.world.stop)

    def on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("snapshot", "snapshot_page"):
            for alert in message.get("alerts", []):
                self.take_up(alert)
        elif kind == "alert_event":
            alert, event = message["alert"], message["event"]
            if event["kind"] in CLOSED:
                self.count_closed(alert, event)
            elif event["kind"] == "created":
                self.take_up(alert)

    def count_closed(self, alert: dict[str, Any], event: dict[str, Any]) -> None:
        alert_id = str(alert["id"])
        if not self.world.is_exercise(alert) or alert_id in self.closed:
            return
        self.closed.add(alert_id)
        stats = self.world.stats
        stats.open_alerts.discard(alert_id)
        if event["kind"] == "cancelled":
            stats.add("cancelled")
        else:
            stats.add("resolved")
            stats.add(f"resolved_{(event.get('data') or {}).get('outcome', 'unknown')}")

    def take_up(self, alert: dict[str, Any]) -> None:
        alert_id = str(alert["id"])
        if not self.auto or alert_id in self.handled or str(alert["state"]) in CLOSED:
            return
        if not self.world.may_answer(alert):
            return  # a real alert during a drill is for the real operators
        self.handled.add(alert_id)
        rng = random.Random(self.rng.getrandbits(64))  # noqa: S311 - a simulation, not a secret
        self.world.crew.spawn(self.handle(alert_id, rng), name="operator")

    async def handle(self, alert_id: str, rng: random.Random) -> None:
        """What an operator does with one alert: acknowledge, call back, then close it or see that a unit goes."""
        world, path = self.world, f"/alerts/{alert_id}"
        if not await world.sleep(world.pace.human(rng, 4, 15)):
            return
        alert = await world.api.call("GET", path, token=self.token)
        if alert["state"] in CLOSED:
            return
        if alert.get("acknowledged_by") is None:
            await world.api.call("POST", f"{path}/acknowledge", token=self.token, quiet=(409,))
            world.stats.add("acknowledged")
        # The call back: the caller's voice tells a pocket press or a prank from an emergency.
        if not await world.sleep(world.pace.human(rng, 10, 30)):
            return
        press = world.presses.get(alert_id)
        if press is not None and press.nature in CALLBACK_REPORTS:
            outcome, report = CALLBACK_REPORTS[press.nature]
            try:
                await world.api.call(
                    "POST",
                    f"{path}/resolve",
                    token=self.token,
                    body={"outcome": outcome, "report": report},
                    quiet=(409,),
                )
                world.stats.add("operator_closed")
            except ApiError:
                pass  # cancelled or closed meanwhile
            return
        await self.see_a_unit_goes(alert_id, rng)

    async def see_a_unit_goes(self, alert_id: str, rng: random.Random) -> None:
        """Give direct offers a moment; if no officer took the alert, dispatch the nearest recommended unit."""
        world, path = self.world, f"/alerts/{alert_id}"
        for _ in range(DISPATCH_TRIES):
            if not await world.sleep(world.pace.human(rng, 15, 35)):
                return
            alert = await world.api.call("GET", path, token=self.token)
            if alert["state"] in CLOSED or alert.get("unit_id") is not None:
                return
            # A fire engine for a kebakaran, an ambulance for a kesehatan, if one is free; else the nearest unit.
            wanted = UNIT_FOR_CATEGORY.get(str(alert.get("category")))
            units = []
            if wanted is not None:
                query = {"unit_type": wanted}
                units = await world.api.call("GET", f"{path}/recommendations", token=self.token, params=query)
            if not units:
                units = await world.api.call("GET", f"{path}/recommendations", token=self.token)
            if not units:
                continue
            unit = units[0]  # nearest first
            try:
                await world.api.call(
                    "POST", f"{path}/dispatch", token=self.token, body={"unit_id": unit["unit_id"]}, quiet=(409,)
                )
            except ApiError as exc:
                if exc.status == 409:
                    return  # an officer took it in the meantime, or it closed
                continue
            world.stats.add("operator_dispatched")
            return
