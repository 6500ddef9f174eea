"""Handing an alert to another agency, which becomes responsible for it (in a surge, a kecamatan's disaster alerts
from the Polsek to BPBD): the ``transferred`` timeline event names the reason and the agencies before and after, as a
category change names them (``alerts.recategorise``, which re-routes by the routing table instead of by choice).

The agency that had the alert, and those informed of it, stay informed: they still see it, add notes and write to
the resident, but no longer handle it. As after a re-route, the new agency's timers start now for what no person or
unit has taken yet; an operator who acknowledged it keeps it, and so does a unit sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.agencies import service as agencies
from siaga.agencies.domain import AgencyTerms
from siaga.agencies.models import Agency
from siaga.alerts import domain, raise_rules
from siaga.alerts.models import Alert, AlertAgency
from siaga.config import Settings
from siaga.db import utcnow
from siaga.errors import Invalid


async def routed(session: AsyncSession, alert: Alert, command: domain.HandToAgency) -> domain.HandToAgency:
    """``command`` with its routing filled in: the chosen agency responsible, every agency that had the alert (the
    responsible one and those informed) informed, and who had it before. Read with the alert's row locked."""
    target = await session.get(Agency, command.agency_id)
    if target is None:
        raise Invalid(
            f"agency {command.agency_id} does not exist", code="agency.not_found", details={"field": "agency_id"}
        )
    before = [alert.agency_id, *alert.informed_agency_ids]
    informed = [agency_id for agency_id in dict.fromkeys(before) if agency_id != target.id]
    codes: dict[int, str] = {}
    if informed:
        rows = await session.execute(select(Agency.id, Agency.code).where(Agency.id.in_(informed)))
        codes = {int(agency_id): str(code) for agency_id, code in rows.all()}
    routing = {
        "agency": target.code,
        "agency_id": target.id,
        "informed": [codes[a] for a in informed if a in codes],
        "informed_agency_ids": informed,
        "previous_agency": alert.agency.code,
        "previous_agency_ids": before,
    }
    return replace(command, routing=routing)


async def settle(session: AsyncSession, alert: Alert, settings: Settings) -> None:
    """After the alert moved to its new agency (``alert.agency_id``): the agencies informed of it as its
    ``informed_agency_ids`` now say, and the new agency's timers from now."""
    await inform(session, alert, alert.informed_agency_ids)
    terms = (
        await session.execute(select(*agencies.agency_terms_columns()).where(Agency.id == alert.agency_id))
    ).first()
    if terms is not None:
        restart_timers(alert, AgencyTerms(*terms), settings)


async def inform(session: AsyncSession, alert: Alert, agency_ids: Sequence[int]) -> None:
    """The agencies informed of ``alert`` are ``agency_ids`` (their consoles see it, as ``access.visibility`` says)."""
    await session.execute(delete(AlertAgency).where(AlertAgency.alert_id == alert.id))
    if agency_ids:
        await session.execute(insert(AlertAgency), [{"alert_id": alert.id, "agency_id": a} for a in agency_ids])


def restart_timers(alert: Alert, agency: AgencyTerms, settings: Settings) -> None:
    """The new responsible agency's T1 and T2 from now, for what no person or unit has taken yet: the agency has
    never seen the alert (after a hand-over, and after a re-route that changed the responsible agency)."""
    if domain.AlertState(alert.state) not in domain.ACTIVE_STATES:
        return
    now = utcnow()
    due = raise_rules.deadlines(
        now,
        agency,
        ack_default_s=settings.ack_timeout_seconds,
        dispatch_default_s=settings.dispatch_timeout_seconds,
        now=now,
    )
    if alert.acknowledged_by_id is None and alert.unit_id is None:
        alert.ack_due_at = due.ack_due_at
    if alert.unit_id is None:
        alert.dispatch_due_at = due.dispatch_due_at
