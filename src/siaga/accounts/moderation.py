"""Moderating residents: strikes, suspension and reinstatement, appeals and their history."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.models import ModerationRecord, Resident
from siaga.accounts.residents import get_resident
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.errors import Conflict


async def add_strike(
    session: AsyncSession, *, resident_id: uuid.UUID, alert_id: uuid.UUID, staff_id: int | None, reason: str
) -> None:
    resident = await get_resident(session, resident_id)
    resident.strikes += 1
    session.add(
        ModerationRecord(resident_id=resident_id, kind="strike", alert_id=alert_id, staff_id=staff_id, reason=reason)
    )
    await session.flush()


async def set_suspended(
    session: AsyncSession, *, resident_id: uuid.UUID, suspended: bool, reason: str, by: ActorContext
) -> Resident:
    """Suspend or reinstate a resident, with a reason (audited). A suspended resident's SOS is still accepted,
    flagged."""
    resident = await get_resident(session, resident_id)
    if resident.suspended == suspended:
        state = "suspended" if suspended else "not suspended"
        raise Conflict(f"the resident is already {state}", code="resident.suspension_unchanged")
    resident.suspended = suspended
    resident.suspended_reason = reason if suspended else None
    resident.suspended_at = utcnow() if suspended else None
    session.add(
        ModerationRecord(
            resident_id=resident_id,
            kind="suspend" if suspended else "reinstate",
            staff_id=by.staff_id,
            reason=reason,
        )
    )
    await session.flush()
    await audit.record_for(
        session,
        by,
        action="resident.suspend" if suspended else "resident.reinstate",
        target_type="resident",
        target_id=str(resident_id),
        detail={"reason": reason},
    )
    return resident


async def appeal(session: AsyncSession, *, resident: Resident, text: str, by: ActorContext) -> ModerationRecord:
    """The resident appeals a strike or a suspension (audited)."""
    record = ModerationRecord(resident_id=resident.id, kind="appeal", reason=text)
    session.add(record)
    await session.flush()
    await audit.record_for(session, by, action="resident.appeal", target_type="resident", target_id=str(resident.id))
    return record


async def moderation_history(session: AsyncSession, resident_id: uuid.UUID) -> list[ModerationRecord]:
    return list(
        (
            await session.scalars(
                select(ModerationRecord)
                .where(ModerationRecord.resident_id == resident_id)
                .order_by(ModerationRecord.id)
            )
        ).all()
    )
