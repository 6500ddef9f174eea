"""Agencies' rules for a new alert: pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgencyTerms:
    """An agency as a new alert needs it: who owns the alert, when it escalates (T1 unacknowledged, T2 without a
    unit; None: the process default) and whether the agency offers it to its nearest units at once."""

    id: int
    code: str
    ack_timeout_s: int | None
    dispatch_timeout_s: int | None
    direct_offers: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    """An agency that may own an alert no kecamatan places: the configured one, or one at the top."""

    terms: AgencyTerms
    top: bool  # no parent agency
    command_centre: bool


def choose_default_agency(candidates: Sequence[Candidate], *, configured_code: str) -> AgencyTerms | None:
    """The agency for alerts outside every jurisdiction (or without a position): the configured one, else the top
    command centre, else the first top agency (``candidates`` in the order the agencies were made). None: there is
    no agency at all, and the caller makes one (an alert is never left without an agency)."""
    if configured_code:
        for candidate in candidates:
            if candidate.terms.code == configured_code:
                return candidate.terms
    tops = [c for c in candidates if c.top]
    for candidate in tops:
        if candidate.command_centre:
            return candidate.terms
    return tops[0].terms if tops else None
