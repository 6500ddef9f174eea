"""Writing and reading the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, insert, null, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.audit.actor import Acting, ActorContext
from siaga.audit.models import AuditRecord, DenialWindow
from siaga.db import utcnow

DENIED_RECORDS_PER_MINUTE = 10  # per caller; the rest of that minute's refusals are counted in one summary record
DENIAL_WINDOW = timedelta(minutes=1)


async def record(
    session: AsyncSession,
    *,
    action: str,
    actor: Acting | None,
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


async def record_for(
    session: AsyncSession,
    by: ActorContext,
    *,
    action: str,
    target_type: str = "",
    target_id: str = "",
    outcome: str = "success",
    agency_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditRecord:
    """Record that ``by`` did ``action``, in the caller's transaction: the one way a use case audits its change,
    whoever made it (staff through the API, the command line, Siaga itself). ``agency_id``: the agency the change
    belongs to (default: the actor's)."""
    row = AuditRecord(**_fields(by, action, target_type, target_id, outcome, agency_id, detail))
    session.add(row)
    await session.flush()
    return row


def record_on(
    connection: Connection,
    by: ActorContext,
    *,
    action: str,
    target_type: str = "",
    target_id: str = "",
    outcome: str = "success",
    agency_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """``record_for`` on a Core connection: in a transaction of the process's single writer (``db.CoreRunner``),
    where the SOS presses' batches are written too, so on SQLite it never waits for their write lock, nor they for
    it."""
    fields = _fields(by, action, target_type, target_id, outcome, agency_id, detail)
    connection.execute(insert(AuditRecord).values(at=utcnow(), **fields))


def _fields(
    by: ActorContext,
    action: str,
    target_type: str,
    target_id: str,
    outcome: str,
    agency_id: int | None,
    detail: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "actor_kind": by.kind,
        "actor_id": by.id,
        "actor_name": by.name,
        "agency_id": agency_id if agency_id is not None else by.agency_id,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "outcome": outcome,
        "client_ip": by.client_ip,
        "detail": detail or {},
    }


async def record_denial(
    session: AsyncSession,
    *,
    actor: Acting | None,
    client_ip: str,
    method: str,
    path: str,
    code: str,
    reason: str,
    target_type: str = "",
    target_id: str = "",
    agency_id: int | None = None,
) -> None:
    """Record a refused request (``outcome=denied``, action ``access.denied``): who asked, what (method and path),
    and why it was refused (the error's code and message), never what was refused.

    A caller's first ``DENIED_RECORDS_PER_MINUTE`` refusals in a minute get a record each; the rest of that minute
    share one ``access.denied.more`` record whose ``requests`` counts them and which names the latest, so a flood of
    refused requests cannot flood the log, and none goes uncounted."""
    key = actor.subject if actor is not None else f"ip:{client_ip}"
    now = utcnow()
    expired = DenialWindow.window_start < now - DENIAL_WINDOW
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # One atomic statement (it also locks the caller's row until the commit), so concurrent refusals are each
    # counted once and the summary record is made once.
    counted = (
        insert(DenialWindow)
        .values(actor_key=key, window_start=now, count=1, summary_id=None)
        .on_conflict_do_update(
            index_elements=[DenialWindow.actor_key],
            set_={
                "count": case((expired, 1), else_=DenialWindow.count + 1),
                "window_start": case((expired, now), else_=DenialWindow.window_start),
                "summary_id": case((expired, null()), else_=DenialWindow.summary_id),
            },
        )
        .returning(DenialWindow.count, DenialWindow.window_start, DenialWindow.summary_id)
    )
    count, window_start, summary_id = (await session.execute(counted)).one()
    request = {"method": method, "path": path, "code": code, "reason": reason}
    if count <= DENIED_RECORDS_PER_MINUTE:
        await record(
            session,
            action="access.denied",
            actor=actor,
            actor_label=key,
            target_type=target_type,
            target_id=target_id,
            outcome="denied",
            client_ip=client_ip,
            agency_id=agency_id,
            detail=request,
        )
        return
    summary = {
        "requests": count - DENIED_RECORDS_PER_MINUTE,
        "since": window_start.isoformat(),
        "until": now.isoformat(),
        **request,
    }
    if summary_id is None:
        row = await record(
            session,
            action="access.denied.more",
            actor=actor,
            actor_label=key,
            outcome="denied",
            client_ip=client_ip,
            agency_id=agency_id,
            detail=summary,
        )
        await session.execute(update(DenialWindow).where(DenialWindow.actor_key == key).values(summary_id=row.id))
        return
    await session.execute(update(AuditRecord).where(AuditRecord.id == summary_id).values(detail=summary))


async def search(
    session: AsyncSession,
    by: ActorContext,
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
    """Audit records, newest first, filtered. ``agency_ids`` None means every agency (administrators). Reading the
    log is itself recorded first (``audit.read``, with the filters that name someone or something): it shows who
    read whose personal data."""
    filters = {"action": action, "actor_id": actor_id, "target_type": target_type, "target_id": target_id}
    await record_for(session, by, action="audit.read", detail={k: v for k, v in filters.items() if v})
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
