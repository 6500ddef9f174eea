"""More units on one alert: staff add backups (each asked by an offer, first to accept takes the place), a backup's
officers move it through en route, on scene and released, and an officer on the alert asks for backup or an
ambulance. The alert's own state stays its lead unit's (``dispatch.units``)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import SYSTEM, Officer, Principal, Role
from siaga.agencies import service as agencies_service
from siaga.agencies.domain import Service, UnitKind
from siaga.agencies.geo import haversine_m
from siaga.agencies.models import Agency
from siaga.alerts import access, domain, raise_rules
from siaga.alerts import service as alerts
from siaga.alerts.domain import AlertState, EventKind
from siaga.alerts.models import Alert, AlertAgency, AlertOffer, AlertUnit, AlertUnitState, OfferState, UnitRole
from siaga.alerts.timeline import append_event, lock_event_log
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import utcnow
from siaga.dispatch import service as dispatch
from siaga.dispatch import units, unitstate
from siaga.dispatch.recommend import eta_seconds
from siaga.errors import Conflict, Forbidden
from siaga.responders.models import Unit, UnitState, UnitStatus


class RequestKind(StrEnum):
    BACKUP = "backup"  # more units of the requesting unit's own type
    AMBULANCE = "ambulance"  # PSC 119's: the one that covers the place is told and sees the alert


async def add_units(
    session: AsyncSession,
    *,
    principal: Principal,
    alert_id: uuid.UUID,
    unit_ids: list[int],
    drill_units_for_real: bool,
    by: ActorContext,
) -> Alert:
    """Ask these units to join the alert as one backup (audited): each is offered the place, the first whose
    officer accepts takes it, and the others leave. A unit already on the alert, or busy with another alert or
    offer, is a 409; a unit the caller may not dispatch a 422 as a missing one."""
    alert = await alerts.get_visible(session, principal, alert_id, lock=True)
    await access.require_may_send_units(session, principal, alert)
    if AlertState(alert.state) in domain.CLOSED_STATES:
        raise Conflict(f"cannot add a unit: the alert is already {alert.state}", code="alert.closed")
    chosen: list[Unit] = []
    for unit_id in dict.fromkeys(unit_ids):
        unit = await alerts.unit_to_send(session, principal, alert, unit_id, drill_units_for_real=drill_units_for_real)
        await _free_to_join(session, alert, unit)
        chosen.append(unit)
    slot = int(await session.scalar(select(func.max(AlertUnit.slot)).where(AlertUnit.alert_id == alert.id)) or 0) + 1
    agency = await session.get(Agency, alert.agency_id)
    timeout = agency.offer_timeout_seconds if agency is not None else 45
    now = utcnow()
    offers: list[AlertOffer] = []
    await lock_event_log(session)
    for unit in chosen:
        row = await units.row_of(session, alert.id, unit.id)
        if row is None:
            row = AlertUnit(alert_id=alert.id, unit_id=unit.id, agency_id=unit.agency_id)
            session.add(row)
        row.role, row.state, row.slot, row.added_by, row.added_at = (
            UnitRole.BACKUP.value,
            AlertUnitState.OFFERED.value,
            slot,
            principal.name,
            now,
        )
        row.assigned_at = row.en_route_at = row.on_scene_at = row.released_at = None
        distance = await _distance_m(session, alert, unit)
        offer = await session.scalar(
            select(AlertOffer).where(AlertOffer.alert_id == alert.id, AlertOffer.unit_id == unit.id)
        )
        if offer is None:
            offer = AlertOffer(alert_id=alert.id, unit_id=unit.id)
        # One offer row per unit and alert: a unit asked before (in a ring for the lead, say) is asked again on it.
        offer.ring, offer.slot, offer.state, offer.sms_code = 0, slot, OfferState.PENDING.value, None
        offer.distance_m = round(distance, 1)
        offer.eta_s = eta_seconds(distance, kind=unit.kind, duty_mode=None)
        offer.offered_at, offer.expires_at, offer.answered_at = now, now + timedelta(seconds=timeout), None
        offers.append(offer)
        agency_code = await session.scalar(select(Agency.code).where(Agency.id == unit.agency_id))
        units.unit_event(
            session, alert, EventKind.UNIT_ADDED, unit, principal.actor(), agency=agency_code, role="backup", slot=slot
        )
    _answer_requests(alert, {u.kind for u in chosen})
    # Unanswered, the place runs out after the lead's offer timeout (``expire_offers``, fired by the timer sweep).
    due = now + timedelta(seconds=timeout)
    alert.backup_due_at = min(alert.backup_due_at or due, due)
    await dispatch.make_offers(session, alert, offers, principal.actor(), slot=slot)
    await audit.record_for(
        session,
        by,
        action="alert.unit_added",
        target_type="alert",
        target_id=str(alert.id),
        agency_id=alert.agency_id,
        detail={"units": [u.callsign for u in chosen], "slot": slot},
    )
    await session.refresh(alert)
    return alert


async def expire_offers(session: AsyncSession, alert: Alert) -> list[int]:
    """The backup offers of the alert that ran out unanswered expire (the timer sweep calls this when
    ``backup_due_at`` is due, with the alert's row locked): each unit asked leaves the alert as ``unanswered``, one
    ``offer_expired`` event per place names them, and the console shows the place unanswered so the operator can
    ask again. The timer moves on to the next pending backup offer, if any. Returns the units whose offers expired."""
    now = utcnow()
    pending = list(
        (
            await session.scalars(
                select(AlertOffer)
                .where(
                    AlertOffer.alert_id == alert.id,
                    AlertOffer.state == OfferState.PENDING.value,
                    AlertOffer.slot > 0,
                )
                .order_by(AlertOffer.slot, AlertOffer.id)
            )
        ).all()
    )
    expired = [o for o in pending if o.expires_at <= now]
    later = [o.expires_at for o in pending if o.expires_at > now]
    alert.backup_due_at = min(later) if later else None
    if not expired:
        return []
    rows = {r.unit_id: r for r in await units.rows_of(session, alert.id)}
    places: dict[int, list[int]] = {}
    for offer in expired:
        offer.state, offer.answered_at = OfferState.EXPIRED.value, now
        row = rows.get(offer.unit_id)
        if row is not None and row.state == AlertUnitState.OFFERED.value and row.slot == offer.slot:
            units.set_state(row, AlertUnitState.UNANSWERED.value, now)
        places.setdefault(offer.slot, []).append(offer.unit_id)
    await lock_event_log(session)
    snapshot = alerts.snapshot_of(alert)
    for slot, unit_ids in places.items():
        event = domain.DomainEvent(EventKind.OFFER_EXPIRED, {"unit_ids": unit_ids, "slot": slot})
        append_event(session, alert, event, SYSTEM, snapshot)
    alert.version += 1
    await session.flush()
    told = [o.unit_id for o in expired]
    await unitstate.sync_units(session, told)
    await session.refresh(alert, ["units"])
    return told


async def _free_to_join(session: AsyncSession, alert: Alert, unit: Unit) -> None:
    """Refuse (409) a unit already on this alert, or busy with another alert or offer."""
    row = await units.row_of(session, alert.id, unit.id)
    if alert.unit_id == unit.id or (row is not None and row.state in units.STILL_ON):
        raise Conflict(
            f"{unit.callsign} is already on this alert",
            code="alert.unit_already_added",
            details={"callsign": unit.callsign},
        )
    status = await session.get(UnitStatus, unit.id)
    if status is not None and status.state != UnitState.AVAILABLE.value:
        raise Conflict(
            f"{unit.callsign} is busy ({status.state}) with another alert",
            code="unit.busy",
            details={"callsign": unit.callsign, "state": status.state},
        )


async def _distance_m(session: AsyncSession, alert: Alert, unit: Unit) -> float:
    status = await session.get(UnitStatus, unit.id)
    if status is None or status.lat is None or status.lon is None:
        return 0.0
    return haversine_m(alert.lat, alert.lon, status.lat, status.lon)


def _answer_requests(alert: Alert, kinds: set[str]) -> None:
    """Units of a requested type were asked to join: the officers' requests for them are answered (no longer
    flagged)."""
    open_requests = list(alert.unit_requests or [])
    left = [r for r in open_requests if r.get("unit_kind") not in kinds]
    if len(left) != len(open_requests):
        alert.unit_requests = left


async def move_unit(
    session: AsyncSession,
    *,
    principal: Principal,
    alert_id: uuid.UUID,
    unit_id: int,
    state: AlertUnitState,
    by: ActorContext,
    where: tuple[float, float] | None = None,
) -> Alert:
    """A backup moves on the alert (en route, on scene, released), by its own officer or by staff who may send
    it (audited). The lead moves with the alert itself (en route, on scene, resolve); resolving the alert stays
    the lead's or the operator's."""
    alert = await alerts.get_visible(session, principal, alert_id, lock=True)
    if principal.role is Role.OFFICER:
        if principal.unit_id != unit_id:
            raise Forbidden("an officer can only move their own unit on this alert", code="alert.unit_not_yours")
    else:
        await access.require_may_send_units(session, principal, alert)
        await alerts.unit_for_dispatch(session, unit_id, seen_by=principal)
    row = await units.row_of(session, alert.id, unit_id)
    if row is None or row.state in units.ENDED:
        raise Conflict("this unit is not on the alert", code="alert.unit_not_on_alert")
    if row.role == UnitRole.LEAD.value:
        raise Conflict(
            "the lead unit moves with the alert: report en route, on scene or resolve the alert",
            code="alert.unit_is_lead",
        )
    if state.value not in units.MOVES[row.state] or (
        principal.role is Role.OFFICER and row.state == AlertUnitState.OFFERED.value
    ):
        raise Conflict(
            f"the unit is {row.state}: it cannot be {state.value} now",
            code="alert.unit_invalid_move",
            details={"from": row.state, "to": state.value},
        )
    if row.state == AlertUnitState.OFFERED.value:
        # Staff withdraw a backup's offer before anyone answered it.
        await session.execute(
            update(AlertOffer)
            .where(
                AlertOffer.alert_id == alert.id,
                AlertOffer.unit_id == unit_id,
                AlertOffer.state == OfferState.PENDING.value,
            )
            .values(state=OfferState.TAKEN.value, answered_at=utcnow())
        )
    units.set_state(row, state.value, utcnow())
    unit = await alerts.unit_for_dispatch(session, unit_id)
    await lock_event_log(session)
    units.unit_event(session, alert, units.EVENT_OF[state.value], unit, principal.actor(), place=where, role=row.role)
    await session.flush()
    await unitstate.sync_units(session, [unit_id])
    await audit.record_for(
        session,
        by,
        action=f"alert.unit_{state.value}",
        target_type="alert",
        target_id=str(alert.id),
        agency_id=alert.agency_id,
        detail={"unit": unit.callsign},
    )
    await session.refresh(alert)
    return alert


async def request_units(
    session: AsyncSession,
    *,
    officer: Officer,
    alert_id: uuid.UUID,
    kind: RequestKind,
    locator: agencies_service.JurisdictionLocator,
    settings: Settings,
    by: ActorContext,
    where: tuple[float, float] | None = None,
) -> Alert:
    """An officer whose unit is on the alert asks for backup (units of its own type) or an ambulance (audited).
    The request goes on the timeline and flags the alert on the consoles of the responsible agency, the officer's
    own agency for backup, and for an ambulance the PSC 119 that covers the place, which is informed of the alert
    (it sees it, and adds its own ambulance). Asking again for what is still open changes nothing."""
    principal = officer.principal
    alert = await alerts.get_visible(session, principal, alert_id, lock=True)
    if principal.role is not Role.OFFICER:  # a supervisor may belong to a unit, but asks from the console
        raise Forbidden("only an officer on the alert asks for more units", code="auth.forbidden")
    if AlertState(alert.state) in domain.CLOSED_STATES:
        raise Conflict(f"cannot ask for units: the alert is already {alert.state}", code="alert.closed")
    row = await units.row_of(session, alert.id, officer.unit_id)
    if row is None or row.state not in units.WORKING:
        raise Conflict("your unit is not working on this alert", code="alert.unit_not_on_alert")
    unit = await alerts.unit_for_dispatch(session, officer.unit_id)
    unit_kind = unit.kind if kind is RequestKind.BACKUP else UnitKind.AMBULANCE.value
    if any(r.get("unit_kind") == unit_kind for r in alert.unit_requests or []):
        return alert
    asked = [alert.agency_id]
    if kind is RequestKind.BACKUP:
        asked.append(unit.agency_id)
    else:
        asked.extend(await _covering(session, alert, Service.PSC119, locator, settings))
    asked = list(dict.fromkeys(asked))
    newly_informed = [a for a in asked if a != alert.agency_id and a not in (alert.informed_agency_ids or [])]
    if newly_informed:
        alert.informed_agency_ids = [*(alert.informed_agency_ids or []), *newly_informed]
        await session.execute(insert(AlertAgency), [{"alert_id": alert.id, "agency_id": a} for a in newly_informed])
    codes = dict((await session.execute(select(Agency.id, Agency.code).where(Agency.id.in_(asked)))).all())
    alert.unit_requests = [
        *(alert.unit_requests or []),
        {
            "kind": kind.value,
            "unit_kind": unit_kind,
            "agency_ids": asked,
            "agencies": [codes.get(a, "") for a in asked],
            "by_unit_id": unit.id,
            "by_unit": unit.callsign,
            "at": utcnow().isoformat(),
        },
    ]
    alert.version += 1
    await lock_event_log(session)
    units.unit_event(
        session,
        alert,
        EventKind.UNITS_REQUESTED,
        unit,
        principal.actor(),
        place=where,
        request=kind.value,
        requested_kind=unit_kind,
        agencies=[codes.get(a, "") for a in asked],
        agency_ids=asked,
        informed=[codes.get(a, "") for a in newly_informed],
    )
    await session.flush()
    await audit.record_for(
        session,
        by,
        action="alert.units_requested",
        target_type="alert",
        target_id=str(alert.id),
        agency_id=alert.agency_id,
        detail={"kind": kind.value, "unit": unit.callsign},
    )
    await session.refresh(alert)
    return alert


async def _covering(
    session: AsyncSession,
    alert: Alert,
    service: Service,
    locator: agencies_service.JurisdictionLocator,
    settings: Settings,
) -> list[int]:
    """The agency of ``service`` that serves the alert's place (as the routing table places it), if any."""
    await locator.refresh(session)
    placed = alert.placement != raise_rules.NO_LOCATION
    found = locator.covering(
        service,
        lat=alert.lat if placed else None,
        lon=alert.lon if placed else None,
        jurisdiction_id=alert.jurisdiction_id,
        buffer_m=settings.jurisdiction_buffer_m,
    )
    if not found:
        return []
    return [found[0]]
