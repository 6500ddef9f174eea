"""Staff members: creating them (an officer in a unit of their agency), and their accounts' lifecycle (edit, deactivate,
reactivate, a new password). Every change to an account is audited here, whoever makes it: an administrator through
the API or someone at the server with ``siaga user`` (audited as "cli", with their operating-system user)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import security
from siaga.accounts.domain import Role
from siaga.accounts.models import AuthSession, Staff
from siaga.aftercommit import SessionsRevoked, emit
from siaga.agencies import service as agencies
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.errors import Conflict, Invalid, NotFound
from siaga.responders.models import Unit

EDITABLE = frozenset({"name", "role", "agency_id", "unit_id", "phone", "language"})
# A change to these changes what the account may see and do: its sessions end, and it signs in again.
POWERS = frozenset({"role", "agency_id", "unit_id"})


@dataclass(frozen=True, slots=True)
class StaffPage:
    staff: list[Staff]
    total: int  # of all the accounts that match, on every page


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
    language: str = "id",
    password_hash: str | None = None,
    by: ActorContext | None = None,
) -> Staff:
    """A staff account, audited as made ``by`` that actor (None: data laid down by seeding, no one's change).
    ``password_hash``: ``password`` already hashed (the demo's one shared password, hashed once for all its
    accounts), so argon2 does not run again."""
    username = username.strip().lower()
    await agencies.require_agency(session, agency_id)
    if await session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken", code="staff.username_taken", details={"username": username})
    await _check_unit(session, role=role, agency_id=agency_id, unit_id=unit_id)
    staff = Staff(
        username=username,
        name=name,
        role=role.value,
        agency_id=agency_id,
        unit_id=unit_id,
        phone=phone,
        language=language,
        # In a thread: argon2 is slow on purpose and must not hold the event loop (SOS presses wait behind it).
        password_hash=password_hash or await asyncio.to_thread(security.hash_secret, password),
    )
    session.add(staff)
    await session.flush()
    if by is not None:
        await record_change(session, action="staff.create", staff=staff, by=by, detail={"role": staff.role})
    return staff


async def _check_unit(session: AsyncSession, *, role: Role, agency_id: int, unit_id: int | None) -> None:
    """An officer belongs to a unit of their own agency; others may name a unit or not."""
    if unit_id is not None:
        unit = await session.get(Unit, unit_id)
        if unit is None:
            raise Invalid(f"unit {unit_id} does not exist", code="unit.not_found", details={"field": "unit_id"})
        if role is Role.OFFICER and unit.agency_id != agency_id:
            raise Invalid("an officer's unit must belong to their agency", code="staff.unit_agency")
    elif role is Role.OFFICER:
        raise Invalid("an officer must belong to a unit", code="staff.unit_required", details={"field": "unit_id"})


# Finding accounts -----------------------------------------------------------------------------------------------


async def staff_by_id(session: AsyncSession, staff_id: int, *, agencies: Collection[int] | None = None) -> Staff:
    """The account, if it is within ``agencies`` (None: any)."""
    staff = await session.get(Staff, staff_id)
    if staff is None or (agencies is not None and staff.agency_id not in agencies):
        raise NotFound("staff member not found", code="staff.not_found")
    return staff


async def staff_by_username(session: AsyncSession, username: str) -> Staff:
    staff = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
    if staff is None:
        raise NotFound(
            f"no staff member is called {username!r}", code="staff.not_found", details={"username": username}
        )
    return staff


async def find_staff(
    session: AsyncSession,
    *,
    agencies: Collection[int] | None,
    q: str | None = None,
    role: Role | None = None,
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> StaffPage:
    """Accounts within ``agencies`` (None: all) whose username, name or phone contains ``q``, a page at a time."""
    where: list[Any] = []
    if agencies is not None:
        where.append(Staff.agency_id.in_(agencies))
    if q and q.strip():
        pattern = f"%{q.strip().lower()}%"
        where.append(or_(Staff.username.like(pattern), func.lower(Staff.name).like(pattern), Staff.phone.like(pattern)))
    if role is not None:
        where.append(Staff.role == role.value)
    if active is not None:
        where.append(Staff.active.is_(active))
    total = await session.scalar(select(func.count()).select_from(Staff).where(*where)) or 0
    rows = await session.scalars(select(Staff).where(*where).order_by(Staff.id).limit(limit).offset(offset))
    return StaffPage(staff=list(rows.all()), total=total)


# Changing accounts ----------------------------------------------------------------------------------------------


async def record_change(
    session: AsyncSession, *, action: str, staff: Staff, by: ActorContext, detail: dict[str, Any] | None = None
) -> None:
    """The audit record of a change to ``staff``'s account."""
    await audit.record_for(
        session,
        by,
        action=action,
        target_type="staff",
        target_id=str(staff.id),
        agency_id=staff.agency_id,
        detail={"username": staff.username, **(detail or {})},
    )


async def update_staff(session: AsyncSession, *, staff: Staff, changes: dict[str, Any], by: ActorContext) -> Staff:
    """Change name, role, agency, unit, phone or language (of Siaga's SMS to them). A new role, agency or unit ends
    the account's sessions."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise Invalid(f"these cannot be changed: {sorted(unknown)}", code="staff.not_editable")
    role = Role(changes.get("role", staff.role))
    agency_id = int(changes.get("agency_id", staff.agency_id))
    unit_id = changes.get("unit_id", staff.unit_id)
    if "role" in changes and role.value != staff.role:
        _not_yourself(staff, by, "change your own role")
    if "agency_id" in changes:
        await agencies.require_agency(session, agency_id)
    await _check_unit(session, role=role, agency_id=agency_id, unit_id=unit_id)
    changed: dict[str, list[Any]] = {}
    for field_name, value in changes.items():
        new = value.value if isinstance(value, Role) else value
        if getattr(staff, field_name) != new:
            changed[field_name] = [getattr(staff, field_name), new]
            setattr(staff, field_name, new)
    if not changed:
        return staff
    revoked = await end_sessions(session, staff=staff, by=by) if POWERS & set(changed) else 0
    await session.flush()
    await record_change(
        session, action="staff.update", staff=staff, by=by, detail={"changed": changed, "sessions_ended": revoked}
    )
    return staff


async def set_active(
    session: AsyncSession, *, staff: Staff, active: bool, by: ActorContext, detail: dict[str, Any] | None = None
) -> Staff:
    """Deactivate (the account's sessions end at once: its open streams close) or reactivate an account. Its history
    stays; a deactivated account cannot sign in. Deactivate through ``dispatch.deactivation``: an officer on duty
    also leaves duty there."""
    if staff.active == active:
        return staff
    if not active:
        _not_yourself(staff, by, "deactivate your own account")
    staff.active = active
    revoked = 0 if active else await end_sessions(session, staff=staff, by=by)
    await session.flush()
    action = "staff.activate" if active else "staff.deactivate"
    await record_change(
        session, action=action, staff=staff, by=by, detail={"sessions_ended": revoked, **(detail or {})}
    )
    return staff


async def reset_password(session: AsyncSession, *, staff: Staff, password: str, by: ActorContext) -> None:
    """Set a new password (it must pass the policy); the account's other sessions end (whoever knew the old one is
    signed out)."""
    await check_new_password(password, username=staff.username, name=staff.name)
    staff.password_hash = await asyncio.to_thread(security.hash_secret, password)
    revoked = await end_sessions(session, staff=staff, by=by)
    await session.flush()
    await record_change(session, action="staff.password_reset", staff=staff, by=by, detail={"sessions_ended": revoked})


async def check_new_password(password: str, *, username: str, name: str) -> None:
    """A 422 unless ``password`` passes the staff password policy (``security.check_staff_password``): for every
    password an administrator or ``siaga user`` chooses. Off the event loop: SOS presses must not wait for it."""
    await asyncio.to_thread(security.check_staff_password, password, user_inputs=(username, name))


async def end_sessions(session: AsyncSession, *, staff: Staff, by: ActorContext) -> int:
    """Revoke the account's live sessions (not the one making the change) and tell every process, so streams
    opened with them close after the commit. Returns how many ended."""
    query = update(AuthSession).where(AuthSession.staff_id == staff.id, AuthSession.revoked_at.is_(None))
    if by.session_id is not None:
        query = query.where(AuthSession.id != by.session_id)
    result = await session.execute(query.values(revoked_at=utcnow()))
    emit(session, SessionsRevoked())
    return int(getattr(result, "rowcount", 0) or 0)


def _not_yourself(staff: Staff, by: ActorContext, what: str) -> None:
    # An administrator who locks themselves out may leave nobody able to administer Siaga.
    if by.staff_id is not None and by.staff_id == staff.id:
        raise Conflict(f"you cannot {what}", code="staff.self")


async def officers_of(session: AsyncSession, unit_id: int) -> list[Staff]:
    """The active accounts of a unit's officers."""
    rows = await session.scalars(select(Staff).where(Staff.unit_id == unit_id, Staff.active.is_(True)))
    return list(rows.all())
