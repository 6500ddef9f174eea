"""Partner centres (the registry, audited through its actor), an alert as EIDO, and handing an alert over.

A handover is one use case: in the operator's transaction the alert's EIDO is written to the outbox
(``Handover``), the timeline says it was handed over, and the audit log who did it. The delivery loop
(``partners.delivery``) sends it afterwards until the partner acknowledges it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from siaga.accounts import sealing
from siaga.accounts.domain import Actor, Principal
from siaga.accounts.models import Resident, ResidentKind
from siaga.agencies.models import Agency, Jurisdiction
from siaga.alerts import access, timeline
from siaga.alerts import service as alerts
from siaga.alerts.domain import AlertSnapshot, AlertState, DomainEvent, EventKind
from siaga.alerts.models import Alert
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import utcnow
from siaga.errors import Conflict, Forbidden, Invalid, NotFound, SiagaError
from siaga.partners import eido
from siaga.partners.models import Handover, Partner
from siaga.partners.schemas import (
    HandoverRead,
    PartnerChoice,
    PartnerCreate,
    PartnerCreated,
    PartnerRead,
    PartnerUpdate,
)
from siaga.webhooks import addresses
from siaga.webhooks.domain import Address, new_secret, parse_networks, read_url

OUTGOING, INCOMING = b"siaga partner outgoing secret", b"siaga partner incoming secret"


def secret_of(partner: Partner, which: bytes, settings: Settings) -> str:
    """One of the partner's secrets, opened (``OUTGOING`` or ``INCOMING``)."""
    stored = partner.outgoing_secret if which == OUTGOING else partner.incoming_secret
    return sealing.unseal(stored, label=which, row=f"partner:{partner.id}", settings=settings)


def issuer(settings: Settings) -> eido.Issuer:
    """This Siaga as the EIDOs it writes name it: the host of its public URL."""
    return eido.Issuer(host=urlsplit(settings.base_url).hostname or "siaga.invalid")


def _check_secret(secret: str | None, field: str) -> str | None:
    """A secret as Standard Webhooks takes it (whsec_ and base64), or a 422 naming the field."""
    if secret is not None:
        try:
            Webhook(secret)
        except Exception as exc:  # the library raises several kinds for a secret it cannot read
            raise Invalid(
                f"{field} must be whsec_ and base64, as Standard Webhooks secrets are",
                code="partners.secret",
                details={"field": field},
            ) from exc
    return secret


def guard(settings: Settings, *, serving: tuple[str, int] | None = None) -> addresses.Guard:
    """Where a handover may go: as for webhooks, public addresses only and never this Siaga server, but with the
    networks ``SIAGA_PARTNER_ALLOWED_NETWORKS`` opens (a 112 centre on the city's own network) instead of the
    webhooks' ones (``serving``: the address a request came in on, when there is one)."""
    base = addresses.Guard.of(settings, serving=serving)
    # A public URL naming this server by address (``http://127.0.0.1:8000`` in development) is this server at its
    # ports, not every port of that address: another Siaga on the same machine is a partner (the README's demo).
    literal = {host: address for host in base.own_hosts if (address := _address(host)) is not None}
    return dataclasses.replace(
        base,
        allowed=tuple(parse_networks(settings.partner_allowed_networks)),
        own_hosts=base.own_hosts - set(literal),
        own_addresses=base.own_addresses | set(literal.values()),
    )


def _address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


# The webhooks' refusals of a URL, as the partner's: the same checks, said of a partner centre.
_URL_CODES = {
    "webhook.bad_url": "partners.url",
    "webhook.https_required": "partners.url_https",
    "webhook.unsafe_address": "partners.unsafe_address",
    "webhook.unresolvable": "partners.unresolvable",
}


async def check_url(url: str, settings: Settings, where: addresses.Guard) -> Address:
    """The address ``url`` is to be reached at, once it may be (the webhooks' checks: http(s) with a host, https
    outside development mode, every address its host resolves to public or opened on purpose, not this server);
    else ``Invalid`` (422) with a ``partners.*`` code saying why. Checked when a partner is saved and before every
    try, which then connects to the address returned (a name resolving elsewhere a moment later cannot move it)."""
    try:
        return await addresses.resolve(read_url(url, require_https=not settings.dev_mode), where)
    except SiagaError as refused:
        code = _URL_CODES.get(refused.code, "partners.url")
        details = {"field": "url", **{k: v for k, v in refused.details.items() if k == "address"}}
        message = refused.message.replace("webhooks are", "handovers are").replace("webhook", "partner")
        raise Invalid(message, code=code, details=details) from refused


async def _agency_ids(session: AsyncSession, codes: list[str]) -> list[int]:
    found = dict((await session.execute(select(Agency.code, Agency.id).where(Agency.code.in_(codes)))).all())
    missing = sorted(set(codes) - set(found))
    if missing:
        raise Invalid(
            f"no such agency: {', '.join(missing)}", code="partners.unknown_agency", details={"field": "agencies"}
        )
    return sorted(set(found.values()))


async def _read(session: AsyncSession, partner: Partner, last: Handover | None = None) -> PartnerRead:
    codes = (await session.scalars(select(Agency.code).where(Agency.id.in_(partner.agency_ids)))).all()
    return PartnerRead(
        id=partner.id,
        name=partner.name,
        label=partner.label,
        url=partner.url,
        agencies=sorted(codes),
        share_caller=partner.share_caller,
        enabled=partner.enabled,
        created_at=partner.created_at,
        last_handover_status=last.status if last is not None else None,
        last_handover_at=last.requested_at if last is not None else None,
    )


async def _last_handovers(session: AsyncSession, partner_ids: list[int]) -> dict[int, Handover]:
    """The newest handover to each of the partners (those handed nothing yet are left out)."""
    newest = select(func.max(Handover.id)).where(Handover.partner_id.in_(partner_ids)).group_by(Handover.partner_id)
    rows = (await session.scalars(select(Handover).where(Handover.id.in_(newest)))).all()
    return {handover.partner_id: handover for handover in rows}


async def create_partner(
    session: AsyncSession,
    *,
    settings: Settings,
    body: PartnerCreate,
    by: ActorContext,
    where: addresses.Guard | None = None,
) -> PartnerCreated:
    """Register a partner centre (audited as ``partner.create``, never with its secrets). Its secrets are given or
    made here, and this answer is the only time they are shown. Its URL must pass ``check_url`` (``where``: the
    guard, by default the settings')."""
    if await session.scalar(select(Partner.id).where(Partner.name == body.name)) is not None:
        raise Conflict(f"a partner named {body.name!r} exists already", code="partners.name_taken")
    await check_url(body.url, settings, where or guard(settings))
    outgoing = _check_secret(body.outgoing_secret, "outgoing_secret") or new_secret()
    incoming = _check_secret(body.incoming_secret, "incoming_secret") or new_secret()
    label = body.label or body.name
    caller = Resident(phone=f"partner-{uuid.uuid4().hex[:12]}", name=label, kind=ResidentKind.PARTNER.value)
    session.add(caller)
    await session.flush()
    partner = Partner(
        name=body.name,
        label=label,
        url=body.url.strip(),
        outgoing_secret="",
        incoming_secret="",
        agency_ids=await _agency_ids(session, body.agencies),
        share_caller=body.share_caller,
        enabled=True,
        resident_id=caller.id,
    )
    session.add(partner)
    await session.flush()
    _seal(partner, outgoing=outgoing, incoming=incoming, settings=settings)
    await session.flush()
    await audit.record_for(
        session,
        by,
        action="partner.create",
        target_type="partner",
        target_id=str(partner.id),
        detail={"name": partner.name, "url": partner.url, "share_caller": partner.share_caller},
    )
    read = await _read(session, partner)
    return PartnerCreated(**read.model_dump(), outgoing_secret=outgoing, incoming_secret=incoming)


def _seal(partner: Partner, *, outgoing: str | None, incoming: str | None, settings: Settings) -> None:
    row = f"partner:{partner.id}"
    if outgoing is not None:
        partner.outgoing_secret = sealing.seal(outgoing, label=OUTGOING, row=row, settings=settings)
    if incoming is not None:
        partner.incoming_secret = sealing.seal(incoming, label=INCOMING, row=row, settings=settings)


async def update_partner(
    session: AsyncSession,
    *,
    settings: Settings,
    name: str,
    body: PartnerUpdate,
    by: ActorContext,
    where: addresses.Guard | None = None,
) -> PartnerRead:
    """Change a partner (audited as ``partner.update`` with the fields changed, never a secret's value)."""
    partner = await partner_named(session, name)
    changes = body.model_dump(exclude_none=True)
    if "url" in changes:
        await check_url(changes["url"], settings, where or guard(settings))
        partner.url = changes["url"].strip()
    if "agencies" in changes:
        partner.agency_ids = await _agency_ids(session, changes["agencies"])
    for field in ("label", "share_caller", "enabled"):
        if field in changes:
            setattr(partner, field, changes[field])
    if not partner.label:  # as when it was added: the console names it by its name rather than by nothing
        partner.label = partner.name
    outgoing = _check_secret(body.outgoing_secret, "outgoing_secret")
    _seal(
        partner, outgoing=outgoing, incoming=_check_secret(body.incoming_secret, "incoming_secret"), settings=settings
    )
    await session.flush()
    await audit.record_for(
        session,
        by,
        action="partner.update",
        target_type="partner",
        target_id=str(partner.id),
        detail={"fields": sorted(changes)},
    )
    return await _read(session, partner, (await _last_handovers(session, [partner.id])).get(partner.id))


async def partner_named(session: AsyncSession, name: str) -> Partner:
    partner = await session.scalar(select(Partner).where(Partner.name == name))
    if partner is None:
        raise NotFound(f"no partner named {name!r}", code="partners.not_found", details={"partner": name})
    return partner


async def list_partners(session: AsyncSession) -> list[PartnerRead]:
    partners = (await session.scalars(select(Partner).order_by(Partner.name))).all()
    last = await _last_handovers(session, [p.id for p in partners])
    return [await _read(session, p, last.get(p.id)) for p in partners]


# An alert as EIDO ----------------------------------------------------------------------------------------------


async def facts_of(session: AsyncSession, alert: Alert, *, with_caller: bool) -> eido.IncidentFacts:
    """What an EIDO tells of ``alert``: the caller's name and number only ``with_caller``."""
    agency = await session.get(Agency, alert.agency_id)
    assert agency is not None
    place = await session.scalar(select(Jurisdiction.name).where(Jurisdiction.id == alert.jurisdiction_id))
    caller = await session.get(Resident, alert.resident_id)
    phone = caller.phone if caller is not None and caller.phone.startswith("+") else None
    notes = [
        eido.Note(at=event.at, author=event.actor_name, text=str(event.data.get("text", "")))
        for event in await alerts.timeline(session, alert.id)
        if event.kind == EventKind.NOTE.value and event.data.get("text")
    ]
    return eido.IncidentFacts(
        alert_id=alert.id,
        category=alert.category,
        state=alert.state,
        priority=alert.priority,
        channel=alert.channel,
        created_at=alert.created_at,
        acknowledged_at=alert.acknowledged_at,
        updated_at=alert.updated_at,
        lat=alert.lat,
        lon=alert.lon,
        accuracy_m=alert.accuracy_m,
        located_at=alert.located_at,
        place=place or "",
        agency_code=agency.code,
        agency_name=agency.name,
        agency_kind=agency.kind,
        agency_phone=agency.phone,
        caller_name=(caller.name if caller is not None else None) if with_caller else None,
        caller_phone=phone if with_caller else None,
        description=alert.description,
        notes=notes,
    )


async def export(
    session: AsyncSession, *, settings: Settings, principal: Principal, alert_id: uuid.UUID, by: ActorContext
) -> dict[str, Any]:
    """The alert as EIDO for a staff member who may see it (audited as ``alert.export_eido``: it names the
    caller)."""
    alert = await alerts.get_visible(session, principal, alert_id)
    document = eido.build(await facts_of(session, alert, with_caller=True), issuer(settings), now=utcnow())
    await audit.record_for(
        session, by, action="alert.export_eido", target_type="alert", target_id=str(alert.id), agency_id=alert.agency_id
    )
    return document


# Handing over ------------------------------------------------------------------------------------------------------


async def hand_over(
    session: AsyncSession,
    *,
    settings: Settings,
    principal: Principal,
    alert_id: uuid.UUID,
    partner_name: str,
    by: ActorContext,
) -> tuple[Handover, bool]:
    """Hand the alert over to the partner: its EIDO into the outbox, a ``handover`` event on the timeline, audited.
    Returns the handover and whether it is new (one still waiting for the partner is returned as it is; after one
    Siaga gave up on, a new one is made, saying it retries that one)."""
    alert = await alerts.get_visible(session, principal, alert_id, lock=True)
    await access.require_may_act(session, principal, alert)  # the responsible agency hands over, not one informed
    partner = await partner_named(session, partner_name)
    if not partner.enabled:
        raise Conflict(f"partner {partner.name!r} is disabled", code="partners.disabled")
    if not _takes_alerts_of(partner, alert.agency_id):
        raise Forbidden(
            f"alerts of this agency may not be handed over to {partner.label}",
            code="partners.agency_not_allowed",
            details={"partner": partner.name},
        )
    waiting = await session.scalar(
        select(Handover).where(
            Handover.alert_id == alert.id, Handover.partner_id == partner.id, Handover.status == "pending"
        )
    )
    if waiting is not None:
        return waiting, False
    # Asked again after Siaga gave up on an earlier one ("Coba lagi"): a new handover of the incident as it is now,
    # which the timeline and the audit log say retries that one.
    newest = await session.scalar(
        select(Handover)
        .where(Handover.alert_id == alert.id, Handover.partner_id == partner.id)
        .order_by(Handover.id.desc())
        .limit(1)
    )
    retry = {"retry_of": newest.id} if newest is not None and newest.status == "failed" else {}
    now = utcnow()
    document = eido.build(await facts_of(session, alert, with_caller=partner.share_caller), issuer(settings), now=now)
    handover = Handover(
        alert_id=alert.id,
        partner_id=partner.id,
        message_id=f"msg_{uuid.uuid4().hex}",
        eido=document,
        status="pending",
        requested_by=by.name,
        requested_at=now,
        attempts=0,
        next_attempt_at=now,
        last_error="",
    )
    session.add(handover)
    await session.flush()
    await timeline.lock_event_log(session)
    event = DomainEvent(EventKind.HANDOVER, handover_data(handover, partner, "requested", **retry))
    timeline.append_event(session, alert, event, principal.actor(), AlertSnapshot(state=AlertState(alert.state)))
    await audit.record_for(
        session,
        by,
        action="alert.handover",
        target_type="alert",
        target_id=str(alert.id),
        agency_id=alert.agency_id,
        detail={
            "partner": partner.name,
            "handover_id": handover.id,
            "caller_shared": partner.share_caller,
            **retry,
        },
    )
    await session.flush()
    return handover, True


async def take_update(
    session: AsyncSession,
    *,
    alert_id: uuid.UUID,
    incident: eido.Incident,
    partner: str,
    actor: Actor,
    by: ActorContext,
) -> Alert:
    """The sender of an incident (a partner centre, or an integrator's key: ``partner`` as the audit log names it,
    ``actor`` as the timeline does) sent it again: a ``partner_updated`` event on its alert's timeline (its notes,
    its position), audited as ``alert.partner_update`` by ``by``."""
    alert = await session.scalar(select(Alert).where(Alert.id == alert_id))
    assert alert is not None  # partner_incidents go with their alert; a key's incident is found by its alert
    await timeline.lock_event_log(session)
    data = {"partner": partner, "partner_label": actor.name, "text": " · ".join(incident.notes)[:2000]}
    event = DomainEvent(EventKind.PARTNER_UPDATED, data)
    snapshot = AlertSnapshot(state=AlertState(alert.state))
    timeline.append_event(session, alert, event, actor, snapshot, lat=incident.lat, lon=incident.lon)
    await audit.record_for(
        session,
        by,
        action="alert.partner_update",
        target_type="alert",
        target_id=str(alert.id),
        agency_id=alert.agency_id,
        detail={"incident_id": incident.incident_id},
    )
    return alert


def _takes_alerts_of(partner: Partner, agency_id: int) -> bool:
    """Whether alerts of the agency may be handed over to the partner (none listed: any agency's)."""
    return not partner.agency_ids or agency_id in partner.agency_ids


async def handover_choices(session: AsyncSession, principal: Principal, alert_id: uuid.UUID) -> list[PartnerChoice]:
    """The enabled partners the alert may be handed over to, by label, for staff whose agency may act on it (none for
    others who see it): what the console's "Serahkan ke..." offers, never a partner's address or secrets."""
    alert = await alerts.get_visible(session, principal, alert_id)
    try:
        await access.require_may_act(session, principal, alert)
    except Forbidden:
        return []  # an agency only informed of it sees it, but the responsible agency hands it over
    partners = (
        await session.scalars(select(Partner).where(Partner.enabled.is_(True)).order_by(Partner.label, Partner.name))
    ).all()
    return [
        PartnerChoice(name=p.name, label=p.label, share_caller=p.share_caller)
        for p in partners
        if _takes_alerts_of(p, alert.agency_id)
    ]


def handover_data(handover: Handover, partner: Partner, status: str, **more: Any) -> dict[str, Any]:
    """A ``handover`` timeline event's data: the console shows the newest per partner."""
    return {
        "partner": partner.name,
        "partner_label": partner.label,
        "handover_id": handover.id,
        "status": status,
        **more,
    }


def handover_read(handover: Handover, partner: Partner) -> HandoverRead:
    return HandoverRead(
        id=handover.id,
        alert_id=handover.alert_id,
        partner=partner.name,
        partner_label=partner.label,
        status=handover.status,
        requested_by=handover.requested_by,
        requested_at=handover.requested_at,
        attempts=handover.attempts,
        last_error=handover.last_error,
        acknowledged_at=handover.acknowledged_at,
        partner_reference=handover.partner_reference,
    )


async def handovers_of(session: AsyncSession, principal: Principal, alert_id: uuid.UUID) -> list[HandoverRead]:
    """The alert's handovers, newest first, for staff who may see it."""
    await alerts.get_visible(session, principal, alert_id)
    rows = await session.execute(
        select(Handover, Partner)
        .join(Partner, Partner.id == Handover.partner_id)
        .where(Handover.alert_id == alert_id)
        .order_by(Handover.id.desc())
    )
    return [handover_read(h, p) for h, p in rows.all()]


def backoff_s(attempts: int, *, first_s: float) -> float:
    """Seconds before the next try after ``attempts`` failed ones: doubling from ``first_s``, at most 5 minutes."""
    return float(min(first_s * 2 ** max(attempts - 1, 0), 300.0))


def gave_up(handover: Handover, *, now: datetime, give_up_hours: float) -> bool:
    return (now - handover.requested_at).total_seconds() > give_up_hours * 3600
