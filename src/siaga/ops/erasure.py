"""Erasing a resident at their request: what the account, its alerts, its messages and the records hold of them.

A use case across packages (accounts, alerts, notify, audit, retention), so it lives above them all."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.models import OneTimeCode, Resident
from siaga.accounts.residents import emergency_contacts
from siaga.aftercommit import SessionsRevoked, emit
from siaga.alerts.domain import ACTIVE_STATES
from siaga.alerts.models import Alert, AlertEvent
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.audit.models import AuditRecord
from siaga.db import Base, utcnow
from siaga.errors import Conflict, NotFound
from siaga.notify.models import OutboundMessage
from siaga.ops import retention


@dataclass(frozen=True, slots=True)
class DeletedAccount:
    """What a deletion did, for its audit record (counts only: the data itself is gone)."""

    alerts_kept_anonymised: int
    rows_deleted: int


async def delete_account(session: AsyncSession, *, resident: Resident, by: ActorContext) -> DeletedAccount:
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
        "cancel_pin_hash", "duress_pin_hash", "sms_key", "pin_failed_at", "suspended_reason",
    ):  # fmt: skip
        setattr(resident, column, None)
    resident.deleted_at = utcnow()
    await session.flush()
    record = await audit.record_for(
        session,
        by,
        action="resident.delete",
        target_type="resident",
        target_id=subject,
        detail={"alerts_kept_anonymised": kept, "by": "resident" if by.id == subject else "staff on request"},
    )
    if by.id == subject:
        record.actor_name = ""  # the name their session was opened with is one of the things deleted
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
