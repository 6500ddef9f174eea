"""What anyone can make Siaga text is limited against SMS pumping (issue 16), counted in the database for every
process. Replies to inbound SMS: per number an hour, per destination country a day (abroad far fewer than at home), in
all a day and by the day's spend; sign-in codes: per country and by spend too. Two Siaga processes answering a burst
at once send exactly the cap; an SOS is raised whatever the limits say, and its confirmation (or a code) to a number
at home always goes."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from siaga.alerts.models import Alert, AlertEvent
from siaga.db import utcnow
from siaga.notify import limits
from siaga.notify.models import OutboundMessage, SMSCount
from siaga.notify.sms import DevSMS, parts
from siaga.runtime import Runtime
from siaga.sms import inbound
from siaga.sms.inbound import Handled
from siaga.sms.models import InboundMessage

HOME = "+6281377770001"
ABROAD = [f"+6012345{6780 + n:04d}" for n in range(8)]  # Malaysian mobile numbers


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The limits' windows (a clock hour, a WIB day) fixed in mid-hour: a test never straddles two windows."""
    now = utcnow().replace(minute=30, second=0, microsecond=0)
    monkeypatch.setattr(limits, "utcnow", lambda: now)
    return now


def _with(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> None:
    monkeypatch.setattr(runtime, "settings", runtime.settings.model_copy(update=settings))


async def _text(runtime: Runtime, sender: str, text: str, gateway_id: str) -> Handled:
    handled = await inbound.receive(runtime, gateway="dev", gateway_id=gateway_id, sender=sender, text=text)
    assert handled is not None, f"{gateway_id} was not handled"
    return handled


async def _replies(runtime: Runtime, *numbers: str) -> int:
    async with runtime.read_sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.recipient.in_(numbers), OutboundMessage.purpose == inbound.REPLY)
        )
    return count or 0


async def _not_answered(runtime: Runtime) -> dict[str, str]:
    """The messages recorded without a reply: sender and gateway id to why."""
    async with runtime.read_sessions() as session:
        rows = (await session.scalars(select(InboundMessage).where(InboundMessage.reply_message_id.is_(None)))).all()
    return {row.gateway_id: row.last_error for row in rows}


@pytest.mark.one_database("postgres")  # SQLite's writers are serial: there the race cannot happen
async def test_two_processes_answering_a_burst_at_once_send_exactly_the_cap(
    db: Runtime, tmp_path: Path, fixed_clock: datetime
) -> None:
    other = Runtime.build(db.settings)  # a second siaga serve: its own engine and connections
    other.sms = DevSMS(tmp_path / "other-sms.jsonl")
    try:
        burst = 40
        cap = db.settings.sms_replies_per_number_per_hour
        handled = await asyncio.gather(
            *(_text((db, other)[n % 2], HOME, f"halo {n}", f"burst-{n}") for n in range(burst))
        )
    finally:
        await other.close()

    assert {h.handler for h in handled} == {inbound.HELP}  # every message taken in and handled
    assert await _replies(db, HOME) == cap
    refused = await _not_answered(db)
    assert len(refused) == burst - cap
    assert all(f"(number:{HOME})" in why for why in refused.values())


async def test_numbers_abroad_get_far_fewer_replies_and_an_sos_from_abroad_is_raised_all_the_same(
    db: Runtime, monkeypatch: pytest.MonkeyPatch, fixed_clock: datetime
) -> None:
    _with(db, monkeypatch, sms_per_country_per_day={"ID": 2000, "*": 3}, sms_replies_per_day=5)
    for n, number in enumerate(ABROAD[:5]):
        await _text(db, number, "halo", f"abroad-{n}")
    assert await _replies(db, *ABROAD) == 3  # the limit for every country but Indonesia
    assert sum("(country:MY)" in why for why in (await _not_answered(db)).values()) == 2

    for n in range(3):  # at home: the day's own limit (5 in all, 3 of them gone abroad)
        await _text(db, f"+62813777701{n:02d}", "halo", f"home-{n}")
    assert await _replies(db, *(f"+62813777701{n:02d}" for n in range(3))) == 2
    assert "(day)" in (await _not_answered(db))["home-2"]

    # An SOS from abroad: raised (the alert is never refused), its confirmation capped as any reply to that country.
    sos = await _text(db, ABROAD[5], "TOLONG di pelabuhan", "sos-abroad")
    assert sos.handler == "keyword.sos_keyword"
    assert await _replies(db, ABROAD[5]) == 0
    async with db.read_sessions() as session:  # the console sees the SOS came in and its reply was held back
        shown = (
            await session.scalars(select(AlertEvent.data).where(AlertEvent.kind == "sms").order_by(AlertEvent.id))
        ).all()
    assert [(d["direction"], d["status"], d.get("limit")) for d in shown] == [
        ("in", "received", None),
        ("out", "not_sent", "country"),
    ]
    # An SOS at home: raised and confirmed, past every limit.
    sos = await _text(db, HOME, "TOLONG di pasar", "sos-home")
    assert sos.handler == "keyword.sos_keyword"
    assert await _replies(db, HOME) == 1
    async with db.read_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Alert).where(Alert.channel == "sms")) == 2


async def test_with_prices_set_the_day_is_capped_by_what_its_replies_cost(
    db: Runtime, monkeypatch: pytest.MonkeyPatch, fixed_clock: datetime
) -> None:
    _with(db, monkeypatch, sms_prices={"ID": 300, "*": 5000}, sms_spend_per_day=11_000)
    for n, number in enumerate(ABROAD[:3]):
        await _text(db, number, "halo", f"abroad-{n}")
    assert await _replies(db, *ABROAD) == 2  # 10,000 spent; a third would pass 11,000
    home = [f"+62813777702{n:02d}" for n in range(4)]
    for n, number in enumerate(home):
        await _text(db, number, "halo", f"home-{n}")
    assert await _replies(db, *home) == 3  # 300 each: 10,900, and no more
    why = await _not_answered(db)
    assert set(why) == {"abroad-2", "home-3"}
    assert all("(spend)" in reason for reason in why.values())

    # What one refused limit took is given back to the others: the refused replies used none of the day's count.
    async with db.read_sessions() as session:
        used = {row.key: row.used for row in (await session.execute(select(SMSCount.key, SMSCount.used))).all()}
    assert (used["day"], used["spend"], used["country:MY"], used["country:ID"]) == (5, 10_900, 2, 3)


def test_a_message_costs_as_many_parts_as_it_goes_in() -> None:
    assert [parts("a" * n) for n in (1, 160, 161, 306, 307)] == [1, 1, 2, 2, 3]
    assert [parts("ł" * n) for n in (70, 71, 134, 135)] == [1, 2, 2, 3]  # outside GSM's set: UCS-2


def test_a_number_s_country_is_its_region() -> None:
    assert [limits.country_of(n) for n in (HOME, ABROAD[0], "+1", "TELKOMSEL")] == ["ID", "MY", "ZZ", "ZZ"]


async def test_sign_in_codes_abroad_are_capped_per_country_and_those_at_home_never(
    db: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, fixed_clock: datetime
) -> None:
    _with(db, monkeypatch, sms_per_country_per_day={"ID": 1, "*": 2})
    abroad = [await client.post("/api/v1/residents/code", json={"phone": n}) for n in ABROAD[:3]]
    assert [a.status_code for a in abroad] == [202, 202, 429]
    refused = abroad[2]
    assert refused.json()["error"]["code"] == "otp.country_limit"
    assert "MY" in refused.json()["error"]["message"]
    assert 0 < int(refused.headers["retry-after"]) <= 24 * 3600  # tomorrow, WIB
    async with db.read_sessions() as session:
        sent = await session.scalar(
            select(func.count()).select_from(OutboundMessage).where(OutboundMessage.recipient.in_(ABROAD))
        )
    assert sent == 2  # the refused code was never queued

    # At home a code is counted, never refused for the country's cap (1 here: three numbers get theirs).
    home = [await client.post("/api/v1/residents/code", json={"phone": f"+62813777703{n:02d}"}) for n in range(3)]
    assert [a.status_code for a in home] == [202, 202, 202]
