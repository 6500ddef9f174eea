"""What this process has to tell the others through the hub after a commit, sent in the background: a hub that hangs
never holds up a write.

A unit of work only records that a message is due (``HubOutbox.put``); one loop sends what is due. Messages due on
one channel coalesce into the latest, since each only says "something happened, read the database": a hundred pokes
committed while the hub was slow go out as one. Each channel keeps its own, so a revoked session is never lost behind
pokes. A message the hub does not take is not retried: the other processes follow the database by polling meanwhile,
and the next commit sends another.
"""

from __future__ import annotations

import logging

from siaga import metrics
from siaga.background import Loop
from siaga.hub import Hub, HubUnavailable

log = logging.getLogger("siaga.hub")

_IDLE_S = 60.0  # the loop runs when woken; with nothing due, a round does nothing
_STOP_GRACE_S = 1.0  # what is due at shutdown matters little: the other processes poll


class HubOutbox:
    """The messages due to the hub, and the one loop that sends them."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._due: dict[str, str] = {}  # channel -> the latest message due on it
        self._failing = False
        self.loop = Loop("hub-outbox", self._send_due, interval=_IDLE_S)

    def put(self, channel: str, message: str) -> None:
        """Record that ``message`` is due on ``channel``, replacing one still due there. Never waits."""
        self._due[channel] = message
        self.loop.wake()

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        """Stop sending; a send still waiting on the hub after a short grace is cancelled."""
        await self.loop.stop(grace=_STOP_GRACE_S)

    async def _send_due(self) -> None:
        while self._due:
            channel = next(iter(self._due))
            message = self._due.pop(channel)
            try:
                await self._hub.publish(channel, message)
            except Exception as exc:
                self._failed(exc)
            else:
                if self._failing:
                    self._failing = False
                    log.info("the event hub takes messages again")

    def _failed(self, exc: Exception) -> None:
        if not isinstance(exc, HubUnavailable):  # the hub counts those it reports itself
            metrics.HUB_PUBLISH_FAILURES.inc()
        if not self._failing:  # once per outage, not once per press
            self._failing = True
            log.warning(
                "could not publish to the event hub (%r); other processes follow the database by polling until it "
                "takes messages again",
                exc,
            )
