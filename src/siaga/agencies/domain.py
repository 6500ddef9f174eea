"""Agencies' rules for a new alert: pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class AgencyTerms:
    """An agency as a new alert needs it: who owns the alert, when it escalates (T1 unacknowledged, T2 without a
    unit; None: the process default) and whether the agency offers it to its nearest units at once."""

    id: int
    code: str
    ack_timeout_s: int | None
    dispatch_timeout_s: int | None
    direct_offers: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    """An agency that may own an alert no kecamatan places: the configured one, or one at the top."""

    terms: AgencyTerms
    top: bool  # no parent agency
    command_centre: bool


def choose_default_agency(candidates: Sequence[Candidate], *, configured_code: str) -> AgencyTerms | None:
    """The agency for alerts outside every jurisdiction (or without a position): the configured one, else the top
    command centre, else the first top agency (``candidates`` in the order the agencies were made). None: there is
    no agency at all, and the caller makes one (an alert is never left without an agency)."""
    if configured_code:
        for candidate in candidates:
            if candidate.terms.code == configured_code:
                return candidate.terms
    tops = [c for c in candidates if c.top]
    for candidate in tops:
        if candidate.command_centre:
            return candidate.terms
    return tops[0].terms if tops else None


# Routing by what happened ------------------------------------------------------------------------------------------


class Service(StrEnum):
    """What kind of help an agency gives: the routing table sends each category to services, in order."""

    POLICE = "police"  # Polda, Polres, Polsek: placed by the kecamatan -> agency table
    DAMKAR = "damkar"  # fire and rescue
    PSC119 = "psc119"  # medical: PSC 119 and its ambulances
    BPBD = "bpbd"  # disaster management
    CALL_CENTRE = "call_centre"  # the city's call centre


#: The service of each agency kind. The command centre gives none of its own: it sees every agency below it and
#: takes what no agency covers (``choose_default_agency``).
KIND_SERVICE: dict[str, Service] = {
    "polda": Service.POLICE,
    "polres": Service.POLICE,
    "polsek": Service.POLICE,
    "damkar": Service.DAMKAR,
    "psc119": Service.PSC119,
    "bpbd": Service.BPBD,
    "call_centre": Service.CALL_CENTRE,
}


def offer_kinds(kind: str) -> frozenset[str]:
    """The agency kinds whose units a direct offer may ring for an alert that an agency of ``kind`` holds: units
    that give the same help (a crime rings police patrols, never a fire engine or an ambulance). An agency that
    gives no service of its own (the command centre) is police for this, as its alerts always were."""
    service = KIND_SERVICE.get(kind, Service.POLICE)
    kinds = {k for k, given in KIND_SERVICE.items() if given is service}
    if service is Service.POLICE:
        kinds.add("command_centre")
    return frozenset(kinds)


#: The routing table a deployment starts with (an administrator's row for a category replaces its default).
DEFAULT_ROUTES: dict[str, tuple[Service, ...]] = {
    "kriminalitas": (Service.POLICE,),
    "kecelakaan": (Service.POLICE, Service.PSC119),
    "kebakaran": (Service.DAMKAR, Service.POLICE),
    "kesehatan": (Service.PSC119,),
    "kdrt": (Service.POLICE,),
    "bencana_alam": (Service.BPBD, Service.POLICE),
    "kerusuhan": (Service.POLICE,),
    "lainnya": (Service.POLICE,),
}


class UnitKind(StrEnum):
    """What a unit is (``units.kind``): the police's, and the other agencies' (a recommendation can ask for one)."""

    PATROL_CAR = "patrol_car"
    MOTORBIKE = "motorbike"
    FOOT = "foot"
    POST = "post"
    FIRE_ENGINE = "fire_engine"  # Damkar
    AMBULANCE = "ambulance"  # PSC 119
    RESCUE_TEAM = "rescue_team"  # Damkar's rescue, BPBD's quick reaction team (TRC)


@dataclass(frozen=True, slots=True)
class Route:
    """Who gets an alert: the one responsible agency (it acknowledges, its timers run, escalation starts from it;
    None: no agency covers the place, and the default agency takes it) and the agencies informed (they see it on
    their consoles and may send their own units)."""

    responsible: int | None
    informed: tuple[int, ...] = ()


def route(services: Sequence[Service], covering: Mapping[Service, Sequence[int]]) -> Route:
    """Route an alert whose category goes to ``services`` (the routing table's row, in order), given the agencies
    of each service whose area holds the alert (``covering``, best first). Each service contributes its first
    covering agency; the first service with one gives the responsible agency, the others are informed. A service
    with no agency there is skipped, so a kebakaran outside every Damkar sector goes to the police."""
    chosen: list[int] = []
    for service in services:
        for agency_id in covering.get(service, ()):
            if agency_id not in chosen:
                chosen.append(agency_id)
            break
    if not chosen:
        return Route(None)
    return Route(chosen[0], tuple(chosen[1:]))
