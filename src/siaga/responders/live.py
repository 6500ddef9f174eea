"""Live units: positions written in batches, every process's tracker kept current through the hub, and unit
updates handed to the streams.

Officers' positions arrive by the thousand a second (10,000 officers on duty, one every few seconds each), so the
batch writer stays off the ORM's unit of work: one multi-row INSERT of the history, one executemany UPDATE of each
unit's newest position, and the new positions go to the other processes as positions only (unit id, lat, lon,
time), merged there into the unit each tracker already holds, rather than every unit read back from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.background import Loop
from siaga.db import UTCDateTime
from siaga.hub import Hub, HubLagged
from siaga.responders import service as responders
from siaga.responders.models import PositionRecord, UnitState, UnitStatus
from siaga.responders.service import PositionFix
from siaga.responders.tracker import UnitPoint, UnitTracker

log = logging.getLogger("siaga.units")

UNITS_CHANNEL = "siaga.units"
POSITIONS_CHANNEL = "siaga.unit_positions"
FLUSH_INTERVAL_S = 0.5
MAX_BUFFER = 200_000  # beyond this (a database outage), the oldest positions are dropped; the newest matter most
HUB_CHUNK = 40  # units per hub message: well under PostgreSQL's 8000-byte NOTIFY limit
POSITIONS_CHUNK = 60  # positions per hub message (about 90 bytes each): under the same limit
STORE_CHUNK = 500  # positions per INSERT or UPDATE statement (see store_positions)
# A position is tied to the alert (and kept with its record) only while the unit responds to it, not while offered.
RESPONDING = frozenset({UnitState.ASSIGNED.value, UnitState.EN_ROUTE.value, UnitState.ON_SCENE.value})

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


@dataclass(frozen=True, slots=True)
class UnitPosition:
    """A unit's newest position, as the other processes hear of it."""

    unit_id: int
    lat: float
    lon: float
    at: datetime


def encode_positions(positions: Sequence[UnitPosition]) -> str:
    return json.dumps([[p.unit_id, p.lat, p.lon, p.at.isoformat()] for p in positions], separators=(",", ":"))


def decode_positions(message: str) -> list[UnitPosition]:
    return [
        UnitPosition(unit_id, lat, lon, datetime.fromisoformat(at)) for unit_id, lat, lon, at in json.loads(message)
    ]


_HISTORY = cast(Table, PositionRecord.__table__)
_STATUS = cast(Table, UnitStatus.__table__)
# Each unit's newest position, unless the one stored is newer (another process may have written one meanwhile).
_MOVE_UNIT = (
    update(_STATUS)
    .where(
        _STATUS.c.unit_id == bindparam("b_unit"),
        or_(_STATUS.c.position_at.is_(None), _STATUS.c.position_at <= bindparam("b_at", type_=UTCDateTime())),
    )
    .values(
        lat=bindparam("b_lat"),
        lon=bindparam("b_lon"),
        accuracy_m=bindparam("b_accuracy"),
        position_at=bindparam("b_at"),
    )
)


async def _responding(session: AsyncSession) -> dict[int, uuid.UUID | None]:
    """The units responding to an alert now, with the alert: a few among thousands, so all of them are read rather
    than every unit of the batch by id."""
    found = await session.execute(
        select(UnitStatus.unit_id, UnitStatus.alert_id).where(UnitStatus.state.in_(RESPONDING))
    )
    return dict(found.all())


async def store_positions(session: AsyncSession, fixes: Sequence[PositionFix]) -> list[UnitPosition]:
    """Write a batch of positions, without an ORM object per row: the history rows (tied to the alert the unit is
    responding to, if any), and each unit's newest position unless the one stored is newer. Returns each unit's
    newest position of the batch. The one writer of positions: the HTTP and stream paths both submit to LiveUnits.

    Written STORE_CHUNK rows a statement: building a statement's parameters holds the event loop, and between
    statements the loop answers the phones. A unit sending positions is on duty, so its status row exists."""
    if not fixes:
        return []
    responding = await _responding(session)
    history = []
    newest: dict[int, PositionFix] = {}
    for fix in fixes:
        history.append(
            {
                "unit_id": fix.unit_id,
                "staff_id": fix.staff_id,
                "alert_id": responding.get(fix.unit_id),
                "lat": fix.lat,
                "lon": fix.lon,
                "accuracy_m": fix.accuracy_m,
                "speed_mps": fix.speed_mps,
                "battery": fix.battery,
                "recorded_at": fix.recorded_at,
            }
        )
        kept = newest.get(fix.unit_id)
        if kept is None or fix.recorded_at >= kept.recorded_at:
            newest[fix.unit_id] = fix
    for start in range(0, len(history), STORE_CHUNK):
        await session.execute(insert(_HISTORY), history[start : start + STORE_CHUNK])
    moves = [
        {"b_unit": f.unit_id, "b_lat": f.lat, "b_lon": f.lon, "b_accuracy": f.accuracy_m, "b_at": f.recorded_at}
        for f in newest.values()
    ]
    for start in range(0, len(moves), STORE_CHUNK):
        await session.execute(_MOVE_UNIT, moves[start : start + STORE_CHUNK])
    return [UnitPosition(f.unit_id, f.lat, f.lon, f.recorded_at.astimezone(UTC)) for f in newest.values()]


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
        self._flushing = asyncio.Lock()  # one flush at a time: a caller's flush returns once what it saw is written
        self._listeners: dict[int, UnitListener] = {}
        self._pending: list[UnitPoint] = []  # moved units heard from the hub, not yet told to the listeners
        self._tell_scheduled = False
        self._next = 0
        self._listen_tasks: list[asyncio.Task[None]] = []
        self._flusher = Loop("units-flush", self.flush, interval=FLUSH_INTERVAL_S)
        self.positions_written = 0

    async def start(self) -> None:
        await self.reload()
        self._listen_tasks = [
            asyncio.create_task(self._listen(), name="units-listen"),
            asyncio.create_task(self._listen_positions(), name="unit-positions-listen"),
        ]
        self._flusher.start()

    async def stop(self) -> None:
        await self._flusher.stop()
        for task in self._listen_tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._listen_tasks = []
        with contextlib.suppress(Exception):
            await self.flush()

    async def reload(self) -> None:
        """Load every unit from the database (at start, and after missing hub messages) by the rules of ``_apply``,
        and tell the listeners of every unit that changed meanwhile: they would have heard of it from the messages
        missed. A unit shown on duty that the board now leaves out (a drill's unit gone off duty) is read on its
        own, and shown off duty should the database no longer have it."""
        tracker = self.tracker
        async with self._read_sessions() as session:
            points = await responders.board(session)
            left_out = self._left_out(points)
            reread: list[UnitPoint] = []
            for start in range(0, len(left_out), 500):  # a bounded IN list per query, however many are left out
                reread += await responders.unit_points(session, [p.unit_id for p in left_out[start : start + 500]])
        if left_out:
            found = {p.unit_id for p in reread}
            reread += [
                replace(p, state=UnitState.OFF_DUTY.value, lat=None, lon=None)
                for p in left_out
                if p.unit_id not in found
            ]
            points += reread
        # Nobody listens at start: the whole city is taken in without collecting what changed.
        changed: list[UnitPoint] | None = [] if self._listeners else None
        for point in points:
            current = tracker.get(point.unit_id)
            point = _merged(point, current)
            if point != current:
                tracker.update(point)
                if changed is not None:
                    changed.append(point)
        if changed:
            self._tell(changed)

    def _left_out(self, board: Sequence[UnitPoint]) -> list[UnitPoint]:
        """The units the tracker shows on duty that ``board`` does not have."""
        if not len(self.tracker):  # at start: no need to index the board
            return []
        loaded = {p.unit_id for p in board}
        return [p for p in self.tracker.all() if p.unit_id not in loaded and p.state != UnitState.OFF_DUTY.value]

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
        """Write the buffered positions in one transaction and tell every process where the units are now. A flush
        already under way (the periodic one) is waited for, so that on return every position submitted before the
        call is written."""
        async with self._flushing:
            return await self._flush()

    async def _flush(self) -> int:
        if not self._buffer:
            return 0
        batch, self._buffer = self._buffer, []
        try:
            async with self._sessions() as session, session.begin():
                moved = await store_positions(session, batch)
        except Exception:
            self._buffer[:0] = batch  # keep them for the next try
            raise
        self.positions_written += len(batch)
        # This process knows at once; the others hear it through the hub (and this one again, harmlessly). The
        # tracker takes them in slices, the phones answered in between; the listeners hear of them once.
        points: list[UnitPoint] = []
        for start in range(0, len(moved), POSITIONS_CHUNK):
            points += self._move(moved[start : start + POSITIONS_CHUNK])
            await asyncio.sleep(0)
        self._tell(points)
        await self.publish_positions(moved)
        return len(batch)

    async def publish_positions(self, positions: Sequence[UnitPosition]) -> None:
        for start in range(0, len(positions), POSITIONS_CHUNK):
            try:
                await self._hub.publish(POSITIONS_CHANNEL, encode_positions(positions[start : start + POSITIONS_CHUNK]))
            except Exception:
                log.warning("could not publish unit positions; the other processes see them at the next one")
                return

    def _move(self, positions: Sequence[UnitPosition]) -> list[UnitPoint]:
        """Merge new positions into the units the tracker holds; the units that moved. An older position than the
        tracker's, or any position of a unit off duty (nobody's business), is left out; so is the hub's echo of
        what this process already applied."""
        tracker = self.tracker
        points = []
        for position in positions:
            current = tracker.get(position.unit_id)
            if current is None or current.state == UnitState.OFF_DUTY.value:
                continue
            if current.at is not None and (
                position.at < current.at
                or (position.at == current.at and (position.lat, position.lon) == (current.lat, current.lon))
            ):
                continue
            point = replace(current, lat=position.lat, lon=position.lon, at=position.at)
            tracker.update(point)
            points.append(point)
        return points

    def _tell(self, points: Sequence[UnitPoint]) -> None:
        """Hand moved units to every listener: one call each for the whole lot, as every connected stream listens
        (thousands of officers' among them)."""
        if points:
            for listener in list(self._listeners.values()):
                listener(points)

    def _tell_soon(self, points: Sequence[UnitPoint]) -> None:
        """Collect moved units and tell the listeners once the hub messages waiting now have all been read."""
        if not points:
            return
        self._pending.extend(points)
        if not self._tell_scheduled:
            self._tell_scheduled = True
            asyncio.get_running_loop().call_soon(self._tell_pending)

    def _tell_pending(self) -> None:
        points, self._pending, self._tell_scheduled = self._pending, [], False
        self._tell(points)

    def apply_local(self, points: Sequence[UnitPoint]) -> None:
        """Take committed unit changes into this process's tracker now (the hub echo follows)."""
        self._apply(points)

    def _apply(self, points: Sequence[UnitPoint]) -> None:
        """Take units' states (and positions, as read from the database) into the tracker. A state read before the
        newest position was written does not move the unit back: positions arrive on their own channel."""
        merged = []
        for point in points:
            point = _merged(point, self.tracker.get(point.unit_id))
            self.tracker.update(point)
            merged.append(point)
        for listener in list(self._listeners.values()):
            listener(merged)

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

    async def _listen_positions(self) -> None:
        while True:
            try:
                async with self._hub.subscribe(POSITIONS_CHANNEL) as subscription:
                    async for message in subscription:
                        self._tell_soon(self._move(decode_positions(message)))
                return
            except HubLagged:
                continue  # a missed position is superseded by the unit's next one, seconds later
            except Exception:
                log.warning("unit position hub subscription failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)

    async def _safe_reload(self) -> None:
        try:
            await self.reload()
        except Exception:
            log.exception("could not reload units")


def _merged(point: UnitPoint, current: UnitPoint | None) -> UnitPoint:
    """``point`` as the tracker takes it, ``current`` being what it holds: a state read before the unit's newest
    position was written keeps that position (unless the unit is off duty, which shows none)."""
    if (
        current is not None
        and point.state != UnitState.OFF_DUTY.value
        and current.lat is not None
        and current.lon is not None
        and current.at is not None
        and (point.at is None or point.at < current.at)
    ):
        return replace(point, lat=current.lat, lon=current.lon, at=current.at)
    return point
