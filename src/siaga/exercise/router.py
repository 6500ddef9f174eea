"""HTTP for drills (administrators): synthetic residents and officers, and ending the drill."""

from __future__ import annotations

from fastapi import APIRouter, status

from siaga.audit.actor import ActorContext
from siaga.deps import Admin, ClientIP, RuntimeDep, UserAgent
from siaga.exercise import service
from siaga.exercise.schemas import (
    ExerciseEnded,
    ExerciseOfficer,
    ExerciseOfficersCreate,
    ExerciseResident,
    ExerciseResidentsCreate,
)
from siaga.schemas import error_responses

router = APIRouter(prefix="/exercise", tags=["exercise"])


@router.post("/residents", status_code=status.HTTP_201_CREATED, responses=error_responses(401, 403, 422))
async def create_residents(
    body: ExerciseResidentsCreate, principal: Admin, runtime: RuntimeDep, ip: ClientIP, agent: UserAgent
) -> list[ExerciseResident]:
    """Synthetic residents for a drill. Their alerts are exercises: labelled everywhere, left out of reports."""
    async with runtime.unit_of_work() as session:
        created = await service.create_residents(
            session,
            settings=runtime.settings,
            count=body.count,
            user_agent=agent,
            by=ActorContext.signed_in(principal, ip),
        )
    out: list[ExerciseResident] = []
    for new in created:
        assert new.resident is not None
        out.append(
            ExerciseResident(
                resident_id=new.resident.id,
                name=new.resident.name or "",
                access_token=new.token,
                expires_at=new.expires_at,
            )
        )
    return out


@router.post("/officers", status_code=status.HTTP_201_CREATED, responses=error_responses(401, 403, 422))
async def create_officers(
    body: ExerciseOfficersCreate, principal: Admin, runtime: RuntimeDep, ip: ClientIP, agent: UserAgent
) -> list[ExerciseOfficer]:
    """Synthetic officers for a drill, each with its own unit in the agency. They cannot log in with a password;
    the sessions returned here are the only way to act as them."""
    async with runtime.unit_of_work() as session:
        created = await service.create_officers(
            session,
            settings=runtime.settings,
            agency_id=body.agency_id,
            count=body.count,
            kind=body.kind,
            user_agent=agent,
            by=ActorContext.signed_in(principal, ip),
        )
    out: list[ExerciseOfficer] = []
    for new, unit in created:
        assert new.staff is not None
        out.append(
            ExerciseOfficer(
                staff_id=new.staff.id,
                unit_id=unit.id,
                callsign=unit.callsign,
                name=new.staff.name,
                access_token=new.token,
                expires_at=new.expires_at,
            )
        )
    return out


@router.post("/end", responses=error_responses(401, 403))
async def end_exercise(principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> ExerciseEnded:
    """End the drill: exercise officers go off duty, handing back every alert their units hold (each returns to
    dispatch with a timeline event, as when an officer hands one back), and are deactivated; every exercise session
    is revoked. The exercise alerts stay, labelled, for the drill's own review."""
    async with runtime.unit_of_work() as session:
        officers, residents, _ = await service.end(
            session, settings=runtime.settings, by=ActorContext.signed_in(principal, ip)
        )
    return ExerciseEnded(officers=officers, residents=residents)
