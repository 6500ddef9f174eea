"""Webhook subscriptions, as administrators keep them: add (the secret shown once), change, enable again, rotate
the secret, remove, send a test event, and read what was delivered. Every change is audited; a URL refused as
unsafe is refused before anything is written, and the refusal is recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.aftercommit import emit
from siaga.agencies.models import Agency
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import UnitOfWork, utcnow
from siaga.errors import Conflict, Invalid, NotFound, SiagaError
from siaga.webhooks import addresses, outbox, signing
from siaga.webhooks.domain import EventType, new_secret, read_url, sample_occurrence
from siaga.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


@dataclass(frozen=True, slots=True)
class Changes:
    """What an administrator changes (None: as it is)."""

    name: str | None = None
    url: str | None = None
    events: Sequence[EventType] | None = None
    include_exercise: bool | None = None
    agency_id: int | None = None
    enabled: bool | None = None


async def check_url(work: UnitOfWork, settings: Settings, by: ActorContext, url: str, guard: addresses.Guard) -> str:
    """The URL, once it is safe to send webhooks to; else the refusal is recorded (``webhook.url_refused``, in a
    transaction of its own) and raised: an ``Invalid`` (422) that says why."""
    try:
        target = read_url(url, require_https=not settings.dev_mode)
        await addresses.resolve(target, guard)
    except SiagaError as refused:
        async with work() as session:
            await audit.record_for(
                session,
                by,
                action="webhook.url_refused",
                target_type="webhook",
                outcome="refused",
                # The host only: a URL's path and query may hold the receiver's own token.
                detail={"host": urlsplit(url).hostname or "", "code": refused.code, "reason": refused.message},
            )
        raise
    return url.strip()


async def _agency(session: AsyncSession, agency_id: int | None) -> None:
    if agency_id is not None and await session.get(Agency, agency_id) is None:
        raise Invalid(
            f"agency {agency_id} does not exist", code="webhook.unknown_agency", details={"field": "agency_id"}
        )


async def create(
    work: UnitOfWork,
    settings: Settings,
    by: ActorContext,
    *,
    name: str,
    url: str,
    events: Sequence[EventType],
    include_exercise: bool = False,
    agency_id: int | None = None,
    guard: addresses.Guard,
) -> tuple[WebhookSubscription, str]:
    """Add a subscription. Returns it with its signing secret, which is never shown again."""
    url = await check_url(work, settings, by, url, guard)
    async with work() as session:
        await _agency(session, agency_id)
        now = utcnow()
        subscription = WebhookSubscription(
            name=name,
            url=url,
            events=[e.value for e in events],
            include_exercise=include_exercise,
            agency_id=agency_id,
            enabled=True,
            created_at=now,
            updated_at=now,
        )
        session.add(subscription)
        await session.flush()
        secret = new_secret()
        subscription.secret = signing.sealed(settings, subscription.id, secret)
        await audit.record_for(
            session,
            by,
            action="webhook.create",
            target_type="webhook",
            target_id=str(subscription.id),
            detail={"name": name, "host": urlsplit(url).hostname, "events": subscription.events},
        )
    return subscription, secret


async def get(session: AsyncSession, subscription_id: int, *, lock: bool = False) -> WebhookSubscription:
    query = select(WebhookSubscription).where(
        WebhookSubscription.id == subscription_id, WebhookSubscription.deleted_at.is_(None)
    )
    found = await session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound("no such webhook subscription", code="webhook.not_found")
    return found


async def change(
    work: UnitOfWork,
    settings: Settings,
    by: ActorContext,
    subscription_id: int,
    changes: Changes,
    *,
    guard: addresses.Guard,
) -> WebhookSubscription:
    """Change a subscription. Enabling it again clears its failures: what waited is tried again at once."""
    if changes.url is not None:
        await check_url(work, settings, by, changes.url, guard)
    async with work() as session:
        subscription = await get(session, subscription_id, lock=True)
        await _agency(session, changes.agency_id)
        done: dict[str, Any] = {}
        for field in ("name", "url", "include_exercise", "agency_id"):
            value = getattr(changes, field)
            if value is not None and value != getattr(subscription, field):
                setattr(subscription, field, value.strip() if isinstance(value, str) else value)
                done[field] = value if field != "url" else urlsplit(value).hostname
        if changes.events is not None and [e.value for e in changes.events] != subscription.events:
            subscription.events = done["events"] = [e.value for e in changes.events]
        now = utcnow()
        if changes.enabled is not None and changes.enabled != subscription.enabled:
            subscription.enabled = done["enabled"] = changes.enabled
            subscription.disabled_at = None if changes.enabled else now
            subscription.disabled_reason = ""
            if changes.enabled:
                subscription.consecutive_failures, subscription.failing_since = 0, None
                await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.subscription_id == subscription.id, WebhookDelivery.status == "pending")
                    .values(next_attempt_at=now)
                )
                emit(session, outbox.DeliveriesQueued())  # the delivery loop runs at once after the commit
        if done:
            subscription.updated_at = now
            action = (
                "webhook.update"
                if set(done) != {"enabled"}
                else ("webhook.enable" if changes.enabled else "webhook.disable")
            )
            await audit.record_for(
                session, by, action=action, target_type="webhook", target_id=str(subscription.id), detail=done
            )
    return subscription


async def rotate(
    session: AsyncSession, settings: Settings, by: ActorContext, subscription_id: int, *, grace_hours: float | None
) -> tuple[WebhookSubscription, str]:
    """A new signing secret, shown once. The old one still signs for ``grace_hours`` (default: the setting), so
    the receiver can change over without losing a message."""
    subscription = await get(session, subscription_id, lock=True)
    grace = timedelta(hours=settings.webhook_rotation_grace_hours if grace_hours is None else grace_hours)
    now = utcnow()
    if grace > timedelta(0):
        subscription.previous_secret, subscription.previous_until = subscription.secret, now + grace
    else:
        subscription.previous_secret, subscription.previous_until = "", None
    secret = new_secret()
    subscription.secret = signing.sealed(settings, subscription.id, secret)
    subscription.updated_at = now
    await audit.record_for(
        session,
        by,
        action="webhook.rotate",
        target_type="webhook",
        target_id=str(subscription.id),
        detail={"grace_hours": grace.total_seconds() / 3600},
    )
    return subscription, secret


async def remove(session: AsyncSession, by: ActorContext, subscription_id: int) -> None:
    """Remove a subscription: nothing more is sent to it, and what waited is cancelled. Its row stays, marked
    removed, so that a transaction writing a delivery for it at this moment still commits."""
    subscription = await get(session, subscription_id, lock=True)
    now = utcnow()
    subscription.deleted_at, subscription.enabled, subscription.updated_at = now, False, now
    subscription.secret = subscription.previous_secret = ""
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription.id, WebhookDelivery.status == "pending")
        .values(status="cancelled")
    )
    await audit.record_for(session, by, action="webhook.remove", target_type="webhook", target_id=str(subscription.id))


async def send_test(session: AsyncSession, by: ActorContext, subscription_id: int) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for this subscription alone (sent after the commit, signed like any)."""
    subscription = await get(session, subscription_id)
    if not subscription.enabled:
        raise Conflict("the subscription is disabled: enable it first", code="webhook.disabled")
    delivery = outbox.deliver_to(session, subscription.id, sample_occurrence(utcnow(), subscription.id))
    await session.flush()
    await audit.record_for(session, by, action="webhook.test", target_type="webhook", target_id=str(subscription.id))
    return delivery


async def listed(session: AsyncSession) -> list[tuple[WebhookSubscription, int]]:
    """Every subscription (not removed), the disabled first, each with how many deliveries wait."""
    pending = (
        select(WebhookDelivery.subscription_id, func.count().label("waiting"))
        .where(WebhookDelivery.status == "pending")
        .group_by(WebhookDelivery.subscription_id)
        .subquery()
    )
    rows = await session.execute(
        select(WebhookSubscription, func.coalesce(pending.c.waiting, 0))
        .outerjoin(pending, pending.c.subscription_id == WebhookSubscription.id)
        .where(WebhookSubscription.deleted_at.is_(None))
        .order_by(WebhookSubscription.enabled, WebhookSubscription.id)
    )
    return [(subscription, int(waiting)) for subscription, waiting in rows.all()]


async def deliveries(
    session: AsyncSession, subscription_id: int, *, limit: int = 50
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The subscription's latest deliveries, newest first, each with its tries."""
    await get(session, subscription_id)
    found = list(
        (
            await session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.subscription_id == subscription_id)
                .order_by(WebhookDelivery.id.desc())
                .limit(limit)
            )
        ).all()
    )
    tries: dict[int, list[WebhookAttempt]] = {d.id: [] for d in found}
    if found:
        for attempt in await session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(tries)).order_by(WebhookAttempt.id)
        ):
            tries[attempt.delivery_id].append(attempt)
    return [(d, tries[d.id]) for d in found]
