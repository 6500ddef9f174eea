"""HTTP for reports: each report as JSON at ``/reports/<name>`` and as a CSV download at ``/reports/<name>.csv``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal
from siaga.db import utcnow
from siaga.deps import RuntimeDep, Supervisor
from siaga.reports import residents, service
from siaga.reports.domain import TIMEZONE_NAME, ExerciseFilter, Window, report_window, wib_date
from siaga.reports.schemas import (
    AlertDayRow,
    AlertsReport,
    DutyHourRow,
    DutyReport,
    KecamatanReport,
    KecamatanRow,
    ModerationReport,
    ModerationRow,
    OutcomeRow,
    OutcomesReport,
    ReportPeriod,
    ResidentsReport,
    ResidentWeekRow,
    ResponseTimeRow,
    ResponseTimesReport,
)
from siaga.reports.scope import report_scope
from siaga.schemas import Day, error_responses

router = APIRouter(tags=["reports"])

ERRORS = error_responses(401, 403, 404, 422)
CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The report's rows as CSV (UTF-8, a header row, comma)"},
    **ERRORS,
}


@dataclass(frozen=True, slots=True)
class ReportRequest:
    principal: Principal
    window: Window
    exercise: ExerciseFilter
    agency_code: str | None


async def report_request(
    principal: Supervisor,
    from_date: Annotated[
        Day | None, Query(alias="from", description="First day (WIB), YYYY-MM-DD; default: 8 ISO weeks back")
    ] = None,
    to_date: Annotated[
        Day | None, Query(alias="to", description="Last day (WIB), included; default: today. At most 366 days")
    ] = None,
    agency: Annotated[
        str | None, Query(max_length=64, description="Narrow to this agency's code and the agencies below it")
    ] = None,
    exercise: Annotated[
        ExerciseFilter, Query(description="exclude (real data, the default), only (drills and demo data), include")
    ] = ExerciseFilter.EXCLUDE,
) -> ReportRequest:
    """Reports are for supervisors (their agency and those below it) and administrators (all)."""
    window = report_window(from_date, to_date, today=wib_date(utcnow()))  # a bad range is a 422 before any query
    return ReportRequest(principal, window, exercise, agency or None)


Params = Annotated[ReportRequest, Depends(report_request)]


async def _query(session: AsyncSession, request: ReportRequest) -> tuple[service.Query, ReportPeriod]:
    scope = await report_scope(session, request.principal, request.agency_code)
    window = request.window
    period = ReportPeriod(
        from_date=window.first,
        to_date=window.last,
        timezone=TIMEZONE_NAME,
        exercise=request.exercise,
        agency_code=request.agency_code,
        generated_at=utcnow(),
    )
    return service.Query(window=window, scope=scope, exercise=request.exercise), period


def csv_response(name: str, period: ReportPeriod, rows: Sequence[BaseModel], columns: type[BaseModel]) -> Response:
    """The rows as a CSV download named after the report and its period."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    fields = list(columns.model_fields)
    writer.writerow(fields)
    for row in rows:
        values = row.model_dump(mode="json")
        writer.writerow(["" if values[f] is None else values[f] for f in fields])
    suffix = "" if period.exercise is ExerciseFilter.EXCLUDE else f"_exercise-{period.exercise.value}"
    agency = f"_{period.agency_code}" if period.agency_code else ""
    filename = f"siaga-{name}_{period.from_date}_{period.to_date}{agency}{suffix}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.get("/reports/residents", responses=ERRORS)
async def residents_report(request: Params, runtime: RuntimeDep) -> ResidentsReport:
    """Registered, new and active residents per kecamatan and ISO week (see the row's fields for the rules)."""
    async with runtime.read_sessions() as session:
        query, period = await _query(session, request)
        return ResidentsReport(period=period, rows=await residents.weekly(session, query))


@router.get("/reports/residents.csv", response_class=Response, responses=CSV_ANSWER)
async def residents_csv(request: Params, runtime: RuntimeDep) -> Response:
    report = await residents_report(request, runtime)
    return csv_response("residents", report.period, report.rows, ResidentWeekRow)


@router.get("/reports/alerts", responses=ERRORS)
async def alerts_report(request: Params, runtime: RuntimeDep) -> AlertsReport:
    """Alerts per day (WIB), kecamatan and category."""
    async with runtime.read_sessions() as session:
        query, period = await _query(session, request)
        return AlertsReport(period=period, rows=await service.alerts_by_day(session, query))


@router.get("/reports/alerts.csv", response_class=Response, responses=CSV_ANSWER)
async def alerts_csv(request: Params, runtime: RuntimeDep) -> Response:
    report = await alerts_report(request, runtime)
    return csv_response("alerts", report.period, report.rows, AlertDayRow)


@router.get("/reports/response-times", responses=ERRORS)
async def response_times_report(request: Params, runtime: RuntimeDep) -> ResponseTimesReport:
    """Seconds to acknowledge, dispatch, arrive and resolve (p50, p90) per agency and ISO week, with totals."""
    async with runtime.read_sessions() as session:
        query, period = await _query(session, request)
        return ResponseTimesReport(period=period, rows=await service.response_times(session, query))


@router.get("/reports/response-times.csv", response_class=Response, responses=CSV_ANSWER)
async def response_times_csv(request: Params, runtime: RuntimeDep) -> Response:
    report = await response_times_report(request, runtime)
    return csv_response("response-times", report.period, report.rows, ResponseTimeRow)


@router.get("/reports/outcomes", responses=ERRORS)
async def outcomes_report(request: Params, runtime: RuntimeDep) -> OutcomesReport:
    """How alerts ended per ISO week: outcome counts and shares, and the prank rate."""
    async with runtime.read_sessions() as session:
        query, period = await _query(session, request)
        return OutcomesReport(period=period, rows=await service.outcomes(session, query))


@router.get("/reports/outcomes.csv", response_class=Response, responses=CSV_ANSWER)
async def outcomes_csv(request: Params, runtime: RuntimeDep) -> Response:
    report = await outcomes_report(request, runtime)
    return csv_response("outcomes", report.period, report.rows, OutcomeRow)


@router.get("/reports/moderation", responses=ERRORS)
async def moderation_report(request: Params, runtime: RuntimeDep) -> ModerationReport:
    """Strikes, suspensions, reinstatements and appeals per ISO week, and how many residents are suspended now."""
    async with runtime.read_sessions() as session:
        query, period = await _query(session, request)
        rows, now = await service.moderation(session, query)
        return ModerationReport(period=period, rows=rows, now=now)


@router.get("/reports/moderation.csv", response_class=Response, responses=CSV_ANSWER)
async def moderation_csv(request: Params, runtime: RuntimeDep) -> Response:
    report = await moderation_report(request, runtime)
    return csv_response("moderation", report.period, report.rows, ModerationRow)


@router.get("/reports/duty", responses=ERRORS)
async def duty_report(request: Params, runtime: RuntimeDep) -> DutyReport:
    """Officers on duty over the day: for each hour (WIB), the mean and the peak over the period's days."""
    async with runtime.read_sessions() as session:
        query, period = await _query(session, request)
        return DutyReport(period=period, rows=await service.duty(session, query, now=utcnow()))


@router.get("/reports/duty.csv", response_class=Response, responses=CSV_ANSWER)
async def duty_csv(request: Params, runtime: RuntimeDep) -> Response:
    report = await duty_report(request, runtime)
    return csv_response("duty", report.period, report.rows, DutyHourRow)


@router.get("/reports/kecamatan", responses=ERRORS)
async def kecamatan_report(request: Params, runtime: RuntimeDep) -> KecamatanReport:
    """Each kecamatan over the whole period (residents, alerts, prank rate, median times): what the map shows."""
    async with runtime.read_sessions() as session:
        query, period = await _query(session, request)
        return KecamatanReport(period=period, rows=await residents.kecamatan_summary(session, query))


@router.get("/reports/kecamatan.csv", response_class=Response, responses=CSV_ANSWER)
async def kecamatan_csv(request: Params, runtime: RuntimeDep) -> Response:
    report = await kecamatan_report(request, runtime)
    return csv_response("kecamatan", report.period, report.rows, KecamatanRow)
