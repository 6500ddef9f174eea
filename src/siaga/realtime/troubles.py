"""Panic buttons' troubles (offline, low battery, tamper), live to the consoles of their agency.

A trouble opened or cleared is stored by ``siaga.devices`` (the record, with its timeline); its transaction emits
``TroublesChanged``, and after the commit the runtime publishes it on the hub so that every process tells the
console streams it holds. A notice lost on the way (the hub down) is not lost for good: the console also reads the
whole list when its stream (re)connects, and every few minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import TypeAdapter

from siaga.aftercommit import Event
from siaga.hub import Hub, HubLagged
from siaga.realtime.schemas import DeviceTroubleMessage

log = logging.getLogger("siaga.troubles")

TROUBLES_CHANNEL = "siaga.device_troubles"


_NOTICES = TypeAdapter(list[DeviceTroubleMessage])


@dataclass(frozen=True, slots=True)
class TroublesChanged(Event):
    """Device troubles were opened or cleared: the consoles of their agencies hear of it."""

    notices: tuple[DeviceTroubleMessage, ...]


TroubleListener = Callable[[Sequence[DeviceTroubleMessage]], None]


class LiveTroubles:
    """The hub channel of troubles, and the streams of this process listening to it."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._listeners: dict[int, TroubleListener] = {}
        self._next = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="troubles-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def register(self, listener: TroubleListener) -> int:
        self._next += 1
        self._listeners[self._next] = listener
        return self._next

    def unregister(self, handle: int) -> None:
        self._listeners.pop(handle, None)

    async def publish(self, notices: Sequence[DeviceTroubleMessage]) -> None:
        try:
            await self._hub.publish(TROUBLES_CHANNEL, _NOTICES.dump_json(list(notices)).decode())
        except Exception:
            log.warning("could not publish device troubles; telling this process's consoles only", exc_info=True)
            self._deliver(notices)

    def _deliver(self, notices: Sequence[DeviceTroubleMessage]) -> None:
        for listener in list(self._listeners.values()):
            listener(notices)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._hub.subscribe(TROUBLES_CHANNEL) as subscription:
                    async for message in subscription:
                        self._deliver(_NOTICES.validate_json(message))
                return
            except HubLagged:
                continue  # the consoles read the whole list again when they reconnect, and every few minutes
            except Exception:
                log.warning("device troubles hub subscription failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)
