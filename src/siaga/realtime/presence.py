"""Which officers have their phone's stream open in this process: they hear of an offer on it, and the others get it
by SMS as well (``dispatch.offer_sms``)."""

from __future__ import annotations

from collections import Counter


class OfficersStreaming:
    """Staff ids with an open officer stream, counted (a phone may hold two streams for a moment as it reconnects)."""

    def __init__(self) -> None:
        self._open: Counter[int] = Counter()

    def opened(self, staff_id: int) -> None:
        self._open[staff_id] += 1

    def closed(self, staff_id: int) -> None:
        self._open[staff_id] -= 1
        if self._open[staff_id] <= 0:
            del self._open[staff_id]

    def __contains__(self, staff_id: object) -> bool:
        return staff_id in self._open

    def __len__(self) -> int:
        return len(self._open)
