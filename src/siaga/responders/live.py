"""Live units: positions written in batches, every process's tracker kept current through the hub, and unit
updates handed to the streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.background import Loop
from siaga.realtime.hub import Hub, HubLagged
from siaga.responders import service as responders
from siaga.responders.service import PositionFix
from siaga.responders.tracker import UnitPoint, UnitTracker

log = logging.getLogger("siaga.units")

UNITS_CHANNEL = "siaga.units"
FLUSH_INTERVAL_S = 0.5
MAX_BUFFER = 200_000  # beyond this (a database outage), the oldest positions are dropped; the newest matter most
HUB_CHUNK = 40  # units per hub message: well under PostgreSQL's 8000-byte NOTIFY limit

UnitListener = Callable[[Sequence[UnitPoint]], None]


def encode_points(points: Sequence[UnitPoint]) -> str:
    return json.dumps(
        [
            [
                p.unit_id,
                p.callsign,
                p.agency_id,
                p.kind,
                p.state,
                p.lat,
                p.lon,
                p.at.isoformat() if p.at else None,
                p.duty_mode,
                p.is_exercise,
            ]
            for p in points
        ],
        separators=(",", ":"),
    )


def decode_points(message: str) -> list[UnitPoint]:
    points = []
    for unit_id, callsign, agency_id, kind, state, lat, lon, at, duty_mode, *rest in json.loads(message):
        points.append(
            UnitPoint(
                unit_id=unit_id,
                callsign=callsign,
                agency_id=agency_id,
                kind=kind,
                state=state,
                lat=lat,
                lon=lon,
                at=datetime.fromisoformat(at) if at else None,
                duty_mode=duty_mode,
                is_exercise=bool(rest and rest[0]),
            )
        )
    return points


class LiveUnits:
    """The process's tracker and unit listeners, fed by the hub; the position buffer, flushed in batches."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], read_sessions: async_sessionmaker[AsyncSession], hub: Hub
    ) -> None:
        self.tracker = UnitTracker()
        self._sessions = sessions
        self._read_sessions = read_sessions
        self._hub = hub
        self._buffer: list[PositionFix] = []
        self._listeners: dict[int, UnitListener] = {}
        self._next = 0
        self._listen_task: asyncio.Task[None] | None = None
        self._flusher = Loop("units-flush", self.flush, interval=FLUSH_INTERVAL_S)
        self.positions_written = 0

    async def start(self) -> None:
        await self.reload()
        self._listen_task = asyncio.create_task(self._listen(), name="units-listen")
        self._flusher.start()

    async def stop(self) -> None:
        await self._flusher.stop()
        if self._listen_task is not None:
            self._listen_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listen_task
            self._listen_task = None
        with contextlib.suppress(Exception):
            await self.flush()

    async def reload(self) -> None:
        """Load every unit from the database (at start, and after missing hub messages)."""
        async with self._read_sessions() as session:
            points = await responders.board(session)
        for point in points:
            self.tracker.update(point)

    def register(self, listener: UnitListener) -> int:
        self._next += 1
        self._listeners[self._next] = listener
        return self._next

    def unregister(self, handle: int) -> None:
        self._listeners.pop(handle, None)

    async def on_duty(self, unit_id: int) -> bool:
        """Whether the unit is on duty. The tracker hears of a duty change through the hub a moment after the
        commit, so a unit it does not show on duty is looked up in the database."""
        point = self.tracker.get(unit_id)
        if point is not None and point.state != "off_duty":
            return True
        async with self._read_sessions() as session:
            current = await responders.unit_points(session, [unit_id])
        return bool(current) and current[0].state != "off_duty"

    def submit(self, fix: PositionFix) -> None:
        """Take an officer's position now; it is written with the next batch (within a second)."""
        if len(self._buffer) >= MAX_BUFFER:
            del self._buffer[: len(self._buffer) // 10]
            log.error("position buffer full: dropping the oldest positions")
        self._buffer.append(fix)

    async def publish(self, points: Sequence[UnitPoint]) -> None:
        """Tell every process (this one included, through its subscription) about changed units."""
        for start in range(0, len(points), HUB_CHUNK):
            try:
                await self._hub.publish(UNITS_CHANNEL, encode_points(points[start : start + HUB_CHUNK]))
            except Exception:
                log.warning("could not publish unit updates; applying them locally", exc_info=True)
                self._apply(points[start : start + HUB_CHUNK])

    async def publish_units(self, unit_ids: Sequence[int]) -> None:
        async with self._read_sessions() as session:
            points = await responders.unit_points(session, unit_ids)
        # This process knows at once; the others hear it through the hub (and this one again, harmlessly).
        self._apply(points)
        await self.publish(points)

    async def flush(self) -> int:
        """Write the buffered positions in one transaction and publish the units' new positions."""
        if not self._buffer:
            return 0
        batch, self._buffer = self._buffer, []
        try:
            async with self._sessions() as session, session.begin():
                await responders.store_positions(session, batch)
        except Exception:
            self._buffer[:0] = batch  # keep them for the next try
            raise
        self.positions_written += len(batch)
        await self.publish_units(sorted({f.unit_id for f in batch}))
        return len(batch)

    def apply_local(self, points: Sequence[UnitPoint]) -> None:
        """Take committed unit changes into this process's tracker now (the hub echo follows)."""
        self._apply(points)

    def _apply(self, points: Sequence[UnitPoint]) -> None:
        for point in points:
            self.tracker.update(point)
        for listener in list(self._listeners.values()):
            listener(points)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._hub.subscribe(UNITS_CHANNEL) as subscription:
                    async for message in subscription:
                        self._apply(decode_points(message))
                return
            except HubLagged:
                await self._safe_reload()
            except Exception:
                log.warning("unit hub subscription failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                await self._safe_reload()

    async def _safe_reload(self) -> None:
        try:
            await self.reload()
        except Exception:
            log.exception("could not reload units")
