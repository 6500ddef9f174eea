"""Domain errors. Each says what went wrong, as a stable machine code, a human message and the details a client
needs to word it in the reader's language. None of them knows HTTP: the API's edge decides the status, in one table
keyed by these classes (``siaga.app.HTTP_STATUS``)."""

from __future__ import annotations

from typing import Any, ClassVar


class SiagaError(Exception):
    """Base of every error a person or client is meant to read."""

    default_code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or {}


class BadRequest(SiagaError):
    """The request cannot be read at all."""

    default_code = "bad_request"


class Unauthorized(SiagaError):
    """Nobody (or an ended session) is asking: log in first."""

    default_code = "auth.required"


class Forbidden(SiagaError):
    """Refused for who is asking: their role, agency or unit may not do this. Recorded in the audit log."""

    default_code = "auth.forbidden"


class NotFound(SiagaError):
    default_code = "not_found"


class NotVisible(NotFound):
    """A record that exists but is outside the caller's scope. Answered exactly as a missing id, so ids leak
    nothing, and recorded in the audit log as a denied request (the target is for the log, never for the caller)."""

    def __init__(
        self, message: str, *, code: str, target_type: str, target_id: str, agency_id: int | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.target_type = target_type
        self.target_id = target_id
        self.agency_id = agency_id


class Conflict(SiagaError):
    """A clash with the current state or another person's action (a race): reading again shows why."""

    default_code = "conflict"


class Invalid(SiagaError):
    """Input that is well formed but wrong: the message says which field and why."""

    default_code = "invalid"


class Unavailable(SiagaError):
    """Siaga cannot do this now for a reason on the server's side that its administrator must fix (a key that does
    not open what is stored, a service down): the person asking did nothing wrong, and the request may work later."""

    default_code = "unavailable"


class TooManyRequests(SiagaError):
    """Asked too often; ``retry_after`` seconds until the next try may succeed."""

    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after
