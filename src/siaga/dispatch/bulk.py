"""Acting on many alerts at once, for a surge: acknowledge a selection, hand it to the parent agency or to another
agency (BPBD), assign it to a unit, close it as one mass event, or send the residents of an area one message from the
command centre.

Each alert goes through the single-alert path (``act_audited``, which the one-alert routes use too) in its own
transaction: every alert keeps its own timeline and audit record, and one alert that cannot take the action (already
taken, closed meanwhile) does not undo the others. What is wrong with the request itself (no alerts, an unknown unit
or agency, an empty note) refuses it in full before any alert is touched."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Protocol

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.accounts.domain import Principal
from siaga.agencies import service as agencies
from siaga.agencies.models import Jurisdiction
from siaga.alerts import access, domain
from siaga.alerts import service as alerts
from siaga.alerts.domain import ACTIVE_STATES, Outcome
from siaga.alerts.models import Alert
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.config import Settings
from siaga.dispatch import receipts
from siaga.dispatch import service as dispatching
from siaga.errors import Invalid, NotFound, SiagaError
from siaga.schemas import Model, ReadModel, RowId

MAX_ALERTS = 500  # per request: a larger cluster is sent in several
NOTE_MAX = 1000


class BulkAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    HAND_TO_AGENCY = "hand_to_agency"  # escalate: the parent agency (a Polres) and the neighbours see it, flagged
    # the chosen agency (any agency: BPBD in a disaster) becomes responsible; the agencies that had it stay informed
    TRANSFER = "transfer"
    ASSIGN = "assign"  # dispatch one unit to every alert
    CLOSE = "close"  # resolve as one mass event, with one note


class BulkIn(Model):
    """One action on a selection (or a map cluster) of alerts."""

    action: BulkAction
    alert_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_ALERTS)]
    unit_id: RowId | None = Field(default=None, description="assign: the unit given every alert")
    agency_id: RowId | None = Field(default=None, description="transfer: the agency every alert is handed to")
    note: Annotated[str, Field(max_length=NOTE_MAX)] = Field(
        default="", description="hand_to_agency, transfer: why (at least 3 characters); close: the mass event's note"
    )
    outcome: Outcome = Field(default=Outcome.GENUINE, description="close: the outcome of every alert")


class BulkResult(ReadModel):
    """What happened to one alert: applied, or why not (an error code the apps translate)."""

    alert_id: uuid.UUID
    ok: bool
    state: domain.AlertState | None = None
    code: str | None = None
    message: str = ""


class BulkOut(ReadModel):
    action: BulkAction
    applied: int
    refused: int
    results: list[BulkResult]


class AreaMessageIn(Model):
    """A word from the command centre to every resident with an open alert in one kecamatan."""

    jurisdiction_id: RowId
    text: Annotated[str, Field(min_length=3, max_length=NOTE_MAX)]
    exercise: bool = Field(
        default=False, description="a drill's surge (a simulated mass event): only the drill's alerts; else real only"
    )


class AreaMessageOut(ReadModel):
    jurisdiction_id: int
    jurisdiction_name: str
    reached: int = Field(description="Open alerts whose residents were sent the message")
    results: list[BulkResult]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who acts on the alerts: what they may do (``principal``) and, for the audit record, from where."""

    principal: Principal
    ip: str

    @property
    def by(self) -> ActorContext:
        return ActorContext.signed_in(self.principal, self.ip)


class Acting(Protocol):
    """What acting on one alert needs of the running Siaga: the runtime, or the context an SMS handler gets (an
    officer reporting en route by SMS goes through ``act_audited`` like the officer app)."""

    @property
    def settings(self) -> Settings: ...

    def unit_of_work(self) -> AbstractAsyncContextManager[AsyncSession]: ...


class Surging(Acting, Protocol):
    """What acting on many alerts needs of the running Siaga (the runtime): reading the selection first."""

    @property
    def read_sessions(self) -> async_sessionmaker[AsyncSession]: ...


async def act_audited(
    runtime: Acting,
    caller: Caller,
    alert_id: uuid.UUID,
    command: domain.Command,
    *,
    where: tuple[float, float] | None = None,
    key: receipts.Receipt | None = None,
    bulk: str | None = None,
) -> Alert:
    """Apply one action to one alert in its own transaction, with its timeline and audit record: the path of every
    action on an alert, one at a time or in bulk. With a key (``Idempotency-Key``), an action this actor already
    applied answers with the alert as it is now, and is neither applied nor audited again."""
    principal = caller.principal
    async with runtime.unit_of_work() as session:
        if await receipts.done_before(session, principal=principal, alert_id=alert_id, key=key):
            return await alerts.get_visible(session, principal, alert_id)
        after_id = await receipts.last_event_id(session, alert_id)
        alert, events = await dispatching.act(
            session,
            principal=principal,
            alert_id=alert_id,
            command=command,
            where=where,
            drill_units_for_real=runtime.settings.exercise_units_answer_real_alerts,
            settings=runtime.settings,
        )
        await receipts.stamp(session, principal=principal, alert_id=alert.id, after_id=after_id, key=key)
        detail: dict[str, object] = {"events": [e.kind.value for e in events]}
        if bulk is not None:
            detail["bulk"] = bulk
        await audit.record_for(
            session,
            caller.by,
            action=f"alert.{_asked(events).kind.value}",
            target_type="alert",
            target_id=str(alert.id),
            agency_id=alert.agency_id,
            detail=detail,
        )
        return alert


def _asked(events: list[domain.DomainEvent]) -> domain.DomainEvent:
    """The event the actor asked for, which names the audit record: a dispatch of a new alert acknowledges it on the
    way, and is audited as the dispatch it was (the record's detail lists every event)."""
    return next((e for e in events if e.kind is not domain.EventKind.ACKNOWLEDGED), events[0])


def _command(body: BulkIn) -> domain.Command:
    """The single-alert command the bulk action applies to each alert; bad input refuses the whole request."""
    match body.action:
        case BulkAction.ACKNOWLEDGE:
            return domain.Acknowledge()
        case BulkAction.HAND_TO_AGENCY:
            return domain.Escalate(_reason(body))
        case BulkAction.TRANSFER:
            if body.agency_id is None:
                raise Invalid(
                    "choose the agency the alerts go to", code="bulk.agency_required", details={"field": "agency_id"}
                )
            return domain.HandToAgency(body.agency_id, _reason(body))
        case BulkAction.ASSIGN:
            if body.unit_id is None:
                raise Invalid("choose the unit to assign", code="bulk.unit_required", details={"field": "unit_id"})
            return domain.Dispatch(body.unit_id, "")
        case BulkAction.CLOSE:
            # The note is each alert's report: refused here, for the whole request, by the resolve's own rule.
            try:
                report = domain.checked_report(body.note)
            except domain.TransitionError as error:
                raise Invalid(error.message, code="bulk.note_required") from error
            return domain.Resolve(body.outcome, report)


def _reason(body: BulkIn) -> str:
    if len(body.note.strip()) < 3:
        raise Invalid("say why the alerts go to the agency (3 characters or more)", code="bulk.note_required")
    return body.note.strip()


async def _each(
    runtime: Acting, caller: Caller, ids: list[uuid.UUID], command: domain.Command, bulk: str
) -> list[BulkResult]:
    results: list[BulkResult] = []
    for alert_id in ids:
        try:
            alert = await act_audited(runtime, caller, alert_id, command, bulk=bulk)
        except SiagaError as error:
            results.append(BulkResult(alert_id=alert_id, ok=False, code=error.code, message=error.message))
        else:
            results.append(BulkResult(alert_id=alert_id, ok=True, state=domain.AlertState(alert.state)))
    return results


async def act_on_each(runtime: Surging, caller: Caller, body: BulkIn) -> BulkOut:
    """Apply ``body.action`` to each alert, one transaction each, and say what happened to every one. The request
    is refused in full (nothing applied) when the action's own input is wrong or the unit or agency does not
    exist."""
    command = _command(body)
    if isinstance(command, domain.Dispatch):
        async with runtime.read_sessions() as session:
            unit = await alerts.unit_for_dispatch(session, command.unit_id, seen_by=caller.principal)
            command = domain.Dispatch(unit.id, unit.callsign)
    if isinstance(command, domain.HandToAgency):
        async with runtime.read_sessions() as session:
            await agencies.require_agency(session, command.agency_id)
    ids = list(dict.fromkeys(body.alert_ids))  # a cluster and a selection may overlap: once each, in order
    results = await _each(runtime, caller, ids, command, bulk=body.action.value)
    applied = sum(1 for r in results if r.ok)
    return BulkOut(action=body.action, applied=applied, refused=len(results) - applied, results=results)


async def message_area(runtime: Surging, caller: Caller, body: AreaMessageIn) -> AreaMessageOut:
    """Send ``body.text`` to the status screen of every resident with an open alert in the kecamatan that the
    caller may see (each alert's timeline records it; duress alerts stay silent), audited once for the area. Real
    alerts and a drill's are apart: a message to a drill's surge never reaches a real resident, nor the reverse."""
    async with runtime.read_sessions() as session:
        area = await session.get(Jurisdiction, body.jurisdiction_id)
        if area is None:
            raise NotFound(
                "no such kecamatan", code="jurisdiction.not_found", details={"jurisdiction": str(body.jurisdiction_id)}
            )
        visible = await access.visibility(session, caller.principal)
        ids = list(
            (
                await session.scalars(
                    select(Alert.id)
                    .where(
                        visible,
                        Alert.jurisdiction_id == area.id,
                        Alert.state.in_([s.value for s in ACTIVE_STATES]),
                        Alert.duress.is_(False),
                        Alert.is_exercise.is_(body.exercise),
                    )
                    .order_by(Alert.created_at)
                )
            ).all()
        )
        name = area.name
    results = await _each(runtime, caller, ids, domain.MessageResident(body.text), bulk="area_message")
    reached = sum(1 for r in results if r.ok)
    async with runtime.unit_of_work() as session:
        await audit.record_for(
            session,
            caller.by,
            action="area.message",
            target_type="jurisdiction",
            target_id=str(body.jurisdiction_id),
            detail={"text": body.text, "reached": reached, **({"exercise": True} if body.exercise else {})},
        )
    return AreaMessageOut(
        jurisdiction_id=body.jurisdiction_id, jurisdiction_name=name, reached=reached, results=results
    )


__all__ = [
    "MAX_ALERTS",
    "AreaMessageIn",
    "AreaMessageOut",
    "BulkAction",
    "BulkIn",
    "BulkOut",
    "BulkResult",
    "Caller",
    "Surging",
    "act_audited",
    "act_on_each",
    "message_area",
]
