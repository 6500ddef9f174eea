"""Drills: synthetic accounts made in bulk, used through the public API like real ones, and ended together.

Exercise residents have a phone-shaped placeholder (never a real number) and no NIK; exercise officers have no
usable password, so only the session handed to the drill's administrator works. Every alert an exercise resident
raises is an exercise (see ``alerts.raise_rules.new_alert``), which real reports leave out."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import service as accounts
from siaga.accounts.domain import Role
from siaga.accounts.models import AuthSession, Resident, Staff
from siaga.aftercommit import SessionsRevoked, emit
from siaga.agencies.models import Agency
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import utcnow
from siaga.dispatch import duty, unitstate
from siaga.errors import Invalid
from siaga.responders.models import DutyPeriod, Unit

NO_PASSWORD = "!exercise"  # noqa: S105 - not an argon2 hash: no password ever verifies against it


async def create_residents(
    session: AsyncSession, *, settings: Settings, count: int, user_agent: str, by: ActorContext
) -> list[accounts.NewSession]:
    """``count`` synthetic residents, each with a session opened from ``by``'s address (audited)."""
    start = await session.scalar(select(func.count()).select_from(Resident).where(Resident.is_exercise)) or 0
    created: list[accounts.NewSession] = []
    for number in range(start + 1, start + count + 1):
        resident = Resident(
            phone=f"latihan-{secrets.token_hex(6)}",
            name=f"Warga Latihan {number:04d}",
            is_exercise=True,
        )
        session.add(resident)
        await session.flush()
        created.append(
            await accounts.open_resident_session(
                session, settings=settings, resident=resident, client_ip=by.client_ip, user_agent=user_agent
            )
        )
    await audit.record_for(session, by, action="exercise.residents", detail={"count": count})
    return created


async def create_officers(
    session: AsyncSession,
    *,
    settings: Settings,
    agency_id: int,
    count: int,
    kind: str,
    user_agent: str,
    by: ActorContext,
) -> list[tuple[accounts.NewSession, Unit]]:
    """``count`` synthetic officers of the agency, each with a unit of its own and a session opened from ``by``'s
    address (audited)."""
    agency = await session.get(Agency, agency_id)
    if agency is None:
        raise Invalid(f"agency {agency_id} does not exist", code="agency.not_found", details={"field": "agency_id"})
    created: list[tuple[accounts.NewSession, Unit]] = []
    for _ in range(count):
        tag = secrets.token_hex(3).upper()
        unit = Unit(agency_id=agency.id, callsign=f"LAT-{agency.code}-{tag}"[:64], kind=kind, is_exercise=True)
        session.add(unit)
        await session.flush()
        staff = Staff(
            username=f"latihan.{tag.lower()}.{unit.id}",
            name=f"Petugas Latihan {unit.callsign}",
            role=Role.OFFICER.value,
            agency_id=agency.id,
            unit_id=unit.id,
            password_hash=NO_PASSWORD,
            is_exercise=True,
        )
        session.add(staff)
        await session.flush()
        new = await accounts.open_staff_session(
            session, settings=settings, staff=staff, client_ip=by.client_ip, user_agent=user_agent
        )
        created.append((new, unit))
    await audit.record_for(
        session, by, action="exercise.officers", agency_id=agency_id, detail={"count": count, "kind": kind}
    )
    return created


async def end(session: AsyncSession, *, settings: Settings, by: ActorContext) -> tuple[int, int, list[uuid.UUID]]:
    """Take every exercise officer off duty, handing back every alert their units hold (a real SOS a drill unit
    took in the demo city included), deactivate them, and revoke every exercise session (audited, naming the alerts
    handed back). Returns the officers and resident sessions ended, and the alerts handed back."""
    now = utcnow()
    officers = (await session.scalars(select(Staff).where(Staff.is_exercise, Staff.active))).all()
    staff_ids = [s.id for s in officers]
    units = {s.unit_id for s in officers}
    on_duty = set(
        (
            await session.scalars(
                select(DutyPeriod.staff_id).where(DutyPeriod.staff_id.in_(staff_ids), DutyPeriod.ended_at.is_(None))
            )
        ).all()
    )
    handed: list[uuid.UUID] = []
    for officer in officers:
        if officer.id in on_duty and officer.unit_id is not None:
            # Audited as part of the drill's end (its record names the alerts handed back), not on its own.
            handed += await duty.leave_duty(
                session, settings=settings, principal=duty.as_officer(officer), hand_back_alerts=True, by=None
            )
    if staff_ids:
        await session.execute(update(Staff).where(Staff.id.in_(staff_ids)).values(active=False))
        await session.execute(
            update(AuthSession)
            .where(AuthSession.staff_id.in_(staff_ids), AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    exercise_residents = select(Resident.id).where(Resident.is_exercise).scalar_subquery()
    revoked = await session.execute(
        update(AuthSession)
        .where(AuthSession.resident_id.in_(exercise_residents), AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    emit(session, SessionsRevoked())
    await session.flush()
    await unitstate.sync_units(session, units)
    residents = int(getattr(revoked, "rowcount", 0) or 0)
    await audit.record_for(
        session,
        by,
        action="exercise.end",
        detail={"officers": len(staff_ids), "residents": residents, "handed_back": [str(a) for a in handed]},
    )
    return len(staff_ids), residents, handed
