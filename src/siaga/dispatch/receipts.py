"""An action sent again is applied once: the officer's outbox retries until the server answers, so the same accept,
step, resolve or note may arrive twice (the first answer lost on a bad network, or two sends racing).

The client names each action with an ``Idempotency-Key`` header. The key is kept in the data of the timeline events
the action wrote, by the same actor, so a retry finds it on the alert's timeline and answers with the alert as it is
now, acting no second time."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Header
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal
from siaga.alerts.models import Alert, AlertEvent

ACTION_ID = "action_id"  # the key in an event's data

ActionKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9._:-]{8,64}$",
        description="Names this action (8-64 letters, digits, '.', '_', ':' or '-'); sent again with the same key, "
        "it is applied once and answers with the alert as it is now.",
    ),
]


async def done_before(session: AsyncSession, *, principal: Principal, alert_id: uuid.UUID, key: str | None) -> bool:
    """Whether this actor already applied the action named ``key`` to the alert. Takes the alert's row lock first,
    so a copy racing this one waits for it and then sees it (SQLite's writers are serial already)."""
    if key is None:
        return False
    await session.execute(select(Alert.id).where(Alert.id == alert_id).with_for_update())
    found = await session.scalar(
        select(AlertEvent.id)
        .where(
            AlertEvent.alert_id == alert_id,
            AlertEvent.actor_id == principal.actor().id,
            AlertEvent.data[ACTION_ID].as_string() == key,
        )
        .limit(1)
    )
    return found is not None


async def last_event_id(session: AsyncSession, alert_id: uuid.UUID) -> int:
    """The newest event of the alert so far (0 if none): ``stamp`` marks those written after it."""
    return await session.scalar(select(func.max(AlertEvent.id)).where(AlertEvent.alert_id == alert_id)) or 0


async def stamp(
    session: AsyncSession, *, principal: Principal, alert_id: uuid.UUID, after_id: int, key: str | None
) -> None:
    """Keep ``key`` with the events this actor's action just wrote (in the same transaction)."""
    if key is None:
        return
    await session.flush()
    written = await session.scalars(
        select(AlertEvent).where(
            AlertEvent.alert_id == alert_id,
            AlertEvent.id > after_id,
            AlertEvent.actor_id == principal.actor().id,
        )
    )
    for event in written:
        event.data = {**event.data, ACTION_ID: key}
    await session.flush()
