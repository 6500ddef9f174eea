"""The units on an alert (``alert_units``): the lead, whose state is the alert's, and the backups added to it, each
with its own state, times and timeline events.

The alert's own state machine (``alerts.domain``) is untouched: the alert is dispatched, en route, on scene and
resolved by its lead unit (``alerts.unit_id``, the first dispatched). ``sync_lead`` is the one function that keeps
the lead's row in step with the alert, and releases every unit when the alert closes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import SYSTEM, Actor
from siaga.alerts import domain
from siaga.alerts.domain import AlertSnapshot, AlertState, DomainEvent, EventKind
from siaga.alerts.models import ON_ALERT_UNIT_STATES, WORKING_UNIT_STATES, Alert, AlertUnit, AlertUnitState, UnitRole
from siaga.alerts.timeline import append_event, lock_event_log
from siaga.db import utcnow
from siaga.responders.models import Unit

# The lead unit's state for each state of its alert while a unit has it.
_LEAD_STATE = {
    AlertState.DISPATCHED: AlertUnitState.ASSIGNED,
    AlertState.EN_ROUTE: AlertUnitState.EN_ROUTE,
    AlertState.ON_SCENE: AlertUnitState.ON_SCENE,
}
WORKING = WORKING_UNIT_STATES  # taken and not left: busy with the alert
STILL_ON = ON_ALERT_UNIT_STATES
# Off the alert: released, or its offer ran out unanswered (``dispatch.backup.expire_offers``).
ENDED = (AlertUnitState.RELEASED.value, AlertUnitState.UNANSWERED.value)
# How a unit moves on an alert: its next states.
MOVES: dict[str, tuple[str, ...]] = {
    AlertUnitState.OFFERED.value: (AlertUnitState.ASSIGNED.value, AlertUnitState.RELEASED.value),
    AlertUnitState.ASSIGNED.value: (
        AlertUnitState.EN_ROUTE.value,
        AlertUnitState.ON_SCENE.value,
        AlertUnitState.RELEASED.value,
    ),
    AlertUnitState.EN_ROUTE.value: (AlertUnitState.ON_SCENE.value, AlertUnitState.RELEASED.value),
    AlertUnitState.ON_SCENE.value: (AlertUnitState.RELEASED.value,),
    AlertUnitState.RELEASED.value: (),
    AlertUnitState.UNANSWERED.value: (),
}
EVENT_OF = {
    AlertUnitState.ASSIGNED.value: EventKind.UNIT_ACCEPTED,
    AlertUnitState.EN_ROUTE.value: EventKind.UNIT_EN_ROUTE,
    AlertUnitState.ON_SCENE.value: EventKind.UNIT_ON_SCENE,
    AlertUnitState.RELEASED.value: EventKind.UNIT_RELEASED,
}


async def rows_of(session: AsyncSession, alert_id: uuid.UUID) -> list[AlertUnit]:
    rows = await session.scalars(select(AlertUnit).where(AlertUnit.alert_id == alert_id).order_by(AlertUnit.id))
    return list(rows.all())


async def row_of(session: AsyncSession, alert_id: uuid.UUID, unit_id: int) -> AlertUnit | None:
    return await session.scalar(select(AlertUnit).where(AlertUnit.alert_id == alert_id, AlertUnit.unit_id == unit_id))


def set_state(row: AlertUnit, state: str, now: datetime) -> None:
    """Move a unit on an alert, stamping the time it first reached each state."""
    row.state = state
    match state:
        case AlertUnitState.ASSIGNED.value:
            row.assigned_at = row.assigned_at or now
        case AlertUnitState.EN_ROUTE.value:
            row.en_route_at = row.en_route_at or now
        case AlertUnitState.ON_SCENE.value:
            row.on_scene_at = row.on_scene_at or now
        case AlertUnitState.RELEASED.value | AlertUnitState.UNANSWERED.value:
            row.released_at = now


def unit_event(
    session: AsyncSession,
    alert: Alert,
    kind: EventKind,
    unit: Unit,
    actor: Actor,
    *,
    place: tuple[float, float] | None = None,
    **data: object,
) -> None:
    """A timeline event about one unit on the alert, naming it, with where the actor was if known (the caller holds
    ``lock_event_log``)."""
    body = {"unit_id": unit.id, "unit_name": unit.callsign, "unit_kind": unit.kind, **data}
    lat, lon = place if place is not None else (None, None)
    snapshot = AlertSnapshot(state=AlertState(alert.state))
    append_event(session, alert, DomainEvent(kind, body), actor, snapshot, lat=lat, lon=lon)


async def sync_lead(session: AsyncSession, alert: Alert) -> list[int]:
    """Keep the alert's units in step with the alert (after every change to it): its lead unit has a lead row in
    the alert's state, a lead replaced or handed back is released, and when the alert closes every unit on it is
    released, each backup with a ``unit_released`` event. Returns the units whose rows changed."""
    rows = await rows_of(session, alert.id)
    now = utcnow()
    changed: list[int] = []
    closed = AlertState(alert.state) in domain.CLOSED_STATES
    lead = alert.unit_id
    if lead is not None and not closed:
        wanted = _LEAD_STATE.get(AlertState(alert.state), AlertUnitState.ASSIGNED).value
        row = next((r for r in rows if r.unit_id == lead), None)
        if row is None:
            unit = await session.get(Unit, lead)
            agency_id = unit.agency_id if unit is not None else alert.agency_id
            row = AlertUnit(alert_id=alert.id, unit_id=lead, agency_id=agency_id, state="", slot=0, added_at=now)
            session.add(row)
            rows.append(row)
        if row.role != UnitRole.LEAD.value or row.state != wanted:
            row.role, row.slot = UnitRole.LEAD.value, 0
            row.released_at = None
            set_state(row, wanted, now)
            changed.append(lead)
    released: list[AlertUnit] = []
    for row in rows:
        if row.state in ENDED or (row.unit_id == lead and not closed):
            continue
        if row.role == UnitRole.LEAD.value or closed:
            set_state(row, AlertUnitState.RELEASED.value, now)
            changed.append(row.unit_id)
            if row.role == UnitRole.BACKUP.value:
                released.append(row)
    if released:
        await lock_event_log(session)
        for row in released:
            unit = await session.get(Unit, row.unit_id)
            if unit is not None:
                unit_event(session, alert, EventKind.UNIT_RELEASED, unit, SYSTEM, role=row.role, reason="closed")
    await session.flush()
    if changed:
        await session.refresh(alert, ["units"])
    return changed


async def others_coming(session: AsyncSession, alert_id: uuid.UUID) -> int:
    """How many units besides the lead are coming or there (the resident sees "+n unit lain")."""
    count = await session.scalar(
        select(func.count())
        .select_from(AlertUnit)
        .where(AlertUnit.alert_id == alert_id, AlertUnit.role == UnitRole.BACKUP.value, AlertUnit.state.in_(WORKING))
    )
    return int(count or 0)
