"""What every simulated person shares: the API, the pace, the stop signal, and what the simulator knows about its
own presses."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from siaga.simulate.client import Api, ApiError, Crew, Stats
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
    #: Presses sent and not answered yet (the resident's token and the body): the server may have stored one whose
    #: answer never came (the simulation stopping meanwhile, a lost connection), so the end sends each again under
    #: its own id (the same press, stored once) and closes it with the others instead of leaving it open.
    unanswered: dict[str, tuple[str, dict[str, Any], Nature]] = field(default_factory=dict)
    #: Let simulated staff answer alerts that are not exercises. Only for the demo, where no one is real; in a drill
    #: on a real deployment a real SOS must reach real people, so simulated officers decline it.
    answer_real_alerts: bool = False
    position_every_s: float = 5.0

    def may_answer(self, alert: dict[str, Any]) -> bool:
        return self.is_exercise(alert) or self.answer_real_alerts

    def is_exercise(self, alert: dict[str, Any]) -> bool:
        return bool(alert.get("is_exercise")) or str(alert.get("id")) in self.presses

    async def send_press(self, alert_id: str) -> str:
        """Send an unanswered press and count it: the id the server stored it under (its own, or the resident's
        alert still active that the press joined). A refusal forgets the press; no answer keeps it unanswered."""
        token, body, nature = self.unanswered[alert_id]
        try:
            answer = await self.api.call("POST", "/alerts", token=token, body=body)
        except ApiError as exc:
            if 0 < exc.status < 500:
                self.unanswered.pop(alert_id, None)  # refused: nothing was stored
            raise
        if self.unanswered.pop(alert_id, None) is None:
            return alert_id  # answered meanwhile by the other sending (the end's), which counted it
        stored = str(answer["id"]) if isinstance(answer, dict) and "id" in answer else alert_id
        if stored != alert_id:  # their earlier alert was still active: the press joined it
            self.stats.add("pressed_again")
            return stored
        self.stats.add("raised")
        self.stats.add(f"raised_{nature.value}")
        self.stats.open_alerts.add(alert_id)
        return stored

    async def send_unanswered(self) -> None:
        """At the end: every press still without an answer, sent again, so that none is left open unseen."""

        async def again(alert_id: str) -> None:
            with contextlib.suppress(ApiError):
                await self.send_press(alert_id)

        await asyncio.gather(*(again(alert_id) for alert_id in list(self.unanswered)))

    async def sleep(self, wall_s: float) -> bool:
        """Sleep unless the simulation stops first. True if it is still running."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=max(wall_s, 0.0))
        return not self.stop.is_set()
