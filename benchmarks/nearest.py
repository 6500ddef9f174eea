"""Recommendation: the nearest 5 available units among 1,000 / 10,000 / 100,000 on duty.

Measured in-process on the code the server runs for it (``siaga.dispatch.recommend.recommend`` over a
``siaga.responders.tracker.UnitTracker``), so the figure is the time *inside the server*, without HTTP, auth or the
database around it. Units are spread uniformly over Bandung; a fifth of them are busy (assigned, en route, on
scene), so the search has to look past them; queries are uniform over the same area.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks import hist
from benchmarks.httpload import BANDUNG
from siaga.dispatch.recommend import recommend
from siaga.responders.tracker import UnitPoint, UnitTracker

BUSY = ("assigned", "en_route", "on_scene")


def build_tracker(units: int, rng: random.Random) -> UnitTracker:
    tracker = UnitTracker()
    now = datetime.now(UTC)
    for unit_id in range(1, units + 1):
        state = "available" if rng.random() >= 0.2 else rng.choice(BUSY)
        tracker.update(
            UnitPoint(
                unit_id=unit_id,
                callsign=f"U-{unit_id}",
                agency_id=1 + unit_id % 28,
                kind="patrol_car",
                state=state,
                lat=rng.uniform(BANDUNG[0], BANDUNG[1]),
                lon=rng.uniform(BANDUNG[2], BANDUNG[3]),
                at=now,
                duty_mode="patrol",
            )
        )
    return tracker


def measure(units: int, queries: int, *, seed: int = 11) -> dict[str, Any]:
    rng = random.Random(seed + units)
    started = time.monotonic()
    tracker = build_tracker(units, rng)
    built_s = time.monotonic() - started
    for _ in range(min(200, queries)):  # warm up
        recommend(tracker, lat=rng.uniform(BANDUNG[0], BANDUNG[1]), lon=rng.uniform(BANDUNG[2], BANDUNG[3]), count=5)
    latency = hist.new()
    short = 0
    for _ in range(queries):
        lat, lon = rng.uniform(BANDUNG[0], BANDUNG[1]), rng.uniform(BANDUNG[2], BANDUNG[3])
        began = time.perf_counter()
        found = recommend(tracker, lat=lat, lon=lon, count=5)
        hist.record_seconds(latency, time.perf_counter() - began)
        short += len(found) < 5
    return {
        "units": units,
        "queries": queries,
        "latency_ms": hist.summary_ms(latency),
        "answers_with_fewer_than_5": short,
        "tracker_build_s": round(built_s, 2),
    }


# A deployment with few units over two cities (Bandung, one unit in Jakarta): the search's bound cannot stop early when
# fewer units qualify than it wants, so this is where a ring search that walks empty cells was slowest.
SPARSE_UNITS = ((-6.9147, 107.6098), (-6.8847, 107.6098), (-6.2, 106.8))
SPARSE_QUERIES = {"inside Bandung": (-6.905, 107.62), "80 km out (Tasikmalaya)": (-7.33, 108.22)}


def measure_sparse(queries: int) -> list[dict[str, Any]]:
    tracker = UnitTracker()
    now = datetime.now(UTC)
    for unit_id, (lat, lon) in enumerate(SPARSE_UNITS, start=1):
        tracker.update(
            UnitPoint(
                unit_id=unit_id, callsign=f"U-{unit_id}", agency_id=1, kind="patrol_car", state="available",
                lat=lat, lon=lon, at=now, duty_mode="patrol",
            )
        )  # fmt: skip
    measured = []
    for where, (lat, lon) in SPARSE_QUERIES.items():
        latency = hist.new()
        for _ in range(queries):
            began = time.perf_counter()
            recommend(tracker, lat=lat, lon=lon, count=5)
            hist.record_seconds(latency, time.perf_counter() - began)
        measured.append({"where": where, "units": len(SPARSE_UNITS), "queries": queries, **hist.summary_ms(latency)})
    return measured
