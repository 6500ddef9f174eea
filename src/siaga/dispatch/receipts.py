"""An action sent again is applied once: the officer's outbox retries until the server answers, so the same accept,
step, resolve or note may arrive twice (the first answer lost on a bad network, or two sends racing).

The client names each action with an ``Idempotency-Key`` header. The key is kept in the data of the timeline events
the action wrote, by the same actor, so a retry finds it on the alert's timeline and answers with the alert as it is
now, acting no second time.

An action that waited in the outbox is dated when the officer tapped it, not when it arrived: the phone sends how
long ago that was (``Action-Age-Ms``, measured by the phone's own clock at the moment it sends, so a phone whose clock
is wrong still dates it right). The events, and the alert's step times they set, take that moment, never later than
the arrival and never before the step the action follows; the arrival time stays in the events' data."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal
from siaga.alerts.models import Alert, AlertEvent

ACTION_ID = "action_id"  # the key in an event's data
RECEIVED_AT = "received_at"  # when an action made earlier (offline) reached the server

MAX_AGE_MS = 7 * 24 * 3600 * 1000  # an outbox keeps an action for days at most


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the client says about an action besides its body: its name and how long ago it was made."""

    key: str | None
    age_ms: int | None


def action_receipt(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=r"^[A-Za-z0-9._:-]{8,64}$",
            description="Names this action (8-64 letters, digits, '.', '_', ':' or '-'); sent again with the same key, "
            "it is applied once and answers with the alert as it is now.",
        ),
    ] = None,
    age_ms: Annotated[
        int | None,
        Header(
            alias="Action-Age-Ms",
            ge=0,
            le=MAX_AGE_MS,
            description="How many milliseconds ago the person made this action (an outbox sending it late): the "
            "timeline dates it then, never later than its arrival nor before the step it follows.",
        ),
    ] = None,
) -> Receipt | None:
    return Receipt(key=key, age_ms=age_ms) if key is not None or age_ms is not None else None


ActionKey = Annotated[Receipt | None, Depends(action_receipt)]

# The step times an event sets on the alert, and the earlier steps it cannot precede.
_STEP_TIMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "acknowledged": ("acknowledged_at", ()),
    "dispatched": ("dispatched_at", ("acknowledged_at",)),
    "en_route": ("en_route_at", ("dispatched_at",)),
    "on_scene": ("on_scene_at", ("dispatched_at", "en_route_at")),
    "resolved": ("closed_at", ("dispatched_at", "en_route_at", "on_scene_at")),
}
_SAME_ACTION = timedelta(seconds=2)  # the alert's step time and its event's are set a moment apart in one action


def received_at(at: datetime, data: Mapping[str, Any]) -> datetime:
    """When an event reached the server: its own time, unless it was dated back to when it was made (``stamp``)."""
    return datetime.fromisoformat(str(data[RECEIVED_AT])) if RECEIVED_AT in data else at


async def done_before(session: AsyncSession, *, principal: Principal, alert_id: uuid.UUID, key: Receipt | None) -> bool:
    """Whether this actor already applied the action named ``key`` to the alert. Takes the alert's row lock first,
    so a copy racing this one waits for it and then sees it (SQLite's writers are serial already)."""
    if key is None or key.key is None:
        return False
    await session.execute(select(Alert.id).where(Alert.id == alert_id).with_for_update())
    found = await session.scalar(
        select(AlertEvent.id)
        .where(
            AlertEvent.alert_id == alert_id,
            AlertEvent.actor_id == principal.actor().id,
            AlertEvent.data[ACTION_ID].as_string() == key.key,
        )
        .limit(1)
    )
    return found is not None


async def last_event_id(session: AsyncSession, alert_id: uuid.UUID) -> int:
    """The newest event of the alert so far (0 if none): ``stamp`` marks those written after it."""
    return await session.scalar(select(func.max(AlertEvent.id)).where(AlertEvent.alert_id == alert_id)) or 0


async def stamp(
    session: AsyncSession, *, principal: Principal, alert_id: uuid.UUID, after_id: int, key: Receipt | None
) -> None:
    """Keep ``key`` with the events this actor's action just wrote, and date them when the action was made (in the
    same transaction)."""
    if key is None:
        return
    await session.flush()
    written = list(
        (
            await session.scalars(
                select(AlertEvent).where(
                    AlertEvent.alert_id == alert_id,
                    AlertEvent.id > after_id,
                    AlertEvent.actor_id == principal.actor().id,
                )
            )
        ).all()
    )
    if key.key is not None:
        for event in written:
            event.data = {**event.data, ACTION_ID: key.key}
    if key.age_ms and written:
        await _date_when_made(session, alert_id, written, key.age_ms)
    await session.flush()


async def _date_when_made(session: AsyncSession, alert_id: uuid.UUID, written: list[AlertEvent], age_ms: int) -> None:
    alert = await session.get(Alert, alert_id)
    if alert is None:
        return
    for event in written:
        received = event.at
        step, follows = _STEP_TIMES.get(event.kind, ("", ()))
        earlier = [t for t in (getattr(alert, name) for name in follows) if t is not None and t < received]
        made = min(received, max([received - timedelta(milliseconds=age_ms), alert.created_at, *earlier]))
        event.data = {**event.data, RECEIVED_AT: received.isoformat()}
        event.at = made
        set_by_this = getattr(alert, step) if step else None
        if set_by_this is not None and abs(set_by_this - received) <= _SAME_ACTION:
            setattr(alert, step, made)
