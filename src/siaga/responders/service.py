"""Units: making them, their state rows, the unit board, and positions. (Whether a unit is on duty, assigned or
offered follows dispatch's facts: ``dispatch.unitstate``.)"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.agencies import service as agencies
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.errors import Conflict
from siaga.responders.models import DutyPeriod, PositionRecord, Unit, UnitState, UnitStatus
from siaga.responders.schemas import PositionIn
from siaga.responders.tracker import UnitPoint


async def create_unit(
    session: AsyncSession, *, agency_id: int, callsign: str, kind: str, by: ActorContext | None = None
) -> Unit:
    """A new unit, audited as made ``by`` that actor (None: data laid down by seeding, no one's change)."""
    await agencies.require_agency(session, agency_id)
    if await session.scalar(select(Unit.id).where(Unit.callsign == callsign)) is not None:
        raise Conflict(f"callsign {callsign!r} is taken", code="unit.callsign_taken", details={"callsign": callsign})
    unit = Unit(agency_id=agency_id, callsign=callsign, kind=kind)
    session.add(unit)
    await session.flush()
    if by is not None:
        await audit.record_for(
            session, by, action="unit.create", target_type="unit", target_id=str(unit.id), agency_id=unit.agency_id
        )
    return unit


async def status_row(session: AsyncSession, unit_id: int) -> UnitStatus:
    row = await session.get(UnitStatus, unit_id)
    if row is None:
        row = UnitStatus(unit_id=unit_id, state=UnitState.OFF_DUTY.value, changed_at=utcnow())
        session.add(row)
        await session.flush()
    return row


async def on_duty(session: AsyncSession, unit_id: int, *, lock: bool = False) -> bool:
    """Whether any officer of the unit is on duty. ``lock`` holds their duty periods until the commit, so an
    officer's leaving (which ends their period) queues behind a dispatch that counted on them, and after it."""
    query = select(DutyPeriod.id).where(DutyPeriod.unit_id == unit_id, DutyPeriod.ended_at.is_(None))
    if lock:
        query = query.with_for_update()
    return bool((await session.scalars(query)).all())


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
