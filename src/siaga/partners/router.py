"""HTTP for partner centres: the registry (administrators), an alert as EIDO and its handover (the command centre),
and the endpoint partners send their EIDO to (signed, or with an integrator's API key; no session)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from sqlalchemy.exc import IntegrityError

from siaga.alerts.ingest import Raced
from siaga.audit.actor import ActorContext
from siaga.deps import Admin, ClientIP, CommandCentre, EidoKey, RuntimeDep, record_refusal
from siaga.errors import SiagaError
from siaga.partners import inbound, service
from siaga.partners.schemas import (
    EidoReceipt,
    HandoverIn,
    HandoverRead,
    PartnerChoice,
    PartnerCreate,
    PartnerCreated,
    PartnerRead,
    PartnerUpdate,
)
from siaga.runtime import Runtime
from siaga.schemas import error_responses
from siaga.webhooks import addresses

router = APIRouter(tags=["partners"])

Name = Annotated[str, Path(max_length=64)]


def _guard(request: Request, runtime: Runtime) -> addresses.Guard:
    """Where a partner may be: this server's own address and port, as the request came in, are refused too."""
    server = request.scope.get("server")
    serving = (str(server[0]), int(server[1])) if server and server[1] is not None else None
    return service.guard(runtime.settings, serving=serving)


@router.get("/partners", responses=error_responses(401, 403))
async def list_partners(principal: CommandCentre, runtime: RuntimeDep) -> list[PartnerRead]:
    """The partner centres alerts can be handed over to (never their secrets)."""
    async with runtime.read_sessions() as session:
        return await service.list_partners(session)


@router.post("/partners", status_code=status.HTTP_201_CREATED, responses=error_responses(401, 403, 409, 422))
async def create_partner(
    body: PartnerCreate, request: Request, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> PartnerCreated:
    """Register a partner centre (audited). Its secrets, given or made here, are shown in this answer only. A URL
    whose host is a private, loopback or link-local address (unless SIAGA_PARTNER_ALLOWED_NETWORKS opens it), or this
    server, is refused (422)."""
    async with runtime.unit_of_work() as session:
        return await service.create_partner(
            session,
            settings=runtime.settings,
            body=body,
            by=ActorContext.signed_in(principal, ip),
            where=_guard(request, runtime),
        )


@router.patch("/partners/{name}", responses=error_responses(401, 403, 404, 422))
async def update_partner(
    name: Name, body: PartnerUpdate, request: Request, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> PartnerRead:
    """Change a partner: its address (checked as when it was added), agencies, whether the caller goes with a
    handover, on or off, new secrets."""
    async with runtime.unit_of_work() as session:
        return await service.update_partner(
            session,
            settings=runtime.settings,
            name=name,
            body=body,
            by=ActorContext.signed_in(principal, ip),
            where=_guard(request, runtime),
        )


@router.get("/alerts/{alert_id}/eido", responses=error_responses(401, 403, 404))
async def export_eido(alert_id: uuid.UUID, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP) -> Any:
    """The alert as a NENA EIDO 1.0 incident (JSON), with the caller (audited)."""
    async with runtime.unit_of_work() as session:
        return await service.export(
            session,
            settings=runtime.settings,
            principal=principal,
            alert_id=alert_id,
            by=ActorContext.signed_in(principal, ip),
        )


@router.post("/alerts/{alert_id}/handover", responses=error_responses(401, 403, 404, 409, 422))
async def hand_over(
    alert_id: uuid.UUID,
    body: HandoverIn,
    principal: CommandCentre,
    runtime: RuntimeDep,
    ip: ClientIP,
    response: Response,
) -> HandoverRead:
    """Hand the alert over to a partner centre: sent as signed EIDO until the partner acknowledges it; the timeline
    (and the console) shows when it has it. 201 new (after one Siaga gave up on: a retry, sending the incident as it
    is now); 200 a handover to that partner still waiting."""
    async with runtime.unit_of_work() as session:
        handover, new = await service.hand_over(
            session,
            settings=runtime.settings,
            principal=principal,
            alert_id=alert_id,
            partner_name=body.partner,
            by=ActorContext.signed_in(principal, ip),
        )
        partner = await service.partner_named(session, body.partner)
        read = service.handover_read(handover, partner)
    response.status_code = status.HTTP_201_CREATED if new else status.HTTP_200_OK
    runtime.partner_loop.wake()
    return read


@router.get("/alerts/{alert_id}/handover/choices", responses=error_responses(401, 403, 404))
async def handover_choices(alert_id: uuid.UUID, principal: CommandCentre, runtime: RuntimeDep) -> list[PartnerChoice]:
    """The enabled partners this alert may be handed over to (its agency allowed), by label: their names, labels and
    whether the caller's name and number go with it, never their addresses or secrets."""
    async with runtime.read_sessions() as session:
        return await service.handover_choices(session, principal, alert_id)


@router.get("/alerts/{alert_id}/handovers", responses=error_responses(401, 403, 404))
async def list_handovers(alert_id: uuid.UUID, principal: CommandCentre, runtime: RuntimeDep) -> list[HandoverRead]:
    """The alert's handovers, newest first: to whom, whether and when the partner acknowledged, the tries."""
    async with runtime.read_sessions() as session:
        return await service.handovers_of(session, principal, alert_id)


@router.post(
    "/partners/eido",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "A known incident updated, or a message received before"},
        **error_responses(400, 401, 403, 409, 422),
    },
)
async def receive_eido(
    request: Request, key: EidoKey, runtime: RuntimeDep, ip: ClientIP, response: Response
) -> EidoReceipt:
    """A partner centre's EIDO, signed as Standard Webhooks specifies with the secret it shares with this Siaga, or
    sent by an integrator with an API key that has the scope eido:receive (``Authorization: Bearer sk_siaga_...``,
    no signature). A new incident raises an alert (201), the same incident again from the same sender updates it
    (200), the same signed message again is answered as the first time (200). Refused, and recorded in the audit
    log: 400 unsigned, stale or not JSON, 401 a signature no partner's secret matches (or a key unknown or revoked),
    403 a key without the scope eido:receive, 409 a message id reused for another message, 422 a malformed EIDO."""
    body = await request.body()
    headers = {key.lower(): value for key, value in request.headers.items()}
    try:
        if key is not None:
            try:
                receipt = await inbound.from_key(runtime, key, body=body, client_ip=ip)
            except (IntegrityError, Raced):
                # The same incident (or the key's first) committed meanwhile by a request racing this one.
                receipt = await inbound.from_key(runtime, key, body=body, client_ip=ip)
        else:
            partner = await inbound.sender(runtime, body, headers)
            try:
                receipt = await _receive(runtime, partner, body, headers["webhook-id"], ip)
            except (IntegrityError, Raced):
                # The same message or incident committed meanwhile by a request racing this one: answered from it.
                receipt = await _receive(runtime, partner, body, headers["webhook-id"], ip)
    except SiagaError as exc:
        await record_refusal(request, exc)
        raise
    created = receipt.status == "created" and not receipt.replay
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return receipt


async def _receive(runtime: Runtime, partner: Any, body: bytes, message_id: str, ip: str) -> EidoReceipt:
    return await inbound.receive(runtime, partner, body=body, message_id=message_id[:200], client_ip=ip)
