"""Console snapshots shared between the consoles that open at the same moment.

After a restart, or when a surge brings every command centre's console up at once, each console asks for the same
picture: every open alert its scope may see, tens of thousands of them. Consoles of one scope that snapshot at the
same cursor get the same alerts, so the first one reads them from the database and serialises them into pages once;
the others send the same text. Pages go out as they are made: the first console's browser reads page one while the
server makes page two. An entry is shared for ``SHARE_SECONDS`` at most: the feed's cursor names every event, but
not a resident's live position, which a console that opens later would otherwise see a little stale (each stream
hears positions from the moment it listens, before its snapshot). The runtime owns one ``SnapshotPages`` (through its
``WireCache``); it holds at most ``SCOPES_MAX`` entries.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

from siaga.realtime.schemas import SNAPSHOT_PAGE, SnapshotPage

SHARE_SECONDS = 1.0
SCOPES_MAX = 8
_EMPTY_ALERTS = '"alerts":[]'


class SharedSnapshot:
    """One scope's open alerts at one cursor, serialised a page at a time: the first page's alerts (the inside of the
    ``alerts`` array of the ``snapshot`` message), then the whole ``snapshot_page`` messages that follow it."""

    def __init__(self, cursor: int) -> None:
        self.cursor = cursor
        self.open_alerts: int | None = None  # known once the alerts are read
        self._pages: list[str] = []
        self._error: BaseException | None = None
        self._grown = asyncio.Event()  # replaced by a new one each time a page (or the count, or an error) arrives
        self._first: tuple[str, str] | None = None  # (the board message it was made from, the message)

    @property
    def page_count(self) -> int:
        assert self.open_alerts is not None
        return max(1, math.ceil(self.open_alerts / SNAPSHOT_PAGE))

    @property
    def more(self) -> bool:
        return self.page_count > 1

    # Made by one console's task.
    def counted(self, open_alerts: int) -> None:
        self.open_alerts = open_alerts
        self._grow()

    def add(self, alerts: str) -> None:
        """The next page's alerts, serialised: the inside of its ``alerts`` array."""
        n = len(self._pages)
        if n == 0:
            self._pages.append(alerts)
        else:
            head = SnapshotPage(cursor=self.cursor, alerts=[], more=n + 1 < self.page_count).model_dump_json()
            self._pages.append(head.replace(_EMPTY_ALERTS, f'"alerts":[{alerts}]', 1))
        self._grow()

    def failed(self, error: BaseException) -> None:
        self._error = error
        self._grow()

    def _grow(self) -> None:
        grown, self._grown = self._grown, asyncio.Event()
        grown.set()

    # Read by every console of the scope.
    async def count(self) -> int:
        while self.open_alerts is None:
            await self._wait()
        return self.open_alerts

    async def page(self, n: int) -> str:
        """Page ``n``: for the first, its alerts; for the others, the whole ``snapshot_page`` message."""
        while len(self._pages) <= n:
            await self._wait()
        return self._pages[n]

    async def _wait(self) -> None:
        if self._error is not None:
            raise self._error
        await self._grown.wait()
        if self._error is not None:
            raise self._error

    def first_message(self, empty: str, alerts: str) -> str:
        """The ``snapshot`` message: ``empty`` (the console's snapshot with no alerts and its unit board) with the
        first page's ``alerts`` put in; made once for every console given the same ``empty``."""
        if self._first is not None and self._first[0] is empty:
            return self._first[1]
        assert _EMPTY_ALERTS in empty, "a snapshot's alerts come before its units"
        text = empty.replace(_EMPTY_ALERTS, f'"alerts":[{alerts}]', 1)
        self._first = (empty, text)
        return text


Make = Callable[[SharedSnapshot], Awaitable[None]]


class SnapshotPages:
    """Snapshots being made or just made, by (scope, cursor): a bounded, short-lived cache."""

    def __init__(
        self,
        *,
        share_seconds: float = SHARE_SECONDS,
        scopes_max: int = SCOPES_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.share_seconds = share_seconds
        self.scopes_max = scopes_max
        self._clock = clock
        self._entries: OrderedDict[tuple[Hashable, int], tuple[float, SharedSnapshot]] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self.made = 0  # snapshots read from the database (the rest were shared)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, scope: Hashable, cursor: int, make: Make) -> SharedSnapshot:
        """The snapshot of ``scope`` at ``cursor``: the one being made or made in the last ``share_seconds``, else a
        new one that ``make`` fills (counting the alerts, then adding each page) in a task of its own, so a console
        that goes away while it waits stops no other. One that fails is forgotten: the next console tries again."""
        now = self._clock()
        for key, (made_at, _) in list(self._entries.items()):
            if now - made_at > self.share_seconds:
                del self._entries[key]
        key = (scope, cursor)
        entry = self._entries.get(key)
        if entry is not None:
            return entry[1]
        shared = SharedSnapshot(cursor)
        self._entries[key] = (now, shared)
        self.made += 1
        while len(self._entries) > self.scopes_max:
            self._entries.popitem(last=False)
        task = asyncio.create_task(self._fill(key, shared, make))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return shared

    async def _fill(self, key: tuple[Hashable, int], shared: SharedSnapshot, make: Make) -> None:
        try:
            await make(shared)
        except Exception as error:
            if self._entries.get(key, (0.0, None))[1] is shared:
                del self._entries[key]
            shared.failed(error)
