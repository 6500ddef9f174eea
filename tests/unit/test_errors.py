"""Domain errors carry their meaning only; the API's edge decides the HTTP status in one table (``app.HTTP_STATUS``)."""

from __future__ import annotations

import pytest

from siaga.accounts.identity import InvalidNIK, InvalidPhone
from siaga.accounts.totp import FactorKeyError
from siaga.alerts.domain import ActorNotAllowed, NotAllowed, TransitionConflict, TransitionError
from siaga.alerts.service import AlertIdReused
from siaga.app import HTTP_STATUS, http_status
from siaga.deps import is_refusal
from siaga.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    NotVisible,
    SiagaError,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)
from siaga.monitoring import MetricsRefused
from siaga.schemas import error_responses


def every_error_class() -> list[type[SiagaError]]:
    """SiagaError and every class derived from it in the application (siaga.app imports every router)."""
    found: list[type[SiagaError]] = []
    todo: list[type[SiagaError]] = [SiagaError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


EXAMPLES: list[tuple[SiagaError, int]] = [
    (SiagaError("?"), 400),
    (BadRequest("?"), 400),
    (Unauthorized("log in first"), 401),
    (Forbidden("not for you"), 403),
    (NotFound("alert not found", code="alert.not_found"), 404),
    (NotVisible("alert not found", code="alert.not_found", target_type="alert", target_id="x"), 404),
    (Conflict("taken"), 409),
    (Invalid("bad field"), 422),
    (TooManyRequests("slow down", retry_after=3), 429),
    (InvalidNIK("not a NIK", code="nik.format"), 422),
    (InvalidPhone("not a phone", code="phone.invalid"), 422),
    (AlertIdReused("reused", code="alert.id_reused"), 409),
    (MetricsRefused("no token"), 403),
    # A problem on the server's side an administrator must fix (a key that no longer opens what is stored).
    (Unavailable("?"), 503),
    (FactorKeyError("the key changed"), 503),
    # The alert state machine's refusals: a misuse, a race with someone else, and who may not act.
    (TransitionError("alert.empty_note", "a note needs some text"), 422),
    (TransitionConflict("alert.taken", "another unit has already taken this alert"), 409),
    (NotAllowed("alert.not_yours", "only the resident who raised the alert can cancel it"), 403),
]


@pytest.mark.parametrize(
    ("error", "status"), EXAMPLES, ids=lambda v: type(v).__name__ if isinstance(v, Exception) else ""
)
def test_each_kind_of_error_answers_its_status(error: SiagaError, status: int) -> None:
    assert http_status(error) == status


def test_an_error_declares_no_http_status_of_its_own() -> None:
    carrying = [cls.__qualname__ for cls in every_error_class() if hasattr(cls, "status_code")]
    assert carrying == []


def test_every_error_class_in_the_application_answers_a_client_error_or_says_the_server_must_be_fixed() -> None:
    classes = every_error_class()
    assert {ActorNotAllowed, MetricsRefused, InvalidNIK, AlertIdReused, FactorKeyError} <= set(classes)  # all reached
    for cls in classes:
        status = http_status(cls.__new__(cls))
        assert 400 <= status < 500 or (status == 503 and issubclass(cls, Unavailable)), cls


def test_a_person_refused_by_the_alert_rules_is_audited_as_any_403() -> None:
    # A resident acknowledging an alert, or cancelling another's: recorded as a denied request, as a Forbidden is.
    assert is_refusal(NotAllowed("alert.not_yours", "only the resident who raised the alert can cancel it"))
    assert not is_refusal(TransitionConflict("alert.taken", "another unit has already taken this alert"))
    assert not is_refusal(MetricsRefused("no token"))  # a scraper asking every few seconds is not audited


def test_every_status_the_table_answers_has_a_description_for_the_api_documentation() -> None:
    # The routers document their errors with error_responses(401, 403, ...): each status the edge can answer with
    # must be one it can describe.
    documented = error_responses(*sorted(set(HTTP_STATUS.values())))
    assert all(entry["description"] for entry in documented.values())
