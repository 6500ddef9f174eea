"""The event feed: one reader per process follows the timeline and fans new events out to the process's streams.

The database is the truth; the hub only says "something happened". On each such poke (and on a short poll, in
case a poke was lost) the feed reads every event after the newest one it has seen, in one query, and hands them to
every registered listener. Events commit in id order (see ``alerts.service.lock_event_log``), so reading "after
the newest seen" never skips one.

A writer that built the items of what it has just committed (the SOS batch writer) offers them instead
(``EventFeed.offer``): when they follow the newest event seen with no id between, nothing can be missing and they go
out without being read back; otherwise the feed reads as on a poke.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.accounts.models import Resident
from siaga.aftercommit import WrittenEvent
from siaga.agencies.models import Jurisdiction
from siaga.alerts.domain import AlertState, Category, Priority
from siaga.alerts.models import Alert, AlertEscalation, AlertEvent, AlertOffer, AlertUnit, AlertUnitState, OfferState
from siaga.background import Loop
from siaga.db import Base, CoreRunner
from siaga.hub import Hub, HubLagged
from siaga.realtime.outbox import HubOutbox
from siaga.realtime.schemas import AlertEventMessage, AlertSummary, EventBody

log = logging.getLogger("siaga.feed")

EVENTS_CHANNEL = "siaga.events"
BATCH = 500
# Each process's pokes carry its own token, so that its feed does not read again for what it has just offered.
_POKE = uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One timeline event with what the streams need to decide who may see it."""

    event: EventBody
    alert: AlertSummary
    resident_id: uuid.UUID
    units: frozenset[int]  # the assigned unit, units with a pending offer, and units the event names
    escalated_to: frozenset[int]  # agencies the alert was escalated to
    hidden_from_resident: bool = False  # a duress follow-up: the resident's phone never hears of it
    # The console and officer message for this event, serialised once for every stream that sends it.
    _wire: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def cursor(self) -> int:
        return self.event.id

    def staff_message(self) -> str:
        """The JSON of the ``alert_event`` message, the same for every console and officer that may see it."""
        if not self._wire:
            self._wire.append(
                AlertEventMessage(cursor=self.cursor, event=self.event, alert=self.alert).model_dump_json()
            )
        return self._wire[0]


Listener = Callable[[Sequence[FeedItem]], None]


def summary(alert: Alert, *, resident_name: str | None = None, jurisdiction_name: str | None = None) -> AlertSummary:
    return AlertSummary(
        jurisdiction_name=jurisdiction_name,
        resident_name=resident_name,
        id=alert.id,
        state=AlertState(alert.state),
        category=Category(alert.category),
        priority=Priority(alert.priority),
        silent=alert.silent,
        duress=alert.duress,
        escalated=alert.escalated,
        resident_suspended=alert.resident_suspended,
        is_exercise=alert.is_exercise,
        delivery_failed=alert.delivery_failed,
        press_count=alert.press_count,
        channel=alert.channel,
        agency_id=alert.agency_id,
        informed_agency_ids=list(alert.informed_agency_ids or []),
        incident_id=alert.incident_id,
        jurisdiction_id=alert.jurisdiction_id,
        lat=alert.lat,
        lon=alert.lon,
        accuracy_m=alert.accuracy_m,
        unit_id=alert.unit_id,
        unit_requests=list(alert.unit_requests or []),
        created_at=alert.created_at,
        acknowledged_at=alert.acknowledged_at,
    )


def _named_units(data: dict[str, object]) -> set[int]:
    named: set[int] = set()
    for key in ("unit_id", "previous_unit_id"):
        value = data.get(key)
        if isinstance(value, int):
            named.add(value)
    units = data.get("unit_ids")
    if isinstance(units, list):
        named.update(u for u in units if isinstance(u, int))
    return named


async def read_events(session: AsyncSession, *, after: int, limit: int = BATCH) -> list[FeedItem]:
    """Events with id > ``after``, oldest first, each with its alert as it is now."""
    return await session.run_sync(lambda s: read_events_sync(s.connection(), after=after, limit=limit))


_ALERT_COLUMNS = (
    "id", "state", "category", "priority", "silent", "duress", "escalated", "resident_suspended", "is_exercise",
    "delivery_failed", "press_count", "channel", "agency_id", "jurisdiction_id", "lat", "lon", "accuracy_m", "unit_id",
    "created_at", "acknowledged_at", "resident_id", "follows_id", "informed_agency_ids", "incident_id", "unit_requests",
)  # fmt: skip
_EVENT_COLUMNS = ("id", "kind", "actor_kind", "actor_name", "at", "lat", "lon", "state_after", "data")


def read_events_sync(connection: Connection, *, after: int, limit: int = BATCH) -> list[FeedItem]:
    """``read_events`` in synchronous Core: four queries for the whole batch (events with their alerts, residents'
    names and kecamatan names; pending offers; escalations; units added), run in one hop to the database
    (``db.CoreRunner``)."""
    events = _table(AlertEvent)
    alerts = _table(Alert)
    residents = _table(Resident)
    places = _table(Jurisdiction)
    rows = connection.execute(
        select(
            *(events.c[name].label(f"e_{name}") for name in _EVENT_COLUMNS),
            *(alerts.c[name].label(f"a_{name}") for name in _ALERT_COLUMNS),
            func.coalesce(residents.c.name, residents.c.phone).label("resident_name"),
            places.c.name.label("jurisdiction_name"),
        )
        .select_from(events)
        .join(alerts, alerts.c.id == events.c.alert_id)
        .outerjoin(residents, residents.c.id == alerts.c.resident_id)
        .outerjoin(places, places.c.id == alerts.c.jurisdiction_id)
        .where(events.c.id > after)
        .order_by(events.c.id)
        .limit(limit)
    ).all()
    if not rows:
        return []
    alert_ids = {row.a_id for row in rows}
    offers = _table(AlertOffer)
    offered: dict[uuid.UUID, set[int]] = {}
    for alert_id, unit_id in connection.execute(
        select(offers.c.alert_id, offers.c.unit_id).where(
            offers.c.alert_id.in_(alert_ids), offers.c.state == OfferState.PENDING.value
        )
    ).all():
        offered.setdefault(alert_id, set()).add(unit_id)
    escalations = _table(AlertEscalation)
    escalated: dict[uuid.UUID, set[int]] = {}
    for alert_id, agency_id in connection.execute(
        select(escalations.c.alert_id, escalations.c.agency_id).where(escalations.c.alert_id.in_(alert_ids))
    ).all():
        escalated.setdefault(alert_id, set()).add(agency_id)
    # The units added to each alert (backups, while on it): their officers' streams carry its events too.
    added = _table(AlertUnit)
    for alert_id, unit_id in connection.execute(
        select(added.c.alert_id, added.c.unit_id).where(
            added.c.alert_id.in_(alert_ids),
            added.c.state.not_in((AlertUnitState.RELEASED.value, AlertUnitState.UNANSWERED.value)),
        )
    ).all():
        offered.setdefault(alert_id, set()).add(unit_id)
    items = []
    for row in rows:
        event = {name: getattr(row, f"e_{name}") for name in _EVENT_COLUMNS}
        alert = {name: getattr(row, f"a_{name}") for name in _ALERT_COLUMNS}
        units = offered.get(alert["id"], set()) | _named_units(event["data"] or {})
        if alert["unit_id"] is not None:
            units.add(alert["unit_id"])
        items.append(
            FeedItem(
                event=EventBody.model_validate(event),
                alert=AlertSummary.model_validate(
                    {**alert, "resident_name": row.resident_name, "jurisdiction_name": row.jurisdiction_name}
                ),
                resident_id=alert["resident_id"],
                hidden_from_resident=alert["follows_id"] is not None,
                units=frozenset(units),
                escalated_to=frozenset(escalated.get(alert["id"], set())),
            )
        )
    return items


def written_item(written: WrittenEvent) -> FeedItem:
    """The item ``read_events_sync`` would read for an event its writer has just inserted (a new alert's: no unit
    has an offer of it yet)."""
    event, alert = written.event, written.alert
    units = _named_units(event["data"] or {})
    if alert["unit_id"] is not None:
        units.add(alert["unit_id"])
    return FeedItem(
        event=EventBody.model_validate({name: event[name] for name in _EVENT_COLUMNS}),
        alert=AlertSummary.model_validate(
            {
                **{name: alert[name] for name in _ALERT_COLUMNS if name in alert},
                "resident_name": written.resident_name,
                "jurisdiction_name": written.jurisdiction_name,
            }
        ),
        resident_id=alert["resident_id"],
        hidden_from_resident=alert.get("follows_id") is not None,
        units=frozenset(units),
        escalated_to=frozenset(),
    )


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def newest_event_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(AlertEvent.id))) or 0)


class EventFeed:
    """Follows the timeline for this process. ``wake()`` after a local commit; the hub wakes it for other
    processes' commits; a poll every ``poll_interval`` seconds covers lost pokes."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        hub: Hub,
        *,
        poll_interval: float = 1.0,
        core: CoreRunner | None = None,
    ) -> None:
        self._sessions = sessions
        self._core = core
        self._hub = hub
        self._listeners: dict[int, Listener] = {}
        self._next_handle = 0
        self._loop = Loop("feed-follow", self._catch_up, interval=poll_interval)
        self._listen_task: asyncio.Task[None] | None = None
        self.high_water = 0

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    async def start(self) -> None:
        async with self._sessions() as session:
            self.high_water = await newest_event_id(session)
        self._loop.start()
        self._listen_task = asyncio.create_task(self._listen(), name="feed-listen")

    async def stop(self) -> None:
        await self._loop.stop()
        if self._listen_task is not None:
            self._listen_task.cancel()  # it only waits on the hub; no database work to interrupt
            with contextlib.suppress(asyncio.CancelledError):
                await self._listen_task
            self._listen_task = None

    def wake(self) -> None:
        self._loop.wake()

    @property
    def loop(self) -> Loop:
        """The feed's reading loop: when its last read finished (for readiness, and for tests awaiting a read)."""
        return self._loop

    def offer(self, items: Sequence[FeedItem]) -> None:
        """Events this process has just committed, as their writer built them. They go out at once if they follow
        the newest event seen with no id between (nothing of another writer can lie there); otherwise the feed
        reads, and gets them from the database."""
        ordered = sorted(items, key=lambda item: item.cursor)
        first = self.high_water + 1
        if not ordered or [item.cursor for item in ordered] != list(range(first, first + len(ordered))):
            self.wake()
            return
        self.high_water = ordered[-1].cursor
        self._deliver(ordered)

    def _deliver(self, items: Sequence[FeedItem]) -> None:
        for listener in list(self._listeners.values()):
            listener(items)

    def register(self, listener: Listener) -> int:
        """Add a listener (it must not block: it queues). Returns a handle for ``unregister``."""
        self._next_handle += 1
        self._listeners[self._next_handle] = listener
        return self._next_handle

    def unregister(self, handle: int) -> None:
        self._listeners.pop(handle, None)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._hub.subscribe(EVENTS_CHANNEL) as subscription:
                    async for message in subscription:
                        if message != _POKE:  # this process's own commits were offered or woke it already
                            self.wake()
                return  # the hub stopped
            except HubLagged:
                self.wake()
            except Exception:  # the hub is down: the poll keeps the streams going; retry the subscription
                log.warning("event hub subscription failed; polling until it is back", exc_info=True)
                self.wake()
                await asyncio.sleep(1.0)

    async def _catch_up(self) -> None:
        while True:
            if self._core is not None:
                items = await self._core.read(partial(read_events_sync, after=self.high_water))
            else:
                async with self._sessions() as session:
                    items = await read_events(session, after=self.high_water)
            read = len(items)
            # What was offered while this read was under way has gone out already.
            items = [item for item in items if item.cursor > self.high_water]
            if items:
                self.high_water = items[-1].cursor
                self._deliver(items)
            if read < BATCH:
                return


def poke(outbox: HubOutbox) -> None:
    """Tell other processes that events were committed, in the background. A failure only delays them until their
    next poll."""
    outbox.put(EVENTS_CHANNEL, _POKE)
