"""Pure report rules: the reporting window, WIB days and ISO weeks, percentiles and officers on duty by hour.

Bucketing happens here, in Python, rather than in SQL: "the day in Jakarta" of a timestamp is spelled differently on
SQLite and PostgreSQL, while a city's month of alerts is small enough to bucket in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum

from siaga.errors import Invalid

# Western Indonesian Time: UTC+7 all year (Indonesia keeps no daylight saving), so a fixed offset is exact and needs
# no time-zone database on the server.
WIB = timezone(timedelta(hours=7), "WIB")
TIMEZONE_NAME = "Asia/Jakarta"
DEFAULT_WEEKS = 8
MAX_DAYS = 366
ALL = "all"  # the week or agency column of a row that sums every week or every agency


class ExerciseFilter(StrEnum):
    """Which data a report counts: real data only (the default), drills and demo data only, or both."""

    EXCLUDE = "exclude"
    ONLY = "only"
    INCLUDE = "include"


@dataclass(frozen=True, slots=True)
class Week:
    """An ISO week, clipped to the report's window."""

    label: str  # e.g. 2026-W47
    start: date  # the Monday (or the window's first day)
    end: date  # the Sunday (or the window's last day), inclusive


@dataclass(frozen=True, slots=True)
class Window:
    """Whole days in WIB, both ends included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        """The first instant, in UTC."""
        return wib_midnight(self.first)

    @property
    def end(self) -> datetime:
        """The instant after the last day, in UTC (exclusive)."""
        return wib_midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def weeks(self) -> list[Week]:
        weeks, day = [], self.first
        while day <= self.last:
            monday = day - timedelta(days=day.weekday())
            end = min(monday + timedelta(days=6), self.last)
            weeks.append(Week(label=week_label(day), start=day, end=end))
            day = end + timedelta(days=1)
        return weeks


def wib_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=WIB).astimezone(UTC)


def wib_date(at: datetime) -> date:
    """The calendar day in Jakarta of a timezone-aware instant."""
    return at.astimezone(WIB).date()


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def report_window(first: date | None, last: date | None, *, today: date) -> Window:
    """The days a report covers. Without dates: the last eight ISO weeks, this one included. ``Invalid`` (a 422)
    for an end before the start or a range longer than a year."""
    if last is None:
        last = today if first is None else min(first + timedelta(days=DEFAULT_WEEKS * 7 - 1), today)
    if first is None:
        monday = last - timedelta(days=last.weekday())
        first = monday - timedelta(weeks=DEFAULT_WEEKS - 1)
    if last < first:
        raise Invalid(
            f"the range ends ({last}) before it starts ({first})",
            code="report.range",
            details={"problems": [{"field": "to", "problem": "must not be before 'from'"}]},
        )
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise Invalid(
            f"the range covers {days} days; at most {MAX_DAYS} are allowed",
            code="report.range_too_long",
            details={
                "max_days": MAX_DAYS,
                "problems": [{"field": "to", "problem": f"at most {MAX_DAYS} days after 'from'"}],
            },
        )
    return Window(first=first, last=last)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The percentile by linear interpolation between closest ranks (PostgreSQL's ``percentile_cont``), or None
    for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * fraction
    low, high = math.floor(rank), math.ceil(rank)
    value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return round(value, 1)


def seconds_between(start: datetime, end: datetime | None) -> float | None:
    """Seconds from ``start`` to ``end``; None if the step never happened (or the clock ran backwards)."""
    if end is None:
        return None
    seconds = (end - start).total_seconds()
    return seconds if seconds >= 0 else None


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True, slots=True)
class DutySpan:
    """An officer's time on duty, cut to the window (``end`` None: still on duty)."""

    staff_id: int
    mode: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class HourOnDuty:
    """Officers on duty at one hour of the day (WIB), over the window's days."""

    hour: int
    average: float  # officer-hours in this hour per day: the mean number of officers on duty
    peak: int  # the most officers on duty during this hour on any one day
    average_by_mode: dict[str, float]


def duty_by_hour(spans: Iterable[DutySpan], window: Window, *, now: datetime, modes: Sequence[str]) -> list[HourOnDuty]:
    """The 24-hour profile of officers on duty: for each hour of the day, the mean over the window's days (of
    the part that has already happened) and the peak."""
    until = min(window.end, now)
    slots = int((until - window.start).total_seconds() // 3600) + 1 if until > window.start else 0
    seconds = [[0.0] * slots for _ in range(len(modes) + 1)]  # index 0: every mode
    present: list[set[int]] = [set() for _ in range(slots)]
    for span in spans:
        start = max(span.start, window.start)
        end = min(span.end or until, until)
        if end <= start:
            continue
        slot = int((start - window.start).total_seconds() // 3600)
        while slot < slots:
            slot_start = window.start + timedelta(hours=slot)
            slot_end = slot_start + timedelta(hours=1)
            if slot_start >= end:
                break
            overlap = (min(end, slot_end) - max(start, slot_start)).total_seconds()
            if overlap > 0:
                seconds[0][slot] += overlap
                if span.mode in modes:
                    seconds[modes.index(span.mode) + 1][slot] += overlap
                present[slot].add(span.staff_id)
            slot += 1
    # Slots are counted from WIB midnight, so slot n is hour n % 24 of some day.
    days_seen = [sum(1 for slot in range(slots) if slot % 24 == hour) for hour in range(24)]
    result = []
    for hour in range(24):
        mine = range(hour, slots, 24)
        divisor = 3600.0 * days_seen[hour] if days_seen[hour] else 1.0
        result.append(
            HourOnDuty(
                hour=hour,
                average=round(sum(seconds[0][s] for s in mine) / divisor, 2),
                peak=max((len(present[s]) for s in mine), default=0),
                average_by_mode={
                    mode: round(sum(seconds[i + 1][s] for s in mine) / divisor, 2) for i, mode in enumerate(modes)
                },
            )
        )
    return result
