"""Delivering handovers: the outbox's loop. Each due handover is sent to its partner as one Standard Webhooks message
(the same webhook-id on every try, so the partner applies it once) over HTTPS; every try is recorded; a 2xx is the
partner's acknowledgement (its answer names its own id for the incident), anything else is tried again later,
doubling the wait up to 5 minutes, for ``SIAGA_PARTNER_GIVE_UP_HOURS``. The timeline tells the console when the
partner has it, when a first try failed (and Siaga keeps trying), and when Siaga gave up.

A try goes only where a webhook may (``service.check_url``: public addresses, or networks
``SIAGA_PARTNER_ALLOWED_NETWORKS`` opens, never this server), checked again before each try and connected to the
address checked, with no proxy from the environment. A handover is claimed for a lease before it is sent, a whole
try ends well inside it (however slowly a partner answers), and the try is recorded only while the lease is still
held: a second process never sends it meanwhile, nor records over the one that took it after a lease ran out. What a
partner answers stays out of ``last_error`` (operators read it) but for the status and a short error code."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from http import HTTPStatus
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
from siaga.errors import SiagaError
from siaga.partners import service
from siaga.partners.models import Handover, HandoverAttempt, Partner
from siaga.webhooks import addresses

log = logging.getLogger("siaga.partners")

BATCH = 20
LEASE = timedelta(seconds=60)  # a handover being sent is not taken by another process meanwhile
TIMEOUT_S = 10.0  # each step of a try: connecting, TLS, sending, every read
ANSWER_MAX = 64 * 1024  # of a partner's answer, read for its id of the incident
ERROR_MAX = 200
USER_AGENT = "Siaga-EIDO/1.0"
ERROR_CODE = re.compile(r"[a-z][a-z0-9_.-]{0,63}")  # a partner's error code, shown; anything else it says is not

UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class Deliveries:
    """Sends what the outbox holds (``round``), with one HTTP client for the process."""

    def __init__(self, unit_of_work: UnitOfWork, settings: Settings, *, lease: timedelta = LEASE) -> None:
        self.unit_of_work = unit_of_work
        self.settings = settings
        self.lease = lease
        self.time_limit_s = lease.total_seconds() / 2  # a whole try, however slowly the partner answers
        self.guard = service.guard(settings)
        # No proxy from the environment (it would connect for us, past the address check), no redirects (one could
        # point anywhere): a partner acknowledges at the URL it gave.
        self.http = httpx.AsyncClient(
            verify=addresses.trusted_cas(settings.partner_ca_bundle),
            timeout=TIMEOUT_S,
            follow_redirects=False,
            trust_env=False,
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
        for handover_id in await self._due():
            acknowledged += await self._send(handover_id)
        return acknowledged

    async def _due(self) -> list[int]:
        async with self.unit_of_work() as session:
            due = await session.scalars(
                select(Handover.id)
                .where(Handover.status == "pending", Handover.next_attempt_at <= utcnow())
                .order_by(Handover.next_attempt_at)
                .limit(BATCH)
            )
            return list(due.all())

    async def _send(self, handover_id: int) -> int:
        """Claim the handover for ``lease`` right before sending it (still due: no other process claimed it since it
        was read), send it, and record the try if the lease is still this one's."""
        now = utcnow()
        lease_until = now + self.lease
        async with self.unit_of_work() as session:
            claimed = await session.execute(
                update(Handover)
                .where(Handover.id == handover_id, Handover.status == "pending", Handover.next_attempt_at <= now)
                .values(next_attempt_at=lease_until)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                return 0
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
        try:
            async with asyncio.timeout(self.time_limit_s):
                status, answer, error = await self._post(url, message_id, document, secret)
        except TimeoutError:
            status, answer, error = None, None, f"no answer within {self.time_limit_s:g} s"
        async with self.unit_of_work() as session:
            return await _record(session, handover_id, lease_until, status, answer, error, settings=self.settings)

    async def _post(
        self, url: str, message_id: str, document: dict[str, Any], secret: str
    ) -> tuple[int | None, Any, str]:
        """One try: the URL checked again (refused: no connection at all), then posted to the address checked."""
        try:
            address = await service.check_url(url, self.settings, self.guard)
        except SiagaError as refused:  # an address not allowed; or a name not found (this time: tried again)
            unsafe = refused.code == "partners.unsafe_address"
            return None, None, _sanitised(f"refused: {refused.message}" if unsafe else refused.message)
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        sent_at = utcnow()
        request = httpx.URL(url)
        headers = {
            "Host": request.netloc.decode("ascii"),
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
        }
        # TLS still checks the partner's certificate against the URL's name.
        extensions = {"sni_hostname": request.host} if request.scheme == "https" else {}
        try:
            async with self.http.stream(
                "POST", request.copy_with(host=str(address)), content=body, headers=headers, extensions=extensions
            ) as response:
                status = response.status_code
                read = b""
                async for chunk in response.aiter_bytes():
                    read += chunk
                    if len(read) > ANSWER_MAX:
                        break
        except httpx.HTTPError as exc:
            return None, None, _sanitised(f"{type(exc).__name__}: {exc}") or type(exc).__name__
        try:
            answer = json.loads(read)
        except ValueError:
            answer = None
        if 200 <= status < 300:
            return status, answer, ""
        return status, answer, _status_summary(status, answer)


def _sanitised(text: str) -> str:
    """Printable ASCII only, and short: an error an operator reads."""
    return re.sub(r"[^\x20-\x7e]+", " ", text).strip()[:ERROR_MAX]


def _status_summary(status: int, answer: Any) -> str:
    """A refusal as operators read it: the status, its standard phrase and the partner's error code if it gave one
    (``HTTP 422 Unprocessable Entity (partners.eido_invalid)``), never the text the partner wrote."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    error = answer.get("error") if isinstance(answer, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    summary = f"HTTP {status} {phrase}".strip()
    if isinstance(code, str) and ERROR_CODE.fullmatch(code):
        summary += f" ({code})"
    return summary


async def _record(
    session: AsyncSession,
    handover_id: int,
    lease_until: datetime,
    status: int | None,
    answer: Any,
    error: str,
    *,
    settings: Settings,
) -> int:
    """Record one try and what it means: acknowledged, to be tried again, or given up; only while the lease taken
    for it (``lease_until``) is still held, else nothing (another process took the handover over). Returns 1 if
    acknowledged."""
    held = await session.execute(
        update(Handover)
        .where(Handover.id == handover_id, Handover.status == "pending", Handover.next_attempt_at == lease_until)
        .values(attempts=Handover.attempts + 1)
    )
    if not held.rowcount:  # type: ignore[attr-defined]
        log.warning("handover %s: its lease ran out before its try ended; the try is not recorded", handover_id)
        return 0
    row = (
        await session.execute(
            select(Handover, Partner).join(Partner, Partner.id == Handover.partner_id).where(Handover.id == handover_id)
        )
    ).first()
    if row is None:
        return 0
    handover, partner = row
    # The alert before the event log (``timeline`` takes it next), in the order an operator's handover takes them:
    # otherwise a try recorded while the operator hands the same alert over again deadlocks on PostgreSQL.
    await session.execute(
        select(Alert.id).where(Alert.id == handover.alert_id).with_for_update(read=True, key_share=True)
    )
    now = utcnow()
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
