"""One inbound SMS, whatever gateway it came through, and the handlers that may claim it.

A gateway adapter (Gammu SMSD's inbox, an HTTP provider's signed webhook) records each message it receives and hands
it to ``HANDLERS`` in order. The first handler that claims the message returns the reply to send to its sender (or
an empty string for none), as an ``answers.Answer`` naming the alert when the message concerned one; a handler that
does not recognise the message returns ``None`` and the next one is tried. Every message is recorded before any
handler runs, so an SOS is never lost to a handler's failure. A message about an alert is on that alert's timeline,
and so is its reply (sent, then delivered or failed; or held back by a limit).

``receive`` is that pipeline, the one every gateway calls: it records the message (once per gateway id: a message
delivered twice is handled once), runs ``HANDLERS``, answers a message nobody claimed with a short help text, records
which handler took it and the reply, and queues the reply (``notify``: sent after the commit, retried, and limited
against SMS pumping per number, per destination country, per day and by the day's spend, counted atomically for
every process: ``notify.limits``; the confirmation of an SOS at home and an answer to an officer are never held
back). A message whose handling failed stays recorded and unhandled, and ``handle_pending`` tries it again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import identity
from siaga.accounts.models import Resident
from siaga.alerts import timeline
from siaga.alerts.ingest import GroupCommit
from siaga.alerts.raise_rules import RaiseRequest
from siaga.config import Settings
from siaga.db import utcnow
from siaga.notify import limits
from siaga.notify import service as notify
from siaga.notify.sms import SMSSender
from siaga.sms import answers, app_sos, keyword, officers, register
from siaga.sms.models import InboundMessage
from siaga.text import clean_text

log = logging.getLogger("siaga.sms")


@dataclass(frozen=True, slots=True)
class InboundSMS:
    """One message as received: ``id`` is its stored record's, ``sender`` in E.164 (``+6281234567890``)."""

    id: int
    sender: str
    text: str
    received_at: datetime
    gateway: str  # "gammu", "http" or "dev"
    gateway_id: str = ""  # the gateway's own id for the message: what a channel derives its ids from (uuid5)


class Context(Protocol):
    """What a handler may use of the running Siaga (the runtime provides it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def ingest(self) -> GroupCommit[RaiseRequest]: ...  # the SOS writer: every alert is raised through it

    @property
    def sms(self) -> SMSSender: ...

    def unit_of_work(self) -> AbstractAsyncContextManager[AsyncSession]: ...


# The reply to the sender ("" for none; with the alert the message concerned, if any), or None: not this handler's
# message.
Handler = Callable[[Context, InboundSMS], Awaitable[str | answers.Answer | None]]

# Tried in order; the most specific first. Each handler module adds itself here.
HANDLERS: list[Handler] = [
    app_sos.handle,  # SIAGA1 ...: the resident app's signed SOS
    officers.answer_offer,  # 1 4821, 2 4821 ...: an officer answering an offer that came by SMS
    officers.unknown_number,  # the same from a number that is no officer's
    register.daftar,  # DAFTAR <nama> <NIK>: registering without the app (a code SMS follows)
    register.code_reply,  # the six digits of that code, from a number with a DAFTAR waiting
    keyword.sos_keyword,  # SOS, TOLONG or DARURAT and free text: a feature phone's SOS
]


HELP = "help"  # the handler recorded for a message no handler claimed (answered with ``help_text``)
REPLY = "sms_reply"  # the purpose of a reply in ``notify``'s records
# Handlers whose replies are never held back (``notify.limits``), by ``handler_name``: an SOS's confirmation (at home;
# abroad it is capped per country and by spend) and an answer to an officer's registered number.
URGENCY = {
    "app_sos.handle": limits.Urgency.SOS,
    "keyword.sos_keyword": limits.Urgency.SOS,
    "officers.answer_offer": limits.Urgency.OFFICER,
}
# What a message about an alert was, as its timeline says: by ``handler_name``.
PURPOSES = {"app_sos.handle": "sos", "keyword.sos_keyword": "sos", "officers.answer_offer": "officer_reply"}
RETRY_AFTER = timedelta(seconds=10)  # a message recorded this long ago and still unhandled is tried again
MAX_TRIES = 10
MAX_TEXT = 2000  # a concatenated SMS is at most a few hundred characters; anything longer is cut, never refused

_HELP = {
    "id": "SIAGA: Dalam keadaan darurat kirim SOS atau TOLONG diikuti tempat Anda, mis. TOLONG di pasar Cicadas. "
    "Atau telepon 112.",
    "en": "SIAGA: In an emergency text SOS or TOLONG followed by where you are, e.g. TOLONG at Cicadas market. "
    "Or call 112.",
}


@dataclass(frozen=True, slots=True)
class Handled:
    """What became of a received message: the handler that took it (``HELP`` if none), the reply, and whether it
    had been handled before (a message delivered twice: nothing was done again)."""

    message: InboundSMS
    handler: str
    reply: str
    duplicate: bool = False


def handler_name(handler: Handler) -> str:
    """How a handler is recorded: its module's last part and its name (``keyword.sos_keyword``)."""
    return f"{handler.__module__.rsplit('.', 1)[-1]}.{getattr(handler, '__name__', 'handler')}"[:64]


def help_text(language: str) -> str:
    """The short help a message no handler claimed is answered with."""
    return _HELP.get(language, _HELP["id"])


def sender_number(raw: str, settings: Settings) -> str:
    """A sender as Siaga keeps it: E.164 where it is a phone number (``0812...`` and ``62812...`` become
    ``+62812...``), else the gateway's text as it came (an operator's name, a short code)."""
    text = clean_text(raw).strip()[:20]  # as long as an account's number may be (E.164 is at most 16)
    try:
        return identity.normalize_phone(text, default_region=settings.default_region, mobile_only=False)
    except identity.InvalidPhone:
        if text.isdigit() and len(text) > 8:
            try:
                return identity.normalize_phone("+" + text, default_region=settings.default_region, mobile_only=False)
            except identity.InvalidPhone:
                pass
        return text


async def receive(
    context: Context,
    *,
    gateway: str,
    gateway_id: str,
    sender: str,
    text: str,
    received_at: datetime | None = None,
    handlers: Sequence[Handler] | None = None,
) -> Handled | None:
    """One message from a gateway, through the whole pipeline. None if it was recorded but its handling failed
    (``handle_pending`` tries it again)."""
    message, before = await record(
        context, gateway=gateway, gateway_id=gateway_id, sender=sender, text=text, received_at=received_at
    )
    if before is not None:
        return before
    return await handle(context, message, handlers=handlers)


async def record(
    context: Context,
    *,
    gateway: str,
    gateway_id: str,
    sender: str,
    text: str,
    received_at: datetime | None = None,
) -> tuple[InboundSMS, Handled | None]:
    """Record the message, once per ``(gateway, gateway_id)``, and commit. Returns it and, if it had been handled
    already, what became of it."""
    values = {
        "gateway": gateway,
        "gateway_id": gateway_id[:200],
        "sender": sender_number(sender, context.settings),
        "text": clean_text(text)[:MAX_TEXT],
        "received_at": received_at or utcnow(),
        "recorded_at": utcnow(),
        "reply": "",
        "attempts": 0,
        "last_error": "",
    }
    async with context.unit_of_work() as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(InboundMessage).values(**values).on_conflict_do_nothing(index_elements=["gateway", "gateway_id"])
        )
        row = await session.scalar(
            select(InboundMessage).where(
                InboundMessage.gateway == gateway, InboundMessage.gateway_id == values["gateway_id"]
            )
        )
        assert row is not None
        message = _message(row)
        if row.handled_at is not None:
            return message, Handled(message, row.handler or HELP, row.reply, duplicate=True)
    return message, None


async def handle(context: Context, message: InboundSMS, *, handlers: Sequence[Handler] | None = None) -> Handled | None:
    """Run the handlers on a recorded message, then record what became of it and queue the reply. A handler that
    fails leaves the message unhandled, with the error, for ``handle_pending``."""
    name, reply, alert_id = HELP, None, None
    try:
        for handler in HANDLERS if handlers is None else handlers:
            answer = await handler(context, message)
            if answer is not None:
                name = handler_name(handler)
                reply, alert_id = (
                    (answer.reply, answer.alert_id) if isinstance(answer, answers.Answer) else (answer, None)
                )
                break
        if reply is None:
            reply = help_text(await _language(context, message.sender))
    except Exception as exc:
        log.exception("an SMS handler failed", extra={"sms_id": message.id})
        async with context.unit_of_work() as session:
            await session.execute(
                update(InboundMessage)
                .where(InboundMessage.id == message.id)
                .values(attempts=InboundMessage.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:500])
            )
        return None
    async with context.unit_of_work() as session:
        row = await session.get(InboundMessage, message.id, with_for_update=True)
        assert row is not None
        if row.handled_at is not None:  # handled meanwhile (the same message in two places at once)
            return Handled(message, row.handler or HELP, row.reply, duplicate=True)
        row.handler, row.reply, row.handled_at = name, reply, utcnow()
        row.attempts += 1
        about = str(alert_id) if alert_id is not None else None
        if alert_id is not None:
            received = {"message": f"in:{message.id}", "direction": "in", "number": message.sender}
            purpose = PURPOSES.get(name, name)
            await timeline.record_sms(session, alert_id, {**received, "purpose": purpose, "status": "received"})
        if not reply or not message.sender.startswith("+"):
            return Handled(message, name, reply)  # nothing to say, or nobody to say it to (an operator's name)
        urgency = URGENCY.get(name, limits.Urgency.REPLY)
        counted = limits.sms_limits(context.settings, to=message.sender, body=reply, urgency=urgency)
        full = await limits.take(session, counted)
        if full is None:
            queued = await notify.queue_sms(
                session,
                to=message.sender,
                body=reply,
                purpose=REPLY,
                adapter=context.settings.sms_adapter,
                alert_id=about,
            )
            row.reply_message_id = queued.id
        else:
            row.last_error = f"reply not sent: the limit on replies ({full.key}) was reached"
            if alert_id is not None:  # the console sees the reply held back
                held = {"message": f"in:{message.id}:reply", "direction": "out", "number": message.sender}
                limit = full.key.split(":")[0]  # number, country, day or spend
                await timeline.record_sms(
                    session, alert_id, {**held, "purpose": REPLY, "status": "not_sent", "limit": limit}
                )
    return Handled(message, name, reply)


async def handle_pending(context: Context) -> int:
    """Handle again every message recorded a while ago and never handled (a handler failed, or the process stopped
    between recording and handling). Returns how many were tried."""
    async with context.unit_of_work() as session:
        rows = (
            await session.scalars(
                select(InboundMessage)
                .where(
                    InboundMessage.handled_at.is_(None),
                    InboundMessage.recorded_at <= utcnow() - RETRY_AFTER,
                    InboundMessage.attempts < MAX_TRIES,
                )
                .order_by(InboundMessage.id)
                .limit(50)
            )
        ).all()
        pending = [_message(row) for row in rows]
    for message in pending:
        await handle(context, message)
    return len(pending)


def _message(row: InboundMessage) -> InboundSMS:
    return InboundSMS(
        id=row.id,
        sender=row.sender,
        text=row.text,
        received_at=row.received_at,
        gateway=row.gateway,
        gateway_id=row.gateway_id,
    )


async def _language(context: Context, sender: str) -> str:
    async with context.unit_of_work() as session:
        language = await session.scalar(select(Resident.language).where(Resident.phone == sender))
    return language or "id"
