"""HTTP for reading the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from siaga.alerts import access
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.deps import ClientIP, RuntimeDep, Supervisor
from siaga.schemas import BigRowId, Moment, ReadModel, error_responses

router = APIRouter(tags=["audit"])


class AuditRead(ReadModel):
    id: int
    at: datetime
    actor_kind: str
    actor_id: str
    actor_name: str
    agency_id: int | None
    action: str
    target_type: str
    target_id: str
    outcome: str
    client_ip: str
    detail: dict[str, Any]


@router.get("/audit", responses=error_responses(401, 403, 422))
async def list_audit(
    principal: Supervisor,
    runtime: RuntimeDep,
    ip: ClientIP,
    action: str | None = Query(default=None, description="Prefix, e.g. 'alert.' or 'staff.login'"),
    actor_id: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: Annotated[str | None, Query(pattern="^(success|failure|denied)$")] = None,
    since: Moment | None = None,
    until: Moment | None = None,
    before_id: BigRowId | None = Query(default=None, description="For paging: records older than this id"),
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditRead]:
    """Audit records, newest first: supervisors see their agency and those below it, administrators all. Reading
    the log is itself audited."""
    async with runtime.unit_of_work() as session:
        scope = await access.staff_agency_scope(session, principal)
        rows = await audit.search(
            session,
            ActorContext.signed_in(principal, ip),
            agency_ids=scope,
            action=action,
            actor_id=actor_id,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            since=since,
            until=until,
            before_id=before_id,
            limit=limit,
        )
        return [AuditRead.model_validate(r) for r in rows]
