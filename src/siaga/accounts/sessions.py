"""Sessions for residents and staff: opening them, staff passwords and login throttling, the principal behind a
token, revoking."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.accounts import security
from siaga.accounts.domain import Principal
from siaga.accounts.models import AuthSession, Resident, Role, Staff
from siaga.config import Settings
from siaga.db import utcnow
from siaga.errors import TooManyRequests


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    expires_at: datetime
    resident: Resident | None = None
    staff: Staff | None = None
    is_new: bool = False


async def _open_session(
    session: AsyncSession,
    *,
    lifetime: timedelta,
    client_ip: str,
    user_agent: str,
    resident_id: uuid.UUID | None = None,
    staff_id: int | None = None,
) -> tuple[str, datetime]:
    token = security.new_token()
    expires_at = utcnow() + lifetime
    session.add(
        AuthSession(
            token_hash=security.hash_token(token),
            resident_id=resident_id,
            staff_id=staff_id,
            expires_at=expires_at,
            client_ip=client_ip,
            user_agent=user_agent[:300],
        )
    )
    await session.flush()
    return token, expires_at


LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_PER_USERNAME = 10
LOGIN_FAILURES_PER_CLIENT = 50


async def login_throttled(session: AsyncSession, *, username: str, client_ip: str) -> TooManyRequests | None:
    """Too many failed logins for this username or from this address lately (counted from the audit log)."""
    from siaga.audit.models import AuditRecord  # the audit log is the record of failures; no second counter

    since = utcnow() - LOGIN_WINDOW
    failures = select(func.count()).where(
        AuditRecord.action == "staff.login", AuditRecord.outcome == "failure", AuditRecord.at >= since
    )
    by_name = await session.scalar(failures.where(AuditRecord.actor_id == username.strip().lower()))
    by_client = await session.scalar(failures.where(AuditRecord.client_ip == client_ip))
    if (by_name or 0) >= LOGIN_FAILURES_PER_USERNAME or (by_client or 0) >= LOGIN_FAILURES_PER_CLIENT:
        return TooManyRequests(
            "too many failed logins; wait 15 minutes or ask an administrator",
            retry_after=int(LOGIN_WINDOW.total_seconds()),
            code="auth.throttled",
        )
    return None


async def check_password(
    read_sessions: async_sessionmaker[AsyncSession], *, username: str, password: str
) -> Staff | None:
    """The active staff member with this username and password, or None. Outside any transaction, in a thread:
    argon2 is slow on purpose and must hold neither the database nor the event loop."""
    async with read_sessions() as session:
        staff = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
    # A missing user costs the same time as a wrong password, so the two cannot be told apart.
    stored = staff.password_hash if staff is not None else _DUMMY_HASH.value
    ok = await asyncio.to_thread(security.verify_secret, stored, password)
    return staff if ok and staff is not None and staff.active else None


async def open_staff_session(
    session: AsyncSession, *, settings: Settings, staff: Staff, client_ip: str, user_agent: str
) -> NewSession:
    token, expires_at = await _open_session(
        session,
        lifetime=timedelta(hours=settings.staff_session_hours),
        staff_id=staff.id,
        client_ip=client_ip,
        user_agent=user_agent,
    )
    return NewSession(token=token, expires_at=expires_at, staff=staff)


async def open_resident_session(
    session: AsyncSession, *, settings: Settings, resident: Resident, client_ip: str, user_agent: str
) -> NewSession:
    token, expires_at = await _open_session(
        session,
        lifetime=timedelta(days=settings.resident_session_days),
        resident_id=resident.id,
        client_ip=client_ip,
        user_agent=user_agent,
    )
    return NewSession(token=token, expires_at=expires_at, resident=resident)


class _LazyHash:
    _value: str | None = None

    @property
    def value(self) -> str:
        if self._value is None:
            self._value = security.hash_secret("not-a-real-password")
        return self._value


_DUMMY_HASH = _LazyHash()


async def principal_for_token(session: AsyncSession, token: str, *, sos: bool = False) -> Principal | None:
    """The resident or active staff member behind a live, unrevoked token.

    With ``sos``, a resident's expired (never a revoked) session still counts: an SOS is not refused because a
    phone was not opened for half a year. The alert is flagged instead."""
    row = await session.scalar(select(AuthSession).where(AuthSession.token_hash == security.hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    expired = row.expires_at <= utcnow()
    if expired and not (sos and row.resident_id is not None):
        return None
    if row.resident_id is not None:
        resident = await session.get(Resident, row.resident_id)
        if resident is None:
            return None
        return Principal(
            session_id=row.id, name=resident.name or resident.phone, resident_id=resident.id, session_expired=expired
        )
    if row.staff_id is not None:
        staff = await session.get(Staff, row.staff_id)
        if staff is None or not staff.active:
            return None
        return Principal(
            session_id=row.id,
            name=staff.name,
            staff_id=staff.id,
            role=Role(staff.role),
            agency_id=staff.agency_id,
            unit_id=staff.unit_id,
        )
    return None


async def revoke_session(session: AsyncSession, *, session_id: int) -> None:
    await session.execute(update(AuthSession).where(AuthSession.id == session_id).values(revoked_at=utcnow()))
