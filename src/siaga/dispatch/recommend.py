"""Recommending units for an alert: the nearest available ones, with distance and an ETA estimate."""

from __future__ import annotations

from dataclasses import dataclass

from siaga.responders.models import DutyMode, UnitState
from siaga.responders.tracker import UnitTracker

# Typical urban speeds (m/s) and the time to get going. Roads are longer than the straight line; 1.4 is a common
# detour factor for city grids. These are estimates for ranking and for telling the resident, not promises.
SPEED_MPS = {
    "patrol_car": 8.3,
    "motorbike": 9.7,
    "foot": 1.4,
    "post": 8.3,
    # Emergency vehicles under lights; a fire engine is heavy and slower through traffic.
    "fire_engine": 7.5,
    "ambulance": 8.8,
    "rescue_team": 8.3,
}
DETOUR = 1.4
START_S = {DutyMode.PATROL.value: 30.0, DutyMode.POST.value: 60.0, DutyMode.HOME.value: 240.0}


@dataclass(frozen=True, slots=True)
class Recommendation:
    unit_id: int
    callsign: str
    agency_id: int
    kind: str
    state: str
    duty_mode: str | None
    lat: float
    lon: float
    distance_m: float
    eta_s: float


def eta_seconds(distance_m: float, *, kind: str, duty_mode: str | None) -> float:
    """Seconds for a unit of ``kind`` to cover ``distance_m`` of straight line, including getting going."""
    speed = SPEED_MPS.get(kind, SPEED_MPS["patrol_car"])
    return round(START_S.get(duty_mode or "", 60.0) + distance_m * DETOUR / speed, 1)


def recommend(
    tracker: UnitTracker,
    *,
    lat: float,
    lon: float,
    count: int = 5,
    agencies: frozenset[int] | None = None,
    exclude: frozenset[int] = frozenset(),
    max_distance_m: float = float("inf"),
    states: tuple[str, ...] = (UnitState.AVAILABLE.value, UnitState.OFFERED.value),
    real_alert: bool = False,
    kinds: frozenset[str] | None = None,
) -> list[Recommendation]:
    """The ``count`` nearest free units, nearest first: available ones, and ones only being offered an alert (the
    operator may override an offer at any time). ``kinds``: only units of these types (a fire engine, an
    ambulance), if given."""
    found = tracker.nearest(
        lat,
        lon,
        count=count,
        states=states,
        agencies=agencies,
        exclude=exclude,
        max_distance_m=max_distance_m,
        real_alert=real_alert,
        kinds=kinds,
    )
    return [
        Recommendation(
            unit_id=n.unit.unit_id,
            callsign=n.unit.callsign,
            agency_id=n.unit.agency_id,
            kind=n.unit.kind,
            state=n.unit.state,
            duty_mode=n.unit.duty_mode,
            lat=n.unit.lat or 0.0,
            lon=n.unit.lon or 0.0,
            distance_m=round(n.distance_m, 1),
            eta_s=eta_seconds(n.distance_m, kind=n.unit.kind, duty_mode=n.unit.duty_mode),
        )
        for n in found
    ]
