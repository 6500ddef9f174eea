"""Writing and reading the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal
from siaga.audit.models import AuditRecord


async def record(
    session: AsyncSession,
    *,
    action: str,
    actor: Principal | None,
    target_type: str = "",
    target_id: str = "",
    outcome: str = "success",
    client_ip: str = "",
    agency_id: int | None = None,
    actor_label: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one audit record in the caller's transaction (so it commits, or not, with the change it records)."""
    row = AuditRecord(
        actor_kind=actor.kind if actor else "anonymous",
        actor_id=actor.subject if actor else actor_label,
        actor_name=actor.name if actor else actor_label,
        agency_id=agency_id if agency_id is not None else (actor.agency_id if actor else None),
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        client_ip=client_ip,
        detail=detail or {},
    )
    session.add(row)
    await session.flush()
    return row


async def search(
    session: AsyncSession,
    *,
    agency_ids: Sequence[int] | None,
    action: str | None = None,
    actor_id: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """Audit records, newest first, filtered. ``agency_ids`` None means every agency (administrators)."""
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if agency_ids is not None:
        query = query.where(AuditRecord.agency_id.in_(agency_ids))
    if action:
        query = query.where(AuditRecord.action.startswith(action))
    if actor_id:
        query = query.where(AuditRecord.actor_id == actor_id)
    if target_type:
        query = query.where(AuditRecord.target_type == target_type)
    if target_id:
        query = query.where(AuditRecord.target_id == target_id)
    if outcome:
        query = query.where(AuditRecord.outcome == outcome)
    if since:
        query = query.where(AuditRecord.at >= since)
    if until:
        query = query.where(AuditRecord.at < until)
    if before_id:
        query = query.where(AuditRecord.id < before_id)
    return list((await session.scalars(query)).all())
