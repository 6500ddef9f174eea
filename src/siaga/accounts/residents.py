"""Residents' profiles and emergency contacts, and the phone numbers they are known by."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import identity
from siaga.accounts.models import EmergencyContact, ModerationRecord, Resident
from siaga.accounts.schemas import EmergencyContactIn, ResidentUpdate
from siaga.accounts.turns import take_turns
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import utcnow
from siaga.errors import Invalid, NotFound
from siaga.notify import contacts as contacts_consent

# The moderation record of a NIK that two phone numbers hold.
NIK_CONTESTED = "nik_contested"


def normalize_phone(settings: Settings, raw: str, *, field: str = "phone") -> str:
    """E.164 form of a mobile number, or a 422 naming the field."""
    try:
        return identity.normalize_phone(raw, default_region=settings.default_region)
    except identity.InvalidPhone as exc:
        raise Invalid(str(exc), code=exc.code, details={"field": field}) from exc


def checked_nik(nik: str) -> identity.NIKInfo:
    """What a NIK says (region, birth date, sex), or a 422 saying what is wrong with it."""
    try:
        return identity.parse_nik(nik)
    except identity.InvalidNIK as exc:
        raise Invalid(str(exc), code=exc.code, details={"field": "nik"}) from exc


async def get_resident(session: AsyncSession, resident_id: uuid.UUID) -> Resident:
    resident = await session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("resident not found", code="resident.not_found")
    return resident


async def resident_for_number(session: AsyncSession, *, phone: str, by: ActorContext) -> tuple[Resident, bool]:
    """The resident a number (E.164) belongs to, for a channel that knows only the number (an SMS). A number with
    no account gets a bare one now (no name, no NIK; audited), so that its SOS has a caller: it is never refused.
    Returns the resident and whether it was made now."""
    await take_turns(session, f"resident-phone:{phone}")  # two SMS from a new number at once make one account
    resident = await session.scalar(select(Resident).where(Resident.phone == phone))
    if resident is not None:
        return resident, False
    resident = Resident(phone=phone)
    session.add(resident)
    await session.flush()
    await audit.record_for(
        session, by, action="resident.created_bare", target_type="resident", target_id=str(resident.id)
    )
    return resident, True


async def register_number(
    session: AsyncSession, *, settings: Settings, phone: str, name: str, nik: str, way: str, by: ActorContext
) -> Resident:
    """Register a number whose code was just answered, without the app (``way``: ``sms`` for DAFTAR, ``counter`` at
    a kelurahan or Polsek counter): its resident (the bare account an earlier SOS made for it, or a new one), verified
    now, with the name and NIK (checked, and a NIK another number holds flagged, as in the app). Audited."""
    resident, _ = await resident_for_number(session, phone=phone, by=by)
    resident.phone_verified_at = utcnow()
    await update_profile(
        session, settings=settings, resident=resident, changes=ResidentUpdate(name=name, nik=nik), by=by
    )
    await audit.record_for(
        session,
        by,
        action="resident.registered",
        target_type="resident",
        target_id=str(resident.id),
        detail={"way": way},
    )
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
    session: AsyncSession, *, settings: Settings, resident: Resident, changes: ResidentUpdate, by: ActorContext
) -> Resident:
    """Apply profile changes (audited, naming the fields changed). The NIK is checked (region, birth date); one
    another phone number holds too is accepted all the same and flagged for a supervisor (see
    ``_flag_contested_nik``)."""
    if changes.name is not None:
        resident.name = changes.name
    if changes.nik is not None:
        info = checked_nik(changes.nik)
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
    await audit.record_for(
        session,
        by,
        action="resident.update",
        target_type="resident",
        target_id=str(resident.id),
        detail={"fields": sorted(changes.model_dump(exclude_unset=True))},
    )
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
