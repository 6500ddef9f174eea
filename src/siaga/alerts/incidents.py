"""Linking alerts about one event into an incident, and splitting them again.

Five people see one fight, a street sees one fire: each press is an alert of its own, and staff link them into one
incident (``incidents``; ``alerts.incident_id`` says which incident an alert is in now). Linking changes no alert's
state, units, resident or timeline beyond one event: every alert concerned gets a ``linked`` or ``unlinked`` event
(the incident, the alerts added or removed, and the incident's alerts after the change), and each alert is still
acknowledged, dispatched and resolved on its own (or all together through the bulk path, ``dispatch.bulk``).

Who may: staff who see every alert named (else 404, as for any alert) and whose agency may act on each of them and
on those already in the incident (``access.require_may_act``, else 403). A drill's alert and a real SOS are never one
incident (422). An alert is in one incident at a time: one in another incident is split off that one first (409).
An incident left with a single alert is dissolved: that alert is unlinked too (a group of one is no group).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal
from siaga.alerts import access, domain
from siaga.alerts import service as alerts
from siaga.alerts.models import Alert, Incident
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.errors import Conflict, Invalid, NotFound


async def link(
    session: AsyncSession,
    *,
    principal: Principal,
    alert_ids: Sequence[uuid.UUID],
    incident_id: uuid.UUID | None = None,
    title: str = "",
    by: ActorContext,
) -> Incident:
    """Link ``alert_ids`` into the incident ``incident_id`` (a new one, titled ``title``, if None): see the module.
    Alerts already in that incident are left as they are (a retry changes nothing)."""
    ids = list(dict.fromkeys(alert_ids))
    if incident_id is None and len(ids) < 2:
        raise Invalid(
            "link at least two alerts into an incident", code="incident.too_few", details={"field": "alert_ids"}
        )
    for alert_id in ids:  # an alert one may not see answers as a missing one, before anything else is looked up
        await alerts.get_visible(session, principal, alert_id)
    # Locked in one order (the incident, then its alerts by id), so that two operators changing overlapping alerts
    # queue instead of deadlocking.
    incident = await _incident(session, incident_id, lock=True) if incident_id is not None else None
    named = [await alerts.get_visible(session, principal, alert_id, lock=True) for alert_id in sorted(ids)]
    members = await _members(session, incident.id) if incident is not None else []
    for alert in [*named, *members]:
        await access.require_may_act(session, principal, alert)
    for alert in named:
        if alert.incident_id is not None and (incident is None or alert.incident_id != incident.id):
            raise Conflict(
                "this alert is already linked into another incident: split it off that one first",
                code="incident.already_linked",
                details={"alert": str(alert.id), "incident": str(alert.incident_id)},
            )
    present = {alert.id for alert in members}
    added = _in_order([alert for alert in named if alert.id not in present])
    if domain.mixes_exercise_and_real([alert.is_exercise for alert in [*members, *added]]):
        raise Invalid(
            "a drill's alert and a real SOS can never be linked into one incident", code="incident.exercise_and_real"
        )
    if incident is None:
        incident = Incident(
            id=uuid.uuid4(),
            title=title.strip(),
            created_by_id=principal.staff_id,
            created_by_name=principal.name,
        )
        session.add(incident)
        await session.flush()
    if not added:
        return incident
    after = _in_order([*members, *added])
    command = domain.Link(str(incident.id), _ids(added), _ids(after), incident.title)
    await _tell_each(session, principal, after, command)
    await audit.record_for(
        session,
        by,
        action="incident.link",
        target_type="incident",
        target_id=str(incident.id),
        agency_id=after[0].agency_id,
        detail={"added": list(command.added), "alert_ids": list(command.alert_ids)},
    )
    return incident


async def unlink(
    session: AsyncSession, *, principal: Principal, incident_id: uuid.UUID, alert_id: uuid.UUID, by: ActorContext
) -> Incident:
    """Split ``alert_id`` off the incident (see the module): it and the alerts that stay are each told."""
    await alerts.get_visible(session, principal, alert_id)  # one may not see: as a missing alert, before all else
    incident = await _incident(session, incident_id, lock=True)
    alert = await alerts.get_visible(session, principal, alert_id, lock=True)
    await access.require_may_act(session, principal, alert)
    if alert.incident_id != incident.id:
        raise Conflict(
            "this alert is not linked into this incident",
            code="incident.not_linked",
            details={"alert": str(alert.id)},
        )
    others = _in_order([member for member in await _members(session, incident.id) if member.id != alert.id])
    removed, staying = ([alert], others) if len(others) >= 2 else (_in_order([alert, *others]), [])
    command = domain.Unlink(str(incident.id), _ids(removed), _ids(staying))
    await _tell_each(session, principal, _in_order([*removed, *staying]), command)
    await audit.record_for(
        session,
        by,
        action="incident.unlink",
        target_type="incident",
        target_id=str(incident.id),
        agency_id=alert.agency_id,
        detail={"removed": list(command.removed), "alert_ids": list(command.alert_ids)},
    )
    return incident


async def read_incident(
    session: AsyncSession, principal: Principal, incident_id: uuid.UUID, *, by: ActorContext
) -> tuple[Incident, list[Alert]]:
    """The incident and those of its alerts ``principal`` may see, oldest first (audited: it names the residents).
    An incident with none of them is a 404, as a missing one."""
    incident = await _incident(session, incident_id)
    visible = await access.visibility(session, principal)
    shown = await session.scalars(
        select(Alert)
        .where(Alert.incident_id == incident.id, visible)
        .order_by(Alert.created_at, Alert.id)
        .execution_options(populate_existing=True)
    )
    found = list(shown.unique().all())
    if not found:
        raise NotFound("incident not found", code="incident.not_found")
    await audit.record_for(
        session,
        by,
        action="incident.read",
        target_type="incident",
        target_id=str(incident.id),
        agency_id=found[0].agency_id,
        detail={"residents": sorted({str(a.resident_id) for a in found})},
    )
    return incident, found


async def alerts_of(session: AsyncSession, principal: Principal, incident: Incident) -> list[Alert]:
    """The incident's alerts ``principal`` may see now, oldest first (after a change they made: no audit record)."""
    visible = await access.visibility(session, principal)
    shown = await session.scalars(
        select(Alert).where(Alert.incident_id == incident.id, visible).order_by(Alert.created_at, Alert.id)
    )
    return list(shown.unique().all())


async def _incident(session: AsyncSession, incident_id: uuid.UUID, *, lock: bool = False) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    found = await session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound("incident not found", code="incident.not_found")
    return found


async def _members(session: AsyncSession, incident_id: uuid.UUID) -> list[Alert]:
    """The incident's alerts, locked (the bare rows first, as ``alerts.get_visible`` does)."""
    locked = await session.scalars(
        select(Alert.id).where(Alert.incident_id == incident_id).order_by(Alert.id).with_for_update()
    )
    ids = list(locked.all())
    if not ids:
        return []
    rows = await session.scalars(select(Alert).where(Alert.id.in_(ids)).execution_options(populate_existing=True))
    return list(rows.unique().all())


async def _tell_each(
    session: AsyncSession, principal: Principal, concerned: list[Alert], command: domain.Link | domain.Unlink
) -> None:
    """The event on every alert concerned, each on its own timeline."""
    actor = principal.actor()
    for alert in concerned:
        events = domain.decide(alerts.snapshot_of(alert), command, actor)
        await alerts.apply_events(session, alert, events, actor)


def _in_order(found: list[Alert]) -> list[Alert]:
    return sorted(found, key=lambda alert: (alert.created_at, str(alert.id)))


def _ids(found: list[Alert]) -> tuple[str, ...]:
    return tuple(str(alert.id) for alert in found)
