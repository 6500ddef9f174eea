"""Retention: how long each kind of personal data is kept, and the purge that enforces it.

The periods are per deployment (``Settings.retention_*``, described in docs/deploy.md). Every ``siaga serve`` runs
the purge every ``retention_purge_interval_seconds``; ``siaga purge`` runs it on demand, or counts what it would do
(``--dry-run``). Each purge that removes anything leaves one audit record counting what it removed, per kind.
Several processes purging at once is harmless: a row is removed once, and counted by the purge that removed it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Integer, Select, String, Uuid, cast, column, delete, literal, or_, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.accounts.models import AuthSession, LoginAttempts, OneTimeCode
from siaga.accounts.sessions import LOGIN_WINDOW
from siaga.alerts.domain import EventKind
from siaga.alerts.models import Alert, AlertEvent, AlertLocation, AlertPress
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.audit.models import AuditRecord, DenialWindow
from siaga.config import Settings
from siaga.db import UTCDateTime, utcnow
from siaga.notify import limits as sms_limits
from siaga.notify.models import OutboundMessage
from siaga.responders import service as responders
from siaga.responders.models import PositionRecord

PURGE_ACTION = "retention.purge"
# A place rounded to two decimals of a degree (about 1 km): enough for a map of where alerts happen, not a home.
PLACE_DECIMALS = 2
CHUNK = 500  # alerts handled per statement, so a long backlog never makes one huge IN list


class Kind(StrEnum):
    """What a purge removes, as counted in its audit record."""

    RESIDENT_TRAILS = "resident_trails"
    OFFICER_POSITIONS = "officer_positions"
    ALERT_DETAILS = "alert_details"
    AUDIT_RECORDS = "audit_records"
    SMS_BODIES = "sms_bodies"
    DEVICE_EVENTS = "device_events"
    DEVICE_MESSAGES = "device_messages"
    BOOKKEEPING = "bookkeeping"


@dataclass(frozen=True, slots=True)
class Periods:
    """How long each kind is kept."""

    trails: timedelta
    positions: timedelta
    alert_details: timedelta
    audit: timedelta
    sms: timedelta
    device: timedelta
    device_messages: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Periods:
        return cls(
            trails=timedelta(days=settings.retention_trail_days),
            positions=timedelta(hours=settings.position_retention_hours),
            alert_details=timedelta(days=settings.retention_alert_details_days),
            audit=timedelta(days=settings.retention_audit_days),
            sms=timedelta(days=settings.retention_sms_days),
            device=timedelta(days=settings.retention_device_days),
            device_messages=timedelta(days=settings.retention_device_messages_days),
        )


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def purge(session: AsyncSession, *, periods: Periods, by: ActorContext | None = None) -> dict[str, int]:
    """Remove everything past its period, in the caller's transaction; audited as done ``by`` that actor (default:
    Siaga itself, as every server does hourly) when anything went. Returns the count per kind."""
    now = utcnow()
    counts = {
        Kind.RESIDENT_TRAILS.value: await _trails(session, closed_before=now - periods.trails),
        Kind.OFFICER_POSITIONS.value: await responders.purge_positions(session, older_than=periods.positions)
        + await _alert_positions(session, closed_before=now - periods.trails),
        Kind.ALERT_DETAILS.value: await remove_alert_details(
            session,
            select(Alert.id).where(Alert.closed_at < now - periods.alert_details, Alert.details_removed_at.is_(None)),
        ),
        Kind.AUDIT_RECORDS.value: _count(
            await session.execute(delete(AuditRecord).where(AuditRecord.at < now - periods.audit))
        ),
        Kind.SMS_BODIES.value: await _sms_bodies(session, sent_before=now - periods.sms),
        Kind.DEVICE_EVENTS.value: await _device_events(session, ended_before=now - periods.device),
        Kind.DEVICE_MESSAGES.value: await _device_messages(session, before=now - periods.device_messages),
        Kind.BOOKKEEPING.value: await _bookkeeping(session, now=now),
    }
    if any(counts.values()):
        await audit.record_for(
            session,
            by or ActorContext.siaga(),
            action=PURGE_ACTION,
            target_type="retention",
            detail={"counts": counts, "periods_days": _days(periods)},
        )
    return counts


async def preview(sessions: async_sessionmaker[AsyncSession], *, periods: Periods) -> dict[str, int]:
    """What a purge would remove now, per kind, without removing anything: the same purge, rolled back."""
    async with sessions() as session:
        try:
            return await purge(session, periods=periods)
        finally:
            await session.rollback()


def _days(periods: Periods) -> dict[str, float]:
    return {
        name: round(getattr(periods, name).total_seconds() / 86400, 3)
        for name in ("trails", "positions", "alert_details", "audit", "sms", "device", "device_messages")
    }


def _closed_before(cutoff: datetime) -> Select[uuid.UUID]:
    return select(Alert.id).where(Alert.closed_at < cutoff)


async def _trails(session: AsyncSession, *, closed_before: datetime) -> int:
    """The resident's trail of alerts closed before the cutoff: the points, and the positions of repeated presses."""
    closed = _closed_before(closed_before)
    points = _count(await session.execute(delete(AlertLocation).where(AlertLocation.alert_id.in_(closed))))
    presses = await session.execute(
        update(AlertPress)
        .where(AlertPress.alert_id.in_(closed), AlertPress.lat.is_not(None))
        .values(lat=None, lon=None, accuracy_m=None, battery=None)
    )
    return points + _count(presses)


async def _alert_positions(session: AsyncSession, *, closed_before: datetime) -> int:
    """Officers' positions recorded on an alert go with the alert's trail."""
    closed = _closed_before(closed_before)
    return _count(await session.execute(delete(PositionRecord).where(PositionRecord.alert_id.in_(closed))))


async def remove_alert_details(session: AsyncSession, alert_ids: Select[uuid.UUID]) -> int:
    """Remove the personal details of these alerts: the resident's words (their description and chat replies), the
    exact place (rounded to about 1 km), battery and accuracy, the trails (the resident's and the officers'), the
    places on the timeline and the SMS to the emergency contacts, and the copies handed over to partner centres.
    What the reports count stays: times, category, kecamatan, agency, state and outcome.
    Alerts already done are skipped. Returns how many alerts it did."""
    now = utcnow()
    rows = (
        await session.execute(
            select(Alert.id, Alert.lat, Alert.lon).where(Alert.id.in_(alert_ids), Alert.details_removed_at.is_(None))
        )
    ).all()
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        ids = [row.id for row in chunk]
        await session.execute(delete(AlertLocation).where(AlertLocation.alert_id.in_(ids)))
        await session.execute(delete(PositionRecord).where(PositionRecord.alert_id.in_(ids)))
        await session.execute(
            update(AlertPress)
            .where(AlertPress.alert_id.in_(ids))
            .values(lat=None, lon=None, accuracy_m=None, battery=None, description="")
        )
        await session.execute(update(AlertEvent).where(AlertEvent.alert_id.in_(ids)).values(lat=None, lon=None))
        # What the resident wrote in the chat goes with their other words (the command centre's messages stay).
        await session.execute(
            update(AlertEvent)
            .where(AlertEvent.alert_id.in_(ids), AlertEvent.kind == EventKind.RESIDENT_REPLIED.value)
            .values(data={"text": ""})
        )
        await session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.alert_id.in_([str(i) for i in ids]))
            .values(body="", recipient="")
        )
        # The EIDO copies handed over to partner centres (the caller's name and number): the partner has them,
        # Siaga keeps when and to whom. One still waiting for its partner keeps what it must deliver.
        await session.execute(
            update(_HANDOVERS).where(_HANDOVERS.c.alert_id.in_(ids), _HANDOVERS.c.status != "pending").values(eido={})
        )
        await session.execute(
            update(Alert),
            [
                {
                    "id": row.id,
                    "lat": round(row.lat, PLACE_DECIMALS),
                    "lon": round(row.lon, PLACE_DECIMALS),
                    "accuracy_m": None,
                    "battery": None,
                    "description": "",
                    "details_removed_at": now,
                }
                for row in chunk
            ],
        )
    return len(rows)


async def _sms_bodies(session: AsyncSession, *, sent_before: datetime) -> int:
    """Messages no longer waiting to be sent keep their status and times, not their words or number; messages
    received and handled keep when they came and which handler took them, not their words, sender or reply."""
    result = await session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.created_at < sent_before,
            OutboundMessage.status != "pending",
            or_(OutboundMessage.body != "", OutboundMessage.recipient != ""),
        )
        .values(body="", recipient="")
    )
    received = await session.execute(
        update(_SMS_INBOUND)
        .where(
            _SMS_INBOUND.c.recorded_at < sent_before,
            _SMS_INBOUND.c.handled_at.is_not(None),
            _SMS_INBOUND.c.sender != "",
        )
        # The gateway's id names the sender too (Gammu's does); it stays unique as the record's own.
        .values(text="", sender="", reply="", gateway_id=literal("purged-") + cast(_SMS_INBOUND.c.id, String))
    )
    return _count(result) + _count(received)


# ``siaga.sms``'s record of each SMS received (sms.models.InboundMessage), named here without importing that package:
# it sits beside this one, above the packages ops may import.
_SMS_INBOUND = table(
    "sms_inbound",
    column("id", Integer),
    column("gateway_id", String),
    column("sender", String),
    column("text", String),
    column("reply", String),
    column("recorded_at", UTCDateTime),
    column("handled_at", UTCDateTime),
)


# ``siaga.partners``' outbox of EIDO handed over (partners.models.Handover), named here without importing that
# package, as ``_SMS_INBOUND``.
_HANDOVERS = table(
    "partner_handovers",
    column("alert_id", Uuid),
    column("status", String),
    column("eido", JSON),
)


async def _device_events(session: AsyncSession, *, ended_before: datetime) -> int:
    """Ended sessions keep when they began (the reports count active residents), not the device's address and
    user agent; one-time codes (a number and the address that asked) go."""
    ended = or_(AuthSession.revoked_at < ended_before, AuthSession.expires_at < ended_before)
    sessions = await session.execute(
        update(AuthSession)
        .where(ended, or_(AuthSession.client_ip != "", AuthSession.user_agent != ""))
        .values(client_ip="", user_agent="")
    )
    codes = await session.execute(delete(OneTimeCode).where(OneTimeCode.created_at < ended_before))
    return _count(sessions) + _count(codes)


# ``siaga.devices``' log of every message on a device topic (devices.models.DeviceMessage) and its troubles with their
# timelines (Trouble, TroubleEvent), named here without importing that package, as ``_SMS_INBOUND``.
_DEVICE_MESSAGES = table("device_messages", column("id", Integer), column("received_at", UTCDateTime))
_DEVICE_TROUBLES = table("device_troubles", column("id", Integer), column("cleared_at", UTCDateTime))
_TROUBLE_EVENTS = table("device_trouble_events", column("trouble_id", Integer))


async def _device_messages(session: AsyncSession, *, before: datetime) -> int:
    """The panic buttons' messages received before the cutoff (their payloads, alarms and refusals alike: an alarm's
    alert keeps what it raised) and the troubles cleared before it, with their timelines. Open troubles stay."""
    messages = await session.execute(delete(_DEVICE_MESSAGES).where(_DEVICE_MESSAGES.c.received_at < before))
    cleared = select(_DEVICE_TROUBLES.c.id).where(_DEVICE_TROUBLES.c.cleared_at < before).scalar_subquery()
    events = await session.execute(delete(_TROUBLE_EVENTS).where(_TROUBLE_EVENTS.c.trouble_id.in_(cleared)))
    troubles = await session.execute(delete(_DEVICE_TROUBLES).where(_DEVICE_TROUBLES.c.cleared_at < before))
    return _count(messages) + _count(events) + _count(troubles)


async def _bookkeeping(session: AsyncSession, *, now: datetime) -> int:
    """Counting windows that ended: refused requests per caller (a minute), login attempts per key and the SMS
    limits' counters (an hour or a day)."""
    windows = await session.execute(delete(DenialWindow).where(DenialWindow.window_start < now - audit.DENIAL_WINDOW))
    logins = await session.execute(delete(LoginAttempts).where(LoginAttempts.window_start < now - LOGIN_WINDOW))
    return _count(windows) + _count(logins) + await sms_limits.forget_ended(session, now=now)


def describe(counts: dict[str, int]) -> Sequence[str]:
    """One line per kind, for people."""
    return [f"{kind:<18} {counts.get(kind.value, 0)}" for kind in Kind]
