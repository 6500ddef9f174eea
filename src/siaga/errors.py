"""Domain errors. Each carries a stable machine code and a human message; the API maps them to HTTP."""

from __future__ import annotations

from typing import Any, ClassVar


class SiagaError(Exception):
    """Base of every error a person or client is meant to read."""

    status_code: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or {}


class BadRequest(SiagaError):
    status_code = 400
    default_code = "bad_request"


class Unauthorized(SiagaError):
    status_code = 401
    default_code = "auth.required"


class Forbidden(SiagaError):
    status_code = 403
    default_code = "auth.forbidden"


class NotFound(SiagaError):
    status_code = 404
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
    status_code = 409
    default_code = "conflict"


class Invalid(SiagaError):
    status_code = 422
    default_code = "invalid"


class TooManyRequests(SiagaError):
    status_code = 429
    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after
