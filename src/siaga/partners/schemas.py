"""What the partner registry and the handover API take and give."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from siaga.schemas import Model, ReadModel, ShortText

PartnerName = Annotated[
    str,
    Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$", description="A short name: bandung-112"),
]
Secret = Annotated[
    str,
    Field(
        min_length=10,
        max_length=200,
        pattern=r"^whsec_[A-Za-z0-9+/=]+$",
        description="A Standard Webhooks secret: whsec_ and base64",
    ),
]
Url = Annotated[str, Field(min_length=8, max_length=500, description="The partner's EIDO endpoint (https://...)")]
AgencyCodes = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=200)]


class PartnerCreate(Model):
    """A partner centre. A secret left out is made here and shown once in the answer."""

    name: PartnerName
    label: ShortText = ""
    url: Url
    agencies: AgencyCodes = Field(
        default_factory=list, description="Codes of the agencies whose alerts may be handed over to it (empty: any)"
    )
    share_caller: bool = Field(default=True, description="Send the caller's name and number with a handover")
    outgoing_secret: Secret | None = Field(default=None, description="Signs what Siaga sends (the partner's incoming)")
    incoming_secret: Secret | None = Field(default=None, description="Verifies what the partner sends (its outgoing)")


class PartnerUpdate(Model):
    label: ShortText | None = None
    url: Url | None = None
    agencies: AgencyCodes | None = None
    share_caller: bool | None = None
    enabled: bool | None = None
    outgoing_secret: Secret | None = None
    incoming_secret: Secret | None = None


class PartnerRead(ReadModel):
    """A partner as anyone may see it: never its secrets."""

    id: int
    name: str
    label: str
    url: str
    agencies: list[str]
    share_caller: bool
    enabled: bool
    created_at: datetime
    last_handover_status: Literal["pending", "acknowledged", "failed"] | None = Field(
        default=None, description="Whether the newest alert handed over to it arrived (none handed over yet: null)"
    )
    last_handover_at: datetime | None = Field(default=None, description="When the newest handover was asked for")


class PartnerCreated(PartnerRead):
    """The answer to creating a partner: the only time its secrets are shown."""

    outgoing_secret: str = Field(description="Give it to the partner as the secret it verifies Siaga's messages with")
    incoming_secret: str = Field(description="Give it to the partner as the secret it signs its messages with")


class PartnerChoice(ReadModel):
    """A partner an operator may hand an alert over to: what the console offers and the confirmation says is
    shared, never its address or secrets."""

    name: str
    label: str
    share_caller: bool = Field(description="The caller's name and number go with the handover")


class HandoverIn(Model):
    partner: PartnerName


class HandoverRead(ReadModel):
    id: int
    alert_id: uuid.UUID
    partner: str
    partner_label: str
    status: Literal["pending", "acknowledged", "failed"]
    requested_by: str
    requested_at: datetime
    attempts: int
    last_error: str
    acknowledged_at: datetime | None
    partner_reference: str | None = Field(description="The partner's own id for the incident, from its receipt")


class EidoReceipt(ReadModel):
    """What Siaga answers a partner that sent an EIDO: its acknowledgement, naming the alert it is here."""

    incident_id: str
    alert_id: uuid.UUID
    status: Literal["created", "updated"]
    replay: bool = Field(default=False, description="This message was received before: answered as then")
