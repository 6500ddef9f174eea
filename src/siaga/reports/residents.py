"""Residents in the reports: who belongs to which kecamatan, who registered and who was active, and the summary per
kecamatan that the map shades by."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.models import AuthSession, Resident
from siaga.agencies.models import Jurisdiction
from siaga.alerts.domain import AlertState, Outcome
from siaga.alerts.models import Alert
from siaga.reports import scope as scoping
from siaga.reports.domain import percentile, rate, seconds_between, wib_date
from siaga.reports.schemas import KecamatanRow, ResidentWeekRow
from siaga.reports.scope import ReportScope
from siaga.reports.service import (
    UNKNOWN,
    UNKNOWN_NAME,
    AlertFact,
    Kecamatan,
    Query,
    alert_facts,
    kecamatan_list,
    week_of,
)


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


async def weekly(session: AsyncSession, query: Query) -> list[ResidentWeekRow]:
    shown = await kecamatan_list(session, query.scope)
    places = await resident_places(session, query.scope, shown)
    facts = await resident_facts(session, query, places)
    weeks = query.window.weeks
    new: Counter[tuple[str, str]] = Counter()
    for code, day in facts.joined:
        week = week_of(weeks, day)
        if week is not None:
            new[code, week.label] += 1
    active: defaultdict[tuple[str, str], set[uuid.UUID]] = defaultdict(set)
    for code, resident_id, day in facts.activity:
        week = week_of(weeks, day)
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
