"""Staff members and the units officers belong to."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import security
from siaga.accounts.models import Role, Staff, Unit
from siaga.agencies.models import Agency
from siaga.errors import Conflict, Invalid


async def create_staff(
    session: AsyncSession,
    *,
    username: str,
    name: str,
    role: Role,
    agency_id: int,
    password: str,
    unit_id: int | None = None,
    phone: str | None = None,
) -> Staff:
    username = username.strip().lower()
    await _require_agency(session, agency_id)
    if await session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken", code="staff.username_taken")
    if unit_id is not None:
        unit = await session.get(Unit, unit_id)
        if unit is None:
            raise Invalid(f"unit {unit_id} does not exist", code="unit.not_found", details={"field": "unit_id"})
        if role is Role.OFFICER and unit.agency_id != agency_id:
            raise Invalid("an officer's unit must belong to their agency", code="staff.unit_agency")
    elif role is Role.OFFICER:
        raise Invalid("an officer must belong to a unit", code="staff.unit_required", details={"field": "unit_id"})
    staff = Staff(
        username=username,
        name=name,
        role=role.value,
        agency_id=agency_id,
        unit_id=unit_id,
        phone=phone,
        # In a thread: argon2 is slow on purpose and must not hold the event loop (SOS presses wait behind it).
        password_hash=await asyncio.to_thread(security.hash_secret, password),
    )
    session.add(staff)
    await session.flush()
    return staff


async def create_unit(session: AsyncSession, *, agency_id: int, callsign: str, kind: str) -> Unit:
    await _require_agency(session, agency_id)
    if await session.scalar(select(Unit.id).where(Unit.callsign == callsign)) is not None:
        raise Conflict(f"callsign {callsign!r} is taken", code="unit.callsign_taken")
    unit = Unit(agency_id=agency_id, callsign=callsign, kind=kind)
    session.add(unit)
    await session.flush()
    return unit


async def _require_agency(session: AsyncSession, agency_id: int) -> None:
    if await session.get(Agency, agency_id) is None:
        raise Invalid(f"agency {agency_id} does not exist", code="agency.not_found", details={"field": "agency_id"})
