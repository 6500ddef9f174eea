"""Officers on and off duty, unit states that follow the alerts, and positions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Officer, Principal
from siaga.accounts.models import Staff
from siaga.aftercommit import UnitsChanged, emit
from siaga.alerts.domain import ACTIVE_STATES, AlertState
from siaga.alerts.models import Alert, AlertOffer, AlertUnit, AlertUnitState, OfferState, UnitRole
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.responders.models import DutyMode, DutyPeriod, PositionRecord, Unit, UnitState, UnitStatus
from siaga.responders.schemas import PositionIn
from siaga.responders.tracker import UnitPoint

_ALERT_TO_UNIT = {
    AlertState.DISPATCHED.value: UnitState.ASSIGNED,
    AlertState.EN_ROUTE.value: UnitState.EN_ROUTE,
    AlertState.ON_SCENE.value: UnitState.ON_SCENE,
}

_BACKUP_STATES = (AlertUnitState.ASSIGNED, AlertUnitState.EN_ROUTE, AlertUnitState.ON_SCENE)


async def status_row(session: AsyncSession, unit_id: int) -> UnitStatus:
    row = await session.get(UnitStatus, unit_id)
    if row is None:
        row = UnitStatus(unit_id=unit_id, state=UnitState.OFF_DUTY.value, changed_at=utcnow())
        session.add(row)
        await session.flush()
    return row


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


async def go_on_duty(session: AsyncSession, *, principal: Principal, mode: DutyMode, by: ActorContext) -> UnitStatus:
    """Start (or change the mode of) the officer's duty period (audited)."""
    officer = Officer.of(principal)
    unit_id = officer.unit_id
    current = await session.scalar(
        select(DutyPeriod).where(DutyPeriod.staff_id == officer.staff_id, DutyPeriod.ended_at.is_(None))
    )
    now = utcnow()
    if current is not None and current.mode != mode.value:
        current.ended_at = now
        current = None
    if current is None:
        session.add(DutyPeriod(staff_id=officer.staff_id, unit_id=unit_id, mode=mode.value, started_at=now))
        await session.flush()
    await sync_units(session, [unit_id])
    await audit.record_for(
        session, by, action="officer.on_duty", target_type="unit", target_id=str(unit_id), detail={"mode": mode.value}
    )
    return await status_row(session, unit_id)


async def on_duty(session: AsyncSession, unit_id: int, *, lock: bool = False) -> bool:
    """Whether any officer of the unit is on duty. ``lock`` holds their duty periods until the commit, so an
    officer's leaving (which ends their period) queues behind a dispatch that counted on them, and after it."""
    query = select(DutyPeriod.id).where(DutyPeriod.unit_id == unit_id, DutyPeriod.ended_at.is_(None))
    if lock:
        query = query.with_for_update()
    return bool((await session.scalars(query)).all())


async def go_off_duty(session: AsyncSession, *, principal: Principal) -> UnitStatus:
    unit_id = Officer.of(principal).unit_id
    current = await session.scalars(
        select(DutyPeriod).where(DutyPeriod.staff_id == principal.staff_id, DutyPeriod.ended_at.is_(None))
    )
    now = utcnow()
    for period in current.all():
        period.ended_at = now
    await session.flush()
    await sync_units(session, [unit_id])
    return await status_row(session, unit_id)


@dataclass(frozen=True, slots=True)
class PositionFix:
    unit_id: int
    staff_id: int | None
    lat: float
    lon: float
    accuracy_m: float | None
    speed_mps: float | None
    battery: int | None
    recorded_at: datetime

    @classmethod
    def of(cls, point: PositionIn, *, unit_id: int, staff_id: int | None, now: datetime) -> PositionFix:
        """A phone's position as sent (over HTTP or the officer stream); one without a time is taken as ``now``."""
        return cls(
            unit_id=unit_id,
            staff_id=staff_id,
            lat=point.lat,
            lon=point.lon,
            accuracy_m=point.accuracy_m,
            speed_mps=point.speed_mps,
            battery=point.battery,
            recorded_at=point.recorded_at or now,
        )


async def purge_positions(session: AsyncSession, *, older_than: timedelta) -> int:
    """Delete positions past the retention period, except those that belong to an alert's record."""
    cutoff = utcnow() - older_than
    result = await session.execute(
        delete(PositionRecord).where(PositionRecord.recorded_at < cutoff, PositionRecord.alert_id.is_(None))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def board(session: AsyncSession, *, agencies: frozenset[int] | None = None) -> list[UnitPoint]:
    """Every unit (of ``agencies``, if given) with its state and newest position: the unit board. A drill's units
    show only while on duty: ended drills do not fill the board with hundreds of idle units. Read as plain columns,
    not ORM objects: the whole city's units are loaded at every start."""
    query = (
        select(
            Unit.id,
            Unit.callsign,
            Unit.agency_id,
            Unit.kind,
            Unit.is_exercise,
            UnitStatus.state,
            UnitStatus.lat,
            UnitStatus.lon,
            UnitStatus.position_at,
            UnitStatus.duty_mode,
        )
        .outerjoin(UnitStatus, UnitStatus.unit_id == Unit.id)
        .where(or_(Unit.is_exercise.is_(False), UnitStatus.state != UnitState.OFF_DUTY.value))
        .order_by(Unit.id)
    )
    if agencies is not None:
        query = query.where(Unit.agency_id.in_(agencies))
    points = []
    for unit_id, callsign, agency_id, kind, is_exercise, state, lat, lon, at, duty_mode in await session.execute(query):
        on_duty = state is not None and state != UnitState.OFF_DUTY.value  # as in _point: no position off duty
        points.append(
            UnitPoint(
                unit_id=unit_id,
                callsign=callsign,
                agency_id=agency_id,
                kind=kind,
                state=state or UnitState.OFF_DUTY.value,
                lat=lat if on_duty else None,
                lon=lon if on_duty else None,
                at=at,
                duty_mode=duty_mode,
                is_exercise=is_exercise,
            )
        )
    return points


async def unit_points(session: AsyncSession, unit_ids: Iterable[int]) -> list[UnitPoint]:
    """The same for some units."""
    ids = set(unit_ids)
    if not ids:
        return []
    query = select(Unit, UnitStatus).outerjoin(UnitStatus, UnitStatus.unit_id == Unit.id).where(Unit.id.in_(ids))
    return [_point(unit, status) for unit, status in (await session.execute(query)).all()]


def _point(unit: Unit, status: UnitStatus | None) -> UnitPoint:
    # Off duty, an officer's position (perhaps their home) is nobody's business: it is not shown.
    on_duty = status is not None and status.state != UnitState.OFF_DUTY.value
    return UnitPoint(
        unit_id=unit.id,
        callsign=unit.callsign,
        agency_id=unit.agency_id,
        kind=unit.kind,
        state=status.state if status else UnitState.OFF_DUTY.value,
        lat=status.lat if status and on_duty else None,
        lon=status.lon if status and on_duty else None,
        at=status.position_at if status else None,
        duty_mode=status.duty_mode if status else None,
        is_exercise=unit.is_exercise,
    )


async def officers_of(session: AsyncSession, unit_id: int) -> list[Staff]:
    rows = await session.scalars(select(Staff).where(Staff.unit_id == unit_id, Staff.active.is_(True)))
    return list(rows.all())
