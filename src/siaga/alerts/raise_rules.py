"""The one set of rules for a new alert, whatever channel it came through (the app, an SMS, a panic button, a
tracker, a partner centre): who raised it, what its row, flags, timers and first event are. Pure, no I/O: the batched
writer (``alerts.raising.store``) applies them to every alert it opens, a batch of one included."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from siaga.accounts.domain import Actor, ActorKind
from siaga.agencies.domain import AgencyTerms
from siaga.alerts.domain import AlertState, Category, Priority


class CallerKind(StrEnum):
    """Who raises an alert. Today a resident (the app's press, and the follow-up Siaga raises for a duress PIN);
    fixed panic devices, GPS trackers and other command centres are the next kinds (issue 16)."""

    RESIDENT = "resident"
    SITE = "site"  # a fixed panic button's site (siaga.devices): raised by the site's own caller row
    PARTNER = "partner"  # another command centre handing an incident over (siaga.partners): its own caller row
    UNIT = "unit"  # an officers' unit whose tracker sent an SOS: an officer in danger (siaga.trackers), its caller row


@dataclass(frozen=True, slots=True)
class Caller:
    """Who raised the alert, as the audit and the timeline name them."""

    kind: CallerKind
    id: str  # a stable id (a resident's UUID)
    name: str
    resident_id: uuid.UUID | None = None  # the resident the alert is for
    session_expired: bool = False  # raised on a sign-in that had lapsed: stored, and flagged for the console
    unregistered: bool = False  # an SMS from a number with no account (Siaga made a bare one): flagged
    unverified: bool = False  # a structured SOS SMS whose signature did not verify: flagged, never refused


@dataclass(frozen=True, slots=True)
class Position:
    lat: float
    lon: float
    accuracy_m: float | None = None
    recorded_at: datetime | None = None  # the sender's clock: informative only


@dataclass(frozen=True, slots=True)
class RaiseRequest:
    """One request to raise an alert, from any channel. ``id`` is the sender's (a retry sends it again) and
    ``fingerprint`` the hash of what it sent (the same id with another fingerprint is another press)."""

    id: uuid.UUID
    fingerprint: str
    caller: Caller
    category: Category
    received_at: datetime  # the alert's created_at: its timers count from the server's receipt
    channel: str = "app"
    position: Position | None = None
    silent: bool = False
    description: str = ""
    battery: int | None = None
    pressed_at: datetime | None = None  # the sender's clock: informative only
    client_ip: str = ""
    follows_id: uuid.UUID | None = None  # the alert this one follows (a duress PIN after staff closed it)
    place_hint: str | None = None  # a kecamatan code that places a request without a position (a feature phone's
    # SOS goes to its resident's NIK kecamatan); a position always wins
    agency_id: int | None = None  # the agency the channel names responsible (an officer's SOS goes to their unit's
    # agency); the routing table's agencies for the place are informed

    @property
    def officer_emergency(self) -> bool:
        """An officer in danger (their unit's tracker sent an SOS): critical from the start, flagged for the console."""
        return self.caller.kind is CallerKind.UNIT

    @property
    def may_join(self) -> bool:
        """A press while the resident's alert is active joins that alert; a follow-up is always an alert of its
        own (the person is in danger now, whatever else is open). A partner's incidents are each an alert of their
        own: one caller row stands for every incident the partner hands over."""
        return self.follows_id is None and self.caller.kind is not CallerKind.PARTNER


CHANNELS = ("app", "sms", "device", "gateway", "tracker", "partner")  # where an alert came in (``alerts.channel``)


def same_press(
    *,
    stored_resident: uuid.UUID,
    stored_fingerprint: str,
    stored_channel: str,
    resident: uuid.UUID | None,
    fingerprint: str,
    channel: str,
) -> bool:
    """Whether a request whose id is already stored is that press again (answered from it) rather than another
    press reusing its id (refused). A retry sends the same content; the same resident's id from another channel is
    the same press too: the app's SMS copy of a press and the press itself, whichever came first, are one alert."""
    if stored_resident != resident:
        return False
    return stored_fingerprint == fingerprint or stored_channel != channel


def fingerprint(payload: dict[str, Any]) -> str:
    """A request's fingerprint: a retry sends the same content, a different request reusing the id does not."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Raiser:
    """The resident an alert is raised for, as the rules need them."""

    id: uuid.UUID
    phone: str
    name: str | None
    nik: str | None
    strikes: int
    suspended: bool
    suspended_reason: str | None
    is_exercise: bool  # a drill account: its alerts are exercises
    contacts: list[str] = field(default_factory=list)  # emergency contacts' numbers, in the order they were added

    @property
    def shown_name(self) -> str:
        """The caller's name as the console shows it (the number if unnamed)."""
        return self.name or self.phone

    def actor(self) -> Actor:
        return Actor(kind=ActorKind.RESIDENT, id=str(self.id), name=self.shown_name)


NO_LOCATION = "no_location"  # the placement of an alert raised without a position


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a new alert falls: its kecamatan (None outside every one, or without a position) and how."""

    jurisdiction_id: int | None
    jurisdiction_code: str | None
    method: str  # inside | overlap | nearest | default | no_location
    distance_m: float


UNPLACED = Placed(None, None, NO_LOCATION, 0.0)


@dataclass(frozen=True, slots=True)
class Deadlines:
    ack_due_at: datetime  # T1: escalates unless someone takes it
    dispatch_due_at: datetime  # T2: escalates unless a unit is sent
    offer_due_at: datetime | None  # direct offers to the nearest units, where the agency makes them


def deadlines(
    created_at: datetime, agency: AgencyTerms, *, ack_default_s: int, dispatch_default_s: int, now: datetime
) -> Deadlines:
    """A new alert's timers, counted from the server's receipt of the press as the console counts them: the
    agency's T1 and T2 (else the process defaults), T2 never before T1, and direct offers at once where the agency
    makes them."""
    t1 = agency.ack_timeout_s or ack_default_s
    t2 = agency.dispatch_timeout_s or dispatch_default_s
    return Deadlines(
        ack_due_at=created_at + timedelta(seconds=t1),
        dispatch_due_at=created_at + timedelta(seconds=max(t2, t1)),
        offer_due_at=now if agency.direct_offers else None,
    )


def raise_flags(request: RaiseRequest, raiser: Raiser) -> list[dict[str, Any]]:
    """What the console is told about a new alert beside it (``flagged`` events by Siaga): never reasons to
    refuse an SOS."""
    flags: list[dict[str, Any]] = []
    if request.officer_emergency:
        flags.append({"reason": "officer_emergency"})
    if request.position is None:
        flags.append({"reason": "no_location"})
    if raiser.suspended:
        flags.append({"reason": "resident_suspended", "strikes": raiser.strikes, "note": raiser.suspended_reason or ""})
    if request.caller.session_expired:
        flags.append({"reason": "session_expired"})
    if request.caller.unregistered:
        flags.append({"reason": "unregistered_number"})
    if request.caller.unverified:
        flags.append({"reason": "unverified_sms"})
    return flags


def created_data(
    request: RaiseRequest,
    raiser: Raiser,
    agency: AgencyTerms,
    where: Placed,
    *,
    informed: Sequence[AgencyTerms] = (),
) -> dict[str, Any]:
    """The ``created`` event's data: ``agency`` is responsible, ``informed`` the agencies told besides it."""
    return {
        "category": request.category.value,
        "placement": where.method,
        "jurisdiction": where.jurisdiction_code,
        "agency": agency.code,
        "informed": [other.code for other in informed],
        "silent": request.silent,
        "identity_complete": bool(raiser.name and raiser.nik),
        "channel": request.channel,
    }


def new_alert(
    request: RaiseRequest,
    raiser: Raiser,
    agency: AgencyTerms,
    where: Placed,
    due: Deadlines,
    *,
    map_centre: tuple[float, float],
    informed: Sequence[AgencyTerms] = (),
) -> dict[str, Any]:
    """The new alert's row (column: value): ``agency`` is responsible, ``informed`` told besides it."""
    position = request.position
    return {
        "id": request.id,
        "request_hash": request.fingerprint,
        "channel": request.channel,
        "resident_id": raiser.id,
        "follows_id": request.follows_id,
        "agency_id": agency.id,
        "informed_agency_ids": [other.id for other in informed],
        "jurisdiction_id": where.jurisdiction_id,
        "placement": where.method,
        "placement_distance_m": where.distance_m,
        "state": AlertState.NEW.value,
        "category": request.category.value,
        "priority": (Priority.CRITICAL if request.officer_emergency else Priority.NORMAL).value,
        "silent": request.silent,
        "duress": False,
        "escalated": False,
        "resident_suspended": raiser.suspended,
        "is_exercise": raiser.is_exercise,
        "delivery_failed": False,
        # Without a fix the map shows the alert at its kecamatan's centre (placed by a hint), or else the city's,
        # until the phone sends its first point.
        "lat": position.lat if position else map_centre[0],
        "lon": position.lon if position else map_centre[1],
        "accuracy_m": position.accuracy_m if position else None,
        "located_at": position.recorded_at if position else None,
        "battery": request.battery,
        "pressed_at": request.pressed_at,
        "description": request.description,
        "report": "",
        "created_at": request.received_at,
        "updated_at": request.received_at,
        "version": 1,
        "ack_due_at": due.ack_due_at,
        "dispatch_due_at": due.dispatch_due_at,
        "offer_due_at": due.offer_due_at,
        "offer_ring": 0,
        "press_count": 1,
    }


def repeated_press_milestone(before: int, after: int) -> int | None:
    """When a resident's presses on one active alert go from ``before`` to ``after``, the largest count on the
    1-2-5 scale (2, 5, 10, 20, 50, ...) passed on the way, if any: the console is told at those counts, so a
    thousand presses make a handful of flags, not a thousand events."""
    crossed: int | None = None
    scale = 1
    while scale * 2 <= after:
        for step in (2, 5, 10):
            milestone = scale * step
            if before < milestone <= after:
                crossed = milestone
        scale *= 10
    return crossed
