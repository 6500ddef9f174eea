"""Residents' cancel and duress PINs: reading an entry, settling it against the lock, setting and hashing them."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.accounts import security
from siaga.accounts.models import Resident
from siaga.accounts.residents import get_resident
from siaga.accounts.schemas import PinsSet
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.errors import Conflict, Invalid, NotFound, SiagaError, TooManyRequests

PIN_LOCK_PERIOD = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class PinEntry:
    """Which PIN a resident typed, worked out before any transaction (argon2 is slow on purpose), with the hashes
    it was checked against so the transaction can tell if they changed meanwhile."""

    kind: str  # cancel | duress | wrong | not_set
    cancel_hash: str | None
    duress_hash: str | None


async def read_pin_entry(read_sessions: async_sessionmaker[AsyncSession], resident_id: uuid.UUID, pin: str) -> PinEntry:
    async with read_sessions() as session:
        resident = await get_resident(session, resident_id)
        cancel_hash, duress_hash = resident.cancel_pin_hash, resident.duress_pin_hash
    if cancel_hash is None:
        return PinEntry("not_set", None, None)
    # Both PINs are checked on every entry, so a duress entry takes as long as any other. In a thread: the event
    # loop, and every other request, must not wait for argon2.
    is_cancel, is_duress = await asyncio.to_thread(
        lambda: (security.verify_secret(cancel_hash, pin), security.verify_secret(duress_hash, pin))
    )
    kind = "cancel" if is_cancel else "duress" if is_duress else "wrong"
    return PinEntry(kind, cancel_hash, duress_hash)


@dataclass(frozen=True, slots=True)
class PinCheck:
    """The result of a PIN entry: the cancel PIN, the duress PIN, or wrong (with an error to raise after commit)."""

    kind: str  # cancel | duress | wrong | locked
    error: SiagaError | None = None
    failures: int = 0


async def settle_pin(session: AsyncSession, *, resident_id: uuid.UUID, entry: PinEntry, max_failures: int) -> PinCheck:
    """Count the entry against the resident's row, locked so concurrent guesses cannot slip past the limit. The
    duress PIN always counts, even while cancelling is locked: it is the one that may save a life."""
    resident = await session.scalar(
        select(Resident).where(Resident.id == resident_id).with_for_update().execution_options(populate_existing=True)
    )
    if resident is None:
        raise NotFound("resident not found", code="resident.not_found")
    if entry.kind == "not_set" or resident.cancel_pin_hash is None:
        return PinCheck("wrong", Invalid("set a cancel PIN in your profile first", code="pin.not_set"))
    if (resident.cancel_pin_hash, resident.duress_pin_hash) != (entry.cancel_hash, entry.duress_hash):
        raise Conflict("your PINs changed meanwhile; enter the PIN again", code="pin.changed")
    now = utcnow()
    if entry.kind == "duress":
        resident.pin_failures = 0
        return PinCheck("duress")
    if resident.pin_failed_at is not None and resident.pin_failed_at <= now - PIN_LOCK_PERIOD:
        resident.pin_failures = 0  # the lock has run out
    if resident.pin_failures >= max_failures:
        wait = (
            int((resident.pin_failed_at + PIN_LOCK_PERIOD - now).total_seconds()) + 1 if resident.pin_failed_at else 0
        )
        return PinCheck(
            "locked",
            TooManyRequests(
                "too many wrong PINs; cancelling is locked for a while (the command centre can see this)",
                retry_after=max(1, wait),
                code="pin.locked",
            ),
            failures=resident.pin_failures,
        )
    if entry.kind == "cancel":
        resident.pin_failures = 0
        return PinCheck("cancel")
    resident.pin_failures += 1
    resident.pin_failed_at = now
    left = max(0, max_failures - resident.pin_failures)
    return PinCheck(
        "wrong",
        Invalid(f"wrong PIN; {left} attempt(s) left", code="pin.wrong", details={"attempts_left": left}),
        failures=resident.pin_failures,
    )


async def set_pins(
    session: AsyncSession,
    *,
    resident_id: uuid.UUID,
    pins: PinsSet,
    entry: PinEntry | None,
    hashes: tuple[str, str],
    max_failures: int,
    by: ActorContext,
) -> PinCheck | None:
    """Set the cancel and duress PINs (``hashes``, made beforehand). Changing existing PINs needs the current
    cancel PIN (``entry``). Returns a failed ``PinCheck`` (to commit, then raise) when it is wrong. Audited, a wrong
    PIN as a failure."""
    failure = await _set_pins(
        session, resident_id=resident_id, pins=pins, entry=entry, hashes=hashes, max_failures=max_failures
    )
    await audit.record_for(
        session,
        by,
        action="resident.pins",
        target_type="resident",
        target_id=str(resident_id),
        outcome="success" if failure is None else "failure",
    )
    return failure


async def _set_pins(
    session: AsyncSession,
    *,
    resident_id: uuid.UUID,
    pins: PinsSet,
    entry: PinEntry | None,
    hashes: tuple[str, str],
    max_failures: int,
) -> PinCheck | None:
    resident = await get_resident(session, resident_id)
    if resident.cancel_pin_hash is not None:
        if pins.current_cancel_pin is None or entry is None:
            raise Invalid("give current_cancel_pin to change your PINs", code="pin.current_required")
        check = await settle_pin(session, resident_id=resident_id, entry=entry, max_failures=max_failures)
        if check.kind == "duress":
            # The duress PIN never authorises a change, and the answer must not reveal that it was the duress PIN.
            return PinCheck("wrong", Invalid("wrong PIN", code="pin.wrong"))
        if check.kind != "cancel":
            return check
    resident.cancel_pin_hash, resident.duress_pin_hash = hashes
    resident.pin_failures = 0
    await session.flush()
    return None


async def hash_pins(pins: PinsSet) -> tuple[str, str]:
    """Hash both new PINs in a thread (argon2 takes a while on purpose)."""
    return await asyncio.to_thread(
        lambda: (security.hash_secret(pins.cancel_pin), security.hash_secret(pins.duress_pin))
    )
