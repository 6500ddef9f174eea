"""A resident's moving position during an alert, live to the consoles and the assigned officer.

Positions are stored in the alert's trail (the record); this only tells the streams, through the hub, without
writing a timeline event per position (the phone sends one every few seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from siaga.alerts.models import Alert
from siaga.hub import Hub, HubLagged

log = logging.getLogger("siaga.locations")

LOCATIONS_CHANNEL = "siaga.locations"


@dataclass(frozen=True, slots=True)
class AlertPosition:
    alert_id: uuid.UUID
    resident_id: uuid.UUID
    agency_id: int
    jurisdiction_id: int | None
    unit_id: int | None
    lat: float
    lon: float
    accuracy_m: float | None
    at: datetime
    informed_agency_ids: tuple[int, ...] = ()  # the agencies informed besides the responsible one

    @classmethod
    def of(cls, alert: Alert) -> AlertPosition:
        """Where the alert's resident is now, as its trail last moved it."""
        return cls(
            alert_id=alert.id,
            resident_id=alert.resident_id,
            agency_id=alert.agency_id,
            jurisdiction_id=alert.jurisdiction_id,
            unit_id=alert.unit_id,
            lat=alert.lat,
            lon=alert.lon,
            accuracy_m=alert.accuracy_m,
            at=alert.located_at or alert.updated_at,
            informed_agency_ids=tuple(alert.informed_agency_ids or ()),
        )

    def encode(self) -> str:
        data = asdict(self)
        data.update(alert_id=str(self.alert_id), resident_id=str(self.resident_id), at=self.at.isoformat())
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> AlertPosition:
        data = json.loads(text)
        return cls(
            alert_id=uuid.UUID(data["alert_id"]),
            resident_id=uuid.UUID(data["resident_id"]),
            agency_id=data["agency_id"],
            jurisdiction_id=data["jurisdiction_id"],
            unit_id=data["unit_id"],
            lat=data["lat"],
            lon=data["lon"],
            accuracy_m=data["accuracy_m"],
            at=datetime.fromisoformat(data["at"]),
            informed_agency_ids=tuple(data.get("informed_agency_ids", ())),
        )


PositionListener = Callable[[Sequence[AlertPosition]], None]


class LivePositions:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._listeners: dict[int, PositionListener] = {}
        self._next = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="positions-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def register(self, listener: PositionListener) -> int:
        self._next += 1
        self._listeners[self._next] = listener
        return self._next

    def unregister(self, handle: int) -> None:
        self._listeners.pop(handle, None)

    async def publish(self, position: AlertPosition) -> None:
        try:
            await self._hub.publish(LOCATIONS_CHANNEL, position.encode())
        except Exception:
            log.warning("could not publish a resident's position; applying it locally", exc_info=True)
            self._deliver([position])

    def _deliver(self, positions: Sequence[AlertPosition]) -> None:
        for listener in list(self._listeners.values()):
            listener(positions)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._hub.subscribe(LOCATIONS_CHANNEL) as subscription:
                    async for message in subscription:
                        self._deliver([AlertPosition.decode(message)])
                return
            except HubLagged:
                continue  # a missed position is superseded by the next one the phone sends
            except Exception:
                log.warning("position hub subscription failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)
