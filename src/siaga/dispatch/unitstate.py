"""A unit's state follows the facts: whether an officer of it is on duty, the active alert it has (as the alert's
unit or a backup), a pending offer. ``sync_units`` recomputes it after every change to any of those; the unit board
and the streams hear of a change after the commit."""

from __future__ import annotations

from collections.abc import Iterable

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
    unit or a backup), a pending offer. Called after every change to any of those."""
    for unit_id in {u for u in unit_ids if u is not None}:
        row = await status_row(session, unit_id)
        on_duty = await session.scalar(
            select(DutyPeriod).where(DutyPeriod.unit_id == unit_id, DutyPeriod.ended_at.is_(None)).limit(1)
        )
        assigned = await session.scalar(
            select(Alert)
            .where(Alert.unit_id == unit_id, Alert.state.in_([s.value for s in ACTIVE_STATES]))
            .order_by(Alert.created_at)
            .limit(1)
        )
        # Or a backup on another alert (``dispatch.units``): busy just the same.
        backup = await session.scalar(
            select(AlertUnit)
            .where(
                AlertUnit.unit_id == unit_id,
                AlertUnit.role == UnitRole.BACKUP.value,
                AlertUnit.state.in_([s.value for s in _BACKUP_STATES]),
            )
            .order_by(AlertUnit.added_at)
            .limit(1)
        )
        offered = await session.scalar(
            select(AlertOffer.alert_id)
            .where(AlertOffer.unit_id == unit_id, AlertOffer.state == OfferState.PENDING.value)
            .limit(1)
        )
        if assigned is not None:
            state, alert_id = _ALERT_TO_UNIT.get(assigned.state, UnitState.ASSIGNED), assigned.id
        elif backup is not None:
            state, alert_id = UnitState(backup.state), backup.alert_id
        elif offered is not None and on_duty is not None:
            state, alert_id = UnitState.OFFERED, offered
        elif on_duty is not None:
            state, alert_id = UnitState.AVAILABLE, None
        else:
            state, alert_id = UnitState.OFF_DUTY, None
        row.duty_mode = on_duty.mode if on_duty is not None else None
        if row.state != state.value or row.alert_id != alert_id:
            row.state = state.value
            row.alert_id = alert_id
            row.changed_at = utcnow()
            emit(session, UnitsChanged(frozenset({unit_id})))
    await session.flush()
