"""Dispatch use cases: every action on an alert with its effects on units and offers, direct offers in widening
rings, acceptance (first wins), and escalation to other agencies."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shapely.geometry import shape
from sqlalchemy import ColumnElement, Update, bindparam, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from siaga.accounts import service as accounts
from siaga.accounts import staff as staffing
from siaga.accounts.domain import SYSTEM, Actor, Principal, Role
from siaga.accounts.models import Staff
from siaga.aftercommit import OffersMade, emit
from siaga.agencies import domain as agency_rules
from siaga.agencies import service as agencies_service
from siaga.agencies.models import Agency, Jurisdiction, JurisdictionAgency
from siaga.alerts import domain, raise_rules, raising
from siaga.alerts import service as alerts
from siaga.alerts.domain import AlertState, Command, DomainEvent, EventKind
from siaga.alerts.models import Alert, AlertEscalation, AlertEvent, AlertOffer, AlertUnitState, OfferState
from siaga.alerts.raise_rules import Caller, CallerKind, Position, RaiseRequest
from siaga.alerts.timeline import append_event, lock_event_log
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.db import utcnow
from siaga.dispatch import receipts, units, unitstate
from siaga.dispatch.recommend import Recommendation, recommend
from siaga.dispatch.schemas import DispatchSettings
from siaga.errors import Conflict, NotFound, NotVisible, TooManyRequests
from siaga.notify import contacts
from siaga.notify import service as notify
from siaga.notify.models import PushSubscriptionRecord
from siaga.responders.models import UnitState, UnitStatus
from siaga.responders.tracker import UnitPoint, UnitTracker

MAX_RINGS = 4
OPEN_FOR_OFFERS = (AlertState.NEW.value, AlertState.ACKNOWLEDGED.value)


# Acting on alerts, with the effects on units and offers -------------------------------------------------------


async def act(
    session: AsyncSession,
    *,
    principal: Principal,
    alert_id: uuid.UUID,
    command: Command,
    where: tuple[float, float] | None = None,
    drill_units_for_real: bool = False,
    settings: Settings | None = None,
) -> tuple[Alert, list[DomainEvent]]:
    """An action by staff or an officer (see ``alerts.service.act``), then units and offers follow."""
    before = await _unit_under_lock(session, alert_id)
    if isinstance(command, domain.ReplyToCentre) and principal.resident_id is not None:
        await _within_reply_rate(session, principal.resident_id, now=utcnow())
    alert, events = await alerts.act(
        session,
        principal=principal,
        alert_id=alert_id,
        command=command,
        where=where,
        drill_units_for_real=drill_units_for_real,
        settings=settings,
    )
    await after_events(session, alert, events, previous_unit=before)
    return alert, events


async def _within_reply_rate(session: AsyncSession, resident_id: uuid.UUID, *, now: datetime) -> None:
    """Refuse (429) a resident's reply past ``domain.REPLIES_PER_MINUTE``, counted over all their alerts by when each
    reply reached the server (a reply sent late from the phone's outbox is dated when it was typed, so that date
    cannot be what is counted). Called with the alert's row locked: one resident's replies are counted in turn."""
    rows = await session.execute(
        select(AlertEvent.at, AlertEvent.data)
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .where(Alert.resident_id == resident_id, AlertEvent.kind == EventKind.RESIDENT_REPLIED.value)
        .order_by(AlertEvent.id.desc())
        .limit(domain.REPLIES_PER_MINUTE)
    )
    arrivals = [receipts.received_at(at, data) for at, data in rows]
    wait = domain.reply_wait_s(arrivals, now)
    if wait is not None:
        raise TooManyRequests(
            f"at most {domain.REPLIES_PER_MINUTE} messages a minute; try again in {wait} s",
            retry_after=wait,
            code="alert.reply_rate_limited",
        )


async def _unit_under_lock(session: AsyncSession, alert_id: uuid.UUID) -> int | None:
    """The alert's unit before this action, read once its row is locked. Read before the lock, two operators
    reassigning at once would both see the unit it had before either of them, and the one that lost the alert to
    the other's later reassignment would never be freed."""
    return await session.scalar(select(Alert.unit_id).where(Alert.id == alert_id).with_for_update())


async def after_events(
    session: AsyncSession, alert: Alert, events: list[DomainEvent], *, previous_unit: int | None
) -> None:
    """Keep units, offers and timers in step with what just happened to the alert."""
    kinds = {e.kind for e in events}
    closed = AlertState(alert.state) in domain.CLOSED_STATES
    if EventKind.DISPATCHED in kinds or closed:
        # Dispatched: the lead's offers are taken (a backup's stay); closed: every offer is.
        await _close_offers(session, alert, accepted_unit=alert.unit_id, slot=None if closed else 0)
        alert.offer_due_at = None
        if closed:
            alert.backup_due_at = None
        alert.dispatch_due_at = None
    if AlertState(alert.state) in domain.CLOSED_STATES:
        alert.ack_due_at = None
    if domain.taken_by_a_person(alerts.snapshot_of(alert)):
        # An operator acknowledged it or an officer accepted it: T1 ("nobody has taken it") is over.
        alert.ack_due_at = None
    if EventKind.DISPATCHED in kinds and alert.unit_id is not None:
        await _push_to_unit(session, alert, alert.unit_id, kind="assignment")
    for event in events:
        if event.kind is EventKind.ESCALATED:
            targets = await escalate_to_agencies(session, alert=alert, reason=str(event.data.get("reason", "")))
            await _name_targets(session, alert, targets)
    moved = await units.sync_lead(session, alert)
    await unitstate.sync_units(session, [alert.unit_id, previous_unit, *moved])
    await session.flush()


async def _close_offers(
    session: AsyncSession, alert: Alert, *, accepted_unit: int | None, slot: int | None
) -> list[int]:
    """Every pending offer of the alert for this place (``slot``; None: every place) is taken: someone has it, or
    the alert closed. Returns the units told."""
    query = select(AlertOffer).where(AlertOffer.alert_id == alert.id, AlertOffer.state == OfferState.PENDING.value)
    if slot is not None:
        query = query.where(AlertOffer.slot == slot)
    pending = list((await session.scalars(query)).all())
    now = utcnow()
    for offer in pending:
        offer.state = OfferState.ACCEPTED.value if offer.unit_id == accepted_unit else OfferState.TAKEN.value
        offer.answered_at = now
    withdrawn = [o.unit_id for o in pending if o.unit_id != accepted_unit]
    if withdrawn:
        # The other phones that were ringing must stop: the event names their units, so their streams carry it.
        await lock_event_log(session)
        event = DomainEvent(
            EventKind.OFFERS_WITHDRAWN, {"unit_ids": withdrawn, "taken_by": accepted_unit, "slot": slot or 0}
        )
        append_event(session, alert, event, SYSTEM, alerts.snapshot_of(alert))
    units = [o.unit_id for o in pending]
    await session.flush()
    await unitstate.sync_units(session, units)
    return units


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What raising a follow-up alert takes from the edge: the kecamatan index with the sessions that refresh it
    (``alerts.raising.place``)."""

    locator: agencies_service.JurisdictionLocator
    sessions: async_sessionmaker[AsyncSession]


async def cancel_with_pin(
    session: AsyncSession,
    *,
    settings: Settings,
    principal: Principal,
    alert_id: uuid.UUID,
    entry: accounts.PinEntry,
    by: ActorContext,
    follow_up: FollowUp | None = None,
) -> tuple[Alert, accounts.PinCheck]:
    """The resident's cancel (see ``alerts.service.cancel_with_pin``), then units, offers and escalation follow.
    A duress PIN on an alert staff already closed raises a follow-up alert (given ``follow_up``). Audited, a wrong
    PIN as a failure; the record names the PIN used (staff must know; the resident's phone never reads the audit
    log)."""
    before = await _unit_under_lock(session, alert_id)
    alert, check, events = await alerts.cancel_with_pin(
        session, settings=settings, principal=principal, alert_id=alert_id, entry=entry
    )
    if events:
        await after_events(session, alert, events, previous_unit=before)
    if check.kind == "cancel" and AlertState(alert.state) is AlertState.CANCELLED:
        resident = await accounts.get_resident(session, alert.resident_id)
        name = resident.name or resident.phone
        await contacts.after_cancel(
            session, settings=settings, alert_id=str(alert.id), resident_id=resident.id, name=name, at=utcnow()
        )
    if check.kind == "duress" and AlertState(alert.state) in domain.CLOSED_STATES and follow_up is not None:
        await _duress_after_close(
            session, settings=settings, follow_up=follow_up, closed=alert, principal=principal, client_ip=by.client_ip
        )
    await audit.record_for(
        session,
        by,
        action="alert.cancel",
        target_type="alert",
        target_id=str(alert.id),
        agency_id=alert.agency_id,
        outcome="success" if check.error is None else "failure",
        detail={"pin": "duress" if check.kind == "duress" else check.kind},
    )
    return alert, check


async def _duress_after_close(
    session: AsyncSession,
    *,
    settings: Settings,
    follow_up: FollowUp,
    closed: Alert,
    principal: Principal,
    client_ip: str,
) -> Alert:
    """The duress PIN on an alert staff already closed: the person is in danger now, so a new, silent, critical
    alert is raised at their last known position, linked to the old one, and escalated at once. It is raised by
    the same writer and rules as a press (``alerts.raising``), as a batch of one in this transaction."""
    new_id = uuid.uuid4()
    request = RaiseRequest(
        id=new_id,
        fingerprint=raise_rules.fingerprint({"follows": str(closed.id), "id": str(new_id)}),
        caller=Caller(
            kind=CallerKind.RESIDENT,
            id=principal.subject,
            name=principal.name,
            resident_id=closed.resident_id,
            session_expired=principal.session_expired,
        ),
        category=domain.Category(closed.category),
        received_at=utcnow(),
        channel="app",  # the PIN came from the app
        position=Position(closed.lat, closed.lon, closed.accuracy_m),
        silent=True,
        description=f"duress PIN entered after alert {closed.id} was closed",
        client_ip=client_ip,
        follows_id=closed.id,
    )
    fresh = await raising.raise_one(
        session, request, locator=follow_up.locator, sessions=follow_up.sessions, settings=settings
    )
    actor = principal.actor()
    events = domain.decide(alerts.snapshot_of(fresh), domain.DuressCancel(), actor)
    await alerts.apply_events(session, fresh, events, actor)
    await after_events(session, fresh, events, previous_unit=None)
    return fresh


# Offers -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RingSearch:
    """Where an alert's next ring of direct offers looks: from the ring after ``last_ring`` outwards, each twice as
    wide as the one before, the nearest units the tracker has available, of the agencies that give the help it
    needs (``agencies``), not asked before (``asked``)."""

    lat: float
    lon: float
    real_alert: bool
    last_ring: int
    radius_m: float  # the first ring's
    size: int  # units asked per ring
    asked: frozenset[int]
    agencies: frozenset[int]

    def rings(self, tracker: UnitTracker) -> Iterator[tuple[int, list[Recommendation]]]:
        """Each ring still to try, with the units the tracker has available in it, nearest first. After every ring
        came up empty, the widest is tried again (an officer may have come on duty since)."""
        ring = min(self.last_ring, MAX_RINGS - 1)
        while ring < MAX_RINGS:
            ring += 1
            yield ring, self._within(tracker, ring, count=self.size * 2)

    def finds_nobody(self, tracker: UnitTracker) -> bool:
        """No ring has anyone to ask: the alert waits at the widest ring with no offer timer. Each ring reaches as
        far as every ring before it, so the widest alone answers, and one unit found is enough: a surge's due
        alerts cost one short search each, not one per ring (the sweep's searches hold the event loop)."""
        return not self._within(tracker, MAX_RINGS, count=1)

    def _within(self, tracker: UnitTracker, ring: int, *, count: int) -> list[Recommendation]:
        return recommend(
            tracker,
            lat=self.lat,
            lon=self.lon,
            count=count,
            exclude=self.asked,
            max_distance_m=self.radius_m * 2 ** (ring - 1),
            states=(UnitState.AVAILABLE.value,),  # a unit already asked about another alert is not asked twice
            real_alert=self.real_alert,
            agencies=self.agencies,  # a crime rings police patrols, a fire Damkar's engines (``offer_kinds``)
        )


async def _same_help(session: AsyncSession, kinds: set[str]) -> dict[str, frozenset[int]]:
    """Per agency kind, the agencies whose units give the help its alerts need (``agency_rules.offer_kinds``)."""
    wanted = {kind: agency_rules.offer_kinds(kind) for kind in kinds}
    helping_kinds = {k for helping in wanted.values() for k in helping}
    rows = await session.execute(select(Agency.id, Agency.kind).where(Agency.kind.in_(helping_kinds)))
    by_kind: dict[str, set[int]] = {}
    for agency_id, kind in rows:
        by_kind.setdefault(kind, set()).add(agency_id)
    return {kind: frozenset(i for k in helping for i in by_kind.get(k, ())) for kind, helping in wanted.items()}


async def offer_next_ring(
    session: AsyncSession, *, alert: Alert, agency: Agency, tracker: UnitTracker
) -> list[AlertOffer]:
    """Offer the alert to the nearest available units not yet asked, in a ring twice as wide as the last; expire
    the last ring's unanswered offers. With nobody in reach even at the widest ring, the alert waits there with no
    offer timer until a unit becomes available near it (``wake_offers_near``): thousands of alerts waiting for
    nobody cost nothing. The event log is locked only when an event is written."""
    now = utcnow()
    # Every offer the alert has made, in one read: the last ring's still pending expire, and no unit is asked twice.
    made = (await session.scalars(select(AlertOffer).where(AlertOffer.alert_id == alert.id))).all()
    # A backup's offers (a slot above 0) wait for their unit (``dispatch.backup``).
    expired = [o for o in made if o.state == OfferState.PENDING.value and o.slot == 0]
    snapshot = alerts.snapshot_of(alert)
    if expired:
        await lock_event_log(session)
        for offer in expired:
            offer.state, offer.answered_at = OfferState.EXPIRED.value, now
        event = DomainEvent(
            EventKind.OFFER_EXPIRED, {"unit_ids": [o.unit_id for o in expired], "ring": alert.offer_ring}
        )
        append_event(session, alert, event, SYSTEM, snapshot)
        await session.flush()
        await unitstate.sync_units(session, [o.unit_id for o in expired])
    search = RingSearch(
        lat=alert.lat,
        lon=alert.lon,
        real_alert=not alert.is_exercise,
        last_ring=alert.offer_ring,
        radius_m=agency.offer_radius_m,
        size=agency.offer_size,
        asked=frozenset(o.unit_id for o in made),
        agencies=(await _same_help(session, {agency.kind}))[agency.kind],
    )
    offers: list[AlertOffer] = []
    ring = alert.offer_ring
    for ring, candidates in search.rings(tracker):
        available = await _still_available(session, [c.unit_id for c in candidates])
        for candidate in [c for c in candidates if c.unit_id in available][: agency.offer_size]:
            offers.append(
                AlertOffer(
                    alert_id=alert.id,
                    unit_id=candidate.unit_id,
                    ring=ring,
                    distance_m=candidate.distance_m,
                    eta_s=candidate.eta_s,
                    state=OfferState.PENDING.value,
                    offered_at=now,
                    expires_at=now + timedelta(seconds=agency.offer_timeout_seconds),
                )
            )
        if offers:
            break
    alert.offer_ring = ring
    if not offers:
        alert.offer_due_at = None  # waits for a unit (see wake_offers_near)
        return []
    alert.offer_due_at = now + timedelta(seconds=agency.offer_timeout_seconds)
    await make_offers(session, alert, offers, SYSTEM, ring=ring)
    return offers


@dataclass(frozen=True, slots=True)
class DueOffers:
    """The alerts whose direct offers are due (the longest due first), read without a lock: those whose next ring
    may find a unit (``ringing``: each fired alone, ``offer_next_ring``), and those it cannot (``nobody``, with the
    offer timer and agency each had when read): nobody the tracker knows of is available within reach of them even
    at the widest ring, and they have no offer of the last ring to expire."""

    ringing: list[uuid.UUID]
    nobody: dict[uuid.UUID, tuple[datetime, int]]

    def __len__(self) -> int:
        return len(self.ringing) + len(self.nobody)


async def due_offers(session: AsyncSession, tracker: UnitTracker, *, limit: int) -> DueOffers:
    """Read the alerts whose direct offers are due and sort them (see ``DueOffers``): three queries for a round of
    them, whatever their number."""
    rows = (
        await session.execute(
            select(
                Alert.id,
                Alert.offer_due_at,
                Alert.agency_id,
                Alert.state,
                Alert.unit_id,
                Alert.lat,
                Alert.lon,
                Alert.is_exercise,
                Alert.offer_ring,
                Agency.kind,
                Agency.offer_radius_m,
                Agency.offer_size,
            )
            .outerjoin(Agency, Agency.id == Alert.agency_id)
            .where(Alert.offer_due_at <= utcnow())
            .order_by(Alert.offer_due_at)
            .limit(limit)
        )
    ).all()
    due = DueOffers(ringing=[], nobody={})
    if not rows:
        return due
    made = await session.execute(
        select(AlertOffer.alert_id, AlertOffer.unit_id, AlertOffer.state, AlertOffer.slot).where(
            AlertOffer.alert_id.in_([row.id for row in rows])
        )
    )
    asked: dict[uuid.UUID, set[int]] = {}
    expiring: set[uuid.UUID] = set()
    for alert_id, unit_id, state, slot in made:
        asked.setdefault(alert_id, set()).add(unit_id)
        if state == OfferState.PENDING.value and slot == 0:
            expiring.add(alert_id)
    same_help = await _same_help(session, {row.kind for row in rows if row.kind is not None})
    for row in rows:
        if row.kind is None or row.state not in OPEN_FOR_OFFERS or row.unit_id is not None or row.id in expiring:
            due.ringing.append(row.id)  # fired alone: its timer ends, or its last ring's offers expire
            continue
        search = RingSearch(
            lat=row.lat,
            lon=row.lon,
            real_alert=not row.is_exercise,
            last_ring=row.offer_ring,
            radius_m=row.offer_radius_m,
            size=row.offer_size,
            asked=frozenset(asked.get(row.id, ())),
            agencies=same_help[row.kind],
        )
        if search.finds_nobody(tracker):
            due.nobody[row.id] = (row.offer_due_at, row.agency_id)
        else:
            due.ringing.append(row.id)
    return due


async def wait_for_units(session: AsyncSession, nobody: dict[uuid.UUID, tuple[datetime, int]]) -> int:
    """These alerts' rings find nobody (``due_offers``): each waits at the widest ring with no offer timer, as
    ``offer_next_ring`` leaves one, all in one statement that holds a write lock only for itself. An alert whose
    offer timer or agency changed since it was read (another process fired it; a hand-back, a decline or a unit
    nearby made it due anew) is left as it is, for its next round; one another process is firing right now is
    skipped, not waited for. Returns how many were settled."""
    if not nobody:
        return 0
    settled = await session.execute(
        _SETTLE_WAITING,
        {
            "ids": list(nobody),
            "unchanged": [(alert_id, due_at, agency_id) for alert_id, (due_at, agency_id) in nobody.items()],
        },
    )
    return int(getattr(settled, "rowcount", 0) or 0)


def _settle_waiting() -> Update:
    """``wait_for_units``' statement, built once: the alerts come as expanding parameters, so a round binds them
    instead of building a clause per alert (which took a third of the sweep's time in a surge)."""
    row = aliased(Alert)  # the rows to settle, locked in id order; those another process holds are skipped
    unchanged = tuple_(row.id, row.offer_due_at, row.agency_id).in_(bindparam("unchanged", expanding=True))
    return (
        update(Alert)
        .where(
            Alert.id.in_(
                select(row.id)
                .where(
                    row.id.in_(bindparam("ids", expanding=True)),
                    unchanged,
                    row.state.in_(OPEN_FOR_OFFERS),
                    row.unit_id.is_(None),
                )
                .order_by(row.id)
                .with_for_update(skip_locked=True)
            )
        )
        .values(offer_ring=MAX_RINGS, offer_due_at=None)
        .execution_options(synchronize_session=False)
    )


_SETTLE_WAITING = _settle_waiting()


async def make_offers(session: AsyncSession, alert: Alert, offers: list[AlertOffer], actor: Actor, **data: Any) -> None:
    """Ask these units to take the alert (or a place on it: ``AlertOffer.slot``): the offers and their ``offered``
    event, the units' state, and a push to their phones. The one way an offer is made."""
    await lock_event_log(session)
    session.add_all(offers)
    await session.flush()  # the offers' ids go into the event: a phone answers its offer straight from the stream
    event = DomainEvent(
        EventKind.OFFERED,
        {
            "unit_ids": [o.unit_id for o in offers],
            "offer_ids": [o.id for o in offers],
            "distances_m": [o.distance_m for o in offers],
            **data,
        },
    )
    append_event(session, alert, event, actor, alerts.snapshot_of(alert))
    await session.flush()
    await unitstate.sync_units(session, [o.unit_id for o in offers])
    for offer in offers:
        await _push_to_unit(session, alert, offer.unit_id, kind="offer", offer_id=offer.id)
    # Officers whose phone has no open stream also get it by SMS (``dispatch.offer_sms``): only the runtime knows
    # which streams are open, so it decides after the commit.
    emit(session, OffersMade(tuple(o.id for o in offers)))


def _waiting_for_units() -> list[ColumnElement[bool]]:
    """An alert whose widest ring found nobody: it waits, without a timer, for a unit to become available near it."""
    return [
        Alert.offer_ring == MAX_RINGS,
        Alert.state.in_(OPEN_FOR_OFFERS),
        Alert.offer_due_at.is_(None),
        Alert.unit_id.is_(None),
    ]


async def any_waiting_for_units(session: AsyncSession) -> bool:
    """Whether any alert waits for a unit (so ``wake_offers_near`` may find one): one read on the index
    ``ix_alerts_waiting_for_units``. Officers moving about while no alert waits then cost no write transaction."""
    return await session.scalar(select(Alert.id).where(*_waiting_for_units()).limit(1)) is not None


async def wake_offers_near(session: AsyncSession, *, unit: UnitPoint, tracker: UnitTracker) -> uuid.UUID | None:
    """``unit`` has just become available (or moved) at a position: the alert that has waited longest for a unit
    within its agency's widest ring of it, and has not asked it before, is offered again now. One alert: the unit
    can ring for one alert at a time, and the alert's next ring then asks whoever is free. Returns the alert."""
    if unit.lat is None or unit.lon is None:
        return None
    widest = 2 ** (MAX_RINGS - 1)
    reach_m = await session.scalar(select(func.max(Agency.offer_radius_m)).where(Agency.direct_offers.is_(True)))
    if not reach_m:
        return None
    lat_m, lon_m = 111_320.0, 111_320.0 * max(math.cos(math.radians(unit.lat)), 0.01)  # metres per degree
    span_lat, span_lon = reach_m * widest / lat_m, reach_m * widest / lon_m
    agency_reach = Agency.offer_radius_m * widest
    condition = [
        *_waiting_for_units(),
        Alert.lat.between(unit.lat - span_lat, unit.lat + span_lat),
        Alert.lon.between(unit.lon - span_lon, unit.lon + span_lon),
        func.abs(Alert.lat - unit.lat) * lat_m <= agency_reach,
        func.abs(Alert.lon - unit.lon) * lon_m <= agency_reach,
        Agency.direct_offers.is_(True),
        ~select(AlertOffer.id).where(AlertOffer.alert_id == Alert.id, AlertOffer.unit_id == unit.unit_id).exists(),
    ]
    if unit.is_exercise and not tracker.exercise_units_answer_real_alerts:
        condition.append(Alert.is_exercise.is_(True))
    unit_agency_kind = await session.scalar(select(Agency.kind).where(Agency.id == unit.agency_id))
    if unit_agency_kind is None:
        return None
    condition.append(Agency.kind.in_(agency_rules.offer_kinds(unit_agency_kind)))  # only alerts it can help with
    waiting = select(Alert.id).join(Agency, Agency.id == Alert.agency_id).where(*condition)
    alert_id = await session.scalar(waiting.order_by(Alert.created_at).limit(1))
    if alert_id is None:
        return None
    await session.execute(
        update(Alert).where(Alert.id == alert_id, Alert.offer_due_at.is_(None)).values(offer_due_at=utcnow())
    )
    return alert_id


async def _still_available(session: AsyncSession, unit_ids: list[int]) -> set[int]:
    """The tracker may lag a moment behind the database: offer only to units the database says are free."""
    if not unit_ids:
        return set()
    rows = await session.scalars(
        select(UnitStatus.unit_id).where(
            UnitStatus.unit_id.in_(unit_ids), UnitStatus.state == UnitState.AVAILABLE.value
        )
    )
    return set(rows.all())


@dataclass(frozen=True, slots=True)
class Answer:
    offer: AlertOffer
    alert: Alert
    events: list[DomainEvent]


async def accept_offer(session: AsyncSession, *, principal: Principal, offer_id: int, by: ActorContext) -> Answer:
    """The officer takes the alert for their unit (audited). Exactly one of many racing officers wins; the others
    get a 409 saying it is taken."""
    offer = await _locked_offer(session, principal, offer_id)
    if offer.state != OfferState.PENDING.value:
        raise _answered(offer)
    if offer.slot > 0:
        answer = await _take_place(session, principal=principal, offer=offer)
        await _record_answer(session, by, "offer.accept", answer.alert)
        return answer
    alert, events = await act(
        session,
        principal=principal,
        alert_id=offer.alert_id,
        command=domain.Dispatch(offer.unit_id, await _callsign(session, offer.unit_id)),
    )
    await _record_answer(session, by, "offer.accept", alert)
    return Answer(offer=offer, alert=alert, events=events)


async def _take_place(session: AsyncSession, *, principal: Principal, offer: AlertOffer) -> Answer:
    """The officer takes a backup's place on the alert for their unit: the first of the units asked for that place
    gets it; the others' offers are taken and they leave the alert."""
    alert = await alerts.get_visible(session, principal, offer.alert_id, lock=True)
    told = await _close_offers(session, alert, accepted_unit=offer.unit_id, slot=offer.slot)
    now = utcnow()
    unit = await alerts.unit_for_dispatch(session, offer.unit_id)
    for row in await units.rows_of(session, alert.id):
        if row.slot == offer.slot and row.state == AlertUnitState.OFFERED.value:
            taken = row.unit_id == unit.id
            units.set_state(row, AlertUnitState.ASSIGNED.value if taken else AlertUnitState.RELEASED.value, now)
    await lock_event_log(session)
    units.unit_event(session, alert, EventKind.UNIT_ACCEPTED, unit, principal.actor(), slot=offer.slot)
    await session.flush()
    await unitstate.sync_units(session, told)
    await _push_to_unit(session, alert, unit.id, kind="assignment")
    await session.refresh(alert)
    return Answer(offer=offer, alert=alert, events=[])


async def decline_offer(session: AsyncSession, *, principal: Principal, offer_id: int, by: ActorContext) -> Answer:
    """The officer says no (audited): the next unit is asked."""
    answer = await _decline(session, principal=principal, offer_id=offer_id, reason="declined")
    await _record_answer(session, by, "offer.decline", answer.alert)
    return answer


async def _record_answer(session: AsyncSession, by: ActorContext, action: str, alert: Alert) -> None:
    await audit.record_for(
        session, by, action=action, target_type="alert", target_id=str(alert.id), agency_id=alert.agency_id
    )


async def _decline(session: AsyncSession, *, principal: Principal, offer_id: int, reason: str) -> Answer:
    offer = await _locked_offer(session, principal, offer_id)
    if offer.state != OfferState.PENDING.value:
        raise _answered(offer)
    offer.state, offer.answered_at = OfferState.DECLINED.value, utcnow()
    alert = await alerts.get_visible(session, principal, offer.alert_id, lock=True)
    await lock_event_log(session)
    event = DomainEvent(EventKind.OFFER_DECLINED, {"unit_id": offer.unit_id, "reason": reason, "slot": offer.slot})
    append_event(session, alert, event, principal.actor(), alerts.snapshot_of(alert))
    if offer.slot > 0:
        # A backup's place: the unit leaves the alert; the others asked for the place may still take it.
        row = await units.row_of(session, alert.id, offer.unit_id)
        if row is not None and row.state == AlertUnitState.OFFERED.value:
            units.set_state(row, AlertUnitState.RELEASED.value, utcnow())
        await session.flush()
        await unitstate.sync_units(session, [offer.unit_id])
        return Answer(offer=offer, alert=alert, events=[event])
    # Nobody left to answer this ring: ask the next one now rather than wait for the timeout.
    await session.flush()
    pending = await session.scalar(
        select(AlertOffer.id).where(AlertOffer.alert_id == alert.id, AlertOffer.state == OfferState.PENDING.value)
    )
    if pending is None and alert.state in OPEN_FOR_OFFERS and alert.unit_id is None:
        alert.offer_due_at = utcnow()
    await session.flush()
    await unitstate.sync_units(session, [offer.unit_id])
    return Answer(offer=offer, alert=alert, events=[event])


async def _locked_offer(session: AsyncSession, principal: Principal, offer_id: int) -> AlertOffer:
    """The officer's offer, read after locking its alert's row. Offers change only under their alert's lock, so
    racing officers queue on one row (no deadlock) and each then sees what the one before did."""
    offer = await session.scalar(select(AlertOffer).where(AlertOffer.id == offer_id))
    if offer is None or principal.unit_id is None or offer.unit_id != principal.unit_id:
        raise await offer_not_visible(session, offer_id)
    await session.execute(select(Alert.id).where(Alert.id == offer.alert_id).with_for_update())
    await session.refresh(offer)
    return offer


async def offer_not_visible(session: AsyncSession, offer_id: int) -> NotFound:
    """The error for an offer that is not the caller's unit's: the same 404 as a missing id; one that exists
    (another unit's) is a ``NotVisible``, recorded as a denied request."""
    found = (
        await session.execute(
            select(Alert.agency_id).join(AlertOffer, AlertOffer.alert_id == Alert.id).where(AlertOffer.id == offer_id)
        )
    ).first()
    if found is None:
        return NotFound("offer not found", code="offer.not_found")
    agency_id = found[0]
    return NotVisible(
        "offer not found", code="offer.not_found", target_type="offer", target_id=str(offer_id), agency_id=agency_id
    )


class OfferAlreadyAccepted(Conflict):
    """The officer's unit accepted this offer before: a retry, answered with the alert as it is now."""


def _answered(offer: AlertOffer) -> Conflict:
    messages = {
        OfferState.ACCEPTED.value: "your unit already accepted this offer",
        OfferState.DECLINED.value: "this offer was declined",
        OfferState.EXPIRED.value: "this offer expired; the alert went to other units",
        OfferState.TAKEN.value: "another unit has already taken this alert",
    }
    if offer.state == OfferState.ACCEPTED.value:
        return OfferAlreadyAccepted(messages[offer.state], code="offer.accepted")
    return Conflict(messages.get(offer.state, "this offer is closed"), code=f"offer.{offer.state}")


async def _callsign(session: AsyncSession, unit_id: int) -> str:
    unit = await alerts.unit_for_dispatch(session, unit_id)
    return unit.callsign


async def pending_offers(session: AsyncSession, *, unit_id: int) -> list[AlertOffer]:
    rows = await session.scalars(
        select(AlertOffer)
        .where(AlertOffer.unit_id == unit_id, AlertOffer.state == OfferState.PENDING.value)
        .order_by(AlertOffer.offered_at)
    )
    return list(rows.all())


async def set_dispatch_settings(
    session: AsyncSession, *, agency_code: str, settings: DispatchSettings, by: ActorContext
) -> Agency:
    """Replace an agency's direct offers and escalation timers (audited); new alerts use them."""
    agency = await agencies_service.agency_by_code(session, agency_code)
    agency.direct_offers = settings.direct_offers
    agency.offer_size = settings.offer_size
    agency.offer_timeout_seconds = settings.offer_timeout_seconds
    agency.offer_radius_m = settings.offer_radius_m
    agency.ack_timeout_seconds = settings.ack_timeout_seconds
    agency.dispatch_timeout_seconds = settings.dispatch_timeout_seconds
    await audit.record_for(
        session,
        by,
        action="agency.dispatch_settings",
        target_type="agency",
        target_id=agency_code,
        agency_id=agency.id,
        detail=settings.model_dump(),
    )
    return agency


# Notifications -------------------------------------------------------------------------------------------------


async def _push_to_unit(
    session: AsyncSession, alert: Alert, unit_id: int, *, kind: str, offer_id: int | None = None
) -> None:
    """Queue a Web Push to every subscribed phone of the unit's officers (sent after the commit)."""
    officers = await staffing.officers_of(session, unit_id)
    await _push_to_staff(session, alert, officers, kind=kind, offer_id=offer_id)


_PUSH_TITLES = {"offer": "Tawaran SOS", "assignment": "Penugasan SOS", "escalation": "Eskalasi SOS"}
# What an escalation push says (Bahasa Indonesia, like every push): the console shows the same reason translated.
_ESCALATION_TEXT = {
    domain.EscalationReason.NOT_ACKNOWLEDGED.value: "belum diterima siapa pun tepat waktu",
    domain.EscalationReason.NO_OFFICER.value: "belum ada petugas yang menerima",
    domain.EscalationReason.DURESS.value: "warga memasukkan PIN paksaan",
    domain.EscalationReason.HANDED_BACK.value: "petugas menyerahkan kembali dan belum ada operator yang memegang",
}


async def _push_to_staff(
    session: AsyncSession,
    alert: Alert,
    people: list[Staff],
    *,
    kind: str,
    offer_id: int | None = None,
    reason: str = "",
) -> None:
    """Queue a Web Push to every subscribed device of these staff (sent after the commit, retried, recorded)."""
    if not people:
        return
    subscriptions = (
        await session.scalars(
            select(PushSubscriptionRecord).where(PushSubscriptionRecord.staff_id.in_([p.id for p in people]))
        )
    ).all()
    if kind == "escalation":
        body = f"{alert.category}: {_ESCALATION_TEXT.get(reason, reason)} - ketuk untuk membuka"
        url = f"/console#alert={alert.id}"  # supervisors work from the console
    else:
        body, url = f"{alert.category} - ketuk untuk membuka", f"/officer#alert={alert.id}"
    payload = {
        "type": kind,
        "alert_id": str(alert.id),
        "offer_id": offer_id,
        "category": alert.category,
        "lat": alert.lat,
        "lon": alert.lon,
        "title": _PUSH_TITLES.get(kind, "SOS"),
        "body": body,
        "url": url,
        **({"reason": reason} if kind == "escalation" else {}),
    }
    for subscription in subscriptions:
        await notify.queue(
            session,
            channel="push",
            to=f"push:{subscription.id}",
            body=json.dumps(payload),
            purpose=kind,
            adapter="push",
            alert_id=str(alert.id),
        )


async def subscribe_to_pushes(session: AsyncSession, *, staff_id: int, endpoint: str, p256dh: str, auth: str) -> None:
    """Keep this browser's Web Push subscription for the staff member now signed in on it (a shared device passes
    from one to the next)."""
    existing = await session.scalar(select(PushSubscriptionRecord).where(PushSubscriptionRecord.endpoint == endpoint))
    if existing is None:
        session.add(PushSubscriptionRecord(staff_id=staff_id, endpoint=endpoint, p256dh=p256dh, auth=auth))
    else:
        existing.staff_id, existing.p256dh, existing.auth = staff_id, p256dh, auth
    await session.flush()


# Escalation ---------------------------------------------------------------------------------------------------


async def escalate(
    session: AsyncSession, *, alert: Alert, timer: domain.AckTimeout | domain.DispatchTimeout
) -> list[DomainEvent]:
    """A timer ran out: whatever ``domain.decide`` makes of it (an escalation unless someone has taken the alert,
    see ``domain.on_ack_timeout`` / ``on_dispatch_timeout``) is written, each escalation reaching the parent and
    neighbouring agencies and the supervisors and naming them all on its timeline event. Returns the events."""
    events = domain.decide(alerts.snapshot_of(alert), timer, SYSTEM)
    if not events:
        return []
    named: list[DomainEvent] = []
    for event in events:
        if event.kind is EventKind.ESCALATED:
            targets = await escalate_to_agencies(session, alert=alert, reason=str(event.data["reason"]))
            data = {**event.data, "agencies": targets.agencies, "supervisors": targets.supervisors}
            event = DomainEvent(event.kind, data)
        named.append(event)
    await alerts.apply_events(session, alert, named, SYSTEM)
    return named


@dataclass(frozen=True, slots=True)
class EscalationTargets:
    agencies: list[str]  # codes of the other agencies that now see the alert, flagged
    supervisors: list[str]  # names of the people pushed about it (supervisors, else admins, up the chain)


async def escalate_to_agencies(session: AsyncSession, *, alert: Alert, reason: str) -> EscalationTargets:
    """Let the parent agency and the agencies of neighbouring kecamatan see the alert (their consoles show it
    flagged), and push the supervisors of the alert's agency and those above it. The top command centre has
    neither parent nor, often, neighbours: its supervisors still get the escalation."""
    agency = await session.get(Agency, alert.agency_id)
    targets: set[int] = set()
    if agency is not None and agency.parent_id is not None:
        targets.add(agency.parent_id)
    targets |= await _neighbouring_agencies(session, alert)
    targets.discard(alert.agency_id)
    existing = set(
        (await session.scalars(select(AlertEscalation.agency_id).where(AlertEscalation.alert_id == alert.id))).all()
    )
    for agency_id in sorted(targets - existing):
        session.add(AlertEscalation(alert_id=alert.id, agency_id=agency_id, reason=reason))
    await session.flush()
    codes = sorted((await session.scalars(select(Agency.code).where(Agency.id.in_(targets)))).all())
    people = await _supervisors(session, alert.agency_id)
    if not alert.is_exercise:  # a drill's escalations show on the console; they do not wake anyone's phone
        # The agency's own operators too: whoever of them subscribed from the console hears of it away from it.
        operators = await session.scalars(
            select(Staff).where(
                Staff.agency_id == alert.agency_id, Staff.role == Role.OPERATOR.value, Staff.active.is_(True)
            )
        )
        told = {p.id: p for p in [*people, *operators.all()]}
        await _push_to_staff(session, alert, list(told.values()), kind="escalation", reason=reason)
    return EscalationTargets(agencies=codes, supervisors=sorted(p.name for p in people))


async def _name_targets(session: AsyncSession, alert: Alert, targets: EscalationTargets) -> None:
    """The escalated event a command just wrote (a duress PIN, a hand-back, an operator's escalation) names whom it
    reached, as the timers' escalations do."""
    row = await session.scalar(
        select(AlertEvent)
        .where(AlertEvent.alert_id == alert.id, AlertEvent.kind == EventKind.ESCALATED.value)
        .order_by(AlertEvent.id.desc())
        .limit(1)
    )
    if row is not None and "supervisors" not in row.data:
        row.data = {**row.data, "agencies": targets.agencies, "supervisors": targets.supervisors}
        await session.flush()


async def _supervisors(session: AsyncSession, agency_id: int) -> list[Staff]:
    """The active supervisors of the agency and every agency above it; the admins there if it has none, so an
    escalation always reaches a person."""
    chain: list[int] = []
    current: int | None = agency_id
    while current is not None and current not in chain:
        chain.append(current)
        current = await session.scalar(select(Agency.parent_id).where(Agency.id == current))
    for role in (Role.SUPERVISOR, Role.ADMIN):
        rows = await session.scalars(
            select(Staff)
            .where(Staff.agency_id.in_(chain), Staff.role == role.value, Staff.active.is_(True))
            .order_by(Staff.id)
        )
        found = list(rows.all())
        if found:
            return found
    return []


async def _neighbouring_agencies(session: AsyncSession, alert: Alert) -> set[int]:
    if alert.jurisdiction_id is None:
        return set()
    own = await session.get(Jurisdiction, alert.jurisdiction_id)
    if own is None:
        return set()
    # Touching within ~100 m: neighbouring kecamatan share a border, give or take the data's precision.
    reach = shape(own.geometry).buffer(0.001)
    neighbours = [
        j.id
        for j in (await session.scalars(select(Jurisdiction).where(Jurisdiction.id != own.id))).all()
        if reach.intersects(shape(j.geometry))
    ]
    if not neighbours:
        return set()
    rows = await session.scalars(
        select(JurisdictionAgency.agency_id).where(
            JurisdictionAgency.jurisdiction_id.in_(neighbours), JurisdictionAgency.is_primary.is_(True)
        )
    )
    return set(rows.all())


async def clear_timers(session: AsyncSession, alert_id: uuid.UUID) -> None:
    await session.execute(
        update(Alert)
        .where(Alert.id == alert_id)
        .values(ack_due_at=None, dispatch_due_at=None, offer_due_at=None, backup_due_at=None)
    )


async def withdraw_unit_offers(session: AsyncSession, *, principal: Principal, unit_id: int) -> None:
    """The unit went off duty: decline its pending offers (each alert's next ring becomes due at once)."""
    offers = list(
        (
            await session.scalars(
                select(AlertOffer).where(AlertOffer.unit_id == unit_id, AlertOffer.state == OfferState.PENDING.value)
            )
        ).all()
    )
    for offer in offers:
        # Part of leaving duty, which its caller audits (the officer's going off duty, a deactivation, a drill's end).
        await _decline(session, principal=principal, offer_id=offer.id, reason="off_duty")
