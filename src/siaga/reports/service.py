"""The reports a city needs: residents, alerts, response times, outcomes, moderation and officers on duty.

Each report reads the rows of its period with simple SQL (filtered and, where it is plain, counted there) and
buckets them by WIB day, ISO week or hour in Python (see ``domain``), which reads the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.models import AuthSession, ModerationRecord, Resident, Staff, Unit
from siaga.agencies.models import Agency, Jurisdiction
from siaga.alerts.domain import AlertState, Outcome
from siaga.alerts.models import Alert
from siaga.reports import domain
from siaga.reports import scope as scoping
from siaga.reports.domain import ALL, ExerciseFilter, Week, Window, percentile, rate, seconds_between, wib_date
from siaga.reports.schemas import (
    AlertDayRow,
    DutyHourRow,
    KecamatanRow,
    ModerationNow,
    ModerationRow,
    OutcomeRow,
    ResidentWeekRow,
    ResponseTimeRow,
)
from siaga.reports.scope import ReportScope
from siaga.responders.models import DutyMode, DutyPeriod

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


class ResidentPlaces:
    """Which kecamatan a resident belongs to: their NIK's kecamatan code (its first six digits) matched to a
    jurisdiction's NIK prefix; 'unknown' without a NIK or for a kecamatan Siaga does not hold."""

    def __init__(self, by_prefix: dict[str, Kecamatan], shown: Sequence[Kecamatan], *, whole_city: bool) -> None:
        self.by_prefix = by_prefix
        self.unknown = Kecamatan(id=None, code=UNKNOWN, name=UNKNOWN_NAME)
        self.shown = {k.code for k in shown} | ({UNKNOWN} if whole_city else set())

    def code(self, nik_kecamatan: str | None) -> str | None:
        """The kecamatan code to count a resident under, or None if it is outside the report's scope."""
        place = self.by_prefix.get(nik_kecamatan or "", self.unknown)
        return place.code if place.code in self.shown else None


async def resident_places(session: AsyncSession, scope: ReportScope, shown: Sequence[Kecamatan]) -> ResidentPlaces:
    rows = await session.execute(
        select(Jurisdiction.nik_prefix, Jurisdiction.id, Jurisdiction.code, Jurisdiction.name)
        .where(Jurisdiction.nik_prefix.is_not(None))
        .order_by(Jurisdiction.code.desc())  # the lowest code wins if two share a prefix
    )
    by_prefix = {str(prefix): Kecamatan(id=jid, code=code, name=name) for prefix, jid, code, name in rows.all()}
    return ResidentPlaces(by_prefix, shown, whole_city=scope.whole_city)


@dataclass(frozen=True, slots=True)
class ResidentFacts:
    before: Counter[str]  # kecamatan code -> residents registered before the window
    joined: list[tuple[str, date]]  # (kecamatan code, WIB day) of each registration in the window
    activity: list[tuple[str, uuid.UUID, date]]  # (kecamatan code, resident, WIB day): a press or a session


async def resident_facts(session: AsyncSession, query: Query, places: ResidentPlaces) -> ResidentFacts:
    counted = scoping.residents_counted(query.exercise)
    window = query.window
    before: Counter[str] = Counter()
    grouped = await session.execute(
        select(Resident.nik_kecamatan, func.count())
        .where(Resident.created_at < window.start, counted)
        .group_by(Resident.nik_kecamatan)
    )
    for nik_kecamatan, count in grouped.all():
        code = places.code(nik_kecamatan)
        if code is not None:
            before[code] += int(count)
    joined = []
    for nik_kecamatan, created_at in await session.execute(
        select(Resident.nik_kecamatan, Resident.created_at).where(
            Resident.created_at >= window.start, Resident.created_at < window.end, counted
        )
    ):
        code = places.code(nik_kecamatan)
        if code is not None:
            joined.append((code, wib_date(created_at)))
    activity = []
    signs = ((Alert.created_at, Alert.resident_id), (AuthSession.created_at, AuthSession.resident_id))
    for column, resident_column in signs:
        rows = await session.execute(
            select(Resident.nik_kecamatan, Resident.id, column)
            .join(Resident, Resident.id == resident_column)
            .where(column >= window.start, column < window.end, counted)
        )
        for nik_kecamatan, resident_id, at in rows.all():
            code = places.code(nik_kecamatan)
            if code is not None:
                activity.append((code, resident_id, wib_date(at)))
    return ResidentFacts(before=before, joined=joined, activity=activity)


# Reports ------------------------------------------------------------------------------------------------------


def _week_of(weeks: Sequence[Week], day: date) -> Week | None:
    return next((w for w in weeks if w.start <= day <= w.end), None)


async def residents(session: AsyncSession, query: Query) -> list[ResidentWeekRow]:
    shown = await kecamatan_list(session, query.scope)
    places = await resident_places(session, query.scope, shown)
    facts = await resident_facts(session, query, places)
    weeks = query.window.weeks
    new: Counter[tuple[str, str]] = Counter()
    for code, day in facts.joined:
        week = _week_of(weeks, day)
        if week is not None:
            new[code, week.label] += 1
    active: defaultdict[tuple[str, str], set[uuid.UUID]] = defaultdict(set)
    for code, resident_id, day in facts.activity:
        week = _week_of(weeks, day)
        if week is not None:
            active[code, week.label].add(resident_id)
    rows = []
    for kecamatan in _with_unknown(shown, facts, places):
        registered = facts.before[kecamatan.code]
        for week in weeks:
            registered += new[kecamatan.code, week.label]
            rows.append(
                ResidentWeekRow(
                    week=week.label,
                    week_start=week.start,
                    kecamatan_code=kecamatan.code,
                    kecamatan_name=kecamatan.name,
                    registered=registered,
                    new=new[kecamatan.code, week.label],
                    active=len(active[kecamatan.code, week.label]),
                )
            )
    return rows


def _with_unknown(
    shown: Sequence[Kecamatan], facts: ResidentFacts, places: ResidentPlaces, *, outside: bool = False
) -> list[Kecamatan]:
    """The kecamatan in scope, and 'unknown' when someone (or, with ``outside``, some alert) is counted there."""
    counted = outside or facts.before[UNKNOWN] > 0 or any(c == UNKNOWN for c, _ in facts.joined)
    counted = counted or any(c == UNKNOWN for c, _, _ in facts.activity)
    return [*shown, places.unknown] if counted else list(shown)


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
        week = _week_of(weeks, wib_date(fact.created_at))
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


async def kecamatan_summary(session: AsyncSession, query: Query) -> list[KecamatanRow]:
    shown = await kecamatan_list(session, query.scope)
    places = await resident_places(session, query.scope, shown)
    facts = await resident_facts(session, query, places)
    new = Counter(code for code, _ in facts.joined)
    active: defaultdict[str, set[uuid.UUID]] = defaultdict(set)
    for code, resident_id, _ in facts.activity:
        active[code].add(resident_id)
    alerts: defaultdict[int | None, list[AlertFact]] = defaultdict(list)
    for fact in await alert_facts(session, query):
        alerts[fact.jurisdiction_id].append(fact)
    rows = []
    for kecamatan in _with_unknown(shown, facts, places, outside=bool(alerts[None]) and query.scope.whole_city):
        mine = alerts[kecamatan.id]
        resolved = [a for a in mine if a.state == AlertState.RESOLVED and a.outcome]
        pranks = sum(1 for a in resolved if a.outcome == Outcome.PRANK)
        rows.append(
            KecamatanRow(
                kecamatan_code=kecamatan.code,
                kecamatan_name=kecamatan.name,
                registered=facts.before[kecamatan.code] + new[kecamatan.code],
                new=new[kecamatan.code],
                active=len(active[kecamatan.code]),
                alerts=len(mine),
                prank=pranks,
                prank_rate=rate(pranks, len(resolved)),
                acknowledge_p50_s=_median(seconds_between(a.created_at, a.acknowledged_at) for a in mine),
                arrive_p50_s=_median(seconds_between(a.created_at, a.on_scene_at) for a in mine),
            )
        )
    return rows


def _median(seconds: Iterable[float | None]) -> float | None:
    return percentile([s for s in seconds if s is not None], 0.5)
