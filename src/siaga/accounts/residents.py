"""Residents' profiles and emergency contacts, and the phone numbers they are known by."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import identity
from siaga.accounts.models import EmergencyContact, ModerationRecord, OneTimeCode, Resident
from siaga.accounts.schemas import EmergencyContactIn, ResidentUpdate
from siaga.accounts.turns import take_turns
from siaga.aftercommit import SessionsRevoked, emit
from siaga.alerts.domain import ACTIVE_STATES
from siaga.alerts.models import Alert, AlertEvent
from siaga.audit.models import AuditRecord
from siaga.config import Settings
from siaga.db import Base, utcnow
from siaga.errors import Conflict, Invalid, NotFound
from siaga.notify import contacts as contacts_consent
from siaga.notify.models import OutboundMessage
from siaga.ops import retention

# The moderation record of a NIK that two phone numbers hold.
NIK_CONTESTED = "nik_contested"


def normalize_phone(settings: Settings, raw: str, *, field: str = "phone") -> str:
    """E.164 form of a mobile number, or a 422 naming the field."""
    try:
        return identity.normalize_phone(raw, default_region=settings.default_region)
    except identity.InvalidPhone as exc:
        raise Invalid(str(exc), code=exc.code, details={"field": field}) from exc


async def get_resident(session: AsyncSession, resident_id: uuid.UUID) -> Resident:
    resident = await session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("resident not found", code="resident.not_found")
    return resident


async def emergency_contacts(session: AsyncSession, resident_id: uuid.UUID) -> list[EmergencyContact]:
    return list(
        (
            await session.scalars(
                select(EmergencyContact)
                .where(EmergencyContact.resident_id == resident_id)
                .order_by(EmergencyContact.id)
            )
        ).all()
    )


async def update_profile(
    session: AsyncSession, *, settings: Settings, resident: Resident, changes: ResidentUpdate
) -> Resident:
    """Apply profile changes. The NIK is checked (region, birth date); one another phone number holds too is
    accepted all the same and flagged for a supervisor (see ``_flag_contested_nik``)."""
    if changes.name is not None:
        resident.name = changes.name
    if changes.nik is not None:
        try:
            info = identity.parse_nik(changes.nik)
        except identity.InvalidNIK as exc:
            raise Invalid(str(exc), code=exc.code, details={"field": "nik"}) from exc
        if info.nik != resident.nik:
            await _flag_contested_nik(session, resident=resident, nik=info.nik)
        resident.nik = info.nik
        resident.birth_date = info.birth_date
        resident.sex = info.sex
        resident.nik_kecamatan = info.kecamatan_code
    if changes.address is not None:
        resident.address = changes.address
    if changes.medical_notes is not None:
        resident.medical_notes = changes.medical_notes
    if changes.language is not None:
        resident.language = changes.language
    if changes.emergency_contacts is not None:
        await _replace_contacts(session, settings=settings, resident=resident, contacts=changes.emergency_contacts)
    await session.flush()
    return resident


async def _flag_contested_nik(session: AsyncSession, *, resident: Resident, nik: str) -> None:
    """A NIK that another phone number already holds. Refusing it would tell anyone whether a national ID is
    registered, and would let a stranger who registered someone's NIK first lock its owner out. So both numbers keep
    it, both can still press SOS, the answer is the same as for any NIK, and each holder's moderation history gets a
    "nik_contested" record naming the other number, for a supervisor to settle whose NIK it is."""
    await take_turns(session, f"nik:{nik}")  # two claims at once both see each other
    holders = (await session.scalars(select(Resident).where(Resident.nik == nik, Resident.id != resident.id))).all()
    for holder in holders:
        session.add_all(
            [
                ModerationRecord(
                    resident_id=resident.id,
                    kind=NIK_CONTESTED,
                    reason=f"NIK {nik} is already held by {holder.phone}: settle whose it is",
                ),
                ModerationRecord(
                    resident_id=holder.id,
                    kind=NIK_CONTESTED,
                    reason=f"NIK {nik} was also claimed by {resident.phone}: settle whose it is",
                ),
            ]
        )


async def _replace_contacts(
    session: AsyncSession, *, settings: Settings, resident: Resident, contacts: list[EmergencyContactIn]
) -> None:
    rows = []
    for index, contact in enumerate(contacts):
        phone = normalize_phone(settings, contact.phone, field=f"emergency_contacts.{index}.phone")
        if phone == resident.phone:
            raise Invalid(
                "an emergency contact cannot be your own number",
                code="resident.contact_is_self",
                details={"field": f"emergency_contacts.{index}.phone"},
            )
        rows.append(
            EmergencyContact(resident_id=resident.id, name=contact.name, phone=phone, relation=contact.relation)
        )
    for old in await emergency_contacts(session, resident.id):
        await session.delete(old)
    await session.flush()
    session.add_all(rows)
    await contacts_consent.ask(
        session,
        settings=settings,
        resident_id=resident.id,
        name=resident.name or resident.phone,
        phones=[row.phone for row in rows],
    )


@dataclass(frozen=True, slots=True)
class DeletedAccount:
    """What a deletion did, for its audit record (counts only: the data itself is gone)."""

    alerts_kept_anonymised: int
    rows_deleted: int


async def delete_account(session: AsyncSession, *, resident: Resident) -> DeletedAccount:
    """Delete a resident's account at their request: their name, NIK, number, address, medical notes, PINs, every
    row that exists only for them (emergency contacts, sessions, moderation history, ...), their codes, the trails
    and words of their alerts and the SMS about them or to their contacts go. Their alerts stay, anonymised, under
    the emptied resident row (a pseudonym), so the reports still count them: time, category, kecamatan, agency,
    outcome. Refused while an alert of theirs is active: an SOS in progress is never deleted away."""
    if resident.deleted_at is not None:
        raise NotFound("resident not found", code="resident.not_found")
    active = await session.scalar(
        select(Alert.id).where(Alert.resident_id == resident.id, Alert.state.in_(ACTIVE_STATES)).limit(1)
    )
    if active is not None:
        raise Conflict(
            "your account cannot be deleted while your alert is active: delete it once the alert is closed",
            code="resident.active_alert",
        )
    alerts = select(Alert.id).where(Alert.resident_id == resident.id)
    await retention.remove_alert_details(session, alerts)
    kept = len((await session.scalars(alerts)).all())
    contacts = [contact.phone for contact in await emergency_contacts(session, resident.id)]
    about = or_(*(OutboundMessage.body.contains(m, autoescape=True) for m in (resident.name, resident.phone) if m))
    to_them_or_about_them = or_(
        OutboundMessage.recipient == resident.phone, and_(OutboundMessage.recipient.in_(contacts), about)
    )
    await session.execute(update(OutboundMessage).where(to_them_or_about_them).values(body="", recipient=""))
    deleted = await _delete_rows_of(session, resident.id)
    emit(session, SessionsRevoked())
    await session.execute(delete(OneTimeCode).where(OneTimeCode.phone == resident.phone))
    subject = str(resident.id)
    await session.execute(
        update(AlertEvent)
        .where(AlertEvent.actor_kind == "resident", AlertEvent.actor_id == subject)
        .values(actor_name="")
    )
    await session.execute(update(AuditRecord).where(AuditRecord.actor_id == subject).values(actor_name=""))
    resident.phone = f"deleted-{resident.id.hex[:12]}"  # unique, and no number anyone can sign in with
    # The kecamatan of their NIK stays (an area of tens of thousands, as on their alerts): the reports of residents
    # per kecamatan keep counting them where they were.
    for column in (
        "name", "nik", "birth_date", "sex", "address", "medical_notes",
        "cancel_pin_hash", "duress_pin_hash", "pin_failed_at", "suspended_reason",
    ):  # fmt: skip
        setattr(resident, column, None)
    resident.deleted_at = utcnow()
    await session.flush()
    return DeletedAccount(alerts_kept_anonymised=kept, rows_deleted=deleted)


async def _delete_rows_of(session: AsyncSession, resident_id: uuid.UUID) -> int:
    """Delete every row that exists only for this resident: those of a table whose reference to the resident is
    ON DELETE CASCADE (emergency contacts, sessions, moderation records, and any such table added later). Tables
    that keep their rows for the record (alerts) refer to residents with RESTRICT and are left alone."""
    deleted = 0
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table.name == Resident.__tablename__ and key.ondelete == "CASCADE":
                result = await session.execute(delete(table).where(key.parent == resident_id))
                deleted += int(getattr(result, "rowcount", 0) or 0)
    return deleted
