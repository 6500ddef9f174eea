"""What every simulated person shares: the API, the pace, the stop signal, and what the simulator knows about its
own presses."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from siaga.simulate.client import Api, Crew, Stats
from siaga.simulate.scenario import Nature, Pace


@dataclass(frozen=True, slots=True)
class Press:
    """One of the simulator's own presses: what it really is (staff find out by calling back or going there)."""

    nature: Nature
    category: str


@dataclass
class World:
    api: Api
    stats: Stats
    pace: Pace
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    crew: Crew = field(default_factory=Crew)
    presses: dict[str, Press] = field(default_factory=dict)
    #: Let simulated staff answer alerts that are not exercises. Only for the demo, where no one is real; in a drill
    #: on a real deployment a real SOS must reach real people, so simulated officers decline it.
    answer_real_alerts: bool = False
    position_every_s: float = 5.0

    def may_answer(self, alert: dict[str, Any]) -> bool:
        return self.is_exercise(alert) or self.answer_real_alerts

    def is_exercise(self, alert: dict[str, Any]) -> bool:
        return bool(alert.get("is_exercise")) or str(alert.get("id")) in self.presses

    async def sleep(self, wall_s: float) -> bool:
        """Sleep unless the simulation stops first. True if it is still running."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=max(wall_s, 0.0))
        return not self.stop.is_set()
