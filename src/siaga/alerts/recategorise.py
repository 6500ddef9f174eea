"""Changing an alert's category while it is handled: the routing table re-routes it.

The responsible agency and the agencies informed are worked out again for the new category at the alert's place,
as for a new alert (``agencies.route_alert``, the same rules as the SOS writer); an agency with a unit on the alert,
or asked by an officer's open request (PSC 119 for an ambulance), stays informed. The change is a timeline event
(``category_changed``: from, to, the agencies before and after), audited; consoles of the agencies that get it now
see it, and those that no longer may are told to drop it (``realtime.streams``).

Timers: when the responsible agency changes, the new agency has never seen the alert, so its timers start now by its
own terms: T1 (unacknowledged) again if no person has taken the alert, T2 (without a unit) again if no unit has it.
An operator who acknowledged it keeps it; a unit sent keeps it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal
from siaga.agencies import service as agencies
from siaga.agencies.models import Agency
from siaga.alerts import access, domain, raise_rules, transfer
from siaga.alerts import service as alerts
from siaga.alerts.domain import Category
from siaga.alerts.models import ON_ALERT_UNIT_STATES, Alert, AlertUnit
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings


async def change_category(
    session: AsyncSession,
    *,
    principal: Principal,
    alert_id: uuid.UUID,
    category: Category,
    locator: agencies.JurisdictionLocator,
    settings: Settings,
    by: ActorContext,
) -> Alert:
    """Put an alert the principal can see in ``category`` and re-route it (see the module). The same category again
    changes nothing (a retry). Returns the alert as it is now."""
    alert = await alerts.get_visible(session, principal, alert_id, lock=True)
    await access.require_may_act(session, principal, alert)
    placed = alert.placement != raise_rules.NO_LOCATION
    routed = await agencies.route_alert(
        session,
        locator,
        category=category.value,
        lat=alert.lat if placed else None,
        lon=alert.lon if placed else None,
        jurisdiction_id=alert.jurisdiction_id,
        buffer_m=settings.jurisdiction_buffer_m,
        configured_code=settings.default_agency_code,
    )
    before = [alert.agency_id, *alert.informed_agency_ids]
    informed = {a.id: a.code for a in routed.informed}
    for agency_id, code in (await _still_involved(session, alert)).items():
        if agency_id != routed.responsible.id:
            informed.setdefault(agency_id, code)
    routing = {
        "agency": routed.responsible.code,
        "agency_id": routed.responsible.id,
        "informed": list(informed.values()),
        "informed_agency_ids": list(informed),
        "previous_agency": alert.agency.code,
        "previous_agency_ids": before,
    }
    actor = principal.actor()
    command = domain.ChangeCategory(category, Category(alert.category), routing)
    events = domain.decide(alerts.snapshot_of(alert), command, actor)
    if not events:
        return alert
    if routed.responsible.id != alert.agency_id:
        transfer.restart_timers(alert, routed.responsible, settings)
    await alerts.apply_events(session, alert, events, actor)
    await transfer.inform(session, alert, list(informed))
    await audit.record_for(
        session,
        by,
        action="alert.category_change",
        target_type="alert",
        target_id=str(alert.id),
        agency_id=routed.responsible.id,
        detail={key: value for key, value in events[0].data.items() if not key.endswith("_ids")},
    )
    return alert


async def _still_involved(session: AsyncSession, alert: Alert) -> dict[int, str]:
    """The agencies that stay informed whatever the new category: those with a unit on the alert (asked to join or
    working on it) and those an officer's open request asked (PSC 119 asked for an ambulance). Id -> code."""
    ids = set(
        (
            await session.scalars(
                select(AlertUnit.agency_id).where(
                    AlertUnit.alert_id == alert.id, AlertUnit.state.in_(ON_ALERT_UNIT_STATES)
                )
            )
        ).all()
    )
    for request in alert.unit_requests or []:
        ids.update(int(a) for a in request.get("agency_ids", []))
    if not ids:
        return {}
    rows = await session.execute(select(Agency.id, Agency.code).where(Agency.id.in_(ids)).order_by(Agency.id))
    return dict(rows.all())
