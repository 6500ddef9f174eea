"""API shapes for residents, staff, units and sessions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from siaga.accounts.domain import Role
from siaga.agencies.domain import UnitKind
from siaga.notify.consent import Consent
from siaga.schemas import LongText, Model, ReadModel, RowId, ShortText

Pin = Annotated[str, Field(pattern=r"^[0-9]{4,8}$", description="4 to 8 digits")]
Code = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="The 6-digit code from the SMS")]
PhoneIn = Annotated[str, Field(min_length=4, max_length=32, description="e.g. 0812-3456-7890 or +6281234567890")]


class CodeRequest(Model):
    phone: PhoneIn


class CodeRequested(ReadModel):
    phone: str = Field(description="The number in E.164 form")
    expires_in: int = Field(description="Seconds until the code expires")


class CodeVerify(Model):
    phone: PhoneIn
    code: Code


class CounterRegistration(Model):
    """A resident registered at a kelurahan or Polsek counter, without the app: their phone gets the code SMS."""

    phone: PhoneIn
    name: ShortText = Field(min_length=1)
    nik: Annotated[str, Field(max_length=32)]


class CounterRegistrationCode(CounterRegistration):
    code: Code = Field(description="The code the resident's phone received, read out or shown at the counter")


class TokenRead(ReadModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime


class ResidentSession(TokenRead):
    resident_id: uuid.UUID
    is_new: bool = Field(description="True the first time this number is verified: the profile is still empty")
    sms_key: str = Field(description="The key the app signs its SOS SMS with (when there is no data): keep it")


class EmergencyContactIn(Model):
    name: ShortText = Field(min_length=1)
    phone: PhoneIn
    relation: Annotated[str, Field(max_length=100)] = ""


class EmergencyContactRead(ReadModel):
    id: int
    name: str
    phone: str
    relation: str
    consent: Consent = Field(
        default=Consent.PENDING, description="Whether the contact agreed (in the SMS Siaga sent them) to get alarms"
    )


class ResidentUpdate(Model):
    name: ShortText | None = Field(default=None, min_length=1)
    nik: Annotated[str, Field(max_length=32)] | None = None
    address: LongText | None = None
    medical_notes: LongText | None = None
    language: Annotated[str, Field(pattern=r"^(id|en)$")] | None = None
    emergency_contacts: Annotated[list[EmergencyContactIn], Field(max_length=5)] | None = None


class PinsSet(Model):
    cancel_pin: Pin
    duress_pin: Pin
    current_cancel_pin: Pin | None = Field(default=None, description="Required when PINs are already set")

    @model_validator(mode="after")
    def _different(self) -> PinsSet:
        if self.cancel_pin == self.duress_pin:
            raise ValueError("the duress PIN must differ from the cancel PIN")
        return self


class ResidentRead(ReadModel):
    id: uuid.UUID
    phone: str
    name: str | None
    nik: str | None
    birth_date: date | None
    sex: str | None
    address: str | None
    medical_notes: str | None
    language: str
    has_pins: bool
    strikes: int
    suspended: bool
    suspended_reason: str | None
    created_at: datetime
    emergency_contacts: list[EmergencyContactRead]


class MyProfile(ResidentRead):
    sms_key: str | None = Field(
        default=None,
        description="The key the app signs its SOS SMS with, only in the answer that issued it (a resident from "
        "before SMS keys): keep it on the phone",
    )


class ModerationIn(Model):
    reason: Annotated[str, Field(min_length=3, max_length=2000)]


class AppealIn(Model):
    text: Annotated[str, Field(min_length=3, max_length=2000)]


class ModerationRead(ReadModel):
    id: int
    kind: str
    alert_id: uuid.UUID | None
    reason: str
    staff_id: int | None
    created_at: datetime


class LoginIn(Model):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


class StaffSession(TokenRead):
    staff_id: int
    role: Role
    agency_id: int
    login_step: Literal["code", "enrol"] | None = Field(
        default=None,
        description="None: logged in. 'code': the token only takes the second factor's code (POST /auth/code). "
        "'enrol': the role requires a second factor; the token only enrols one (POST /auth/factor, then "
        "/auth/factor/confirm). Either way it lasts a few minutes.",
    )


class SecondFactorCode(Model):
    code: Annotated[
        str,
        Field(min_length=1, max_length=40, description="The 6 digits the authenticator app shows, or a recovery code"),
    ]


class FactorSetup(ReadModel):
    secret: str = Field(description="The TOTP secret (base32), for typing into an authenticator app")
    uri: str = Field(description="The otpauth:// address the QR code holds")
    qr_svg: str = Field(description="The QR code as an SVG image")


class FactorEnrolled(ReadModel):
    recovery_codes: list[str] = Field(description="Single-use codes for a lost phone; shown only this once")
    session: StaffSession | None = Field(
        default=None, description="The whole session, when the enrolment was a login's step (its token then ends)"
    )


# What Siaga's SMS to a staff member are written in (an officer's offers by SMS): Bahasa Indonesia or English.
StaffLanguage = Annotated[str, Field(pattern=r"^(id|en)$", description="id or en: the language of Siaga's SMS to them")]


class StaffCreate(Model):
    username: Annotated[str, Field(pattern=r"^[a-z0-9._-]{3,64}$")]
    name: ShortText = Field(min_length=1)
    role: Role
    agency_id: RowId
    unit_id: RowId | None = None
    phone: PhoneIn | None = None
    language: StaffLanguage = "id"
    password: Annotated[str, Field(min_length=10, max_length=200)]


class StaffUpdate(Model):
    """Only the fields sent change; ``unit_id: null`` takes a non-officer out of their unit."""

    name: ShortText | None = Field(default=None, min_length=1)
    role: Role | None = None
    agency_id: RowId | None = None
    unit_id: RowId | None = None
    phone: PhoneIn | None = None
    language: StaffLanguage | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> StaffUpdate:
        for name in ("name", "role", "agency_id", "language"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be empty")
        return self


class PasswordSet(Model):
    password: Annotated[str, Field(min_length=10, max_length=200)]


class StaffRead(ReadModel):
    id: int
    username: str
    name: str
    role: Role
    agency_id: int
    unit_id: int | None
    phone: str | None = None
    language: str = "id"
    active: bool
    second_factor: bool = Field(default=False, description="Whether a TOTP second factor is enrolled")


class UnitCreate(Model):
    agency_id: RowId
    callsign: Annotated[str, Field(min_length=1, max_length=64)]
    kind: UnitKind = UnitKind.PATROL_CAR


class UnitRead(ReadModel):
    id: int
    agency_id: int
    callsign: str
    kind: str


class MeRead(ReadModel):
    kind: str = Field(description="resident, operator, officer, supervisor or admin")
    name: str
    resident_id: uuid.UUID | None
    staff_id: int | None
    agency_id: int | None
    unit_id: int | None
    second_factor: bool | None = Field(
        default=None, description="staff: whether their logins ask for a second factor (null for a resident)"
    )
