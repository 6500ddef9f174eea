"""Report shapes. Every report has the period it covers and flat ``rows``; its CSV is exactly those rows."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from siaga.reports.domain import ExerciseFilter

SECONDS = "Seconds from the press reaching the server"
WEEK = "ISO week (e.g. 2026-W47) in WIB, or 'all' for the whole period"


class ReportPeriod(BaseModel):
    """What a report covers."""

    from_date: date = Field(description="First day, in WIB (Asia/Jakarta)")
    to_date: date = Field(description="Last day, in WIB, included")
    timezone: str = Field(description="Days, weeks and hours are those of this time zone")
    exercise: ExerciseFilter = Field(
        description="exclude: real data only; only: drills and demo data only; include: both"
    )
    agency_code: str | None = Field(description="The agency (and those below it) the report is narrowed to")
    generated_at: datetime


class Report(BaseModel):
    period: ReportPeriod


# Residents ---------------------------------------------------------------------------------------------------


class ResidentWeekRow(BaseModel):
    """Residents of one kecamatan in one ISO week.

    A resident belongs to the kecamatan of their NIK (its first six digits, matched to a jurisdiction's NIK prefix:
    where they are registered to live, not where they press); without a NIK, or with a NIK from a kecamatan Siaga
    does not hold, to 'unknown'."""

    week: str = Field(description="ISO week in WIB, e.g. 2026-W47 (the first and last are cut to the period)")
    week_start: date
    kecamatan_code: str = Field(description="The jurisdiction's code, or 'unknown'")
    kecamatan_name: str
    registered: int = Field(description="Residents registered by the end of the week")
    new: int = Field(description="Residents who registered during the week")
    active: int = Field(
        description="Active residents: those who pressed SOS or opened a session (verified their phone) that week"
    )


class ResidentsReport(Report):
    rows: list[ResidentWeekRow]


# Alerts ------------------------------------------------------------------------------------------------------


class AlertDayRow(BaseModel):
    """Alerts raised on one day (WIB) in one kecamatan in one category. Days, kecamatan and categories without an
    alert have no row."""

    day: date
    kecamatan_code: str = Field(description="Where the alert was placed; 'unknown' outside every kecamatan")
    kecamatan_name: str
    category: str
    alerts: int


class AlertsReport(Report):
    rows: list[AlertDayRow]


# Response times ----------------------------------------------------------------------------------------------


class ResponseTimeRow(BaseModel):
    """How fast one agency (or all of them, 'all') answered in one ISO week (or the whole period, 'all'), by the
    week the alert was raised. Percentiles interpolate linearly between ranks (PostgreSQL's percentile_cont); n
    counts the alerts that reached the step."""

    week: str = Field(description=WEEK)
    week_start: date | None
    agency_code: str = Field(description="The agency the alert was routed to, or 'all'")
    agency_name: str
    alerts: int
    acknowledge_n: int
    acknowledge_p50_s: float | None = Field(description=f"{SECONDS} to an operator's acknowledgement")
    acknowledge_p90_s: float | None
    dispatch_n: int
    dispatch_p50_s: float | None = Field(description=f"{SECONDS} to a unit being dispatched")
    dispatch_p90_s: float | None
    arrive_n: int
    arrive_p50_s: float | None = Field(description=f"{SECONDS} to the unit on scene")
    arrive_p90_s: float | None
    resolve_n: int
    resolve_p50_s: float | None = Field(description=f"{SECONDS} to resolved (cancelled alerts are not counted)")
    resolve_p90_s: float | None


class ResponseTimesReport(Report):
    rows: list[ResponseTimeRow]


# Outcomes ----------------------------------------------------------------------------------------------------


class OutcomeRow(BaseModel):
    """Alerts raised in one ISO week (or 'all') by how they ended. Shares and the prank rate are of the alerts
    resolved with an outcome."""

    week: str = Field(description=WEEK)
    week_start: date | None
    alerts: int
    open: int = Field(description="Still being handled")
    cancelled: int = Field(description="Cancelled by the resident")
    resolved: int = Field(description="Resolved with an outcome")
    genuine: int
    false_alarm: int
    prank: int
    test: int
    duplicate: int
    genuine_share: float | None
    false_alarm_share: float | None
    prank_share: float | None = Field(description="The prank rate: pranks / resolved")
    test_share: float | None
    duplicate_share: float | None


class OutcomesReport(Report):
    rows: list[OutcomeRow]


# Moderation --------------------------------------------------------------------------------------------------


class ModerationRow(BaseModel):
    """Strikes (a prank outcome), suspensions, reinstatements and appeals in one ISO week (or 'all')."""

    week: str = Field(description=WEEK)
    week_start: date | None
    strikes: int
    suspensions: int
    reinstatements: int
    appeals: int


class ModerationNow(BaseModel):
    """The residents in view as they are now, whatever the period."""

    suspended: int
    with_strikes: int


class ModerationReport(Report):
    rows: list[ModerationRow]
    now: ModerationNow


# Officers on duty --------------------------------------------------------------------------------------------


class DutyHourRow(BaseModel):
    """Officers on duty at one hour of the day (WIB), over the days of the period (the part that has happened)."""

    hour: int = Field(ge=0, le=23)
    average_on_duty: float = Field(description="Officer-hours in this hour per day: the mean officers on duty")
    peak_on_duty: int = Field(description="The most officers on duty during this hour on one day")
    average_post: float = Field(description="The mean officers on duty at a post")
    average_patrol: float
    average_home: float = Field(description="The mean officers on duty from home")


class DutyReport(Report):
    rows: list[DutyHourRow]


# Kecamatan summary (the map) ---------------------------------------------------------------------------------


class KecamatanRow(BaseModel):
    """One kecamatan over the whole period: the figures the map shades by."""

    kecamatan_code: str = Field(description="The jurisdiction's code, or 'unknown'")
    kecamatan_name: str
    registered: int = Field(description="Residents (by NIK kecamatan) registered by the end of the period")
    new: int = Field(description="Residents who registered during the period")
    active: int = Field(description="Residents who pressed SOS or opened a session during the period")
    alerts: int = Field(description="Alerts placed in this kecamatan")
    prank: int
    prank_rate: float | None = Field(description="Pranks / alerts resolved with an outcome")
    acknowledge_p50_s: float | None
    arrive_p50_s: float | None


class KecamatanReport(Report):
    rows: list[KecamatanRow]
