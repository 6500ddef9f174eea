"""Console snapshots shared between the consoles that open at the same moment.

After a restart, or when a surge brings every command centre's console up at once, each console asks for the same
picture: every open alert its scope may see, tens of thousands of them. Consoles of one scope that snapshot at the
same cursor get the same alerts, so the first one reads them from the database and serialises them into pages once;
the others wait for it and send the same text. An entry is shared for ``SHARE_SECONDS`` at most: the feed's cursor
names every event, but not a resident's live position, which a console that opens later would otherwise see a little
stale (each stream hears positions from the moment it listens, before its snapshot). The runtime owns one
``SnapshotPages`` (through its ``WireCache``); it holds at most ``SCOPES_MAX`` entries.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from siaga.realtime.schemas import SnapshotPage

SHARE_SECONDS = 1.0
SCOPES_MAX = 8
_EMPTY_ALERTS = '"alerts":[]'


@dataclass
class SharedSnapshot:
    """One scope's open alerts at one cursor, serialised: the first page's alerts (the inside of the ``alerts`` array of
    the ``snapshot`` message) and the whole ``snapshot_page`` messages that follow it."""

    open_alerts: int
    first_page: str
    next_pages: list[str]
    _first: tuple[str, str] | None = field(default=None, repr=False)  # (the board message made from, the message)

    @property
    def more(self) -> bool:
        return bool(self.next_pages)

    def first_message(self, empty: str) -> str:
        """The ``snapshot`` message: ``empty`` (the console's snapshot with no alerts and its unit board) with the
        first page's alerts put in; made once for every console given the same ``empty``."""
        if self._first is not None and self._first[0] is empty:
            return self._first[1]
        assert _EMPTY_ALERTS in empty, "a snapshot's alerts come before its units"
        text = empty.replace(_EMPTY_ALERTS, f'"alerts":[{self.first_page}]', 1)
        self._first = (empty, text)
        return text


async def serialise(cursor: int, pages: list[list[str]], *, open_alerts: int) -> SharedSnapshot:
    """``pages`` of serialised alert summaries as a snapshot at ``cursor``, letting other work run between pages."""
    first, *rest = pages
    texts = []
    for n, page in enumerate(rest, start=1):
        head = SnapshotPage(cursor=cursor, alerts=[], more=n < len(rest)).model_dump_json()
        texts.append(head.replace(_EMPTY_ALERTS, f'"alerts":[{",".join(page)}]', 1))
        await asyncio.sleep(0)
    return SharedSnapshot(open_alerts=open_alerts, first_page=",".join(first), next_pages=texts)


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
        self._entries: OrderedDict[tuple[Hashable, int], tuple[float, asyncio.Task[SharedSnapshot]]] = OrderedDict()
        self.made = 0  # snapshots read from the database (the rest were shared)

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, scope: Hashable, cursor: int, make: Callable[[], Awaitable[SharedSnapshot]]) -> SharedSnapshot:
        """The snapshot of ``scope`` at ``cursor``: the one being made or made in the last ``share_seconds``, else
        ``make()``'s. A console that goes away while it waits does not stop the others' snapshot."""
        now = self._clock()
        for key, (made_at, _) in list(self._entries.items()):
            if now - made_at > self.share_seconds:
                del self._entries[key]
        key = (scope, cursor)
        entry = self._entries.get(key)
        if entry is None:
            task = asyncio.ensure_future(make())
            task.add_done_callback(_retrieve)
            entry = self._entries[key] = (now, task)
            self.made += 1
            while len(self._entries) > self.scopes_max:
                self._entries.popitem(last=False)
        try:
            return await asyncio.shield(entry[1])
        except Exception:
            if self._entries.get(key) is entry:
                del self._entries[key]  # the next console tries again
            raise


def _retrieve(task: asyncio.Task[SharedSnapshot]) -> None:
    """Read a failed snapshot's error, so that one no console waited for is not reported as never retrieved."""
    if not task.cancelled():
        task.exception()
