"""HTTP for SMS: the HTTP provider's signed webhook (inbound messages and delivery receipts).

The provider signs each request as Standard Webhooks specifies (https://www.standardwebhooks.com): headers
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` over
``<id>.<timestamp>.<body>`` with the secret ``SIAGA_SMS_WEBHOOK_SECRET``). A badly signed request is a 401, an
unsigned one or one signed more than 5 minutes away from now (a replay) a 400; nothing of it is kept. Bodies::

    {"type": "sms.received", "data": {"id": "<provider's message id>", "from": "+6281234567890", "text": "TOLONG"}}
    {"type": "sms.delivery", "data": {"id": "<id the provider gave when sending>", "status": "delivered"}}
    {"type": "sms.delivery", "data": {"id": "...", "status": "failed", "error": "absent subscriber"}}

A received message goes through the inbound pipeline (recorded once per provider id, so a retried webhook is one
message); a receipt updates the sent message's record.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from siaga.deps import RuntimeDep
from siaga.errors import BadRequest, Invalid, NotFound, Unauthorized
from siaga.schemas import error_responses
from siaga.sms import inbound, receipts

router = APIRouter(tags=["sms"])

GATEWAY = "http"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ReceivedData(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=200, description="The provider's id for the message")]
    sender: Annotated[str, Field(alias="from", min_length=1, max_length=32, description="The sender's number")]
    text: Annotated[str, Field(max_length=10_000)] = ""


class Received(_Strict):
    type: Literal["sms.received"]
    data: ReceivedData


class DeliveryData(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=128, description="The id the provider answered the send with")]
    status: Literal["delivered", "failed"]
    error: Annotated[str, Field(max_length=1000)] = ""


class Delivery(_Strict):
    type: Literal["sms.delivery"]
    data: DeliveryData


_PAYLOAD: TypeAdapter[Received | Delivery] = TypeAdapter(Annotated[Received | Delivery, Field(discriminator="type")])


class WebhookAnswer(BaseModel):
    """``received``: the message's record and whether it had been received before; ``delivery``: whether Siaga
    sent a message with that id."""

    type: str
    message_id: int | None = None
    duplicate: bool = False
    known: bool = True


@router.post("/sms/webhook", responses=error_responses(400, 401, 404, 422))
async def provider_webhook(request: Request, runtime: RuntimeDep) -> WebhookAnswer:
    """An inbound SMS or a delivery receipt from the HTTP SMS provider, signed (Standard Webhooks)."""
    settings = runtime.settings
    secret = settings.webhook_secret
    if (settings.sms_adapter != "http" and not settings.dev_mode) or not secret.removeprefix("whsec_"):
        raise NotFound(
            "the SMS webhook is off: set SIAGA_SMS_ADAPTER=http and SIAGA_SMS_WEBHOOK_SECRET", code="sms.webhook_off"
        )
    body = await request.body()
    _verify(secret, body, dict(request.headers))
    try:
        payload = _PAYLOAD.validate_json(body)
    except ValidationError as exc:
        raise Invalid(
            f"the webhook's body is not an sms.received or sms.delivery event: {_first_problem(exc)}",
            code="sms.webhook_payload",
        ) from exc
    if isinstance(payload, Delivery):
        known = await receipts.delivery_report(
            runtime,
            adapter=GATEWAY,
            provider_id=payload.data.id,
            delivered=payload.data.status == "delivered",
            error=payload.data.error,
        )
        return WebhookAnswer(type=payload.type, known=known)
    data = payload.data
    message, before = await inbound.record(
        runtime, gateway=GATEWAY, gateway_id=data.id, sender=data.sender, text=data.text
    )
    if before is None:
        await inbound.handle(runtime, message)  # a failure leaves it recorded: tried again in the background
    return WebhookAnswer(type=payload.type, message_id=message.id, duplicate=before is not None)


def _verify(secret: str, body: bytes, headers: dict[str, str]) -> None:
    """Refuse what the provider did not sign now: 400 unsigned, 401 badly signed, 400 stale (a replay). (Unsigned is
    no 401: that answer means "log in first" throughout the API, and nobody logs in here.)"""
    if not all(headers.get(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature")):
        raise BadRequest(
            "the webhook is not signed: webhook-id, webhook-timestamp and webhook-signature are required",
            code="sms.webhook_unsigned",
        )
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError as exc:
        if "too old" in str(exc) or "too new" in str(exc):
            raise BadRequest(
                "the webhook's timestamp is more than 5 minutes from now: refused as a replay",
                code="sms.webhook_stale",
            ) from exc
        raise Unauthorized(
            "the webhook's signature does not match (check SIAGA_SMS_WEBHOOK_SECRET)", code="sms.webhook_signature"
        ) from exc


def _first_problem(exc: ValidationError) -> str:
    error: dict[str, Any] = dict(exc.errors()[0])
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))
