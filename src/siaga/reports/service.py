"""The reports a city needs: alerts, response times, outcomes, moderation and officers on duty (residents: see
``residents``).

Each report reads the rows of its period with simple SQL (filtered and, where it is plain, counted there) and
buckets them by WIB day, ISO week or hour in Python (see ``domain``), which reads the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.models import ModerationRecord, Resident, Staff
from siaga.agencies.models import Agency, Jurisdiction
from siaga.alerts.domain import AlertState, Outcome
from siaga.alerts.models import Alert
from siaga.reports import domain
from siaga.reports import scope as scoping
from siaga.reports.domain import ALL, ExerciseFilter, Week, Window, percentile, rate, seconds_between, wib_date
from siaga.reports.schemas import (
    AlertDayRow,
    DutyHourRow,
    ModerationNow,
    ModerationRow,
    OutcomeRow,
    ResponseTimeRow,
)
from siaga.reports.scope import ReportScope
from siaga.responders.models import DutyMode, DutyPeriod, Unit

UNKNOWN = "unknown"
UNKNOWN_NAME = "(unknown)"


@dataclass(frozen=True, slots=True)
class Query:
    """One report request: its days, who asks (as a scope) and which data."""

    window: Window
    scope: ReportScope
    exercise: ExerciseFilter


@dataclass(frozen=True, slots=True)
class Kecamatan:
    id: int | None
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class AlertFact:
    created_at: datetime
    agency_id: int
    jurisdiction_id: int | None
    category: str
    state: str
    outcome: str | None
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    on_scene_at: datetime | None
    closed_at: datetime | None

    @property
    def resolve_at(self) -> datetime | None:
        return self.closed_at if self.state == AlertState.RESOLVED else None


# Loading ------------------------------------------------------------------------------------------------------


async def kecamatan_list(session: AsyncSession, scope: ReportScope) -> list[Kecamatan]:
    rows = await session.execute(
        select(Jurisdiction.id, Jurisdiction.code, Jurisdiction.name)
        .where(scoping.kecamatan_in_scope(scope))
        .order_by(Jurisdiction.code)
    )
    return [Kecamatan(id=jid, code=code, name=name) for jid, code, name in rows.all()]


async def alert_facts(session: AsyncSession, query: Query) -> list[AlertFact]:
    """The alerts raised in the window that the scope covers."""
    rows = await session.execute(
        select(
            Alert.created_at,
            Alert.agency_id,
            Alert.jurisdiction_id,
            Alert.category,
            Alert.state,
            Alert.outcome,
            Alert.acknowledged_at,
            Alert.dispatched_at,
            Alert.on_scene_at,
            Alert.closed_at,
        )
        .join(Resident, Resident.id == Alert.resident_id)
        .where(
            Alert.created_at >= query.window.start,
            Alert.created_at < query.window.end,
            scoping.alerts_in_scope(query.scope),
            scoping.alerts_counted(query.exercise),
        )
    )
    return [AlertFact(**row._asdict()) for row in rows.all()]


# Reports ------------------------------------------------------------------------------------------------------


def week_of(weeks: Sequence[Week], day: date) -> Week | None:
    return next((w for w in weeks if w.start <= day <= w.end), None)


async def alerts_by_day(session: AsyncSession, query: Query) -> list[AlertDayRow]:
    everywhere = ReportScope(agencies=None, kecamatan=None, whole_city=True, agency_code=None)
    names = {k.id: k for k in await kecamatan_list(session, everywhere)}  # an alert may lie outside the scope's
    counts: Counter[tuple[date, int | None, str]] = Counter(
        (wib_date(a.created_at), a.jurisdiction_id, a.category) for a in await alert_facts(session, query)
    )
    rows = []
    for (day, jurisdiction_id, category), count in counts.items():
        place = names.get(jurisdiction_id) if jurisdiction_id is not None else None
        rows.append(
            AlertDayRow(
                day=day,
                kecamatan_code=place.code if place else UNKNOWN,
                kecamatan_name=place.name if place else UNKNOWN_NAME,
                category=category,
                alerts=count,
            )
        )
    return sorted(rows, key=lambda r: (r.day, r.kecamatan_code, r.category))


def _times(alerts: Sequence[AlertFact]) -> dict[str, object]:
    steps = {
        "acknowledge": [seconds_between(a.created_at, a.acknowledged_at) for a in alerts],
        "dispatch": [seconds_between(a.created_at, a.dispatched_at) for a in alerts],
        "arrive": [seconds_between(a.created_at, a.on_scene_at) for a in alerts],
        "resolve": [seconds_between(a.created_at, a.resolve_at) for a in alerts],
    }
    figures: dict[str, object] = {"alerts": len(alerts)}
    for step, raw in steps.items():
        values = [v for v in raw if v is not None]
        figures[f"{step}_n"] = len(values)
        figures[f"{step}_p50_s"] = percentile(values, 0.5)
        figures[f"{step}_p90_s"] = percentile(values, 0.9)
    return figures


async def response_times(session: AsyncSession, query: Query) -> list[ResponseTimeRow]:
    facts = await alert_facts(session, query)
    agencies = {a.id: a for a in (await session.scalars(select(Agency))).all()}
    weeks = query.window.weeks
    by_week: defaultdict[str, list[AlertFact]] = defaultdict(list)
    by_agency: defaultdict[int, list[AlertFact]] = defaultdict(list)
    by_both: defaultdict[tuple[str, int], list[AlertFact]] = defaultdict(list)
    for fact in facts:
        week = week_of(weeks, wib_date(fact.created_at))
        label = week.label if week else ALL
        by_week[label].append(fact)
        by_agency[fact.agency_id].append(fact)
        by_both[label, fact.agency_id].append(fact)
    ordered = sorted(by_agency, key=lambda agency_id: agencies[agency_id].code)
    rows = []
    for week in weeks:
        for agency_id in ordered:
            if by_both[week.label, agency_id]:
                agency = agencies[agency_id]
                rows.append(_time_row(week.label, week.start, agency.code, agency.name, by_both[week.label, agency_id]))
        rows.append(_time_row(week.label, week.start, ALL, ALL, by_week[week.label]))
    for agency_id in ordered:
        rows.append(_time_row(ALL, None, agencies[agency_id].code, agencies[agency_id].name, by_agency[agency_id]))
    rows.append(_time_row(ALL, None, ALL, ALL, facts))
    return rows


def _time_row(week: str, start: date | None, code: str, name: str, alerts: Sequence[AlertFact]) -> ResponseTimeRow:
    return ResponseTimeRow.model_validate(
        {"week": week, "week_start": start, "agency_code": code, "agency_name": name, **_times(alerts)}
    )


def _outcome_row(week: str, start: date | None, alerts: Sequence[AlertFact]) -> OutcomeRow:
    outcomes = Counter(a.outcome for a in alerts if a.state == AlertState.RESOLVED and a.outcome)
    resolved = sum(outcomes.values())
    cancelled = sum(1 for a in alerts if a.state == AlertState.CANCELLED)
    figures: dict[str, object] = {o.value: outcomes[o.value] for o in Outcome}
    figures |= {f"{o.value}_share": rate(outcomes[o.value], resolved) for o in Outcome}
    return OutcomeRow.model_validate(
        {
            "week": week,
            "week_start": start,
            "alerts": len(alerts),
            "open": len(alerts) - resolved - cancelled,
            "cancelled": cancelled,
            "resolved": resolved,
            **figures,
        }
    )


async def outcomes(session: AsyncSession, query: Query) -> list[OutcomeRow]:
    facts = await alert_facts(session, query)
    by_week: defaultdict[str, list[AlertFact]] = defaultdict(list)
    for fact in facts:
        by_week[domain.week_label(wib_date(fact.created_at))].append(fact)
    rows = [_outcome_row(w.label, w.start, by_week[w.label]) for w in query.window.weeks]
    return [*rows, _outcome_row(ALL, None, facts)]


MODERATION_KINDS = {"strike": "strikes", "suspend": "suspensions", "reinstate": "reinstatements", "appeal": "appeals"}


async def moderation(session: AsyncSession, query: Query) -> tuple[list[ModerationRow], ModerationNow]:
    seen = scoping.residents_seen(query.scope)
    counted = scoping.residents_counted(query.exercise)
    records = await session.execute(
        select(ModerationRecord.kind, ModerationRecord.created_at)
        .join(Resident, Resident.id == ModerationRecord.resident_id)
        .where(
            ModerationRecord.created_at >= query.window.start,
            ModerationRecord.created_at < query.window.end,
            seen,
            counted,
        )
    )
    counts: Counter[tuple[str, str]] = Counter()
    for kind, at in records.all():
        if kind in MODERATION_KINDS:
            counts[domain.week_label(wib_date(at)), MODERATION_KINDS[kind]] += 1
    rows = []
    for week in query.window.weeks:
        rows.append(
            ModerationRow.model_validate(
                {"week": week.label, "week_start": week.start}
                | {name: counts[week.label, name] for name in MODERATION_KINDS.values()}
            )
        )
    totals = {name: sum(getattr(r, name) for r in rows) for name in MODERATION_KINDS.values()}
    rows.append(ModerationRow.model_validate({"week": ALL, "week_start": None} | totals))
    suspended, with_strikes = (
        await session.execute(
            select(func.count().filter(Resident.suspended.is_(True)), func.count().filter(Resident.strikes > 0)).where(
                seen, counted
            )
        )
    ).one()
    return rows, ModerationNow(suspended=int(suspended), with_strikes=int(with_strikes))


async def duty(session: AsyncSession, query: Query, *, now: datetime) -> list[DutyHourRow]:
    window = query.window
    conditions = [
        DutyPeriod.started_at < window.end,
        (DutyPeriod.ended_at.is_(None)) | (DutyPeriod.ended_at > window.start),
        scoping.staff_counted(query.exercise),
    ]
    if query.scope.agencies is not None:
        conditions.append(Unit.agency_id.in_(query.scope.agencies))
    rows = await session.execute(
        select(DutyPeriod.staff_id, DutyPeriod.mode, DutyPeriod.started_at, DutyPeriod.ended_at)
        .join(Staff, Staff.id == DutyPeriod.staff_id)
        .join(Unit, Unit.id == DutyPeriod.unit_id)
        .where(*conditions)
    )
    spans = [domain.DutySpan(staff_id, mode, start, end) for staff_id, mode, start, end in rows.all()]
    modes = [m.value for m in DutyMode]
    return [
        DutyHourRow(
            hour=h.hour,
            average_on_duty=h.average,
            peak_on_duty=h.peak,
            average_post=h.average_by_mode[DutyMode.POST],
            average_patrol=h.average_by_mode[DutyMode.PATROL],
            average_home=h.average_by_mode[DutyMode.HOME],
        )
        for h in domain.duty_by_hour(spans, window, now=now, modes=modes)
    ]
