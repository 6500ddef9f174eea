"""What a unit of work tells the rest of Siaga once it has committed.

A use case does not talk to the hub, the streams, the notifiers or the timers itself: inside its transaction it
``emit``s typed events saying what it did, and after the commit the runtime hands them to the handlers it registered
at start-up (``Handlers``). Nothing is told of a transaction that rolled back, and a handler never delays a write:
handlers only queue work, and whatever must not be lost (a message to send, an offer due) is already in the database,
where its own loop finds it again if the process dies first.

The events carry only what their handlers need. Each kind is handled once per commit, with every event of that kind
the transaction emitted (so a hundred timeline events make one wake-up of the feed).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger("siaga.aftercommit")

_KEY = "siaga.after_commit"  # where a session collects its events (``Session.info``)


class Event:
    """Something a committed transaction tells the rest of Siaga."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class WrittenEvent:
    """A timeline event as its writer inserted it: the event's row (with its id), its alert's row, and the names
    shown with it. The feed makes its item of these (``realtime.feed.written_item``) without reading them back."""

    event: dict[str, Any]
    alert: dict[str, Any]
    resident_name: str | None
    jurisdiction_name: str | None


@dataclass(frozen=True, slots=True)
class TimelineWritten(Event):
    """Alerts' timeline events were written. ``items``: the events as written, when the writer kept them (the feed
    then hands them out without reading them back); None: the feed reads the new events."""

    items: tuple[WrittenEvent, ...] | None = None


@dataclass(frozen=True, slots=True)
class SessionsRevoked(Event):
    """Sign-in sessions ended (a logout, a deactivated account, an ended drill): every process forgets what it
    remembers of them, and their streams close."""


@dataclass(frozen=True, slots=True)
class UnitsChanged(Event):
    """These units' state or alert changed: the unit boards hear of it."""

    unit_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class MessagesQueued(Event):
    """Outbound messages (SMS, push) were queued: send them now (the retry loop finds any not sent)."""

    message_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OffersDue(Event):
    """An alert's direct offers, or a unit's availability, are due now: the timer sweep runs at once."""


@dataclass(frozen=True, slots=True)
class OffersMade(Event):
    """Direct offers were made: the officers of those units with no open stream are told by SMS."""

    offer_ids: tuple[int, ...]


def emit(session: Any, event: Event) -> None:
    """Tell the rest of Siaga ``event`` once ``session``'s transaction commits, and nothing if it rolls back
    (``session``: an ``AsyncSession``, a ``Session`` or a Core ``Connection``). An event equal to one already emitted
    is not kept twice."""
    pending: list[Event] = session.info.setdefault(_KEY, [])
    if isinstance(event, TimelineWritten) and event.items is None and event in pending:
        return  # the common case, once per timeline row
    if not isinstance(event, TimelineWritten) and event in pending:
        return
    pending.append(event)


def emit_all(session: Any, events: Iterable[Event]) -> None:
    for event in events:
        emit(session, event)


def collected(session: Any) -> list[Event]:
    """The events ``session`` emitted, taken (a second call returns none)."""
    events: list[Event] = session.info.pop(_KEY, [])
    return events


E = TypeVar("E", bound=Event)
Handler = Callable[[Sequence[Any]], Awaitable[None] | None]


class Handlers:
    """What runs after a commit, per kind of event: registered once at start-up by the runtime."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler]] = {}

    def on(self, kind: type[E], handler: Callable[[Sequence[E]], Awaitable[None] | None]) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    async def run(self, events: Sequence[Event]) -> None:
        """Hand each kind's events to its handlers, in the order the kinds were first emitted. A handler that fails
        is logged; the others still run (what it should have done is recorded and retried by its own loop)."""
        by_kind: dict[type[Event], list[Event]] = {}
        for event in events:
            by_kind.setdefault(type(event), []).append(event)
        for kind, batch in by_kind.items():
            for handler in self._handlers.get(kind, ()):
                try:
                    done = handler(batch)
                    if done is not None:
                        await done
                except Exception:
                    log.exception("an after-commit handler for %s failed", kind.__name__)
