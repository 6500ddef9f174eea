"""API keys for integrators: service accounts that another system (a device gateway, a partner centre, a dashboard)
uses instead of a person's session.

A key belongs to one agency and has scopes: ``alerts:read`` (the alerts an operator of that agency sees,
``alerts.access``, in a view without the resident: ``alerts.schemas.AlertForIntegrator``), ``alerts:raise`` (a
device gateway raising its buttons' panics) and ``eido:receive`` (a partner centre handing an incident over as
EIDO). It is sent as ``Authorization: Bearer sk_siaga_<public id>_<secret>``; nothing but an endpoint that takes one
of its scopes admits it (``deps``).

The key is shown once, when it is made. Siaga keeps a SHA-256 hash of it, found by the public id and compared in
constant time. A slow password hash (argon2, as for staff passwords) protects secrets a person chose, which can be
guessed; this secret is 256 random bits, which no one can guess however fast each try is, so a fast hash loses
nothing and spares every request a tenth of a second of a core. Revoking a key ends it at once on every process: the
revocation is a ``SessionsRevoked`` event, on which each process forgets the keys it remembers (as it forgets
sessions). Each key has its own rate, counted per process and apart from people's logins and sessions.
"""

from __future__ import annotations

import base64
import hmac
import math
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.accounts.domain import Principal
from siaga.accounts.models import ApiKey
from siaga.accounts.security import hash_token
from siaga.aftercommit import SessionsRevoked, emit
from siaga.agencies.models import Agency
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.errors import Conflict, Invalid, NotFound, Unauthorized

PREFIX = "sk_siaga_"
_KEY = re.compile(r"sk_siaga_([a-z2-7]{16})_([a-z2-7]{52})")
DEFAULT_REQUESTS_PER_MINUTE = 600
MAX_REQUESTS_PER_MINUTE = 100_000
USE_RECORDED_EVERY_S = 60.0  # a key's last_used_at is written at most this often per process


class Scope(StrEnum):
    """What a key may do."""

    ALERTS_READ = "alerts:read"  # list and read the alerts an operator of the agency sees, without the resident
    ALERTS_RAISE = "alerts:raise"  # raise the panics of the agency's devices, as a device gateway
    EIDO_RECEIVE = "eido:receive"  # hand incidents over to Siaga as EIDO, as a partner centre


class KeyRefused(Unauthorized):
    """A key that is not one (any more): unknown, malformed or revoked. Recorded as a refused request."""

    default_code = "auth.invalid_key"


def looks_like_key(token: str) -> bool:
    """Whether a bearer token is meant as an API key (and not a session token)."""
    return token.startswith(PREFIX)


def _random(nbytes: int) -> str:
    return base64.b32encode(secrets.token_bytes(nbytes)).decode().rstrip("=").lower()


def new_key() -> tuple[str, str]:
    """A new key and its public id: 80 bits that name it, and 256 bits of secret."""
    public_id = _random(10)  # 16 characters
    return public_id, f"{PREFIX}{public_id}_{_random(32)}"  # 52 characters of secret


def public_id_of(token: str) -> str | None:
    """The public id of a well-formed key (None: not a key Siaga could have made)."""
    found = _KEY.fullmatch(token)
    return found.group(1) if found else None


def refused(token: str) -> KeyRefused:
    """The error for a key that does not let its holder in: it names the key by its public id, never its secret."""
    public_id = public_id_of(token)
    named = f"{PREFIX}{public_id}_..." if public_id else "the API key"
    return KeyRefused(f"{named} is unknown or revoked", details={"key": named})


# The use cases -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made: the row, and the key itself, which is never shown again."""

    row: ApiKey
    key: str


def _scopes(scopes: Sequence[str]) -> list[str]:
    if not scopes:
        raise Invalid("give the key at least one scope", code="apikey.no_scope", details={"field": "scopes"})
    known = {s.value for s in Scope}
    unknown = sorted(set(scopes) - known)
    if unknown:
        raise Invalid(
            f"unknown scope {unknown[0]}; the scopes are {', '.join(sorted(known))}",
            code="apikey.unknown_scope",
            details={"field": "scopes", "scope": unknown[0]},
        )
    return sorted(set(scopes))


async def create(
    session: AsyncSession,
    *,
    by: ActorContext,
    name: str,
    agency_id: int,
    scopes: Sequence[str],
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
) -> NewKey:
    """Make a key for an integrator of ``agency_id`` (audited, without the key)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid("the key's name must have 1 to 100 characters", code="apikey.name", details={"field": "name"})
    if not 1 <= requests_per_minute <= MAX_REQUESTS_PER_MINUTE:
        raise Invalid(
            f"requests per minute must be between 1 and {MAX_REQUESTS_PER_MINUTE}",
            code="apikey.rate",
            details={"field": "requests_per_minute", "max": MAX_REQUESTS_PER_MINUTE},
        )
    if await session.get(Agency, agency_id) is None:
        raise Invalid("no such agency", code="apikey.unknown_agency", details={"field": "agency_id"})
    public_id, key = new_key()
    row = ApiKey(
        public_id=public_id,
        name=name,
        agency_id=agency_id,
        scopes=_scopes(scopes),
        key_hash=hash_token(key),
        requests_per_minute=requests_per_minute,
        created_by=f"{by.name} ({by.id})"[:200],
    )
    session.add(row)
    await session.flush()
    detail = {"name": name, "public_id": public_id, "scopes": row.scopes, "requests_per_minute": requests_per_minute}
    await audit.record_for(
        session,
        by,
        action="apikey.created",
        target_type="api_key",
        target_id=str(row.id),
        agency_id=agency_id,
        detail=detail,
    )
    return NewKey(row=row, key=key)


async def listing(session: AsyncSession) -> list[ApiKey]:
    """Every key, newest first (revoked ones too, for the record)."""
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.id.desc()))).all())


async def revoke(session: AsyncSession, *, by: ActorContext, key_id: int) -> ApiKey:
    """Revoke a key (audited): refused at once by every process once this commits."""
    row = await session.get(ApiKey, key_id, with_for_update=True)
    if row is None:
        raise NotFound("API key not found", code="apikey.not_found")
    if row.revoked_at is not None:
        raise Conflict("the API key is already revoked", code="apikey.already_revoked")
    row.revoked_at = utcnow()
    await audit.record_for(
        session,
        by,
        action="apikey.revoked",
        target_type="api_key",
        target_id=str(row.id),
        agency_id=row.agency_id,
        detail={"name": row.name, "public_id": row.public_id},
    )
    emit(session, SessionsRevoked())  # every process forgets the keys it remembers, as it forgets sessions
    return row


async def record_use(session: AsyncSession, *, key_id: int, at: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))


# Resolving a key on each request ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """A live key, as a request uses it: the service principal it signs in as, and its rate."""

    public_id: str
    principal: Principal
    key_hash: str
    requests_per_minute: int


class ApiKeys:
    """The process's memory of live keys (public id -> holder, for a few seconds, as ``sessions.PrincipalCache``
    remembers sessions) and each key's rate (a token bucket per key: ``requests_per_minute`` a minute, at most that
    many at once). A revocation committed anywhere empties the memory (``forget_all``); a change it cannot hear of
    (a row edited by hand, ``siaga apikey revoke`` at the server) is seen within ``ttl_s``."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, ttl_s: float = 5.0, limit: int = 10_000) -> None:
        self._sessions = sessions
        self._ttl = ttl_s
        self._limit = limit
        self._entries: dict[str, tuple[float, KeyHolder | None]] = {}  # public id -> (when read, live key or None)
        self._generation = 0
        self._buckets: dict[str, tuple[float, float]] = {}  # public id -> (tokens, when counted)
        self._recorded: dict[str, float] = {}  # public id -> when its use was last written

    def forget_all(self) -> None:
        self._entries.clear()
        self._generation += 1  # a lookup that started before this must not store what it read

    async def holder(self, token: str) -> KeyHolder | None:
        """The live key ``token`` is (None: unknown, malformed or revoked)."""
        public_id = public_id_of(token)
        if public_id is None:
            return None
        now = time.monotonic()
        cached = self._entries.get(public_id)
        if cached is not None and (cached[1] is None or now - cached[0] < self._ttl):
            found = cached[1]  # a revoked key (None) is remembered for good: it never comes back
        else:
            generation = self._generation
            exists, found = await self._read(public_id)
            if not exists:
                self._entries.pop(public_id, None)  # unknown ids are not remembered: guesses cannot fill the memory
            elif generation == self._generation:
                if len(self._entries) >= self._limit:
                    self._entries.clear()
                self._entries[public_id] = (now, found)
        if found is None or not hmac.compare_digest(found.key_hash, hash_token(token)):
            return None
        return found

    async def _read(self, public_id: str) -> tuple[bool, KeyHolder | None]:
        """Whether a key has this public id, and the key if it is live."""
        async with self._sessions() as session:
            row = await session.scalar(select(ApiKey).where(ApiKey.public_id == public_id))
        if row is None:
            return False, None
        if row.revoked_at is not None:
            return True, None
        principal = Principal(
            session_id=0,  # no session: the key itself
            name=row.name,
            agency_id=row.agency_id,
            api_key_id=row.id,
            scopes=frozenset(row.scopes),
        )
        return True, KeyHolder(
            public_id=public_id, principal=principal, key_hash=row.key_hash, requests_per_minute=row.requests_per_minute
        )

    def take(self, holder: KeyHolder, *, refuse: bool = True) -> int | None:
        """Count one request of the key: None if it is within the key's rate, else the seconds until it will be
        (``refuse=False``: counted all the same, never refused)."""
        rate = holder.requests_per_minute / 60.0
        now = time.monotonic()
        tokens, then = self._buckets.get(holder.public_id, (float(holder.requests_per_minute), now))
        tokens = min(float(holder.requests_per_minute), tokens + (now - then) * rate)
        if tokens < 1.0 and refuse:
            self._buckets[holder.public_id] = (tokens, now)
            return max(1, math.ceil(round((1.0 - tokens) / rate, 6)))  # whole seconds, without float dust
        self._buckets[holder.public_id] = (max(0.0, tokens - 1.0), now)
        return None

    def use_to_record(self, holder: KeyHolder) -> bool:
        """Whether this use of the key should be written as its ``last_used_at`` (at most once a minute)."""
        now = time.monotonic()
        last = self._recorded.get(holder.public_id)
        if last is not None and now - last < USE_RECORDED_EVERY_S:
            return False
        self._recorded[holder.public_id] = now
        return True
