"""Staff reading residents: administrators anyone, other staff those who raised an alert they can see (the alerts'
own access rule). Each read is audited (it is personal data), whoever reads through whichever door."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import service as accounts
from siaga.accounts.domain import Principal, Role
from siaga.accounts.models import ModerationRecord, Resident, ResidentKind
from siaga.accounts.residents import NIK_CONTESTED
from siaga.alerts import access
from siaga.alerts.models import Alert
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.errors import NotFound, NotVisible


def _sees_everyone(principal: Principal | None) -> bool:
    """``None``: someone at the server (the ``siaga`` command), who sees everyone as an administrator does."""
    return principal is None or principal.role is Role.ADMIN


async def in_scope(session: AsyncSession, principal: Principal | None, resident_id: uuid.UUID) -> Resident:
    """The resident, if ``principal`` may read them. Anyone else is answered as for a missing id; one who exists is a
    ``NotVisible`` (a denied request in the audit log)."""
    resident = await session.get(Resident, resident_id)
    if principal is not None and not _sees_everyone(principal):
        seen = await session.scalar(
            select(Alert.id)
            .where(Alert.resident_id == resident_id, await access.visibility(session, principal))
            .limit(1)
        )
        if seen is None and resident is not None:
            raise NotVisible(
                "resident not found", code="resident.not_found", target_type="resident", target_id=str(resident_id)
            )
    if resident is None:
        raise NotFound("resident not found", code="resident.not_found")
    return resident


async def read_residents(
    session: AsyncSession,
    principal: Principal | None,
    *,
    by: ActorContext,
    q: str | None = None,
    suspended: bool | None = None,
    min_strikes: int = 0,
    nik_contested: bool | None = None,
    limit: int = 100,
) -> list[Resident]:
    """The people ``principal`` may read, most strikes first (``q``: part of a name or phone number;
    ``nik_contested``: only those whose NIK another phone number also claims, or none does). Audited."""
    query = (
        select(Resident)
        .where(Resident.kind == ResidentKind.PERSON.value)  # a site's, partner's or unit's caller row is nobody
        .order_by(Resident.strikes.desc(), Resident.created_at.desc())
        .limit(limit)
    )
    if principal is not None and not _sees_everyone(principal):
        seen = select(Alert.resident_id).where(await access.visibility(session, principal))
        query = query.where(Resident.id.in_(seen))
    if q:
        pattern = f"%{q.strip()}%"
        query = query.where(Resident.name.ilike(pattern) | Resident.phone.like(pattern))
    if suspended is not None:
        query = query.where(Resident.suspended.is_(suspended))
    if min_strikes:
        query = query.where(Resident.strikes >= min_strikes)
    if nik_contested is not None:
        contested = Resident.id.in_(select(ModerationRecord.resident_id).where(ModerationRecord.kind == NIK_CONTESTED))
        query = query.where(contested if nik_contested else ~contested)
    residents = list((await session.scalars(query)).all())
    await audit.record_for(
        session, by, action="resident.list", target_type="resident", detail={"count": len(residents), "q": q or ""}
    )
    return residents


async def read_resident(
    session: AsyncSession, principal: Principal | None, resident_id: uuid.UUID, *, by: ActorContext
) -> Resident:
    """A resident's profile, if ``principal`` may read it (``in_scope``). Audited."""
    resident = await in_scope(session, principal, resident_id)
    await audit.record_for(session, by, action="resident.read", target_type="resident", target_id=str(resident_id))
    return resident


async def read_moderation(
    session: AsyncSession, principal: Principal | None, resident_id: uuid.UUID, *, by: ActorContext
) -> list[ModerationRecord]:
    """A resident's strikes, suspensions, reinstatements and appeals, oldest first, if ``principal`` may read them
    (``in_scope``). Audited."""
    await in_scope(session, principal, resident_id)
    await audit.record_for(
        session, by, action="resident.read_moderation", target_type="resident", target_id=str(resident_id)
    )
    return await accounts.moderation_history(session, resident_id)
