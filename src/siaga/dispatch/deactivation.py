"""Deactivating a staff account. Its sessions end at once (``accounts.staff.set_active``); an officer on duty also
goes off duty as if they had done it themselves, handing back any alert their unit holds with nobody else of it on
duty. An account that can no longer sign in must not leave its unit looking available, nor an SOS with nobody."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import staff as staffing
from siaga.accounts.domain import Role
from siaga.accounts.models import Staff
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.dispatch import duty
from siaga.responders.models import DutyPeriod


async def deactivate(session: AsyncSession, *, settings: Settings, staff: Staff, by: ActorContext) -> list[uuid.UUID]:
    """Deactivate ``staff`` (audited). Returns the alerts handed back because their officer left."""
    handed: list[uuid.UUID] = []
    on_duty = await session.scalar(
        select(DutyPeriod.id).where(DutyPeriod.staff_id == staff.id, DutyPeriod.ended_at.is_(None)).limit(1)
    )
    if staff.active and staff.role == Role.OFFICER.value and staff.unit_id is not None and on_duty is not None:
        # Audited as part of the deactivation (its record names the alerts handed back), not on its own.
        handed = await duty.leave_duty(
            session, settings=settings, principal=duty.as_officer(staff), hand_back_alerts=True, by=None
        )
    await staffing.set_active(
        session, staff=staff, active=False, by=by, detail={"handed_back": [str(a) for a in handed]} if handed else None
    )
    return handed
