"""What the drill API takes and gives."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from siaga.agencies.domain import UnitKind
from siaga.schemas import Model, ReadModel, RowId


class ExerciseResidentsCreate(Model):
    count: Annotated[int, Field(ge=1, le=500, description="How many synthetic residents to create")]


class ExerciseResident(ReadModel):
    resident_id: uuid.UUID
    name: str
    access_token: str = Field(description="A resident session: press SOS, set PINs, cancel, as a resident would")
    expires_at: datetime


class ExerciseOfficersCreate(Model):
    agency_id: RowId
    count: Annotated[int, Field(ge=1, le=200, description="How many synthetic officers, each with its own unit")]
    kind: UnitKind = UnitKind.PATROL_CAR


class ExerciseOfficer(ReadModel):
    staff_id: int
    unit_id: int
    callsign: str
    name: str
    access_token: str = Field(description="An officer session: duty, positions, offers, as an officer would")
    expires_at: datetime


class ExerciseEnded(ReadModel):
    officers: int = Field(description="Exercise officers taken off duty and logged out")
    residents: int = Field(description="Exercise residents logged out")
