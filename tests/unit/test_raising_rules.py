"""The rules for a new alert, as pure functions (``alerts.domain``, ``agencies.domain``): every channel's alerts are
written by them, so they are checked here without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from siaga.agencies.domain import AgencyTerms, Candidate, choose_default_agency
from siaga.alerts import raise_rules
from siaga.alerts.domain import Category
from siaga.alerts.raise_rules import Caller, CallerKind, Position, Raiser, RaiseRequest

NOW = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)
POLSEK = AgencyTerms(7, "POLSEK-COBLONG", 120, 300, False)
PLAIN = AgencyTerms(1, "BDG-CC", None, None, False)


def request(**fields: object) -> RaiseRequest:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "fingerprint": "f" * 64,
        "caller": Caller(CallerKind.RESIDENT, "r", "Sari", resident_id=uuid.uuid4()),
        "category": Category.KRIMINALITAS,
        "received_at": NOW,
        "position": Position(-6.89, 107.61, 15.0),
    }
    values.update(fields)
    return RaiseRequest(**values)  # type: ignore[arg-type]


def raiser(**fields: object) -> Raiser:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "phone": "+6281200000000",
        "name": "Sari",
        "nik": None,
        "strikes": 0,
        "suspended": False,
        "suspended_reason": None,
        "is_exercise": False,
    }
    values.update(fields)
    return Raiser(**values)  # type: ignore[arg-type]


def test_timers_count_from_receipt_with_the_agencys_deadlines_else_the_defaults() -> None:
    later = NOW + timedelta(seconds=3)
    due = raise_rules.deadlines(NOW, POLSEK, ack_default_s=60, dispatch_default_s=600, now=later)
    assert (due.ack_due_at, due.dispatch_due_at, due.offer_due_at) == (
        NOW + timedelta(seconds=120),
        NOW + timedelta(seconds=300),
        None,
    )
    due = raise_rules.deadlines(NOW, PLAIN, ack_default_s=60, dispatch_default_s=600, now=later)
    assert (due.ack_due_at, due.dispatch_due_at) == (NOW + timedelta(seconds=60), NOW + timedelta(seconds=600))
    # T2 never runs out before T1; an agency that offers directly offers at once.
    hasty = AgencyTerms(2, "X", 300, 100, True)
    due = raise_rules.deadlines(NOW, hasty, ack_default_s=60, dispatch_default_s=600, now=later)
    assert (due.dispatch_due_at, due.offer_due_at) == (NOW + timedelta(seconds=300), later)


def test_flags_tell_the_console_what_it_must_know_and_never_refuse() -> None:
    assert raise_rules.raise_flags(request(), raiser()) == []
    flagged = raise_rules.raise_flags(
        request(position=None, caller=Caller(CallerKind.RESIDENT, "r", "Sari", session_expired=True)),
        raiser(suspended=True, strikes=3, suspended_reason=None),
    )
    assert flagged == [
        {"reason": "no_location"},
        {"reason": "resident_suspended", "strikes": 3, "note": ""},
        {"reason": "session_expired"},
    ]


def test_the_new_alert_is_received_now_at_its_position_or_the_map_centre() -> None:
    due = raise_rules.deadlines(NOW, POLSEK, ack_default_s=60, dispatch_default_s=600, now=NOW)
    where = raise_rules.Placed(3, "32.73.02", "inside", 0.0)
    follows = uuid.uuid4()
    row = raise_rules.new_alert(
        request(follows_id=follows), raiser(is_exercise=True), POLSEK, where, due, map_centre=(-6.9, 107.6)
    )
    assert (row["created_at"], row["agency_id"], row["jurisdiction_id"], row["placement"]) == (NOW, 7, 3, "inside")
    assert (row["lat"], row["lon"], row["follows_id"], row["is_exercise"], row["state"]) == (
        -6.89,
        107.61,
        follows,
        True,
        "new",
    )
    blind = raise_rules.new_alert(
        request(position=None), raiser(), PLAIN, raise_rules.UNPLACED, due, map_centre=(-6.9, 107.6)
    )
    assert (blind["lat"], blind["lon"], blind["accuracy_m"], blind["placement"]) == (-6.9, 107.6, None, "no_location")


def test_a_follow_up_never_joins_another_open_alert() -> None:
    assert request().may_join
    assert not request(follows_id=uuid.uuid4()).may_join


def test_the_default_agency_is_the_configured_one_else_the_top_command_centre_else_the_first_top_agency() -> None:
    polres = Candidate(AgencyTerms(1, "POLRES", None, None, False), top=True, command_centre=False)
    centre = Candidate(AgencyTerms(2, "BDG-CC", None, None, False), top=True, command_centre=True)
    polsek = Candidate(AgencyTerms(3, "POLSEK", None, None, False), top=False, command_centre=False)
    everyone = [polres, centre, polsek]
    assert choose_default_agency(everyone, configured_code="POLSEK") == polsek.terms
    assert choose_default_agency(everyone, configured_code="") == centre.terms
    assert choose_default_agency(everyone, configured_code="GONE") == centre.terms
    assert choose_default_agency([polres, polsek], configured_code="") == polres.terms
    assert choose_default_agency([], configured_code="BDG-CC") is None
