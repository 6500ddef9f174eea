"""Delivering handovers: the outbox's loop. Each due handover is sent to its partner as one Standard Webhooks message
(the same webhook-id on every try, so the partner applies it once) over HTTPS; every try is recorded; a 2xx is the
partner's acknowledgement (its answer names its own id for the incident), anything else is tried again later,
doubling the wait up to 5 minutes, for ``SIAGA_PARTNER_GIVE_UP_HOURS``. The timeline tells the console when the
partner has it, when a first try failed (and Siaga keeps trying), and when Siaga gave up."""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from siaga.alerts import timeline
from siaga.alerts.domain import DomainEvent, EventKind
from siaga.alerts.models import Alert
from siaga.config import Settings
from siaga.db import utcnow
from siaga.partners import service
from siaga.partners.models import Handover, HandoverAttempt, Partner

log = logging.getLogger("siaga.partners")

BATCH = 20
LEASE = timedelta(seconds=60)  # a handover being sent is not taken by another process meanwhile
TIMEOUT_S = 10.0
USER_AGENT = "Siaga-EIDO/1.0"

UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def tls_context(settings: Settings) -> ssl.SSLContext | bool:
    """Verify partners' certificates against the system's CAs, or the bundle ``SIAGA_PARTNER_CA_BUNDLE`` names."""
    if settings.partner_ca_bundle:
        return ssl.create_default_context(cafile=settings.partner_ca_bundle)
    return True


class Deliveries:
    """Sends what the outbox holds (``round``), with one HTTP client for the process."""

    def __init__(self, unit_of_work: UnitOfWork, settings: Settings) -> None:
        self.unit_of_work = unit_of_work
        self.settings = settings
        self.http = httpx.AsyncClient(
            verify=tls_context(settings),
            timeout=TIMEOUT_S,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            # A connection per delivery: handovers are few, and an idle connection kept to a partner only goes stale
            # (or holds up the partner's graceful restart while its TLS shutdown waits for an answer).
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def round(self) -> int:
        """Send each due handover once; returns how many were acknowledged."""
        acknowledged = 0
        for handover_id in await self._claim_due():
            acknowledged += await self._send(handover_id)
        return acknowledged

    async def _claim_due(self) -> list[int]:
        """The due handovers, each claimed for ``LEASE`` (so two processes never send one at the same time)."""
        now = utcnow()
        async with self.unit_of_work() as session:
            due = (
                await session.execute(
                    select(Handover.id)
                    .where(Handover.status == "pending", Handover.next_attempt_at <= now)
                    .order_by(Handover.next_attempt_at)
                    .limit(BATCH)
                )
            ).all()
            claimed = []
            for (handover_id,) in due:
                # Still due: no other process claimed it since it was read.
                result = await session.execute(
                    update(Handover)
                    .where(Handover.id == handover_id, Handover.next_attempt_at <= now)
                    .values(next_attempt_at=now + LEASE)
                )
                if result.rowcount:  # type: ignore[attr-defined]
                    claimed.append(handover_id)
        return claimed

    async def _send(self, handover_id: int) -> int:
        async with self.unit_of_work() as session:
            row = (
                await session.execute(
                    select(Handover, Partner)
                    .join(Partner, Partner.id == Handover.partner_id)
                    .where(Handover.id == handover_id)
                )
            ).first()
            if row is None:
                return 0
            handover, partner = row
            message_id, document, url = handover.message_id, handover.eido, partner.url
            secret = service.secret_of(partner, service.OUTGOING, self.settings)
        status, answer, error = await self._post(url, message_id, document, secret)
        async with self.unit_of_work() as session:
            return await _record(session, handover_id, status, answer, error, settings=self.settings)

    async def _post(
        self, url: str, message_id: str, document: dict[str, Any], secret: str
    ) -> tuple[int | None, Any, str]:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        sent_at = utcnow()
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
        }
        try:
            response = await self.http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.is_success:
            return response.status_code, answer, ""
        problem = answer.get("error", {}).get("message") if isinstance(answer, dict) else None
        return response.status_code, answer, f"HTTP {response.status_code}: {problem or response.text[:200]}"


async def _record(
    session: AsyncSession, handover_id: int, status: int | None, answer: Any, error: str, *, settings: Settings
) -> int:
    """Record one try and what it means: acknowledged, to be tried again, or given up. Returns 1 if acknowledged."""
    row = (
        await session.execute(
            select(Handover, Partner).join(Partner, Partner.id == Handover.partner_id).where(Handover.id == handover_id)
        )
    ).first()
    if row is None:
        return 0
    handover, partner = row
    now = utcnow()
    handover.attempts += 1
    session.add(HandoverAttempt(handover_id=handover.id, at=now, status_code=status, error=error))
    if status is not None and 200 <= status < 300:
        reference = _reference(answer)
        handover.status = "acknowledged"
        handover.acknowledged_at = now
        handover.next_attempt_at = None
        handover.partner_reference = reference
        handover.last_error = ""
        await _forget_if_purged(session, handover)
        data = service.handover_data(handover, partner, "acknowledged", at=now.isoformat(), reference=reference)
        await timeline.record_system_event(session, handover.alert_id, DomainEvent(EventKind.HANDOVER, data))
        log.info("handover %s of alert %s acknowledged by %s", handover.id, handover.alert_id, partner.name)
        return 1
    handover.last_error = error
    if service.gave_up(handover, now=now, give_up_hours=settings.partner_give_up_hours):
        handover.status = "failed"
        handover.next_attempt_at = None
        await _forget_if_purged(session, handover)
        data = service.handover_data(handover, partner, "failed", attempt=handover.attempts, error=error)
        await timeline.record_system_event(session, handover.alert_id, DomainEvent(EventKind.HANDOVER, data))
        log.warning(
            "handover %s to %s given up after %s tries: %s", handover.id, partner.name, handover.attempts, error
        )
        return 0
    wait = service.backoff_s(handover.attempts, first_s=settings.partner_retry_seconds)
    handover.next_attempt_at = now + timedelta(seconds=wait)
    if handover.attempts == 1:  # the console hears of the first failure; later ones only change the count
        data = service.handover_data(handover, partner, "retrying", attempt=1, error=error)
        await timeline.record_system_event(session, handover.alert_id, DomainEvent(EventKind.HANDOVER, data))
    log.warning("handover %s to %s failed (try %s): %s", handover.id, partner.name, handover.attempts, error)
    return 0


async def _forget_if_purged(session: AsyncSession, handover: Handover) -> None:
    """A handover settled after retention removed its alert's personal details (it waited that long) loses its copy
    now, as it would have then (``ops.retention`` leaves one still waiting, which must be delivered whole)."""
    removed = await session.scalar(select(Alert.details_removed_at).where(Alert.id == handover.alert_id))
    if removed is not None:
        handover.eido = {}


def _reference(answer: Any) -> str | None:
    """The partner's own id for the incident, as its receipt names it (Siaga answers ``alert_id``)."""
    if not isinstance(answer, dict):
        return None
    for key in ("alert_id", "incident_id", "id"):
        value = answer.get(key)
        if isinstance(value, str | int) and str(value):
            return str(value)[:200]
    return None
