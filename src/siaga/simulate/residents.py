"""Simulated residents: they press SOS at random moments from random places in the city, send their trail while the
alert is active, and cancel accidental presses with their PIN (most of the time)."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from siaga.simulate.client import ApiError
from siaga.simulate.geometry import Area, LatLon, offset, pick_area, random_point
from siaga.simulate.scenario import (
    MassEvent,
    Nature,
    Shares,
    next_press_in,
    pick_category,
    pick_mass_event_category,
    pick_nature,
)
from siaga.simulate.world import Press, World

log = logging.getLogger("siaga.simulate")

TRAIL_EVERY_S = 10.0  # simulated seconds between trail points, as the resident app sends while an alert is active
MAX_TRAIL_S = 3600.0  # a phone gives up sharing after an hour (battery)


@dataclass
class Resident:
    resident_id: str
    token: str
    cancel_pin: str
    duress_pin: str
    pins_set: bool = False


class Residents:
    """The exercise residents, and the presses they make at ``per_minute`` on average."""

    def __init__(
        self,
        world: World,
        accounts: Sequence[dict[str, Any]],
        areas: Sequence[Area],
        rng: random.Random,
        *,
        per_minute: float,
        shares: Shares,
    ) -> None:
        self.world = world
        self.areas = list(areas)
        self.rng = rng
        self.per_minute = per_minute
        self.shares = shares
        self.people = []
        for account in accounts:
            cancel = f"{rng.randrange(10_000):04d}"
            duress = f"{(int(cancel) + rng.randrange(1, 10_000)) % 10_000:04d}"
            self.people.append(Resident(str(account["resident_id"]), str(account["access_token"]), cancel, duress))
        self.busy: set[str] = set()

    async def run(self) -> None:
        """Press at random moments (a Poisson process) until the simulation stops."""
        world = self.world
        while await world.sleep(next_press_in(self.rng, self.per_minute)):
            idle = [p for p in self.people if p.resident_id not in self.busy]
            if not idle:
                world.stats.add("presses_skipped")  # everyone already has an alert open
                continue
            person = self.rng.choice(idle)
            self.busy.add(person.resident_id)
            # Each press draws from its own generator, so the plan of a seeded run does not depend on timing.
            world.crew.spawn(self.press(person, random.Random(self.rng.getrandbits(64))), name="press")  # noqa: S311

    async def set_pins(self, person: Resident) -> None:
        """The resident's cancel and duress PINs, set once (the app asks for them before the first press)."""
        if not person.pins_set:
            await self.world.api.call(
                "PUT",
                "/residents/me/pins",
                token=person.token,
                body={"cancel_pin": person.cancel_pin, "duress_pin": person.duress_pin},
            )
            person.pins_set = True

    async def mass_event(self, event: MassEvent) -> None:
        """Each resident presses once, at a random moment of the event, from a random place in its kecamatan (the
        only area these residents have): genuine presses, mostly for the disaster and the injured. Their PINs are
        set beforehand, as people who installed the app long before the day: the event is presses only."""
        world = self.world
        prepared = asyncio.get_running_loop().time()
        guard = asyncio.Semaphore(4)

        async def ready(person: Resident) -> None:
            async with guard:
                await self.set_pins(person)

        await asyncio.gather(*(ready(p) for p in self.people), return_exceptions=True)
        if not await world.sleep(event.after_s - (asyncio.get_running_loop().time() - prepared)):
            return
        world.stats.add("mass_event_started")
        began = asyncio.get_running_loop().time()
        for person, at in zip(self.people, event.press_times(self.rng), strict=False):
            if not await world.sleep(at - (asyncio.get_running_loop().time() - began)):
                return
            rng = random.Random(self.rng.getrandbits(64))  # noqa: S311
            category = pick_mass_event_category(rng)
            world.crew.spawn(self.press(person, rng, nature=Nature.GENUINE, category=category), name="mass-press")

    async def press(
        self, person: Resident, rng: random.Random, *, nature: Nature | None = None, category: str | None = None
    ) -> None:
        world = self.world
        try:
            area = pick_area(self.areas, rng)
            where = random_point(area, rng)
            nature = nature or pick_nature(rng, self.shares)
            category = category or pick_category(rng)
            alert_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            await self.set_pins(person)
            body = {
                "id": alert_id,
                "category": category,
                "location": {"lat": round(where[0], 6), "lon": round(where[1], 6), "accuracy_m": rng.uniform(5, 30)},
                "battery": rng.randint(8, 100),
                "pressed_at": datetime.now(UTC).isoformat(),
            }
            # Known before the answer: the streams may tell officers about the alert before the 201 arrives here.
            world.presses[alert_id] = Press(nature=nature, category=category)

            # A press sent is seen through even when the simulation stops meanwhile: it is counted, and closed at
            # the end like the others, instead of being left open on the console.
            world.unanswered[alert_id] = (person.token, body, nature)
            stored = await asyncio.shield(world.crew.spawn(world.send_press(alert_id), name="press-send", finish=True))
            if not stored:
                return
            alert_id = stored
            if nature is Nature.ACCIDENTAL and rng.random() < self.shares.noticed:
                world.crew.spawn(self.cancel(person, alert_id, rng), name="cancel")
            await self.share_trail(person, alert_id, where, rng, walking=nature is Nature.GENUINE)
        except ApiError:
            pass  # logged by the client
        finally:
            self.busy.discard(person.resident_id)

    async def cancel(self, person: Resident, alert_id: str, rng: random.Random) -> None:
        """The resident notices the pocket press and cancels with the PIN within seconds."""
        if await self.world.sleep(self.world.pace.human(rng, 3, 12)):
            await self.world.api.call(
                "POST", f"/alerts/{alert_id}/cancel", token=person.token, body={"pin": person.cancel_pin}, quiet=(409,)
            )

    async def share_trail(
        self, person: Resident, alert_id: str, start: LatLon, rng: random.Random, *, walking: bool
    ) -> None:
        """Send the phone's position while the alert is active; the server says when it is closed (409)."""
        world, position, elapsed = self.world, start, 0.0
        while elapsed < MAX_TRAIL_S and await world.sleep(world.pace.wall(TRAIL_EVERY_S)):
            elapsed += TRAIL_EVERY_S
            if walking:
                # Someone in trouble may move away from where they pressed: a slow walk in a random direction.
                position = offset(position, north_m=rng.gauss(0, 6), east_m=rng.gauss(0, 6))
            point = {
                "lat": round(position[0], 6),
                "lon": round(position[1], 6),
                "accuracy_m": round(rng.uniform(5, 25), 1),
                "recorded_at": datetime.now(UTC).isoformat(),
            }
            try:
                await world.api.call(
                    "POST", f"/alerts/{alert_id}/locations", token=person.token, body={"points": [point]}, quiet=(409,)
                )
            except ApiError as exc:
                if exc.status in {401, 404, 409}:
                    return  # closed (or the exercise ended): the phone stops sharing
