"""The one inbound SMS pipeline on a real database: a message is recorded before any handler runs, so a handler that
fails loses nothing (the message is handled again later, once); the same gateway id is one message; and replies to
one number are limited against SMS pumping, while the confirmation of an SOS always goes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from siaga.alerts.models import Alert
from siaga.db import utcnow
from siaga.notify.models import OutboundMessage
from siaga.runtime import Runtime
from siaga.sms import inbound
from siaga.sms.inbound import Context, InboundSMS
from siaga.sms.models import InboundMessage

SENDER = "+6281377770001"


async def _row(runtime: Runtime, message_id: int) -> InboundMessage:
    async with runtime.read_sessions() as session:
        row = await session.get(InboundMessage, message_id)
        assert row is not None
        return row


async def _replies_to(runtime: Runtime, number: str) -> int:
    async with runtime.read_sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.recipient == number, OutboundMessage.purpose == inbound.REPLY)
        )
    return count or 0


async def test_a_failing_handler_loses_nothing_and_the_message_is_handled_later_once(
    db: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    async def broken(context: Context, sms: InboundSMS) -> str | None:
        calls.append(sms.text)
        raise RuntimeError("the database went away")

    async def working(context: Context, sms: InboundSMS) -> str | None:
        calls.append(sms.text)
        return "OK"

    handled = await inbound.receive(
        db, gateway="dev", gateway_id="m-1", sender="0813-7777-0001", text="halo", handlers=[broken]
    )

    assert handled is None
    [row] = (await _rows(db)).values()
    assert (row.sender, row.text, row.handled_at, row.attempts) == (SENDER, "halo", None, 1)
    assert "the database went away" in row.last_error

    # Not yet due: a message just recorded may still be in its first handling.
    assert await inbound.handle_pending(db) == 0
    async with db.unit_of_work() as session:
        await session.execute(update(InboundMessage).values(recorded_at=utcnow() - timedelta(minutes=1)))
    monkeypatch.setattr(inbound, "HANDLERS", [working])  # the fault is mended
    assert await inbound.handle_pending(db) == 1
    assert await inbound.handle_pending(db) == 0  # handled: never again
    row = await _row(db, row.id)
    assert (row.handler, row.reply, row.attempts) == ("test_sms_inbound.working", "OK", 2)
    assert calls == ["halo", "halo"]
    assert await _replies_to(db, SENDER) == 1

    # The gateway delivers the same message again: recorded once, nothing handled again.
    again = await inbound.receive(db, gateway="dev", gateway_id="m-1", sender=SENDER, text="halo", handlers=[working])
    assert again is not None
    assert again.duplicate
    assert len(await _rows(db)) == 1
    assert calls == ["halo", "halo"]


async def test_replies_to_one_number_are_limited_but_an_sos_is_always_confirmed(db: Runtime) -> None:
    limit = db.settings.sms_replies_per_number_per_hour
    for n in range(limit + 2):
        handled = await inbound.receive(db, gateway="dev", gateway_id=f"help-{n}", sender=SENDER, text=f"halo {n}")
        assert handled is not None
        assert handled.handler == inbound.HELP

    assert await _replies_to(db, SENDER) == limit
    rows = await _rows(db)
    assert len(rows) == limit + 2  # every message recorded, answered or not
    assert sum("limit" in row.last_error for row in rows.values()) == 2

    sos = await inbound.receive(db, gateway="dev", gateway_id="sos-1", sender=SENDER, text="TOLONG di pasar")
    assert sos is not None
    assert sos.handler == "keyword.sos_keyword"
    assert await _replies_to(db, SENDER) == limit + 1  # the SOS's confirmation went all the same
    async with db.read_sessions() as session:
        alerts = await session.scalar(select(func.count()).select_from(Alert).where(Alert.channel == "sms"))
    assert alerts == 1


async def test_a_sender_that_is_not_a_number_is_recorded_and_never_answered(db: Runtime) -> None:
    handled = await inbound.receive(db, gateway="dev", gateway_id="promo-1", sender="TELKOMSEL", text="Promo kuota!")

    assert handled is not None
    assert handled.handler == inbound.HELP
    [row] = (await _rows(db)).values()
    assert (row.sender, row.reply_message_id) == ("TELKOMSEL", None)


async def _rows(runtime: Runtime) -> dict[int, InboundMessage]:
    async with runtime.read_sessions() as session:
        return {row.id: row for row in (await session.scalars(select(InboundMessage))).all()}


async def test_the_hourly_purge_blanks_old_messages_received_and_keeps_one_not_handled_yet(db: Runtime) -> None:
    async def never(context: Context, sms: InboundSMS) -> str | None:
        raise RuntimeError("not yet")

    await inbound.receive(db, gateway="gammu", gateway_id=f"{SENDER}:20261101:aa", sender=SENDER, text="halo")
    await inbound.receive(
        db, gateway="gammu", gateway_id=f"{SENDER}:20261101:bb", sender=SENDER, text="TOLONG", handlers=[never]
    )
    await inbound.receive(db, gateway="gammu", gateway_id=f"{SENDER}:20261204:cc", sender=SENDER, text="halo lagi")
    old = utcnow() - timedelta(days=db.settings.retention_sms_days + 1)
    async with db.unit_of_work() as session:
        await session.execute(
            update(InboundMessage).where(InboundMessage.gateway_id.like("%:20261101:%")).values(recorded_at=old)
        )

    await db.purge()

    rows = sorted((await _rows(db)).values(), key=lambda row: row.id)
    purged, waiting, recent = rows
    assert (purged.text, purged.sender, purged.reply, purged.gateway_id) == ("", "", "", f"purged-{purged.id}")
    assert (purged.handler, purged.handled_at is not None) == (inbound.HELP, True)  # what happened stays
    assert (waiting.text, waiting.sender) == ("TOLONG", SENDER)  # never handled: kept until it is
    assert (recent.text, recent.sender) == ("halo lagi", SENDER)
