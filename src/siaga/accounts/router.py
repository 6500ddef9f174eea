"""HTTP for residents (code, verify, profile, PINs), staff sessions, staff accounts and units."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import apikeys, sms_keys
from siaga.accounts import service as accounts
from siaga.accounts import staff as staffing
from siaga.accounts.apikey_schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from siaga.accounts.domain import Role
from siaga.accounts.models import Resident
from siaga.accounts.schemas import (
    AppealIn,
    CodeRequest,
    CodeRequested,
    CodeVerify,
    CounterRegistration,
    CounterRegistrationCode,
    EmergencyContactRead,
    ModerationIn,
    ModerationRead,
    MyProfile,
    PasswordSet,
    PinsSet,
    ResidentRead,
    ResidentSession,
    ResidentUpdate,
    StaffCreate,
    StaffRead,
    StaffUpdate,
    UnitCreate,
    UnitRead,
)
from siaga.alerts import access
from siaga.alerts import residents as resident_reads
from siaga.audit.actor import ActorContext
from siaga.deps import (
    Admin,
    ClientIP,
    CommandCentre,
    CurrentResident,
    RuntimeDep,
    Supervisor,
    UserAgent,
)
from siaga.dispatch import deactivation
from siaga.notify import consent
from siaga.notify import service as notify
from siaga.ops import erasure
from siaga.responders import service as responders
from siaga.responders.models import Unit
from siaga.schemas import RowId, error_responses

router = APIRouter()


async def resident_read(session: AsyncSession, resident: Resident) -> ResidentRead:
    contacts = await accounts.emergency_contacts(session, resident.id)
    answers = await consent.states(session, resident.id)
    return ResidentRead(
        id=resident.id,
        phone=resident.phone,
        name=resident.name,
        nik=resident.nik,
        birth_date=resident.birth_date,
        sex=resident.sex,
        address=resident.address,
        medical_notes=resident.medical_notes,
        language=resident.language,
        has_pins=resident.cancel_pin_hash is not None,
        strikes=resident.strikes,
        suspended=resident.suspended,
        suspended_reason=resident.suspended_reason,
        created_at=resident.created_at,
        emergency_contacts=[
            EmergencyContactRead(
                id=c.id,
                name=c.name,
                phone=c.phone,
                relation=c.relation,
                consent=answers.get(c.phone, consent.Consent.PENDING),
            )
            for c in contacts
        ],
    )


# Residents: registration by phone -----------------------------------------------------------------------------


@router.post(
    "/residents/code",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["residents"],
    responses=error_responses(422, 429),
)
async def request_code(body: CodeRequest, runtime: RuntimeDep, ip: ClientIP) -> CodeRequested:
    """Send a 6-digit code by SMS to a phone number (valid 5 minutes, single use)."""
    async with runtime.unit_of_work() as session:
        phone, message_id = await accounts.request_code(
            session, settings=runtime.settings, phone_raw=body.phone, client_ip=ip
        )
    # After the commit, in this request (the person is waiting for it); a failed send is recorded and retried.
    await notify.deliver(runtime.unit_of_work, runtime.senders, [message_id])
    return CodeRequested(phone=phone, expires_in=runtime.settings.otp_ttl_seconds)


@router.post("/residents/verify", tags=["residents"], responses=error_responses(422, 429))
async def verify_code(body: CodeVerify, runtime: RuntimeDep, ip: ClientIP, agent: UserAgent) -> ResidentSession:
    """Exchange the SMS code for a resident session (creating the resident the first time)."""
    async with runtime.unit_of_work() as session:
        result = await accounts.verify_code(
            session,
            settings=runtime.settings,
            phone_raw=body.phone,
            code=body.code,
            client_ip=ip,
            user_agent=agent,
        )
    if isinstance(result, accounts.CodeFailure):
        raise result.error  # the attempt was counted and committed first
    assert result.resident is not None
    return ResidentSession(
        access_token=result.token,
        expires_at=result.expires_at,
        resident_id=result.resident.id,
        is_new=result.is_new,
        sms_key=result.sms_key or "",
    )


@router.post(
    "/residents/counter/code",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["residents"],
    responses=error_responses(401, 403, 422, 429),
)
async def counter_code(
    body: CounterRegistration, principal: Supervisor, runtime: RuntimeDep, ip: ClientIP
) -> CodeRequested:
    """At a counter: check the NIK and send the resident's phone the code SMS (the app's own, within its limits)."""
    by = ActorContext.signed_in(principal, ip)
    async with runtime.unit_of_work() as session:
        phone, message_id = await accounts.counter_code(
            session, settings=runtime.settings, phone_raw=body.phone, nik=body.nik, by=by
        )
    await notify.deliver(runtime.unit_of_work, runtime.senders, [message_id])
    return CodeRequested(phone=phone, expires_in=runtime.settings.otp_ttl_seconds)


@router.post(
    "/residents/counter",
    status_code=status.HTTP_201_CREATED,
    tags=["residents"],
    responses=error_responses(401, 403, 422),
)
async def register_at_counter(
    body: CounterRegistrationCode, principal: Supervisor, runtime: RuntimeDep, ip: ClientIP
) -> ResidentRead:
    """At a counter: the code the resident's phone received registers the number with the name and NIK (a bare
    account an earlier SOS by SMS made for it is completed). A wrong code is counted before it is refused."""
    by = ActorContext.signed_in(principal, ip)
    async with runtime.unit_of_work() as session:
        registered = await accounts.register_with_code(
            session,
            settings=runtime.settings,
            phone=accounts.normalize_phone(runtime.settings, body.phone),
            code=body.code,
            name=body.name,
            nik=body.nik,
            way="counter",
            client_ip=accounts.counter_address(by),
            by=by,
        )
        if not isinstance(registered, accounts.CodeFailure):
            return await resident_read(session, registered)
    raise registered.error  # the wrong guess was counted (and audited) and committed first


@router.get("/residents/me", tags=["residents"], responses=error_responses(401, 403))
async def my_profile(principal: CurrentResident, runtime: RuntimeDep) -> MyProfile:
    """Your profile, emergency contacts and standing (and your SMS key, the first time: see ``sms_key``)."""
    assert principal.resident_id is not None
    async with runtime.unit_of_work() as session:
        resident = await accounts.get_resident(session, principal.resident_id)
        key, issued = sms_keys.issue(resident, settings=runtime.settings)
        read = await resident_read(session, resident)
        return MyProfile(**read.model_dump(), sms_key=key if issued else None)


@router.patch("/residents/me", tags=["residents"], responses=error_responses(401, 403, 409, 422))
async def update_my_profile(
    body: ResidentUpdate, principal: CurrentResident, runtime: RuntimeDep, ip: ClientIP
) -> ResidentRead:
    """Change your name, NIK, address, medical notes, language or emergency contacts (the list is replaced)."""
    assert principal.resident_id is not None
    async with runtime.unit_of_work() as session:
        resident = await accounts.get_resident(session, principal.resident_id)
        by = ActorContext.signed_in(principal, ip)
        await accounts.update_profile(session, settings=runtime.settings, resident=resident, changes=body, by=by)
        return await resident_read(session, resident)


@router.put(
    "/residents/me/pins",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["residents"],
    responses=error_responses(401, 403, 422, 429),
)
async def set_my_pins(body: PinsSet, principal: CurrentResident, runtime: RuntimeDep, ip: ClientIP) -> Response:
    """Set the cancel PIN and the duress PIN (which looks like a cancel but silently raises the alarm)."""
    assert principal.resident_id is not None
    # Slow hashing happens before the transaction, so it never holds the database.
    entry = (
        await accounts.read_pin_entry(runtime.read_sessions, principal.resident_id, body.current_cancel_pin)
        if body.current_cancel_pin
        else None
    )
    hashes = await accounts.hash_pins(body)
    async with runtime.unit_of_work() as session:
        resident = await accounts.get_resident(session, principal.resident_id)
        failure = await accounts.set_pins(
            session,
            resident_id=resident.id,
            pins=body,
            entry=entry,
            hashes=hashes,
            max_failures=runtime.settings.pin_max_attempts,
            by=ActorContext.signed_in(principal, ip),
        )
    if failure is not None and failure.error is not None:
        raise failure.error
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/residents/me/appeal",
    status_code=status.HTTP_201_CREATED,
    tags=["residents"],
    responses=error_responses(401),
)
async def appeal(body: AppealIn, principal: CurrentResident, runtime: RuntimeDep, ip: ClientIP) -> ModerationRead:
    """Appeal a strike or a suspension; supervisors see it in your moderation history."""
    assert principal.resident_id is not None
    async with runtime.unit_of_work() as session:
        resident = await accounts.get_resident(session, principal.resident_id)
        record = await accounts.appeal(
            session, resident=resident, text=body.text, by=ActorContext.signed_in(principal, ip)
        )
        return ModerationRead.model_validate(record)


@router.delete(
    "/residents/me",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["residents"],
    responses=error_responses(401, 403, 409),
)
async def delete_my_account(principal: CurrentResident, runtime: RuntimeDep, ip: ClientIP) -> Response:
    """Delete your account and your personal data (audited). Your past alerts stay, anonymised, in the statistics.
    Refused (409) while an alert of yours is active."""
    assert principal.resident_id is not None
    async with runtime.unit_of_work() as session:
        resident = await accounts.get_resident(session, principal.resident_id)
        await erasure.delete_account(session, resident=resident, by=ActorContext.signed_in(principal, ip))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Residents: staff views and moderation -----------------------------------------------------------------------


@router.get("/residents", tags=["residents"], responses=error_responses(401, 403))
async def list_residents(
    principal: Supervisor,
    runtime: RuntimeDep,
    ip: ClientIP,
    q: Annotated[str | None, Query(max_length=100, description="Part of a name or phone number")] = None,
    suspended: bool | None = None,
    min_strikes: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    nik_contested: Annotated[
        bool | None, Query(description="Only residents whose NIK another phone number also claims (or none does)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ResidentRead]:
    """Residents (administrators: all; supervisors: those who raised an alert in their area), for moderation; with
    ``nik_contested=true``, the NIKs two phone numbers claim, to settle. Audited: it is personal data."""
    async with runtime.unit_of_work() as session:
        residents = await resident_reads.read_residents(
            session,
            principal,
            by=ActorContext.signed_in(principal, ip),
            q=q,
            suspended=suspended,
            min_strikes=min_strikes,
            nik_contested=nik_contested,
            limit=limit,
        )
        return [await resident_read(session, r) for r in residents]


@router.get("/residents/{resident_id}", tags=["residents"], responses=error_responses(401, 403, 404))
async def read_resident(
    resident_id: uuid.UUID, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP
) -> ResidentRead:
    """A resident's profile (audited)."""
    async with runtime.unit_of_work() as session:
        resident = await resident_reads.read_resident(
            session, principal, resident_id, by=ActorContext.signed_in(principal, ip)
        )
        return await resident_read(session, resident)


@router.get("/residents/{resident_id}/moderation", tags=["residents"], responses=error_responses(401, 403, 404))
async def moderation_history(
    resident_id: uuid.UUID, principal: CommandCentre, runtime: RuntimeDep, ip: ClientIP
) -> list[ModerationRead]:
    """Strikes, suspensions, reinstatements and appeals, oldest first (audited)."""
    async with runtime.unit_of_work() as session:
        history = await resident_reads.read_moderation(
            session, principal, resident_id, by=ActorContext.signed_in(principal, ip)
        )
        return [ModerationRead.model_validate(r) for r in history]


async def _set_suspended(
    resident_id: uuid.UUID,
    body: ModerationIn,
    principal: Supervisor,
    runtime: RuntimeDep,
    ip: str,
    *,
    suspend: bool,
) -> ResidentRead:
    assert principal.staff_id is not None
    async with runtime.unit_of_work() as session:
        await resident_reads.in_scope(session, principal, resident_id)
        resident = await accounts.set_suspended(
            session,
            resident_id=resident_id,
            suspended=suspend,
            reason=body.reason,
            by=ActorContext.signed_in(principal, ip),
        )
        return await resident_read(session, resident)


@router.post("/residents/{resident_id}/suspend", tags=["residents"], responses=error_responses(401, 403, 404, 409))
async def suspend_resident(
    resident_id: uuid.UUID, body: ModerationIn, principal: Supervisor, runtime: RuntimeDep, ip: ClientIP
) -> ResidentRead:
    """Suspend a resident after repeated pranks. Their SOS is still delivered, flagged for the operator."""
    return await _set_suspended(resident_id, body, principal, runtime, ip, suspend=True)


@router.post("/residents/{resident_id}/reinstate", tags=["residents"], responses=error_responses(401, 403, 404, 409))
async def reinstate_resident(
    resident_id: uuid.UUID, body: ModerationIn, principal: Supervisor, runtime: RuntimeDep, ip: ClientIP
) -> ResidentRead:
    """Lift a suspension, with a reason."""
    return await _set_suspended(resident_id, body, principal, runtime, ip, suspend=False)


# Staff accounts and units ------------------------------------------------------------------------------------


@router.post(
    "/staff",
    status_code=status.HTTP_201_CREATED,
    tags=["staff"],
    responses=error_responses(401, 403, 409, 422),
)
async def create_staff(body: StaffCreate, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> StaffRead:
    """Create a staff account (administrators). The password must pass the policy: 10 characters or more, not easy
    to guess (a 422 with code staff.password_weak says so)."""
    await staffing.check_new_password(body.password, username=body.username, name=body.name)
    async with runtime.unit_of_work() as session:
        phone = accounts.normalize_phone(runtime.settings, body.phone) if body.phone else None
        staff = await accounts.create_staff(
            session,
            username=body.username,
            name=body.name,
            role=body.role,
            agency_id=body.agency_id,
            password=body.password,
            unit_id=body.unit_id,
            phone=phone,
            language=body.language,
            by=ActorContext.signed_in(principal, ip),
        )
        return StaffRead.model_validate(staff)


@router.get("/staff", tags=["staff"], responses=error_responses(401, 403))
async def list_staff(
    principal: Supervisor,
    runtime: RuntimeDep,
    response: Response,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of a username, name or phone number")] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[StaffRead]:
    """Staff of your agency and those below it (administrators: everyone), a page at a time. The header
    X-Total-Count says how many match in all."""
    async with runtime.read_sessions() as session:
        scope = await access.staff_agency_scope(session, principal)
        page = await staffing.find_staff(
            session, agencies=scope, q=q, role=role, active=active, limit=limit, offset=offset
        )
    response.headers["X-Total-Count"] = str(page.total)
    return [StaffRead.model_validate(s) for s in page.staff]


@router.patch("/staff/{staff_id}", tags=["staff"], responses=error_responses(401, 403, 404, 409, 422))
async def update_staff(
    staff_id: RowId, body: StaffUpdate, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> StaffRead:
    """Change a staff member's name, role, agency, unit, phone or language (of Siaga's SMS to them; administrators;
    audited). A new role, agency or unit ends their sessions: they sign in again with what they may now do."""
    changes = body.model_dump(exclude_unset=True)
    async with runtime.unit_of_work() as session:
        if changes.get("phone"):
            changes["phone"] = accounts.normalize_phone(runtime.settings, changes["phone"])
        staff = await staffing.staff_by_id(session, staff_id)
        by = ActorContext.signed_in(principal, ip)
        await staffing.update_staff(session, staff=staff, changes=changes, by=by)
        return StaffRead.model_validate(staff)


@router.post("/staff/{staff_id}/deactivate", tags=["staff"], responses=error_responses(401, 403, 404, 409))
async def deactivate_staff(staff_id: RowId, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> StaffRead:
    """Deactivate an account (administrators; audited): it cannot sign in, its sessions end at once and its open
    streams close. An officer on duty goes off duty, handing back an alert nobody else of their unit can answer. Its
    history stays."""
    async with runtime.unit_of_work() as session:
        staff = await staffing.staff_by_id(session, staff_id)
        by = ActorContext.signed_in(principal, ip)
        await deactivation.deactivate(session, settings=runtime.settings, staff=staff, by=by)
        return StaffRead.model_validate(staff)


@router.post("/staff/{staff_id}/activate", tags=["staff"], responses=error_responses(401, 403, 404))
async def activate_staff(staff_id: RowId, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> StaffRead:
    """Reactivate a deactivated account (administrators; audited). It signs in again with its password."""
    async with runtime.unit_of_work() as session:
        staff = await staffing.staff_by_id(session, staff_id)
        await staffing.set_active(session, staff=staff, active=True, by=ActorContext.signed_in(principal, ip))
        return StaffRead.model_validate(staff)


@router.put(
    "/staff/{staff_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["staff"],
    responses=error_responses(401, 403, 404, 422),
)
async def reset_staff_password(
    staff_id: RowId, body: PasswordSet, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> None:
    """Give a staff member a new password (administrators; audited), which must pass the policy. Their other
    sessions end."""
    async with runtime.unit_of_work() as session:
        staff = await staffing.staff_by_id(session, staff_id)
        await staffing.reset_password(
            session, staff=staff, password=body.password, by=ActorContext.signed_in(principal, ip)
        )


@router.post(
    "/units",
    status_code=status.HTTP_201_CREATED,
    tags=["staff"],
    responses=error_responses(401, 403, 409, 422),
)
async def create_unit(body: UnitCreate, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> UnitRead:
    """Create a unit (administrators). Officers are then added to it."""
    async with runtime.unit_of_work() as session:
        unit = await responders.create_unit(
            session,
            agency_id=body.agency_id,
            callsign=body.callsign,
            kind=body.kind,
            by=ActorContext.signed_in(principal, ip),
        )
        return UnitRead.model_validate(unit)


@router.get("/units", tags=["staff"], responses=error_responses(401, 403))
async def list_units(
    principal: CommandCentre, runtime: RuntimeDep, limit: int = Query(default=500, ge=1, le=5000)
) -> list[UnitRead]:
    """Units of your agency and those below it."""
    async with runtime.unit_of_work() as session:
        scope = await access.staff_agency_scope(session, principal)
        query = select(Unit).order_by(Unit.id).limit(limit)
        if scope is not None:
            query = query.where(Unit.agency_id.in_(scope))
        return [UnitRead.model_validate(u) for u in (await session.scalars(query)).all()]


@router.post(
    "/apikeys",
    status_code=status.HTTP_201_CREATED,
    tags=["api keys"],
    responses=error_responses(401, 403, 422),
)
async def create_api_key(body: ApiKeyCreate, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> ApiKeyCreated:
    """Make an API key for an integrator's system (administrators; audited). This answer holds the key, the only
    time it is shown: Siaga keeps its hash. The system sends it as ``Authorization: Bearer sk_siaga_...``."""
    async with runtime.unit_of_work() as session:
        made = await apikeys.create(
            session,
            by=ActorContext.signed_in(principal, ip),
            name=body.name,
            agency_id=body.agency_id,
            scopes=body.scopes,
            requests_per_minute=body.requests_per_minute,
        )
        return ApiKeyCreated(**ApiKeyRead.of(made.row).model_dump(), key=made.key)


@router.get("/apikeys", tags=["api keys"], responses=error_responses(401, 403))
async def list_api_keys(principal: Admin, runtime: RuntimeDep) -> list[ApiKeyRead]:
    """Every API key, newest first, revoked ones too (administrators). Never the keys themselves."""
    async with runtime.read_sessions() as session:
        return [ApiKeyRead.of(row) for row in await apikeys.listing(session)]


@router.post("/apikeys/{key_id}/revoke", tags=["api keys"], responses=error_responses(401, 403, 404, 409))
async def revoke_api_key(key_id: RowId, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> ApiKeyRead:
    """Revoke an API key (administrators; audited): every Siaga process refuses it from this answer on."""
    async with runtime.unit_of_work() as session:
        row = await apikeys.revoke(session, by=ActorContext.signed_in(principal, ip), key_id=key_id)
        return ApiKeyRead.of(row)
