"""What a report may count: the agencies and kecamatan a supervisor sees, and real or exercise data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal, Role
from siaga.accounts.models import Resident, ResidentKind, Staff
from siaga.agencies import service as agencies
from siaga.agencies.models import Agency, Jurisdiction
from siaga.alerts.models import Alert
from siaga.errors import Forbidden
from siaga.reports.domain import ExerciseFilter


@dataclass(frozen=True, slots=True)
class ReportScope:
    """Administrators see everything; a supervisor sees their agency and those below it, and the kecamatan they
    serve, as everywhere else in Siaga. ``agency`` narrows either to one agency's part."""

    agencies: frozenset[int] | None  # None: every agency
    kecamatan: frozenset[int] | None  # jurisdiction ids; None: every kecamatan
    whole_city: bool  # also what lies outside every kecamatan (a top agency or an administrator)
    agency_code: str | None


async def report_scope(session: AsyncSession, principal: Principal, agency_code: str | None) -> ReportScope:
    """The scope of ``principal``'s reports, narrowed to ``agency_code`` (403 if that agency is not theirs)."""
    if principal.role is Role.ADMIN:
        if agency_code is None:
            return ReportScope(agencies=None, kecamatan=None, whole_city=True, agency_code=None)
    elif principal.agency_id is None:
        raise Forbidden("reports are for supervisors of an agency", code="report.no_agency")
    if agency_code is None:
        assert principal.agency_id is not None
        agency = await session.get(Agency, principal.agency_id)
        assert agency is not None
    else:
        agency = await agencies.agency_by_code(session, agency_code)
        if principal.role is not Role.ADMIN:
            assert principal.agency_id is not None
            if agency.id not in await agencies.agency_subtree(session, principal.agency_id):
                raise Forbidden(f"agency {agency_code!r} is outside your agency's area", code="report.agency_scope")
    subtree = await agencies.agency_subtree(session, agency.id)
    served = await agencies.jurisdictions_served_by(session, subtree)
    whole_city = agency.parent_id is None
    return ReportScope(
        agencies=frozenset(subtree),
        kecamatan=frozenset(served),
        whole_city=whole_city,
        agency_code=agency_code,
    )


def alerts_in_scope(scope: ReportScope) -> ColumnElement[bool]:
    """Alerts routed to the scope's agencies or placed in its kecamatan."""
    if scope.agencies is None:
        return true()
    condition: ColumnElement[bool] = Alert.agency_id.in_(scope.agencies)
    if scope.kecamatan:
        condition = or_(condition, Alert.jurisdiction_id.in_(scope.kecamatan))
    return condition


def kecamatan_in_scope(scope: ReportScope) -> ColumnElement[bool]:
    return true() if scope.kecamatan is None else Jurisdiction.id.in_(scope.kecamatan)


def _flagged(column: ColumnElement[bool], exercise: ExerciseFilter) -> ColumnElement[bool]:
    if exercise is ExerciseFilter.INCLUDE:
        return true()
    return column if exercise is ExerciseFilter.ONLY else not_(column)


def residents_counted(exercise: ExerciseFilter) -> ColumnElement[bool]:
    """Residents of the chosen kind: persons only (a site's, a partner's or a unit's caller row raises alerts but is
    nobody who registered), and synthetic accounts (drills, the demo simulator) are exercise data."""
    return and_(Resident.kind == ResidentKind.PERSON.value, _flagged(Resident.is_exercise.is_(True), exercise))


def staff_counted(exercise: ExerciseFilter) -> ColumnElement[bool]:
    return _flagged(Staff.is_exercise.is_(True), exercise)


def alerts_counted(exercise: ExerciseFilter) -> ColumnElement[bool]:
    """Alerts of the chosen kind: an exercise alert, or any alert of an exercise resident, is exercise data.
    The query must join ``Resident``."""
    return _flagged(or_(Alert.is_exercise.is_(True), Resident.is_exercise.is_(True)), exercise)


def residents_seen(scope: ReportScope) -> ColumnElement[bool]:
    """Residents a supervisor may count in moderation figures: those who raised an alert in their area (as in the
    residents list); everyone for the whole city."""
    if scope.whole_city:
        return true()
    return Resident.id.in_(select(Alert.resident_id).where(alerts_in_scope(scope)))
