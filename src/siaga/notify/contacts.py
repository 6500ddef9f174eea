"""What a resident's emergency contacts are told, and when.

The alarm waits out ``contact_alarm_delay_seconds`` after the press: a press the resident cancels with their PIN
within it (a pocket press, a child playing) sends nothing. A cancel after the alarm went out sends an all-clear to
the contacts who got it. A duress PIN looks like a cancel on the phone but is not one: the alarm still goes, and no
all-clear ever follows. Messages are in Bahasa Indonesia (they go to anyone), with the kecamatan and a map link.

Each new contact is asked first whether they agree to be one (see ``notify.consent``): an alarm goes to them only
once before they answer, never after they decline, and at most a few times a day."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.config import Settings
from siaga.db import utcnow
from siaga.notify import consent
from siaga.notify import service as notify
from siaga.notify.models import OutboundMessage

_WIB = ZoneInfo("Asia/Jakarta")
ALARM = consent.ALARM
ALL_CLEAR = "emergency_contact_all_clear"


def alarm_text(settings: Settings, *, name: str, at: datetime, lat: float, lon: float, kecamatan: str | None) -> str:
    """The SMS an emergency contact gets when the resident presses SOS."""
    when = at.astimezone(_WIB).strftime("%H:%M")
    where = f"Kec. {kecamatan}" if kecamatan else f"{lat:.5f},{lon:.5f}"
    link = settings.contact_map_link.format(lat=f"{lat:.5f}", lon=f"{lon:.5f}")
    return (
        f"SIAGA: {name} menekan tombol darurat pukul {when} WIB di {where}. Peta: {link} "
        "Pusat komando sedang menangani. Jangan balas SMS ini."
    )


def all_clear_text(*, name: str, at: datetime) -> str:
    when = at.astimezone(_WIB).strftime("%H:%M")
    return f"SIAGA: {name} membatalkan tombol darurat pukul {when} WIB. Keadaan aman. Jangan balas SMS ini."


def alarm_not_before(settings: Settings, pressed_at: datetime) -> datetime:
    """When the alarm may go: after the time the resident has to cancel a press by mistake."""
    return pressed_at + timedelta(seconds=settings.contact_alarm_delay_seconds)


async def after_cancel(
    session: AsyncSession, *, settings: Settings, alert_id: str, resident_id: uuid.UUID, name: str, at: datetime
) -> None:
    """The resident cancelled with their own PIN: alarms not sent yet are withdrawn, and the contacts who already
    got one are told all is well. (Never after a duress PIN: the caller does not call this then.)"""
    alarms = OutboundMessage.alert_id == alert_id, OutboundMessage.purpose == ALARM
    await session.execute(
        update(OutboundMessage)
        .where(*alarms, OutboundMessage.status == "pending", OutboundMessage.attempts == 0)
        .values(status="withdrawn")
    )
    told = await session.scalars(
        select(OutboundMessage.recipient).where(
            *alarms, OutboundMessage.attempts > 0, OutboundMessage.status != consent.SUPPRESSED
        )
    )
    declined = set(await consent.declined(session, resident_id))  # since the alarm: nothing more for them
    for phone in dict.fromkeys(p for p in told.all() if p not in declined):  # each once, in the order told
        await notify.queue_sms(
            session,
            to=phone,
            body=all_clear_text(name=name, at=at),
            purpose=ALL_CLEAR,
            adapter=settings.sms_adapter,
            alert_id=alert_id,
        )


async def ask(
    session: AsyncSession, *, settings: Settings, resident_id: uuid.UUID, name: str, phones: list[str]
) -> None:
    """Ask each contact the resident has not had asked before whether they agree to be one: an SMS with their link.
    A resident has at most ``consent.CONSENT_REQUESTS_PER_DAY`` numbers asked a day; past that, a contact's first
    alarm carries the link instead (so naming strangers by the hundred sends them nothing)."""
    rules = consent.ContactRules.of(settings)
    asked = await consent.requests_today(session, resident_id)
    for phone in dict.fromkeys(phones):
        record = await consent.consent_for(session, resident_id=resident_id, phone=phone)
        if record.requested_at is not None or record.state != consent.Consent.PENDING:
            continue
        if asked >= consent.CONSENT_REQUESTS_PER_DAY:
            break
        record.requested_at = utcnow()
        asked += 1
        await notify.queue_sms(
            session,
            to=phone,
            body=consent.request_text(name=name, link=rules.link(record.code)),
            purpose=consent.CONSENT_REQUEST,
            adapter=settings.sms_adapter,
        )
    await session.flush()
