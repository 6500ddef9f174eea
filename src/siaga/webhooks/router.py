"""HTTP for webhook subscriptions (administrators): add one (its secret in that answer only), list them with how
they fare, change, enable again, rotate the secret, remove, send a test event, and read the latest deliveries."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from siaga.audit.actor import ActorContext
from siaga.deps import Admin, ClientIP, RuntimeDep
from siaga.schemas import RowId, error_responses
from siaga.webhooks import addresses, service
from siaga.webhooks.models import WebhookSubscription
from siaga.webhooks.schemas import AttemptRead, DeliveryRead, RotateIn, WebhookCreate, WebhookRead, WebhookUpdate

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _read(subscription: WebhookSubscription, *, pending: int = 0, secret: str | None = None) -> WebhookRead:
    read = WebhookRead.model_validate(subscription)
    return read.model_copy(update={"pending": pending, "secret": secret})


def _guard(request: Request, runtime: RuntimeDep) -> addresses.Guard:
    server = request.scope.get("server")
    serving = (str(server[0]), int(server[1])) if server and server[1] is not None else None
    return addresses.Guard.of(runtime.settings, serving=serving)


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(401, 403, 422))
async def add_webhook(
    body: WebhookCreate, request: Request, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> WebhookRead:
    """Send these events to this URL, signed (Standard Webhooks). The answer holds the signing secret, this once.
    A URL whose host is a private, loopback or link-local address, or this server, is refused (422) and recorded."""
    subscription, secret = await service.create(
        runtime.unit_of_work,
        runtime.settings,
        ActorContext.signed_in(principal, ip),
        name=body.name,
        url=body.url,
        events=body.events,
        include_exercise=body.include_exercise,
        agency_id=body.agency_id,
        guard=_guard(request, runtime),
    )
    return _read(subscription, secret=secret)


@router.get("", responses=error_responses(401, 403))
async def list_webhooks(principal: Admin, runtime: RuntimeDep) -> list[WebhookRead]:
    """Every subscription, those Siaga disabled as failing first, with how many deliveries wait."""
    async with runtime.read_sessions() as session:
        return [_read(s, pending=waiting) for s, waiting in await service.listed(session)]


@router.patch("/{webhook_id}", responses=error_responses(401, 403, 404, 422))
async def change_webhook(
    webhook_id: RowId, body: WebhookUpdate, request: Request, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> WebhookRead:
    """Change a subscription, or enable it again (``"enabled": true``): its failures are forgotten and what waited
    is sent at once."""
    subscription = await service.change(
        runtime.unit_of_work,
        runtime.settings,
        ActorContext.signed_in(principal, ip),
        webhook_id,
        service.Changes(**body.model_dump(exclude_none=True)),
        guard=_guard(request, runtime),
    )
    return _read(subscription)


@router.post("/{webhook_id}/rotate", responses=error_responses(401, 403, 404, 422))
async def rotate_secret(
    webhook_id: RowId, principal: Admin, runtime: RuntimeDep, ip: ClientIP, body: RotateIn | None = None
) -> WebhookRead:
    """A new signing secret, in this answer only. The old one keeps signing too (both signatures are sent) for
    ``grace_hours``, so the receiver can switch without losing a message."""
    async with runtime.unit_of_work() as session:
        subscription, secret = await service.rotate(
            session,
            runtime.settings,
            ActorContext.signed_in(principal, ip),
            webhook_id,
            grace_hours=body.grace_hours if body else None,
        )
        return _read(subscription, secret=secret)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 403, 404))
async def remove_webhook(webhook_id: RowId, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> Response:
    """Stop sending to this subscription; what waited is cancelled."""
    async with runtime.unit_of_work() as session:
        await service.remove(session, ActorContext.signed_in(principal, ip), webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{webhook_id}/test", status_code=status.HTTP_202_ACCEPTED, responses=error_responses(401, 403, 404, 409))
async def send_test_event(webhook_id: RowId, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> DeliveryRead:
    """Send a ``webhook.test`` event to this subscription now; its deliveries show how it went."""
    async with runtime.unit_of_work() as session:
        delivery = await service.send_test(session, ActorContext.signed_in(principal, ip), webhook_id)
        return DeliveryRead.model_validate(delivery)


@router.get("/{webhook_id}/deliveries", responses=error_responses(401, 403, 404))
async def list_deliveries(webhook_id: RowId, principal: Admin, runtime: RuntimeDep) -> list[DeliveryRead]:
    """The subscription's latest 50 deliveries, newest first, each with every try (status code, error, time)."""
    async with runtime.read_sessions() as session:
        found = await service.deliveries(session, webhook_id)
        return [
            DeliveryRead.model_validate(d).model_copy(update={"tries": [AttemptRead.model_validate(a) for a in tries]})
            for d, tries in found
        ]
