"""Limits on the SMS Siaga sends, counted atomically in the database for every process.

Each limit is a row per window (``SMSCount``): messages to one number this hour, to one country today, in all today,
the day's spend. ``take`` raises every row a message counts against with one UPSERT each, refused where it would pass
the cap (``INSERT ... ON CONFLICT DO UPDATE ... WHERE used + n <= cap RETURNING``, on SQLite and PostgreSQL alike).
The row stays locked until the commit: a process racing for the last message a limit allows waits, then sees it
taken, so two ``siaga serve`` processes together never send more than the cap. A message is counted against all of
its limits or none (what one limit refused is given back to the others in the same transaction).

``sms_limits`` says what an SMS that anyone can make Siaga send counts against: a reply to an inbound SMS
(``siaga.sms.inbound``) or a sign-in code (``siaga.accounts.codes``). An ordinary reply is capped per number an hour,
per destination country a day (Indonesia the normal daily limit, any other country a much lower one: the numbers SMS
pumping is after are abroad), in all a day and, with prices set, by the day's spend. The confirmation of an SOS and a
code to a number at home, and an answer to an officer's registered number, are counted but never refused (codes have
their own limits per number and per address); an SOS's confirmation or a code abroad is capped per country and by
spend (the alert itself never is: it was raised before).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.config import Settings
from siaga.db import utcnow
from siaga.notify.models import SMSCount
from siaga.notify.sms import parts

_WIB = ZoneInfo("Asia/Jakarta")
OTHER_COUNTRIES = "*"  # the key of every country a setting does not name
UNKNOWN_COUNTRY = "ZZ"  # a recipient whose country phonenumbers cannot tell


@dataclass(frozen=True, slots=True)
class Limit:
    """One counter a message counts against: ``amount`` more of ``key`` in the window from ``window_start``, refused
    past ``cap`` (None: counted, never refused)."""

    key: str
    window_start: datetime
    expires_at: datetime
    cap: int | None
    amount: int = 1


class Urgency(StrEnum):
    REPLY = "reply"  # an ordinary reply: every limit applies
    SOS = "sos"  # the confirmation of an SOS: never refused at home, capped abroad
    OFFICER = "officer"  # an answer to an officer's registered number: never refused
    CODE = "code"  # a sign-in code: never refused at home, capped per country and by spend abroad


def hour_window(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=1)


def seconds_left(window_end: datetime, now: datetime | None = None) -> int:
    """Whole seconds until a window ends (what a refusal's Retry-After says)."""
    return max(1, int((window_end - (now or utcnow())).total_seconds()) + 1)


def day_window(now: datetime) -> tuple[datetime, datetime]:
    """The WIB day ``now`` is in (a day's limits start at midnight in Indonesia's western time)."""
    start = now.astimezone(_WIB).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def country_of(number: str) -> str:
    """The ISO region of an E.164 number (``ID`` for +62), ``ZZ`` when phonenumbers cannot tell."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return UNKNOWN_COUNTRY
    return region or UNKNOWN_COUNTRY


def per_country(table: dict[str, int], country: str) -> int | None:
    """A country's entry in a per-country setting: its own, else ``*``'s; None when neither is there."""
    return table.get(country, table.get(OTHER_COUNTRIES))


def price_of(settings: Settings, country: str, body: str) -> int:
    """What one message to ``country`` costs: its parts times the country's price (``*``'s for a country not named,
    the dearest named when there is no ``*``)."""
    prices = settings.sms_prices
    price = per_country(prices, country)
    if price is None:
        price = max(prices.values(), default=0)
    return parts(body) * price


def sms_limits(settings: Settings, *, to: str, body: str, urgency: Urgency, now: datetime | None = None) -> list[Limit]:
    """What an SMS to ``to`` counts against now, in the order counted (always the same order, so two transactions
    never wait for each other's rows)."""
    country = country_of(to)
    home = country == settings.default_region.upper()
    capped = urgency is Urgency.REPLY or (urgency in (Urgency.SOS, Urgency.CODE) and not home)
    now = now or utcnow()
    hour, day = hour_window(now), day_window(now)
    limits: list[Limit] = []
    if urgency is Urgency.REPLY:
        limits.append(Limit(f"number:{to}", *hour, cap=settings.sms_replies_per_number_per_hour))
    country_cap = per_country(settings.sms_per_country_per_day, country)
    limits.append(Limit(f"country:{country}", *day, cap=country_cap if capped else None))
    if urgency is not Urgency.CODE:  # the replies' own count
        limits.append(Limit("day", *day, cap=settings.sms_replies_per_day if capped else None))
    if settings.sms_spend_per_day > 0:
        limits.append(
            Limit(
                "spend",
                *day,
                cap=settings.sms_spend_per_day if capped else None,
                amount=price_of(settings, country, body),
            )
        )
    return limits


async def take(session: AsyncSession, limits: Sequence[Limit]) -> Limit | None:
    """Count a message against every one of ``limits``, or against none: the first limit that refused it, or None
    when it was counted against all."""
    counted: list[Limit] = []
    for limit in limits:
        if not await _raise(session, limit):
            for done in counted:
                await session.execute(
                    update(SMSCount)
                    .where(SMSCount.key == done.key, SMSCount.window_start == done.window_start)
                    .values(used=SMSCount.used - done.amount)
                )
            return limit
        counted.append(limit)
    return None


async def _raise(session: AsyncSession, limit: Limit) -> bool:
    if limit.cap is not None and limit.amount > limit.cap:
        return False
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    raised = (
        insert(SMSCount)
        .values(key=limit.key, window_start=limit.window_start, used=limit.amount, expires_at=limit.expires_at)
        .on_conflict_do_update(
            index_elements=[SMSCount.key, SMSCount.window_start],
            set_={"used": SMSCount.used + limit.amount},
            where=None if limit.cap is None else SMSCount.used + limit.amount <= limit.cap,
        )
        .returning(SMSCount.used)
    )
    return (await session.execute(raised)).first() is not None


async def forget_ended(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Remove the counters whose window has ended (the retention purge's bookkeeping). Returns how many."""
    result = await session.execute(delete(SMSCount).where(SMSCount.expires_at < (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)
