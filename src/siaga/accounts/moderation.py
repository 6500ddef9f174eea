"""Moderating residents: strikes, suspension and reinstatement, appeals and their history."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.models import ModerationRecord, Resident
from siaga.accounts.residents import get_resident
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
    session: AsyncSession, *, resident_id: uuid.UUID, suspended: bool, staff_id: int, reason: str
) -> Resident:
    """Suspend or reinstate a resident, with a reason. A suspended resident's SOS is still accepted, flagged."""
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
            staff_id=staff_id,
            reason=reason,
        )
    )
    await session.flush()
    return resident


async def appeal(session: AsyncSession, *, resident: Resident, text: str) -> ModerationRecord:
    record = ModerationRecord(resident_id=resident.id, kind="appeal", reason=text)
    session.add(record)
    await session.flush()
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
