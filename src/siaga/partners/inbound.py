"""An EIDO from a partner centre becomes an alert here, through the one door every channel raises alerts by
(``alerts.raising``), in one transaction with the record of the incident and of the message.

The partner signs as Standard Webhooks specifies, with the secret it shares with this Siaga (the partner's
``incoming`` secret here): the signature says which partner sent it. Unsigned or stale (more than 5 minutes from
now: a replay) is a 400, a signature no partner's secret matches a 401, a malformed EIDO a 422 naming what is wrong,
a webhook-id sent before with another body a 409; the same message again (a retry after a lost answer) is answered
as the first time. The same incident again (its ``$id``) updates its alert, never raises a second one.

An integrator that cannot sign (a 112 centre's CAD behind a gateway) sends the same EIDO to the same endpoint with
an API key that has the scope ``eido:receive`` instead (``from_key``): the key is the sender, raising its incidents
by a caller row of its own (made with its first incident), and its incident ids are its own, so the same incident
from the same key is always the same alert. It has no message ids: the same incident sent again is an update.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from siaga.accounts.domain import Actor, ActorKind, Principal
from siaga.accounts.models import Resident, ResidentKind
from siaga.accounts.sealing import CannotOpen
from siaga.agencies.service import JurisdictionLocator
from siaga.alerts import raising
from siaga.alerts.domain import Category
from siaga.alerts.models import Alert
from siaga.alerts.raise_rules import Caller, CallerKind, Position, RaiseRequest, fingerprint
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import utcnow
from siaga.errors import BadRequest, Conflict, Unauthorized
from siaga.partners import eido, service
from siaga.partners.models import Partner, PartnerIncident, PartnerMessage
from siaga.partners.schemas import EidoReceipt

log = logging.getLogger("siaga.partners")

CHANNEL = "partner"
# The namespace of a partner's incident's alert id: the same partner and incident are always the same alert id.
INCIDENT_NAMESPACE = uuid.UUID("a7c4e2d1-5b3f-4e8a-9c6d-1f2e3a4b5c6d")
MAX_DESCRIPTION = 4000


class Channel(Protocol):
    """What taking EIDO in uses of the running Siaga (the runtime provides it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def locator(self) -> JurisdictionLocator: ...

    @property
    def read_sessions(self) -> async_sessionmaker[AsyncSession]: ...

    def unit_of_work(self) -> AbstractAsyncContextManager[AsyncSession]: ...


@dataclass(frozen=True, slots=True)
class Sender:
    """Who hands an incident over: a partner centre (its signature said which) or an integrator's API key with the
    scope eido:receive. Its incidents are raised by its caller row (``resident_id``), and the same sender's
    incident is always the same alert."""

    kind: Literal["partner", "apikey"]
    id: int
    name: str  # as the audit log names it
    label: str  # as the console and the timeline name it
    resident_id: uuid.UUID

    @classmethod
    def of_partner(cls, partner: Partner) -> Sender:
        return cls("partner", partner.id, partner.name, partner.label, partner.resident_id)

    @property
    def caller_id(self) -> str:
        """Its id as the alert's caller, the timeline and the audit log name it (an API key's as its requests')."""
        return f"{self.kind}:{self.id}"

    def acting(self, client_ip: str) -> ActorContext:
        """The sender as its audit records name it: it signs in to nothing, so by a label of its own."""
        label = f"partner:{self.name}" if self.kind == "partner" else self.caller_id
        return ActorContext.anonymous(label, client_ip)

    def alert_id(self, incident_id: str) -> uuid.UUID:
        """The id of the alert the sender's incident is (a partner's as it always was)."""
        scoped = f"{self.id}|{incident_id}" if self.kind == "partner" else f"{self.caller_id}|{incident_id}"
        return uuid.uuid5(INCIDENT_NAMESPACE, scoped)


async def sender(channel: Channel, body: bytes, headers: Mapping[str, str]) -> Partner:
    """The enabled partner whose secret signed ``body`` now. 400 unsigned or stale, 401 no partner's secret."""
    if not all(headers.get(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature")):
        raise BadRequest(
            "the EIDO is not signed: webhook-id, webhook-timestamp and webhook-signature are required",
            code="partners.unsigned",
        )
    async with channel.read_sessions() as session:
        partners = (await session.scalars(select(Partner).where(Partner.enabled.is_(True)))).all()
    for partner in partners:
        try:
            secret = service.secret_of(partner, service.INCOMING, channel.settings)
        except CannotOpen:
            log.error("partner %s: its incoming secret cannot be opened with the configured key", partner.name)
            continue
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
        except WebhookVerificationError as exc:
            if "too old" in str(exc) or "too new" in str(exc):
                raise BadRequest(
                    "the EIDO's webhook-timestamp is more than 5 minutes from now: refused as a replay",
                    code="partners.stale",
                ) from exc
            continue
        return partner
    raise Unauthorized(
        "no partner's secret matches the EIDO's signature (check the secrets both centres hold)",
        code="partners.signature",
    )


async def receive(channel: Channel, partner: Partner, *, body: bytes, message_id: str, client_ip: str) -> EidoReceipt:
    """Take a signed EIDO from ``partner``: a new incident raises an alert, a known one updates it."""
    incident = _parse(body)
    body_hash = hashlib.sha256(body).hexdigest()
    async with channel.unit_of_work() as session:
        seen = await session.scalar(
            select(PartnerMessage).where(
                PartnerMessage.partner_id == partner.id, PartnerMessage.message_id == message_id
            )
        )
        if seen is not None:
            if seen.body_hash != body_hash:
                raise Conflict(
                    f"webhook-id {message_id!r} was used before for another message: a new message needs a new id",
                    code="partners.message_reused",
                )
            return EidoReceipt(
                incident_id=seen.incident_id,
                alert_id=seen.alert_id,
                status=seen.outcome,
                replay=True,
            )
        known = await session.scalar(
            select(PartnerIncident).where(
                PartnerIncident.partner_id == partner.id, PartnerIncident.incident_id == incident.incident_id
            )
        )
        if known is not None:
            known.updated_at = utcnow()
            alert_id = await _update(session, Sender.of_partner(partner), known.alert_id, incident, client_ip=client_ip)
            outcome = "updated"
        else:
            alert_id = await _raise(channel, session, Sender.of_partner(partner), incident, client_ip=client_ip)
            session.add(PartnerIncident(partner_id=partner.id, incident_id=incident.incident_id, alert_id=alert_id))
            outcome = "created"
        session.add(
            PartnerMessage(
                partner_id=partner.id,
                message_id=message_id,
                body_hash=body_hash,
                incident_id=incident.incident_id,
                alert_id=alert_id,
                outcome=outcome,
            )
        )
        await session.flush()
    log.info("EIDO from %s: incident %s %s alert %s", partner.name, incident.incident_id, outcome, alert_id)
    return EidoReceipt(incident_id=incident.incident_id, alert_id=alert_id, status=outcome)


async def from_key(channel: Channel, key: Principal, *, body: bytes, client_ip: str) -> EidoReceipt:
    """Take an EIDO an integrator's API key (scope eido:receive) sent: a new incident raises an alert, one the key
    sent before updates it (found by its alert's id, derived from the key and the incident)."""
    assert key.api_key_id is not None  # deps admits only a live key here
    incident = _parse(body)
    async with channel.unit_of_work() as session:
        sender = await _key_sender(session, key)
        alert_id = sender.alert_id(incident.incident_id)
        if await session.scalar(select(Alert.id).where(Alert.id == alert_id)) is not None:
            await _update(session, sender, alert_id, incident, client_ip=client_ip)
            outcome: Literal["created", "updated"] = "updated"
        else:
            await _raise(channel, session, sender, incident, client_ip=client_ip)
            outcome = "created"
    log.info("EIDO from API key %s: incident %s %s alert %s", key.name, incident.incident_id, outcome, alert_id)
    return EidoReceipt(incident_id=incident.incident_id, alert_id=alert_id, status=outcome)


async def _key_sender(session: AsyncSession, key: Principal) -> Sender:
    """The key as a sender, with its caller row (made with its first incident, named after the key)."""
    assert key.api_key_id is not None
    phone = f"partner-key-{key.api_key_id}"  # not a number: no resident's phone can be it; a partner's caller row
    resident = await session.scalar(select(Resident).where(Resident.phone == phone))
    if resident is None:
        resident = Resident(phone=phone, name=key.name, kind=ResidentKind.PARTNER.value)
        session.add(resident)
        await session.flush()  # two first incidents at once: the second's IntegrityError is answered from the first
    return Sender("apikey", key.api_key_id, key.name, key.name, resident.id)


def _parse(body: bytes) -> eido.Incident:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the EIDO is not valid JSON", code="partners.eido_json") from exc
    return eido.parse(document)


async def _raise(
    channel: Channel, session: AsyncSession, sender: Sender, incident: eido.Incident, *, client_ip: str
) -> uuid.UUID:
    alert = await raising.raise_one(
        session,
        raise_request(sender, incident, client_ip=client_ip),
        locator=channel.locator,
        sessions=channel.read_sessions,
        settings=channel.settings,
    )
    return alert.id


def raise_request(sender: Sender, incident: eido.Incident, *, client_ip: str) -> RaiseRequest:
    """A sender's incident as the request every channel raises an alert with: raised by the sender's caller row,
    its id derived from the sender and the incident (the same incident is always the same alert)."""
    position = (
        Position(incident.lat, incident.lon, incident.accuracy_m)
        if incident.lat is not None and incident.lon is not None
        else None
    )
    return RaiseRequest(
        id=sender.alert_id(incident.incident_id),
        fingerprint=fingerprint({sender.kind: sender.id, "incident": incident.incident_id}),
        caller=Caller(kind=CallerKind.PARTNER, id=sender.caller_id, name=sender.label, resident_id=sender.resident_id),
        category=Category(incident.category),
        received_at=utcnow(),
        channel=CHANNEL,
        position=position,
        description=describe(sender, incident),
        client_ip=client_ip,
    )


def describe(sender: Sender, incident: eido.Incident) -> str:
    """What the console shows with a handed-over alert: who handed it over, the caller, the place and the notes."""
    parts = [f"Diserahkan oleh {sender.label}"]
    caller = " ".join(p for p in (incident.caller_name, incident.caller_phone) if p)
    if caller:
        parts.append(f"Penelepon: {caller}")
    if incident.place:
        parts.append(incident.place)
    parts.extend(incident.notes)
    return ". ".join(parts)[:MAX_DESCRIPTION]


async def _update(
    session: AsyncSession, sender: Sender, alert_id: uuid.UUID, incident: eido.Incident, *, client_ip: str
) -> uuid.UUID:
    """The sender sent its incident again: the partners' use case notes it on the alert's timeline, audited."""
    actor = Actor(kind=ActorKind.SYSTEM, id=sender.caller_id, name=sender.label)
    alert = await service.take_update(
        session, alert_id=alert_id, incident=incident, partner=sender.name, actor=actor, by=sender.acting(client_ip)
    )
    return alert.id
