"""One inbound SMS, whatever gateway it came through, and the handlers that may claim it.

A gateway adapter (Gammu SMSD's inbox, an HTTP provider's signed webhook) records each message it receives and hands
it to ``HANDLERS`` in order. The first handler that claims the message returns the reply to send to its sender (or
an empty string for none); a handler that does not recognise the message returns ``None`` and the next one is tried.
Every message is recorded before any handler runs, so an SOS is never lost to a handler's failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from siaga.alerts.domain import RaiseRequest
from siaga.alerts.ingest import GroupCommit
from siaga.config import Settings
from siaga.notify.sms import SMSSender
from siaga.sms import app_sos, officers


@dataclass(frozen=True, slots=True)
class InboundSMS:
    """One message as received: ``id`` is its stored record's, ``sender`` in E.164 (``+6281234567890``)."""

    id: int
    sender: str
    text: str
    received_at: datetime
    gateway: str  # "gammu", "http" or "dev"


class Context(Protocol):
    """What a handler may use of the running Siaga (the runtime provides it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def ingest(self) -> GroupCommit[RaiseRequest]: ...  # the SOS writer: every alert is raised through it

    @property
    def sms(self) -> SMSSender: ...

    def unit_of_work(self) -> AbstractAsyncContextManager[AsyncSession]: ...


# The reply to the sender ("" for none), or None: not this handler's message.
Handler = Callable[[Context, InboundSMS], Awaitable[str | None]]

# Tried in order; the most specific first. Each handler module adds itself here.
HANDLERS: list[Handler] = [
    app_sos.handle,  # SIAGA1 ...: the resident app's signed SOS
    officers.answer_offer,  # 1 4821, 2 4821 ...: an officer answering an offer that came by SMS
]
