"""What the simulated city is made of and how its people behave: pure rules and numbers, no I/O.

Every choice draws from a ``random.Random`` the caller seeds, so a run's plan (the fleet, the presses, where and
what they are) is the same for the same ``--seed``. Durations are in simulated seconds; ``Pace`` turns them into
wall-clock seconds for a run that goes faster than life.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "FLEET_MIX",
    "Nature",
    "OfficerPlan",
    "Pace",
    "Shares",
    "fleet_requests",
    "next_press_in",
    "pick_category",
    "pick_nature",
    "plan_fleet",
    "report_for",
]


class Nature(StrEnum):
    """What a press really is (known to the simulator; staff find out by calling back or going there)."""

    GENUINE = "genuine"
    ACCIDENTAL = "accidental"
    PRANK = "prank"


@dataclass(frozen=True, slots=True)
class Shares:
    """How presses split. Indonesian 112 lines see 23-89% prank calls; a button with a verified identity deters
    most of them, while pocket presses are common: hence the defaults."""

    accidental: float = 0.25
    prank: float = 0.10
    #: Accidental presses the resident notices and cancels with the PIN (the rest are found out by staff).
    noticed: float = 0.9

    def __post_init__(self) -> None:
        if not (0 <= self.accidental <= 1 and 0 <= self.prank <= 1 and self.accidental + self.prank <= 1):
            raise ValueError("the accidental and prank shares must be between 0 and 1 and add up to at most 1")


def pick_nature(rng: random.Random, shares: Shares) -> Nature:
    roll = rng.random()
    if roll < shares.accidental:
        return Nature.ACCIDENTAL
    if roll < shares.accidental + shares.prank:
        return Nature.PRANK
    return Nature.GENUINE


# After Bandung 112's mix of calls: crime and accidents lead, then health.
CATEGORY_WEIGHTS: dict[str, float] = {
    "kriminalitas": 0.30,
    "kecelakaan": 0.22,
    "kesehatan": 0.18,
    "kdrt": 0.08,
    "kebakaran": 0.05,
    "kerusuhan": 0.04,
    "bencana_alam": 0.03,
    "lainnya": 0.10,
}


def pick_category(rng: random.Random) -> str:
    return rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()), k=1)[0]


# A mass event (an earthquake, a flood): most press for the disaster itself, many are hurt, some for what follows.
MASS_EVENT_CATEGORY_WEIGHTS: dict[str, float] = {
    "bencana_alam": 0.65,
    "kesehatan": 0.25,
    "kebakaran": 0.05,
    "lainnya": 0.05,
}


@dataclass(frozen=True, slots=True)
class MassEvent:
    """A disaster in one kecamatan: ``presses`` residents there press SOS within ``seconds``, ``after_s`` seconds
    (wall clock) into the simulation."""

    kecamatan: str  # its code or name, as GET /jurisdictions lists it
    presses: int = 300
    seconds: float = 60.0
    after_s: float = 30.0

    def __post_init__(self) -> None:
        if self.presses < 1 or self.seconds <= 0 or self.after_s < 0:
            raise ValueError("a mass event needs at least one press, a positive length and a start that is not past")

    def press_times(self, rng: random.Random) -> list[float]:
        """Seconds after the event starts at which each resident presses: spread at random over its length."""
        return sorted(rng.uniform(0, self.seconds) for _ in range(self.presses))


def pick_mass_event_category(rng: random.Random) -> str:
    weights = MASS_EVENT_CATEGORY_WEIGHTS
    return rng.choices(list(weights), weights=list(weights.values()), k=1)[0]


def next_press_in(rng: random.Random, per_minute: float) -> float:
    """Seconds to the next press: presses by many independent people form a Poisson process."""
    if per_minute <= 0:
        raise ValueError("the press rate must be positive")
    return rng.expovariate(per_minute / 60.0)


@dataclass(frozen=True, slots=True)
class OfficerPlan:
    """One simulated officer: which agency (a Polsek, a Damkar sector, PSC 119, BPBD), which kind of unit, and how
    they are on duty."""

    agency_id: int
    agency_code: str
    kind: str  # patrol_car, motorbike, foot, post; fire_engine, ambulance, rescue_team
    mode: str  # patrol, post, home


# (unit kind, duty mode, share): most patrol in cars and on motorbikes, a quarter keep posts, some are on call at
# home with their car.
FLEET_MIX: tuple[tuple[str, str, float], ...] = (
    ("patrol_car", "patrol", 0.30),
    ("motorbike", "patrol", 0.25),
    ("foot", "patrol", 0.05),
    ("post", "post", 0.25),
    ("patrol_car", "home", 0.15),
)


def plan_fleet(agencies: Sequence[tuple[int, str]], count: int, rng: random.Random) -> list[OfficerPlan]:
    """``count`` officers spread evenly over ``agencies`` (id, code), each with a kind and duty mode drawn from
    ``FLEET_MIX``."""
    if not agencies:
        raise ValueError("no agency to put officers in")
    weights = [share for _, _, share in FLEET_MIX]
    plans = []
    for index in range(count):
        agency_id, code = agencies[index % len(agencies)]
        kind, mode, _ = rng.choices(FLEET_MIX, weights=weights, k=1)[0]
        plans.append(OfficerPlan(agency_id=agency_id, agency_code=code, kind=kind, mode=mode))
    return plans


# The agencies beside the police: the unit each keeps and how it waits (fire engines and ambulances at their
# stations), and which share of the city's officers are theirs.
SERVICE_UNITS: dict[str, tuple[str, str]] = {
    "damkar": ("fire_engine", "post"),
    "psc119": ("ambulance", "post"),
    "bpbd": ("rescue_team", "post"),
}
SERVICE_SHARE = 0.15

# The unit an operator sends first for a category (the recommendation filtered to it), when there is one.
UNIT_FOR_CATEGORY: dict[str, str] = {
    "kebakaran": "fire_engine",
    "kesehatan": "ambulance",
    "bencana_alam": "rescue_team",
}


def plan_service_fleet(agencies: Sequence[tuple[int, str, str]], count: int) -> list[OfficerPlan]:
    """``count`` crews spread evenly over the agencies beside the police (id, code, kind), each with its kind's
    unit and way of waiting (``SERVICE_UNITS``)."""
    plans = []
    for index in range(count if agencies else 0):
        agency_id, code, kind = agencies[index % len(agencies)]
        unit, mode = SERVICE_UNITS[kind]
        plans.append(OfficerPlan(agency_id=agency_id, agency_code=code, kind=unit, mode=mode))
    return plans


def fleet_requests(plans: Sequence[OfficerPlan]) -> list[tuple[int, str, int]]:
    """The exercise API creates officers per agency and unit kind: (agency id, kind, how many), in a stable order."""
    counts = Counter((p.agency_id, p.kind) for p in plans)
    return [(agency_id, kind, n) for (agency_id, kind), n in sorted(counts.items())]


# Street speeds in m/s: patrolling is slow (looking around), responding is as fast as Bandung traffic allows.
PATROL_SPEED_MPS = {"patrol_car": 6.0, "motorbike": 7.0, "foot": 1.3, "post": 6.0}
RESPONSE_SPEED_MPS = {
    "patrol_car": 10.0,
    "motorbike": 11.0,
    "foot": 2.5,
    "post": 10.0,
    "fire_engine": 8.5,
    "ambulance": 10.5,
    "rescue_team": 9.5,
}
# Seconds from taking an alert to rolling: patrols are already moving, posts must leave, home means getting ready.
START_DELAY_S = {"patrol": (5.0, 20.0), "post": (20.0, 60.0), "home": (60.0, 180.0)}


@dataclass(frozen=True, slots=True)
class Pace:
    """Simulated time against wall-clock time: ``scale`` 10 plays ten simulated seconds in one real second."""

    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError("the time scale must be positive")

    def wall(self, simulated_s: float) -> float:
        return simulated_s / self.scale

    def human(self, rng: random.Random, low: float, high: float) -> float:
        """A person's delay of ``low``..``high`` simulated seconds, in wall-clock seconds."""
        return self.wall(rng.uniform(low, high))


REPORTS: dict[str, tuple[str, ...]] = {
    "kriminalitas": ("Pelaku kabur, korban aman, laporan dibuat", "Pelaku diamankan dan dibawa ke Polsek"),
    "kecelakaan": ("Korban luka ringan, ditangani di tempat", "Korban dibawa ke rumah sakit, lalu lintas diatur"),
    "kesehatan": ("Warga dibawa ke puskesmas terdekat", "Ambulans tiba, pasien stabil"),
    "kdrt": ("Korban diamankan, pelapor didampingi ke Unit PPA", "Situasi tenang, kedua pihak dimediasi"),
    "kebakaran": ("Api dipadamkan bersama Damkar", "Kebakaran kecil, tidak ada korban"),
    "kerusuhan": ("Massa dibubarkan, situasi kondusif", "Keributan reda setelah petugas tiba"),
    "bencana_alam": ("Warga dievakuasi ke tempat aman", "Pohon tumbang disingkirkan, jalan dibuka"),
    "lainnya": ("Bantuan diberikan, warga aman", "Situasi terkendali"),
}
OUTCOMES = {Nature.GENUINE: "genuine", Nature.ACCIDENTAL: "false_alarm", Nature.PRANK: "prank"}
OTHER_REPORTS = {
    Nature.ACCIDENTAL: "Tidak ada kejadian: tombol tertekan tidak sengaja",
    Nature.PRANK: "Laporan iseng: tidak ada kejadian di lokasi, pelapor diberi teguran",
}


def report_for(nature: Nature, category: str, rng: random.Random) -> tuple[str, str]:
    """The outcome and a short report in Bahasa Indonesia, as an officer would write it."""
    if nature is Nature.GENUINE:
        return OUTCOMES[nature], rng.choice(REPORTS.get(category, REPORTS["lainnya"]))
    return OUTCOMES[nature], OTHER_REPORTS[nature]
