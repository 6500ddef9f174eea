"""What the webhooks' admin API reads and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator

from siaga.schemas import Model, ReadModel, RowId, ShortText
from siaga.webhooks.domain import SUBSCRIBABLE, URL_MAX, EventType

Url = Annotated[str, Field(min_length=8, max_length=URL_MAX, description="https:// (http:// in development mode)")]
Events = Annotated[
    list[EventType],
    Field(min_length=1, max_length=len(SUBSCRIBABLE), description="The events sent to this URL"),
]
GraceHours = Annotated[float, Field(ge=0, le=24 * 30, description="How long the old secret still signs")]


def _subscribable(events: list[EventType] | None) -> list[EventType] | None:
    if events is not None and EventType.TEST in events:
        raise ValueError("webhook.test is sent on request only (POST /webhooks/{id}/test)")
    return list(dict.fromkeys(events)) if events is not None else None


class WebhookCreate(Model):
    name: ShortText = Field(min_length=2)
    url: Url
    events: Events
    include_exercise: bool = Field(default=False, description="Drills' alerts too (their payload says exercise)")
    agency_id: RowId | None = Field(default=None, description="Only this agency's alerts and troubles")

    _events = field_validator("events")(_subscribable)


class WebhookUpdate(Model):
    """A null or a field left out leaves it as it is."""

    name: ShortText | None = Field(default=None, min_length=2)
    url: Url | None = None
    events: Events | None = None
    include_exercise: bool | None = None
    agency_id: RowId | None = None
    enabled: bool | None = Field(default=None, description="Enable again after Siaga disabled it, or pause it")

    _events = field_validator("events")(_subscribable)


class RotateIn(Model):
    grace_hours: GraceHours | None = Field(default=None, description="Default: SIAGA_WEBHOOK_ROTATION_GRACE_HOURS")


class WebhookRead(ReadModel):
    id: int
    name: str
    url: str
    events: list[str]
    include_exercise: bool
    agency_id: int | None
    enabled: bool
    disabled_reason: str
    disabled_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str
    previous_until: datetime | None = Field(description="The old secret signs too until then (after a rotation)")
    created_at: datetime
    pending: int = Field(default=0, description="Deliveries waiting to go")
    secret: str | None = Field(
        default=None, description="The signing secret: in the answer that made it only (creation, rotation)"
    )


class AttemptRead(ReadModel):
    at: datetime
    ok: bool
    status_code: int | None
    error: str
    duration_ms: int


class DeliveryRead(ReadModel):
    id: int
    message_id: str
    event_type: str
    alert_id: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime
    tries: list[AttemptRead] = Field(default_factory=list)
