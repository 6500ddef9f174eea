"""Emergency contacts' consent, and the cap on the alarms one number gets.

A resident names their contacts; Siaga does not know those people agreed. So each new contact is asked once by SMS,
with a link (``/k/<code>``) to a page where they agree or decline. Until they answer, the first alarm still goes
(an SOS is real whoever listed the number), marked as coming to an unconfirmed contact and carrying the same link;
later alarms to them are not sent. A contact who declined gets nothing more. Whatever their answer, one number gets
at most ``contact_alarms_per_day`` alarms a day, counted in the database so every process shares the count.

Every decision is made once, when the alarm is due to go (after the time to cancel a press by mistake), and is in
the audit log (``contact.alarm``: sent, or suppressed and why)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import UnitOfWork, utcnow
from siaga.notify.models import ContactConsent, ContactSMSDay, OutboundMessage

ALARM = "emergency_contact"
CONSENT_REQUEST = "contact_consent"
SUPPRESSED = "suppressed"  # an outbound message's status: decided not to send (its last_error says why)
CONSENT_REQUESTS_PER_DAY = 10  # per resident: new numbers asked in a day (more wait for the first alarm's link)
_WIB = ZoneInfo("Asia/Jakarta")


class Consent(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class ContactRules:
    """What deciding a contact's alarm needs from the settings."""

    alarms_per_day: int = 3
    base_url: str = ""

    @classmethod
    def of(cls, settings: Settings) -> ContactRules:
        return cls(alarms_per_day=settings.contact_alarms_per_day, base_url=settings.base_url)

    def link(self, code: str) -> str:
        return f"{self.base_url}/k/{code}"


@dataclass(frozen=True, slots=True)
class AlarmSubject:
    """Whose alarm an emergency contact's message is: the resident who listed the contact (their consent is to that
    resident, who is named in the alarm) and the agency of the alert, whose audit log records the decision."""

    alert_id: uuid.UUID
    resident_id: uuid.UUID
    name: str
    agency_id: int | None


# Whose alarm a message about an alert is, or None if it is no resident's (the runtime gives
# ``alerts.service.alarm_subject``: notify knows nothing of alerts and residents).
AlarmSubjectOf = Callable[[AsyncSession, uuid.UUID], Awaitable[AlarmSubject | None]]


def request_text(*, name: str, link: str) -> str:
    """The SMS that asks a new contact's consent."""
    return (
        f"SIAGA: {name} mencantumkan nomor ini sebagai kontak darurat. Bila {name} menekan tombol darurat, Anda "
        f"menerima SMS berisi lokasinya. Setuju atau tolak: {link}"
    )


def unconfirmed_alarm_text(alarm: str, *, name: str, link: str) -> str:
    """The one alarm a contact who has not agreed yet gets: marked as such, with the link to answer."""
    return (
        f"{alarm.replace('SIAGA:', 'SIAGA (kontak belum terverifikasi):', 1)} Anda belum menyetujui menjadi kontak "
        f"darurat {name}; tanpa persetujuan, SMS darurat berikutnya tidak dikirim. Setuju atau tolak: {link}"
    )


def masked(phone: str) -> str:
    """A number as the consent page shows it: enough to recognise, not to copy."""
    return f"{phone[:5]}{'•' * max(0, len(phone) - 8)}{phone[-3:]}"


async def consent_for(session: AsyncSession, *, resident_id: uuid.UUID, phone: str) -> ContactConsent:
    """The consent record of one resident's contact, made (pending) the first time it is needed."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(ContactConsent)
        .values(
            resident_id=resident_id,
            phone=phone,
            code=secrets.token_urlsafe(9),
            state=Consent.PENDING.value,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[ContactConsent.resident_id, ContactConsent.phone])
    )
    found = await session.scalar(
        select(ContactConsent)
        .where(ContactConsent.resident_id == resident_id, ContactConsent.phone == phone)
        .execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def states(session: AsyncSession, resident_id: uuid.UUID) -> dict[str, Consent]:
    """Each of a resident's contacts' answer so far, by number (a number never asked yet is pending)."""
    rows = await session.execute(
        select(ContactConsent.phone, ContactConsent.state).where(ContactConsent.resident_id == resident_id)
    )
    return {phone: Consent(state) for phone, state in rows.all()}


async def declined(session: AsyncSession, resident_id: uuid.UUID) -> list[str]:
    """The numbers that declined to be the resident's contacts."""
    found = await session.scalars(
        select(ContactConsent.phone).where(
            ContactConsent.resident_id == resident_id, ContactConsent.state == Consent.DECLINED.value
        )
    )
    return list(found.all())


async def requests_today(session: AsyncSession, resident_id: uuid.UUID) -> int:
    """How many numbers the resident had Siaga ask in the last day."""
    since = utcnow() - timedelta(days=1)
    count = await session.scalar(
        select(func.count())
        .select_from(ContactConsent)
        .where(ContactConsent.resident_id == resident_id, ContactConsent.requested_at >= since)
    )
    return count or 0


async def by_code(session: AsyncSession, code: str) -> ContactConsent | None:
    return await session.scalar(select(ContactConsent).where(ContactConsent.code == code))


def contact(client_ip: str) -> ActorContext:
    """The contact answering through their link, as the audit log names them (they have no account)."""
    return ActorContext.anonymous("contact", client_ip)


async def answer(session: AsyncSession, *, code: str, agree: bool, by: ActorContext) -> ContactConsent | None:
    """The contact agreed or declined through their link (they may change their mind the same way), audited as
    ``by`` (``contact``)."""
    consent = await by_code(session, code)
    if consent is None:
        return None
    consent.state = (Consent.CONFIRMED if agree else Consent.DECLINED).value
    consent.answered_at = utcnow()
    await audit.record_for(
        session,
        by,
        action="contact.consent",
        target_type="contact",
        target_id=str(consent.id),
        detail={"resident_id": str(consent.resident_id), "consent": consent.state},
    )
    await session.flush()
    return consent


async def _count_alarm(session: AsyncSession, *, phone: str, cap: int) -> bool:
    """Count one alarm to the number today, unless it had ``cap`` already: one atomic statement (the row stays
    locked until the commit), so processes racing for the last one cannot both get it."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    today: date = utcnow().astimezone(_WIB).date()
    counted = (
        insert(ContactSMSDay)
        .values(phone=phone, day=today, count=1)
        .on_conflict_do_update(
            index_elements=[ContactSMSDay.phone, ContactSMSDay.day],
            set_={"count": ContactSMSDay.count + 1},
            where=ContactSMSDay.count < cap,
        )
        .returning(ContactSMSDay.count)
    )
    return cap > 0 and (await session.execute(counted)).first() is not None


async def _decide(
    session: AsyncSession, rules: ContactRules, message: OutboundMessage, subject: AlarmSubject
) -> tuple[ContactConsent, str, str | None]:
    """(the contact's consent, the text to send, why it is not sent or None)."""
    consent = await consent_for(session, resident_id=subject.resident_id, phone=message.recipient)
    if consent.state == Consent.DECLINED:
        return consent, message.body, "declined"
    if consent.state == Consent.PENDING and consent.unconfirmed_alarm_at is not None:
        return consent, message.body, "unconfirmed"
    if not await _count_alarm(session, phone=message.recipient, cap=rules.alarms_per_day):
        return consent, message.body, "daily_cap"
    if consent.state == Consent.CONFIRMED:
        return consent, message.body, None
    first = await session.execute(
        update(ContactConsent)
        .where(ContactConsent.id == consent.id, ContactConsent.unconfirmed_alarm_at.is_(None))
        .values(unconfirmed_alarm_at=utcnow())
    )
    if getattr(first, "rowcount", 0) != 1:  # another process sent them their one alarm a moment ago
        return consent, message.body, "unconfirmed"
    return consent, unconfirmed_alarm_text(message.body, name=subject.name, link=rules.link(consent.code)), None


async def screen_alarm(
    work: UnitOfWork, rules: ContactRules, subject_of: AlarmSubjectOf | None, message: OutboundMessage
) -> str | None:
    """Decide whether an emergency contact's alarm goes, once, on its first attempt: the text to send, or None
    when it is suppressed (the message is then final, with the reason). The decision is Siaga's, audited either
    way."""
    async with work() as session:
        subject = await subject_of(session, uuid.UUID(message.alert_id)) if subject_of and message.alert_id else None
        if subject is None:
            return message.body  # not a resident's alarm: nothing to decide
        consent, body, reason = await _decide(session, rules, message, subject)
        row = await session.get(OutboundMessage, message.id)
        assert row is not None
        if reason is None:
            row.body = body
        else:
            row.status, row.last_error = SUPPRESSED, f"not sent: {reason}"
        await audit.record_for(
            session,
            ActorContext.siaga(),
            action="contact.alarm",
            target_type="contact",
            target_id=str(consent.id),
            outcome="success" if reason is None else SUPPRESSED,
            agency_id=subject.agency_id,
            detail={
                "alert_id": str(subject.alert_id),
                "message_id": message.id,
                "consent": consent.state,
                "sent": reason is None,
                "reason": reason or ("unconfirmed_once" if consent.state == Consent.PENDING else "confirmed"),
            },
        )
    return body if reason is None else None
