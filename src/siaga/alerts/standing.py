"""Who answers for an open alert: its unit, the operator who took it, the escalation chain or, just raised, every
console of its agency (the invariant the timers, hand-back and escalation keep: never nobody), and the console's "not
yet seen by an operator". Pure, no I/O."""

from __future__ import annotations

from enum import StrEnum

from siaga.alerts.domain import ACTIVE_STATES, AlertSnapshot, AlertState


def awaits_operator(state: AlertState, *, acknowledged: bool, has_unit: bool) -> bool:
    """An officer has the alert but no operator has looked at it yet: the console marks it quietly ("not yet seen
    by an operator"); it does not escalate."""
    return state in ACTIVE_STATES and not acknowledged and has_unit


class Responsible(StrEnum):
    """Who answers for an open alert right now."""

    UNIT = "unit"  # the assigned unit's officers
    OPERATOR = "operator"  # the operator who acknowledged it
    ESCALATION = "escalation"  # nobody took it: the escalation chain (supervisors, parent, neighbours) has it
    AGENCY = "agency"  # just raised: every console of its agency, with T1 running


def responsible(alert: AlertSnapshot, *, ack_timer_running: bool) -> Responsible | None:
    """Who is responsible for an open alert. None means nobody: never true of an open alert (the invariant the
    timers, hand-back and escalation keep)."""
    if alert.unit_id is not None:
        return Responsible.UNIT
    if alert.acknowledged_by is not None:
        return Responsible.OPERATOR
    if alert.escalated:
        return Responsible.ESCALATION
    if ack_timer_running:
        return Responsible.AGENCY
    return None
