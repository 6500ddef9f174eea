"""Shared API shapes: the error body, and constrained field types used by several domains."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from siaga.text import cleaned


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine code, e.g. alert.already_acknowledged")
    message: str = Field(description="What is wrong, for a person")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    """Every error answer has this shape."""

    error: ErrorDetail


class Input(BaseModel):
    """Base for everything a client sends: its text is cleaned before validation (``siaga.text``), so a NUL byte or
    half an emoji is stored as clean text on every database instead of answering 422 or 500."""

    @model_validator(mode="before")
    @classmethod
    def _clean_text(cls, data: Any) -> Any:
        return cleaned(data)


class Model(Input):
    """Base for request bodies: unknown fields are refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _number_not_boolean(value: Any) -> Any:
    """JSON's true and false are not the numbers 1 and 0: a coordinate of ``true`` is refused, not placed at 1."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


NotBoolean = BeforeValidator(_number_not_boolean)
Latitude = Annotated[float, NotBoolean, Field(ge=-90, le=90, allow_inf_nan=False, description="WGS84 latitude")]
Longitude = Annotated[float, NotBoolean, Field(ge=-180, le=180, allow_inf_nan=False, description="WGS84 longitude")]
AccuracyM = Annotated[
    float, NotBoolean, Field(ge=0, le=100_000, allow_inf_nan=False, description="Accuracy radius in metres")
]
Battery = Annotated[int, NotBoolean, Field(ge=0, le=100, description="Battery level in per cent")]
# A row's id as the databases store it: a larger one is a clear 422, not an overflow in the driver. Most tables are
# keyed by a 32-bit INTEGER on PostgreSQL (staff, units, agencies, offers, ...); the busiest (audit records, events,
# messages) by a 64-bit one.
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
BigRowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
FIRST_YEAR, LAST_YEAR = 1900, 2200  # a date a person could mean; outside, offsets overflow and databases disagree


def _plausible_day(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be a date between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


def _plausible_moment(value: datetime) -> datetime:
    _plausible_day(value.date())
    return value.astimezone(UTC)


Day = Annotated[date, AfterValidator(_plausible_day)]
Moment = Annotated[AwareDatetime, AfterValidator(_plausible_moment)]
ShortText = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=4000)]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries documenting that an endpoint can answer with these error statuses."""
    descriptions = {
        400: "Malformed request",
        401: "Not logged in or the token expired",
        403: "Your role or agency may not do this",
        404: "Not found (or not yours to see)",
        409: "Conflict with the current state or another person's action",
        413: "Body too large",
        422: "Invalid input: the message says which field and why",
        429: "Too many requests; see retry_after",
        503: "Siaga cannot do this now, for a reason on the server's side an administrator must fix",
    }
    return {status: {"model": ErrorBody, "description": descriptions[status]} for status in statuses}
