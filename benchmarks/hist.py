"""Latency histograms: HdrHistogram in microseconds, so a stalled server's tail is kept, not averaged away."""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

HIGHEST_US = 600 * 1_000_000  # ten minutes: nothing a run measures is longer
SIGNIFICANT_DIGITS = 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def new() -> HdrHistogram:
    return HdrHistogram(1, HIGHEST_US, SIGNIFICANT_DIGITS)


def record_seconds(histogram: HdrHistogram, seconds: float) -> None:
    """Record a duration (clamped into the histogram's range, so an absurd value still counts)."""
    histogram.record_value(min(HIGHEST_US, max(1, round(seconds * 1_000_000))))


def encode(histogram: HdrHistogram) -> bytes:
    encoded: bytes = histogram.encode()
    return encoded


def merge(encoded: list[bytes]) -> HdrHistogram:
    """One histogram from several processes' encoded ones."""
    total = new()
    for blob in encoded:
        if blob:
            total.decode_and_add(blob)
    return total


def summary_ms(histogram: HdrHistogram) -> dict[str, Any]:
    """Count, percentiles and max in milliseconds (None when nothing was recorded)."""
    count = int(histogram.get_total_count())
    if count == 0:
        return {"count": 0, "p50": None, "p90": None, "p99": None, "p99.9": None, "max": None, "mean": None}
    out: dict[str, Any] = {"count": count}
    for p in PERCENTILES:
        key = f"p{p:g}"
        out[key] = round(histogram.get_value_at_percentile(p) / 1000, 3)
    out["max"] = round(histogram.get_max_value() / 1000, 3)
    out["mean"] = round(histogram.get_mean_value() / 1000, 3)
    return out
