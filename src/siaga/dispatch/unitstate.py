"""A unit's state follows the facts: whether an officer of it is on duty, the active alert it has (as the alert's
unit or a backup), a pending offer. ``sync_units`` recomputes it after every change to any of those; the unit board
and the streams hear of a change after the commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.aftercommit import UnitsChanged, emit
from siaga.alerts.domain import ACTIVE_STATES, AlertState
from siaga.alerts.models import Alert, AlertOffer, AlertUnit, AlertUnitState, OfferState, UnitRole
from siaga.db import utcnow
from siaga.responders.models import DutyPeriod, UnitState
from siaga.responders.service import status_row

_ALERT_TO_UNIT = {
    AlertState.DISPATCHED.value: UnitState.ASSIGNED,
    AlertState.EN_ROUTE.value: UnitState.EN_ROUTE,
    AlertState.ON_SCENE.value: UnitState.ON_SCENE,
}

_BACKUP_STATES = (AlertUnitState.ASSIGNED, AlertUnitState.EN_ROUTE, AlertUnitState.ON_SCENE)


async def sync_units(session: AsyncSession, unit_ids: Iterable[int | None]) -> None:
    """Recompute each unit's state from the facts: an open duty period, an active alert it is assigned to (as its
    unit or a backup), a pending offer. Called after every change to any of those. Each fact is read for all the
    units at once (an offer's ring asks several units, and its transaction may hold the event log's lock)."""
    ids = sorted({u for u in unit_ids if u is not None})
    if not ids:
        return
    on_duty = _first_per_unit(
        await session.scalars(
            select(DutyPeriod).where(DutyPeriod.unit_id.in_(ids), DutyPeriod.ended_at.is_(None)).order_by(DutyPeriod.id)
        ),
        lambda period: period.unit_id,
    )
    assigned = _first_per_unit(
        await session.scalars(
            select(Alert)
            .where(Alert.unit_id.in_(ids), Alert.state.in_([s.value for s in ACTIVE_STATES]))
            .order_by(Alert.created_at, Alert.id)
        ),
        lambda alert: alert.unit_id,
    )
    # Or a backup on another alert (``dispatch.units``): busy just the same.
    backup = _first_per_unit(
        await session.scalars(
            select(AlertUnit)
            .where(
                AlertUnit.unit_id.in_(ids),
                AlertUnit.role == UnitRole.BACKUP.value,
                AlertUnit.state.in_([s.value for s in _BACKUP_STATES]),
            )
            .order_by(AlertUnit.added_at, AlertUnit.id)
        ),
        lambda unit: unit.unit_id,
    )
    offered: dict[int, uuid.UUID] = {}
    for unit_id, offered_alert in await session.execute(
        select(AlertOffer.unit_id, AlertOffer.alert_id)
        .where(AlertOffer.unit_id.in_(ids), AlertOffer.state == OfferState.PENDING.value)
        .order_by(AlertOffer.id)
    ):
        offered.setdefault(unit_id, offered_alert)
    for unit_id in ids:
        row = await status_row(session, unit_id)
        period, alert, helping = on_duty.get(unit_id), assigned.get(unit_id), backup.get(unit_id)
        alert_id: uuid.UUID | None
        if alert is not None:
            state, alert_id = _ALERT_TO_UNIT.get(alert.state, UnitState.ASSIGNED), alert.id
        elif helping is not None:
            state, alert_id = UnitState(helping.state), helping.alert_id
        elif unit_id in offered and period is not None:
            state, alert_id = UnitState.OFFERED, offered[unit_id]
        elif period is not None:
            state, alert_id = UnitState.AVAILABLE, None
        else:
            state, alert_id = UnitState.OFF_DUTY, None
        row.duty_mode = period.mode if period is not None else None
        if row.state != state.value or row.alert_id != alert_id:
            row.state = state.value
            row.alert_id = alert_id
            row.changed_at = utcnow()
            emit(session, UnitsChanged(frozenset({unit_id})))
    await session.flush()


T = TypeVar("T")


def _first_per_unit(rows: Iterable[T], unit_of: Callable[[T], int | None]) -> dict[int, T]:
    """The first row of each unit, in the order read."""
    first: dict[int, T] = {}
    for row in rows:
        unit_id = unit_of(row)
        if unit_id is not None:
            first.setdefault(unit_id, row)
    return first
