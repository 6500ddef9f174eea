"""Sending the outbox: the runtime's webhook loop claims due deliveries, signs and posts each one, and records every
try. A delivery never holds a transaction open while it talks to a receiver (on SQLite that would stop every other
write, SOS presses included): a short transaction claims a round of deliveries (a lease: if the process dies
mid-send they are due again when it runs out), the posts happen outside, and one short transaction records each
outcome. On PostgreSQL several processes share the work (``FOR UPDATE SKIP LOCKED``).

A delivery is sent once per lease: a post starts only while its whole time limit (``SIAGA_WEBHOOK_TIMEOUT_SECONDS``,
for the whole try, however slowly the receiver trickles its answer) fits in the lease, with time left to record
it; and a try is recorded only by the process that still holds the lease (the delivery's try count is the one it
claimed), never over a try another process made after the lease ran out.

A failed try waits longer each time (``domain.next_wait``); a delivery not through after
``SIAGA_WEBHOOK_GIVE_UP_HOURS`` is given up; a subscription that keeps failing is disabled, audited as Siaga's own
act, logged, counted, and shown at the top of the admin's Webhook tab until someone enables it again."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from prometheus_client import Counter
from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.sealing import CannotOpen
from siaga.agencies.models import Agency, Jurisdiction
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import UnitOfWork, utcnow
from siaga.errors import SiagaError
from siaga.webhooks import addresses, signing
from siaga.webhooks.domain import body_of, gives_up, next_wait, read_url, should_disable
from siaga.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

log = logging.getLogger("siaga.webhooks")

ATTEMPTS = Counter(
    "siaga_webhook_attempts",
    "Webhook delivery tries, by outcome (delivered; failed: an error or a status other than 2xx; refused: the "
    "URL's address is not allowed)",
    ["outcome"],
)
DISABLED = Counter("siaga_webhook_subscriptions_disabled", "Webhook subscriptions Siaga disabled as failing")
for _outcome in ("delivered", "failed", "refused"):
    ATTEMPTS.labels(_outcome)

ROUND = 50  # deliveries claimed at once
AT_ONCE = 8  # posts in flight at once
LEASE_EXTRA = timedelta(seconds=30)  # beyond the try's own time limit
RECORDING_S = 15.0  # of LEASE_EXTRA, kept for recording the outcome: a post that would end later is not started
ERROR_MAX = 500
PURGE_EVERY_S = 3600.0
USER_AGENT = "Siaga-Webhooks/1"


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this process holds: ``attempts`` is the try it claimed, and the lease is held while the
    delivery's count is still that (another process's claim after the lease ran out counts one more)."""

    delivery_id: int
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str
    duration_ms: int
    refused: bool = False


class WebhookSender:
    """Sends the webhook outbox for one running Siaga (``Runtime.webhooks``)."""

    def __init__(self, settings: Settings, work: UnitOfWork) -> None:
        self.settings = settings
        self.work = work
        self.guard = addresses.Guard.of(settings)
        # No proxy from the environment (it would connect for us, past the address check), no redirects (a
        # redirect could point anywhere): a receiver answers 2xx at the URL it gave.
        self.http = httpx.AsyncClient(
            verify=addresses.trusted_cas(settings.webhook_ca_bundle),
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._purged_at = 0.0

    async def close(self) -> None:
        await self.http.aclose()

    async def deliver_due(self) -> int:
        """One round: claim what is due and send it. Returns how many were tried."""
        began = time.monotonic()
        claimed = await self._claim()
        if claimed:
            limit = asyncio.Semaphore(AT_ONCE)
            # A post may start until its time limit would end where the lease leaves only the time to record it.
            start_by = began + self._lease().total_seconds() - RECORDING_S - self.settings.webhook_timeout_seconds

            async def one(claim: Claim) -> None:
                async with limit:
                    if time.monotonic() > start_by:  # the others took long: give it back for the next round
                        await self._give_back(claim)
                    else:
                        await self._attempt(claim)

            for failed in await asyncio.gather(*(one(i) for i in claimed), return_exceptions=True):
                if isinstance(failed, Exception):  # its lease runs out and it is tried again
                    log.error("a webhook delivery failed unexpectedly", exc_info=failed)
        if time.monotonic() - self._purged_at >= PURGE_EVERY_S:
            self._purged_at = time.monotonic()
            await self.purge()
        return len(claimed)

    def _lease(self) -> timedelta:
        return timedelta(seconds=self.settings.webhook_timeout_seconds) + LEASE_EXTRA

    async def _claim(self) -> list[Claim]:
        now = utcnow()
        lease = self._lease()
        async with self.work() as session:
            due = (
                select(WebhookDelivery.id)
                .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
                .where(
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at <= now,
                    WebhookSubscription.enabled.is_(True),
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(ROUND)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            )
            ids = list((await session.scalars(due)).all())
            if not ids:
                return []
            claimed = await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "pending")
                .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=now + lease)
                .returning(WebhookDelivery.id, WebhookDelivery.attempts)
            )
            return sorted((Claim(delivery_id, attempts) for delivery_id, attempts in claimed.all()), key=_by_id)

    def _held(self, claim: Claim) -> ColumnElement[bool]:
        """The condition under which ``claim`` still holds its delivery."""
        return and_(
            WebhookDelivery.id == claim.delivery_id,
            WebhookDelivery.attempts == claim.attempts,
            WebhookDelivery.status == "pending",
        )

    async def _give_back(self, claim: Claim) -> None:
        """Due again at once, the try not counted (it was not made)."""
        async with self.work() as session:
            await session.execute(
                update(WebhookDelivery)
                .where(self._held(claim))
                .values(attempts=WebhookDelivery.attempts - 1, next_attempt_at=utcnow())
            )

    async def _attempt(self, claim: Claim) -> None:
        async with self.work() as session:
            delivery = await session.scalar(select(WebhookDelivery).where(self._held(claim)))
            if delivery is None:  # gone, or its lease ran out and another process claimed it
                return
            subscription = await session.get(WebhookSubscription, delivery.subscription_id)
            if subscription is None or subscription.deleted_at is not None:
                delivery.status = "cancelled"
                return
            if not subscription.enabled:  # disabled since the claim: it waits (the try is not counted)
                delivery.attempts, delivery.next_attempt_at = delivery.attempts - 1, utcnow()
                return
            if delivery.body is None:  # fixed at the first try: every retry sends the same bytes under the same id
                delivery.body = await _body(session, delivery)
            url, message_id, body = subscription.url, delivery.message_id, delivery.body
            try:
                keys = signing.signing_secrets(self.settings, subscription, utcnow())
            except CannotOpen:
                keys = []
        if keys:
            outcome = await self._post(url, message_id, body, keys)
        else:  # the key that sealed it changed (SIAGA_TOTP_KEY / SIAGA_SECRET_KEY): a new secret is needed
            outcome = Outcome(False, None, "its signing secret cannot be opened with this server's key: rotate it", 0)
        ATTEMPTS.labels("delivered" if outcome.ok else "refused" if outcome.refused else "failed").inc()
        await self._record(claim, outcome)

    async def _post(self, url: str, message_id: str, body: str, keys: Sequence[str]) -> Outcome:
        """One try, ended after ``SIAGA_WEBHOOK_TIMEOUT_SECONDS`` in all (httpx's own limits are per phase: a
        receiver sending its answer a byte at a time would never reach them)."""
        began = time.monotonic()
        limit = self.settings.webhook_timeout_seconds
        try:
            async with asyncio.timeout(limit):
                return await self._send(url, message_id, body, keys, began)
        except TimeoutError:
            spent = int((time.monotonic() - began) * 1000)
            return Outcome(False, None, f"no complete answer within {limit:g} s", spent)

    async def _send(self, url: str, message_id: str, body: str, keys: Sequence[str], began: float) -> Outcome:
        try:
            target = read_url(url, require_https=not self.settings.dev_mode)
            address = await addresses.resolve(target, self.guard)
        except SiagaError as refused:
            return Outcome(False, None, refused.message, 0, refused=True)
        headers = signing.signed_headers(keys, message_id=message_id, at=utcnow(), body=body)
        request = httpx.URL(url)
        headers["Host"] = request.netloc.decode("ascii")
        extensions: dict[str, Any] = {}
        if request.scheme == "https":
            extensions["sni_hostname"] = target.host  # TLS still checks the certificate against the URL's name
        try:
            async with self.http.stream(
                "POST",
                request.copy_with(host=str(address)),
                content=body.encode(),
                headers={**headers, "Content-Type": "application/json"},
                extensions=extensions,
            ) as response:
                status = response.status_code
                snippet = ""
                if not 200 <= status < 300:
                    async for chunk in response.aiter_text():
                        snippet = chunk[:200]
                        break
        except httpx.HTTPError as exc:
            spent = int((time.monotonic() - began) * 1000)
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:ERROR_MAX], spent)
        spent = int((time.monotonic() - began) * 1000)
        if 200 <= status < 300:
            return Outcome(True, status, "", spent)
        return Outcome(False, status, f"HTTP {status} {snippet}".strip()[:ERROR_MAX], spent)

    async def _record(self, claim: Claim, outcome: Outcome) -> None:
        now = utcnow()
        delivery_id = claim.delivery_id
        async with self.work() as session:
            # First a conditional write: it takes the row (and, on SQLite, the database) before anything is read.
            held = await session.scalar(
                update(WebhookDelivery)
                .where(self._held(claim))
                .values(last_status=outcome.status_code, last_error=outcome.error)
                .returning(WebhookDelivery.id)
            )
            delivery = await session.get(WebhookDelivery, delivery_id) if held is not None else None
            if delivery is None:
                log.warning(
                    "a webhook try is not recorded: its delivery is no longer this process's (the lease ran out and "
                    "another process claimed it, or it was cancelled)",
                    extra={"delivery_id": delivery_id, "ok": outcome.ok, "error": outcome.error},
                )
                return
            session.add(
                WebhookAttempt(
                    delivery_id=delivery_id,
                    at=now,
                    ok=outcome.ok,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                )
            )
            if outcome.ok:
                delivery.status, delivery.delivered_at = "delivered", now
                await session.execute(
                    update(WebhookSubscription)
                    .where(WebhookSubscription.id == delivery.subscription_id)
                    .values(consecutive_failures=0, failing_since=None, last_success_at=now, last_error="")
                )
                return
            give_up = timedelta(hours=self.settings.webhook_give_up_hours)
            if gives_up(delivery.created_at, now, give_up_after=give_up):
                delivery.status = "failed"
            else:
                delivery.next_attempt_at = now + next_wait(delivery.attempts)
            await self._failed(session, delivery.subscription_id, outcome, now)

    async def _failed(self, session: AsyncSession, subscription_id: int, outcome: Outcome, now: datetime) -> None:
        """Count the failure on the subscription (one statement: tries of several deliveries end at once), and
        disable it once it has failed long enough."""
        counted = (
            await session.execute(
                update(WebhookSubscription)
                .where(WebhookSubscription.id == subscription_id)
                .values(
                    consecutive_failures=WebhookSubscription.consecutive_failures + 1,
                    failing_since=func.coalesce(WebhookSubscription.failing_since, now),
                    last_failure_at=now,
                    last_error=outcome.error,
                )
                .returning(WebhookSubscription.consecutive_failures, WebhookSubscription.failing_since)
            )
        ).one()
        failures, since = counted
        if not should_disable(
            failures,
            since,
            now,
            after_failures=self.settings.webhook_disable_after_failures,
            after=timedelta(hours=self.settings.webhook_disable_after_hours),
        ):
            return
        began = (since or now).isoformat(timespec="seconds")
        reason = f"{failures} tries failed in a row since {began}; the last: {outcome.error}"[:ERROR_MAX]
        disabled = await session.scalar(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == subscription_id, WebhookSubscription.enabled.is_(True))
            .values(enabled=False, disabled_at=now, disabled_reason=reason, updated_at=now)
            .returning(WebhookSubscription.url)
        )
        if disabled is None:
            return  # another process disabled it a moment ago
        DISABLED.inc()
        log.error(
            "webhook subscription disabled: its receiver keeps failing; an administrator can enable it again",
            extra={"subscription_id": subscription_id, "url": disabled, "reason": reason},
        )
        await audit.record_for(
            session,
            ActorContext.siaga(),
            action="webhook.disable",
            target_type="webhook",
            target_id=str(subscription_id),
            detail={"reason": reason, "automatic": True},
        )

    async def purge(self) -> int:
        """Forget deliveries (and their tries) done or given up more than ``SIAGA_WEBHOOK_RETENTION_DAYS`` ago."""
        before = utcnow() - timedelta(days=self.settings.webhook_retention_days)
        async with self.work() as session:
            gone = await session.execute(
                delete(WebhookDelivery).where(WebhookDelivery.created_at < before, WebhookDelivery.status != "pending")
            )
            return int(getattr(gone, "rowcount", 0) or 0)


def _by_id(claim: Claim) -> int:
    return claim.delivery_id


async def _body(session: AsyncSession, delivery: WebhookDelivery) -> str:
    """The JSON sent: the payload written with the event, with the agency's and kecamatan's code and name."""
    data = dict(delivery.data)
    agency = data.get("agency")
    if isinstance(agency, dict) and agency.get("id") is not None:
        row = (await session.execute(select(Agency.code, Agency.name).where(Agency.id == agency["id"]))).first()
        if row is not None:
            data["agency"] = {"id": agency["id"], "code": row.code, "name": row.name}
    kecamatan = data.get("kecamatan")
    if isinstance(kecamatan, dict) and kecamatan.get("id") is not None:
        row = (
            await session.execute(
                select(Jurisdiction.code, Jurisdiction.name).where(Jurisdiction.id == kecamatan["id"])
            )
        ).first()
        if row is not None:
            data["kecamatan"] = {"id": kecamatan["id"], "code": row.code, "name": row.name}
    return json.dumps(body_of(delivery.event_type, delivery.occurred_at, data), separators=(",", ":"))
