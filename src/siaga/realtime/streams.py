"""WebSocket streams: who sees what, and how each stream turns feed items into messages.

One class per stream: ``Stream`` holds what they share (the feeds it listens to, the send loop and its heartbeats,
catching up from a cursor, the snapshot in pages) and ``ConsoleStream``, ``OfficerStream`` and ``ResidentStream``
each what only their viewers see and get. ``STREAMS`` chooses the class by the stream's name, once.

A stream never blocks the feed: the feed puts items on the stream's own bounded queue; a stream that falls too far
behind is closed with a message saying so, and its client reconnects with its cursor and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Protocol

from fastapi import WebSocket
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocketDisconnect

from siaga import metrics
from siaga.accounts import staff as staffing
from siaga.accounts.domain import Officer, Principal, Role
from siaga.accounts.models import Resident
from siaga.agencies.geo import haversine_m
from siaga.agencies.models import Jurisdiction
from siaga.alerts import access
from siaga.alerts import service as alerts
from siaga.alerts.domain import ACTIVE_STATES, AlertState, resident_view_state
from siaga.alerts.models import Alert
from siaga.alerts.schemas import ChatMessage
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.dispatch import duty, units
from siaga.dispatch.recommend import eta_seconds
from siaga.errors import Forbidden, Invalid
from siaga.realtime.feed import EventFeed, FeedItem, read_events
from siaga.realtime.locations import AlertPosition, LivePositions
from siaga.realtime.presence import OfficersStreaming
from siaga.realtime.schemas import (
    SNAPSHOT_PAGE,
    AlertLocation,
    AlertSummary,
    AlertWithdrawn,
    DeviceTroubleMessage,
    Heartbeat,
    Hello,
    PositionsAck,
    PositionsIn,
    ResidentAlertStatus,
    Snapshot,
    SnapshotPage,
    StreamError,
    StreamName,
    batch_text,
)
from siaga.realtime.snapshots import SharedSnapshot
from siaga.realtime.troubles import LiveTroubles
from siaga.realtime.wire import WireCache
from siaga.responders import service as responders
from siaga.responders.live import LiveUnits
from siaga.responders.models import Unit
from siaga.responders.tracker import UnitPoint, UnitTracker

log = logging.getLogger("siaga.streams")

SEND_TIMEOUT_S = 10.0
CLOSE_SESSION_ENDED = 4401  # as a refused session: the client logs in again and does not reconnect
SESSION_ENDED_MESSAGE = "your session ended (logged out, expired or deactivated); log in again"
BATCH_MAX = 100  # messages in one frame at most
BATCH_WAIT_S = 0.05  # how long the messages already made may wait for the rest of their frame
RESIDENT_KINDS = frozenset(
    {
        "created",
        "acknowledged",
        "dispatched",
        "handed_back",
        "en_route",
        "on_scene",
        "resolved",
        "cancelled",
        "duress",
        "cancel_ignored",
        "resident_messaged",
        "resident_replied",
    }
)


class Host(Protocol):
    """What the streams use of the running Siaga (the runtime gives it): the streams sit below the runtime."""

    @property
    def settings(self) -> Settings: ...

    @property
    def read_sessions(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def feed(self) -> EventFeed: ...

    @property
    def units(self) -> LiveUnits: ...

    @property
    def positions(self) -> LivePositions: ...

    @property
    def troubles(self) -> LiveTroubles: ...

    @property
    def wire(self) -> WireCache: ...

    @property
    def officers_streaming(self) -> OfficersStreaming: ...

    def unit_of_work(self) -> AbstractAsyncContextManager[AsyncSession]: ...


@dataclass
class Viewer:
    """Who is watching one stream (and, on a console, which agencies and jurisdictions they see)."""

    stream: StreamName
    principal: Principal
    agencies: frozenset[int] | None = None  # None: every agency (administrators)
    jurisdictions: frozenset[int] = frozenset()


# The alert's own columns its summary shows (the summary's other fields are the resident's and kecamatan's names).
_SUMMARY_COLUMNS = [getattr(Alert, name) for name in AlertSummary.model_fields if name in Alert.__table__.columns]


async def open_alerts(
    session: AsyncSession, principal: Principal, *, scope: access.StaffScope | None = None
) -> list[RowMapping]:
    """Every open alert ``principal`` may see, however many, oldest first, as plain rows of only the columns their
    summaries show (``summaries`` makes them): tens of thousands cost one query and little memory, and a snapshot
    makes the summaries of one page at a time (``scope``: the staff member's, when the stream already has it)."""
    condition = await access.visibility(session, principal, scope=scope)
    rows = await session.execute(
        select(
            *_SUMMARY_COLUMNS,
            func.coalesce(Resident.name, Resident.phone).label("resident_name"),
            Jurisdiction.name.label("jurisdiction_name"),
        )
        .join(Resident, Resident.id == Alert.resident_id)
        .outerjoin(Jurisdiction, Jurisdiction.id == Alert.jurisdiction_id)
        .where(condition, Alert.state.in_([s.value for s in ACTIVE_STATES]))
        .order_by(Alert.created_at, Alert.id)
    )
    return list(rows.mappings())


# A page of summaries validated and serialised as one list: five times faster than one model at a time (20,000
# alerts: 0.1 s instead of 0.6 s to validate, from plain dicts rather than row mappings).
_SUMMARIES = TypeAdapter(list[AlertSummary])


def summaries(rows: Sequence[RowMapping]) -> list[AlertSummary]:
    return _SUMMARIES.validate_python([dict(row) for row in rows])


def summaries_json(alerts: list[AlertSummary]) -> str:
    """``alerts`` serialised, without the brackets: the inside of a message's ``alerts`` array."""
    return _SUMMARIES.dump_json(alerts).decode()[1:-1]


def pages(rows: list[RowMapping]) -> list[list[RowMapping]]:
    """``rows`` in snapshot pages (one empty page if there are none)."""
    return [rows[start : start + SNAPSHOT_PAGE] for start in range(0, len(rows), SNAPSHOT_PAGE)] or [[]]


async def complete_tracker(session: AsyncSession, tracker: UnitTracker) -> None:
    """Make ``tracker`` hold every unit of the database. It hears of a unit when the unit's state changes, so one
    created since it loaded (by an administrator, a drill, another process) and never on duty is not in it yet."""
    count, id_sum = (
        await session.execute(select(func.count(), func.coalesce(func.sum(Unit.id), 0)).select_from(Unit))
    ).one()
    if (count, id_sum) == tracker.census():
        return
    missing = sorted(tracker.missing((await session.scalars(select(Unit.id))).all()))
    for start in range(0, len(missing), 500):  # a bounded IN list per query, however many are missing
        tracker.adopt(await responders.unit_points(session, missing[start : start + 500]))


_OVERFLOW = object()
_SESSION_ENDED = object()


@dataclass
class _ResidentAlert:
    unit_id: int | None = None
    state: AlertState = AlertState.NEW
    acknowledged: bool = False
    duress: bool = False
    lat: float = 0.0
    lon: float = 0.0
    cursor: int = 0
    message: str | None = None  # the command centre's latest word to the resident

    def shown_state(self) -> AlertState:
        """The state the resident's phone shows (after a duress PIN: cancelled, whatever staff do)."""
        return resident_view_state(self.state, duress=self.duress)


@dataclass
class Stream:
    """One connected client: what every stream does. The subclasses say what their viewers see and get."""

    name: ClassVar[StreamName]
    roles: ClassVar[frozenset[Role | None]]  # who may open it

    websocket: WebSocket
    runtime: Host
    viewer: Viewer
    queue: asyncio.Queue[object] = field(init=False)
    last_cursor: int = 0
    ended: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.runtime.settings.stream_queue_size)

    @classmethod
    async def viewer_for(cls, runtime: Host, principal: Principal) -> Viewer:
        return Viewer(stream=cls.name, principal=principal)

    # What the viewer sees: nothing unless the stream says so.
    def sees(self, item: FeedItem) -> bool:
        return False

    def sees_position(self, position: AlertPosition) -> bool:
        return False

    def sees_unit(self, point: UnitPoint) -> bool:
        return False

    def sees_trouble(self, notice: DeviceTroubleMessage) -> bool:
        return False

    @property
    def scope(self) -> access.StaffScope | None:
        """The staff scope the viewer's open alerts are read with, when the stream already has it."""
        return None

    # Called by the feeds: never block, never raise.
    def on_events(self, items: Sequence[FeedItem]) -> None:
        visible = [item for item in items if self.sees(item)]
        if visible:
            self._put(visible)

    def on_units(self, points: Sequence[UnitPoint]) -> None:
        visible = [p for p in points if self.sees_unit(p)]
        if visible:
            self._put(visible)

    def on_positions(self, positions: Sequence[AlertPosition]) -> None:
        visible = [p for p in positions if self.sees_position(p)]
        if visible:
            self._put(visible)

    def on_troubles(self, notices: Sequence[DeviceTroubleMessage]) -> None:
        visible = [n for n in notices if self.sees_trouble(n)]
        if visible:
            self._put(visible)

    def end_session(self) -> None:
        """The session behind this stream ended (logged out, expired, account deactivated, drill over): nothing more
        is sent; the client is told and the socket closed with 4401."""
        self.ended = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_SESSION_ENDED)

    def _put(self, batch: Sequence[object]) -> None:
        """Queue each message; a client that has ``stream_queue_size`` messages waiting is too slow."""
        if self.ended:
            return
        for entry in batch:
            try:
                self.queue.put_nowait(entry)
            except asyncio.QueueFull:
                # Drop what is queued and tell the sender to close; the client resumes from its cursor.
                while not self.queue.empty():
                    self.queue.get_nowait()
                self.queue.put_nowait(_OVERFLOW)
                return

    async def send(self, message: BaseModel) -> None:
        await self.send_text(message.model_dump_json())

    async def send_text(self, text: str) -> None:
        # asyncio.timeout, not wait_for: no task of its own for each of the thousands of messages a second.
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await self.websocket.send_text(text)

    async def run(self, *, cursor: int | None) -> None:
        runtime = self.runtime
        feed_handle = runtime.feed.register(self.on_events)
        units_handle = runtime.units.register(self.on_units)
        positions_handle = runtime.positions.register(self.on_positions)
        troubles_handle = runtime.troubles.register(self.on_troubles)
        try:
            # Accepted only now that the stream is listening: whatever the client reads after "open" (the page
            # refreshing its state) cannot miss a change that lands in between.
            await self.websocket.accept()
            start = runtime.feed.high_water
            await self.send(Hello(stream=self.name, cursor=start, resumed_from=cursor, server_time=datetime.now(UTC)))
            await self._snapshot(start)
            self.last_cursor = start
            if cursor is not None:
                await self._catch_up(cursor, start)
            receiver = asyncio.create_task(self._receive())
            sender = asyncio.create_task(self._send_loop())
            done, pending = await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for task in done:
                error = None if task.cancelled() else task.exception()
                if error is not None and not isinstance(error, WebSocketDisconnect | TimeoutError | RuntimeError):
                    raise error
        finally:
            runtime.feed.unregister(feed_handle)
            runtime.units.unregister(units_handle)
            runtime.positions.unregister(positions_handle)
            runtime.troubles.unregister(troubles_handle)

    async def _receive(self) -> None:
        """Read what the client sends (``_take_text``); reading also notices when the client goes away."""
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text:
                await self._take_text(text)

    async def _take_text(self, text: str) -> None:
        """What the client sent: ignored, unless the stream takes something."""

    def _reply(self, message: BaseModel) -> None:
        """Answers go through the send queue, so only the send loop writes to the socket."""
        self._put([message])

    async def _send_loop(self) -> None:
        heartbeat = self.runtime.settings.stream_heartbeat_seconds
        while True:
            try:
                if self.queue.empty():
                    async with asyncio.timeout(heartbeat):
                        entry = await self.queue.get()
                else:
                    entry = self.queue.get_nowait()
            except TimeoutError:
                await self.send(Heartbeat(cursor=self.last_cursor, server_time=datetime.now(UTC)))
                continue
            # Whatever else is already waiting goes in the same frame: under load one frame per burst, not per event.
            # A resident's messages may each need a database read: what is ready goes out within BATCH_WAIT_S.
            if entry is _SESSION_ENDED:
                await self.send(StreamError(code="auth.session_ended", message=SESSION_ENDED_MESSAGE))
                await self.websocket.close(code=CLOSE_SESSION_ENDED, reason="session ended")
                return
            texts: list[str] = []
            began = time.monotonic()
            while entry is not _OVERFLOW:
                texts.extend(await self._texts(entry))
                if len(texts) >= BATCH_MAX or self.queue.empty() or time.monotonic() - began > BATCH_WAIT_S:
                    break
                entry = self.queue.get_nowait()
            if texts:
                await self.send_text(batch_text(texts))
            if entry is _OVERFLOW:
                await self.send(
                    StreamError(
                        code="stream.too_slow",
                        message=f"you fell behind; reconnect with cursor={self.last_cursor} to resume",
                    )
                )
                await self.websocket.close(code=1013)
                return

    async def _texts(self, entry: object) -> list[str]:
        """The serialised messages one queued entry makes for this viewer (none if it is not for them)."""
        if isinstance(entry, BaseModel):
            return [entry.model_dump_json()]
        if isinstance(entry, FeedItem):
            return await self._item_texts(entry)
        if isinstance(entry, UnitPoint):
            return await self._unit_texts(entry)
        if isinstance(entry, AlertPosition):
            location = AlertLocation(
                alert_id=entry.alert_id, lat=entry.lat, lon=entry.lon, accuracy_m=entry.accuracy_m, at=entry.at
            )
            return [location.model_dump_json()]
        return []

    async def _catch_up(self, cursor: int, until: int) -> None:
        """Everything the client missed after ``cursor``, up to where the live feed took over."""
        after = cursor
        while after < until:
            async with self.runtime.read_sessions() as session:
                items = await read_events(session, after=after)
            items = [i for i in items if i.cursor <= until]
            if not items:
                break
            texts: list[str] = []
            for item in items:
                if self.sees(item):
                    texts.extend(await self._item_texts(item, catching_up=True))
            for start in range(0, len(texts), BATCH_MAX):
                await self.send_text(batch_text(texts[start : start + BATCH_MAX]))
            after = items[-1].cursor
        self.last_cursor = until

    async def _item_texts(self, item: FeedItem, *, catching_up: bool = False) -> list[str]:
        if not catching_up and item.cursor <= self.last_cursor:
            return []  # already sent during catch-up
        texts = await self._feed_texts(item, catching_up=catching_up)
        self.last_cursor = max(self.last_cursor, item.cursor)
        return texts

    async def _feed_texts(self, item: FeedItem, *, catching_up: bool) -> list[str]:
        """The messages one event the viewer sees makes: staff get the item itself, serialised once for all."""
        return [item.staff_message()]

    async def _unit_texts(self, point: UnitPoint) -> list[str]:
        return []

    async def _snapshot(self, cursor: int) -> None:
        """What is true now: the viewer's open alerts (all of them, in pages: see ``Snapshot``). The database
        connection is given back before anything is sent."""
        async with self.runtime.read_sessions() as session:
            rows = await open_alerts(session, self.viewer.principal, scope=self.scope)
            await self._before_snapshot(session)
        rows = self._snapshot_rows(rows, cursor)
        first, *rest = pages(rows)
        await self._send_snapshot(cursor, summaries(first), open_alerts=len(rows), more=bool(rest))
        for n, page in enumerate(rest, start=1):
            await self.send(SnapshotPage(cursor=cursor, alerts=summaries(page), more=n < len(rest)))

    async def _before_snapshot(self, session: AsyncSession) -> None:
        """Whatever else the snapshot needs from the database, read in the same session."""

    def _snapshot_rows(self, rows: list[RowMapping], cursor: int) -> list[RowMapping]:
        """The open alerts the snapshot shows."""
        return rows

    async def _send_snapshot(self, cursor: int, alerts: list[AlertSummary], *, open_alerts: int, more: bool) -> None:
        await self.send(Snapshot(cursor=cursor, alerts=alerts, units=[], open_alerts=open_alerts, more=more))


@dataclass
class ConsoleStream(Stream):
    """A command centre's console: the alerts and units of its agencies and jurisdictions (administrators: all),
    and the residents' live positions in its area."""

    name: ClassVar[StreamName] = "console"
    roles: ClassVar[frozenset[Role | None]] = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})

    @classmethod
    async def viewer_for(cls, runtime: Host, principal: Principal) -> Viewer:
        viewer = Viewer(stream=cls.name, principal=principal)
        if principal.role is not Role.ADMIN and principal.agency_id is not None:
            async with runtime.read_sessions() as session:
                scope = await access.staff_scope(session, principal.agency_id)
            viewer.agencies, viewer.jurisdictions = scope.agencies, scope.jurisdictions
        return viewer

    @property
    def scope(self) -> access.StaffScope | None:
        """The staff scope as computed when it connected (None for administrators)."""
        if self.viewer.agencies is None:
            return None
        return access.StaffScope(agencies=self.viewer.agencies, jurisdictions=self.viewer.jurisdictions)

    def sees(self, item: FeedItem) -> bool:
        """The alert is the viewer's to see now, or it was until this event took it away (a category change that
        re-routed it): the console is told to drop it."""
        return self._sees_now(item) or self._withdrawn(item)

    def _sees_now(self, item: FeedItem) -> bool:
        agencies = self.viewer.agencies
        if agencies is None:
            return True
        return (
            item.alert.agency_id in agencies
            or not agencies.isdisjoint(item.alert.informed_agency_ids)
            or (item.alert.jurisdiction_id is not None and item.alert.jurisdiction_id in self.viewer.jurisdictions)
            or bool(item.escalated_to & agencies)
        )

    def _withdrawn(self, item: FeedItem) -> bool:
        agencies = self.viewer.agencies
        if agencies is None or item.event.kind != "category_changed":
            return False
        before = item.event.data.get("previous_agency_ids")
        return isinstance(before, list) and not agencies.isdisjoint(before)

    def sees_position(self, position: AlertPosition) -> bool:
        agencies = self.viewer.agencies
        return (
            agencies is None
            or position.agency_id in agencies
            or not agencies.isdisjoint(position.informed_agency_ids)
            or (position.jurisdiction_id is not None and position.jurisdiction_id in self.viewer.jurisdictions)
        )

    def sees_unit(self, point: UnitPoint) -> bool:
        return self.viewer.agencies is None or point.agency_id in self.viewer.agencies

    def sees_trouble(self, notice: DeviceTroubleMessage) -> bool:
        """The troubles of its agencies' devices, as ``GET /devices/troubles`` lists them."""
        return self.viewer.agencies is None or notice.agency_id in self.viewer.agencies

    async def _feed_texts(self, item: FeedItem, *, catching_up: bool) -> list[str]:
        if not self._sees_now(item):
            return [AlertWithdrawn(cursor=item.cursor, alert_id=item.alert.id).model_dump_json()]
        if not catching_up:
            metrics.COMMIT_TO_CONSOLE.observe(time.time() - item.event.at.timestamp())
        return [item.staff_message()]

    async def _unit_texts(self, point: UnitPoint) -> list[str]:
        return [self.runtime.wire.unit_message(point)]

    async def _snapshot(self, cursor: int) -> None:
        """The console's open alerts and unit board. Consoles of one scope that open at the same cursor share one read
        and one serialisation of their open alerts (``snapshots.SnapshotPages``), sent page by page as it is made;
        the board is the tracker's now."""
        scope = self._shared_scope()
        if scope is None:
            await super()._snapshot(cursor)
            return
        async with self.runtime.read_sessions() as session:
            await self._before_snapshot(session)
        shared = self.runtime.wire.snapshot_pages.get(scope, cursor, self._make_snapshot)
        open_alerts = await shared.count()
        first = await shared.page(0)
        empty = self.runtime.wire.console_snapshot(
            self.runtime.units.tracker,
            self.viewer.agencies,
            cursor=cursor,
            alerts=[],
            open_alerts=open_alerts,
            more=shared.more,
        )
        await self.send_text(shared.first_message(empty, first))
        for n in range(1, shared.page_count):
            await self.send_text(await shared.page(n))

    def _shared_scope(self) -> tuple[object, ...] | None:
        """What decides which alerts the console sees, as a key consoles that see the same share (None: not shared)."""
        if self.viewer.principal.role is Role.ADMIN:
            return ("all",)
        if self.viewer.agencies is None:
            return None
        return ("scope", self.viewer.agencies, self.viewer.jurisdictions)

    async def _make_snapshot(self, shared: SharedSnapshot) -> None:
        async with self.runtime.read_sessions() as session:
            rows = await open_alerts(session, self.viewer.principal, scope=self.scope)
        shared.counted(len(rows))
        for page in pages(rows):
            shared.add(summaries_json(summaries(page)))
            await asyncio.sleep(0)  # the pages of tens of thousands of alerts: other streams and presses go on between

    async def _before_snapshot(self, session: AsyncSession) -> None:
        # The board comes from the process's tracker, read after this stream started listening for unit changes,
        # so whatever changes later follows the snapshot.
        await complete_tracker(session, self.runtime.units.tracker)

    async def _send_snapshot(self, cursor: int, alerts: list[AlertSummary], *, open_alerts: int, more: bool) -> None:
        text = self.runtime.wire.console_snapshot(
            self.runtime.units.tracker,
            self.viewer.agencies,
            cursor=cursor,
            alerts=alerts,
            open_alerts=open_alerts,
            more=more,
        )
        await self.send_text(text)


@dataclass
class OfficerStream(Stream):
    """An officer's phone: the offers and assignments of their unit, the resident's live position, and the
    positions the phone sends while on duty."""

    name: ClassVar[StreamName] = "officer"
    roles: ClassVar[frozenset[Role | None]] = frozenset({Role.OFFICER})

    def sees(self, item: FeedItem) -> bool:
        return self.viewer.principal.unit_id is not None and self.viewer.principal.unit_id in item.units

    async def run(self, *, cursor: int | None) -> None:
        """While it is open, the officer hears of offers here and gets no SMS of them."""
        staff_id = self.viewer.principal.staff_id
        if staff_id is None:
            await super().run(cursor=cursor)
            return
        self.runtime.officers_streaming.opened(staff_id)
        try:
            await super().run(cursor=cursor)
        finally:
            self.runtime.officers_streaming.closed(staff_id)

    def sees_position(self, position: AlertPosition) -> bool:
        """A resident's live position: for the assigned unit's officer."""
        return position.unit_id is not None and position.unit_id == self.viewer.principal.unit_id

    def on_units(self, points: Sequence[UnitPoint]) -> None:
        """An officer's phone shows no unit board, so the units each flush moved are not looked at one by one: with
        thousands of officer streams open that was every moved unit times every stream, twice a second."""

    async def _take_text(self, text: str) -> None:
        try:
            batch = PositionsIn.model_validate_json(text)
        except ValidationError as error:
            problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:3])
            self._reply(PositionsAck(seq=None, accepted=0, refused="positions.invalid", message=problem))
            return
        try:
            officer = Officer.of(self.viewer.principal)
            accepted = await duty.share_positions(self.runtime.units, officer, batch.points, now=datetime.now(UTC))
        except (Forbidden, Invalid) as refused:  # no unit, or off duty: as over HTTP
            self._reply(PositionsAck(seq=batch.seq, accepted=0, refused=refused.code, message=refused.message))
            return
        self._reply(PositionsAck(seq=batch.seq, accepted=accepted))


@dataclass
class ResidentStream(Stream):
    """A resident's phone: their own alerts' status, the officer coming and the ETA (after a duress PIN: a frozen
    "cancelled")."""

    name: ClassVar[StreamName] = "resident"
    roles: ClassVar[frozenset[Role | None]] = frozenset({None})

    residents_alerts: dict[uuid.UUID, _ResidentAlert] = field(default_factory=dict)

    def sees(self, item: FeedItem) -> bool:
        return item.resident_id == self.viewer.principal.resident_id and not item.hidden_from_resident

    def on_units(self, points: Sequence[UnitPoint]) -> None:
        # Only units of an alert the phone shows as open (never after a duress PIN).
        mine = {
            a.unit_id
            for a in self.residents_alerts.values()
            if a.unit_id is not None and a.shown_state() in ACTIVE_STATES
        }
        visible = [p for p in points if p.unit_id in mine]
        if visible:
            self._put(visible)

    async def _feed_texts(self, item: FeedItem, *, catching_up: bool) -> list[str]:
        mine = self.residents_alerts.setdefault(item.alert.id, _ResidentAlert())
        if mine.duress:
            return []  # the phone shows "cancelled" and learns nothing more
        mine.unit_id, mine.state = item.alert.unit_id, item.alert.state
        mine.acknowledged = item.alert.acknowledged_at is not None
        mine.duress = item.alert.duress
        mine.lat, mine.lon, mine.cursor = item.alert.lat, item.alert.lon, item.cursor
        if item.event.kind == "resident_messaged":
            mine.message = str(item.event.data.get("text", ""))
        if item.event.kind not in RESIDENT_KINDS:
            return []
        point = self.runtime.units.tracker.get(mine.unit_id) if mine.unit_id is not None else None
        status = await self._resident_status(item.alert.id, mine, point)
        event = item.event
        line = alerts.chat_line(event.kind, event_id=event.id, at=event.at, data=event.data)
        if line is not None and not mine.duress:
            status.said = ChatMessage(id=line.id, at=line.at, sender=line.sender, text=line.text)
        return [status.model_dump_json()]

    async def _unit_texts(self, point: UnitPoint) -> list[str]:
        texts = []
        for alert_id, mine in self.residents_alerts.items():
            if mine.unit_id == point.unit_id and mine.shown_state() in ACTIVE_STATES:
                texts.append((await self._resident_status(alert_id, mine, point)).model_dump_json())
        return texts

    def _snapshot_rows(self, rows: list[RowMapping], cursor: int) -> list[RowMapping]:
        for alert in summaries(rows):
            self.residents_alerts[alert.id] = _ResidentAlert(
                unit_id=alert.unit_id,
                state=alert.state,
                acknowledged=alert.acknowledged_at is not None,
                duress=alert.duress,
                lat=alert.lat,
                lon=alert.lon,
                cursor=cursor,
            )
        # The phone's own view: a duress alert shows as cancelled and is not "open".
        return [
            row for row in rows if resident_view_state(AlertState(row["state"]), duress=row["duress"]) in ACTIVE_STATES
        ]

    async def _resident_status(
        self, alert_id: uuid.UUID, mine: _ResidentAlert, point: UnitPoint | None
    ) -> ResidentAlertStatus:
        if mine.duress:
            # Frozen at the duress PIN: whichever event this stream first saw the alert with (live, or replayed
            # from any cursor), the phone gets the same message, so nothing staff do later shows on it.
            async with self.runtime.read_sessions() as session:
                entered = await alerts.duress_entered(session, alert_id)
            return ResidentAlertStatus(
                cursor=entered.cursor,
                alert_id=alert_id,
                state=mine.shown_state(),
                acknowledged=False,
                unit_callsign=None,
                officer_names=[],
                officer_lat=None,
                officer_lon=None,
                eta_s=None,
            )
        names: list[str] = []
        others = 0
        if mine.state in ACTIVE_STATES:
            async with self.runtime.read_sessions() as session:
                if mine.unit_id is not None:
                    names = sorted(o.name for o in await staffing.officers_of(session, mine.unit_id))
                others = await units.others_coming(session, alert_id)
        eta = None
        if point is not None and point.lat is not None and point.lon is not None and mine.state in ACTIVE_STATES:
            distance = haversine_m(mine.lat, mine.lon, point.lat, point.lon)
            eta = eta_seconds(distance, kind=point.kind, duty_mode=point.duty_mode)
        return ResidentAlertStatus(
            cursor=mine.cursor,
            alert_id=alert_id,
            state=mine.shown_state(),
            acknowledged=mine.acknowledged,
            unit_callsign=point.callsign if point is not None else None,
            officer_names=names,
            other_units=others,
            officer_lat=point.lat if point is not None else None,
            officer_lon=point.lon if point is not None else None,
            eta_s=eta,
            message=mine.message,
        )


STREAMS: dict[StreamName, type[Stream]] = {cls.name: cls for cls in (ConsoleStream, OfficerStream, ResidentStream)}


async def viewer_for(runtime: Host, stream: StreamName, principal: Principal) -> Viewer:
    return await STREAMS[stream].viewer_for(runtime, principal)


async def watch(
    runtime: Host, stream: StreamName, principal: Principal, *, by: ActorContext, cursor: int | None
) -> Viewer:
    """``principal`` opens ``stream`` (from ``cursor``): audited as ``stream.<name>``, in a transaction of its own
    before the stream's long loop starts, whoever opens it; then who is watching, and what they see."""
    async with runtime.unit_of_work() as session:
        await audit.record_for(session, by, action=f"stream.{stream}", detail={"cursor": cursor})
    return await viewer_for(runtime, stream, principal)
