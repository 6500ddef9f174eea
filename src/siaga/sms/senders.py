"""Who sent an SMS, as the handlers that raise an SOS need them: the resident of the number (an account made now for a
number that has none: an SOS is never refused for want of one), their language, the kecamatan of their NIK and their
key for the app's SOS SMS."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from siaga.accounts import service as accounts
from siaga.accounts import sms_keys
from siaga.agencies.models import Jurisdiction
from siaga.audit.actor import ActorContext

if TYPE_CHECKING:
    from siaga.sms.inbound import Context, InboundSMS


@dataclass(frozen=True, slots=True)
class Sender:
    resident_id: uuid.UUID
    name: str  # the resident's name, or the number when it is not known
    language: str
    kecamatan: str | None  # the jurisdiction code of the resident's NIK kecamatan, if Siaga has it
    unregistered: bool  # the number had no account (or only the bare one an earlier SMS made)
    sms_key: str | None  # the key the resident's app signs its SOS SMS with, if they have one


async def identify(context: Context, sms: InboundSMS) -> Sender:
    """The sender of ``sms``, an account made for the number if it has none (committed, so it can raise)."""
    async with context.unit_of_work() as session:
        resident, made = await accounts.resident_for_number(
            session, phone=sms.sender, by=ActorContext.anonymous(sms.sender)
        )
        kecamatan = None
        if resident.nik_kecamatan:
            kecamatan = await session.scalar(
                select(Jurisdiction.code).where(Jurisdiction.nik_prefix == resident.nik_kecamatan).limit(1)
            )
        key = sms_keys.key_of(resident, settings=context.settings)
        return Sender(
            resident_id=resident.id,
            name=resident.name or resident.phone,
            language=resident.language or "id",
            kecamatan=kecamatan,
            unregistered=made or (resident.name is None and resident.nik is None and key is None),
            sms_key=key,
        )
