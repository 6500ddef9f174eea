"""Sessions for residents and staff: opening them, staff passwords and login throttling, the principal behind a
token, revoking."""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.accounts import security
from siaga.accounts.apikeys import ApiKeys
from siaga.accounts.domain import Principal, Role
from siaga.accounts.models import AuthSession, LoginAttempts, Resident, Staff
from siaga.aftercommit import SessionsRevoked, emit
from siaga.config import Settings
from siaga.db import CoreRunner, utcnow
from siaga.errors import TooManyRequests


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    expires_at: datetime
    resident: Resident | None = None
    staff: Staff | None = None
    is_new: bool = False
    sms_key: str | None = None  # a resident's key for the app's SOS SMS (accounts.sms_keys), for the app to keep


async def _open_session(
    session: AsyncSession,
    *,
    lifetime: timedelta,
    client_ip: str,
    user_agent: str,
    resident_id: uuid.UUID | None = None,
    staff_id: int | None = None,
    login_step: str | None = None,
) -> tuple[str, datetime]:
    token = security.new_token()
    expires_at = utcnow() + lifetime
    session.add(
        AuthSession(
            token_hash=security.hash_token(token),
            resident_id=resident_id,
            staff_id=staff_id,
            expires_at=expires_at,
            client_ip=client_ip,
            user_agent=user_agent[:300],
            login_step=login_step,
        )
    )
    await session.flush()
    return token, expires_at


LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT = 10  # one guesser, one account: locks that pair only, not the centre
LOGIN_ATTEMPTS_PER_ACCOUNT = 100  # guessing one account from many addresses
LOGIN_ATTEMPTS_PER_CLIENT = 50  # one address trying many accounts (a command centre behind one NAT stays under it)


def _login_keys(username: str, client_ip: str) -> dict[str, int]:
    name = username.strip().lower()
    return {
        f"account+client:{name}|{client_ip}": LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT,
        f"account:{name}": LOGIN_ATTEMPTS_PER_ACCOUNT,
        _client_key(client_ip): LOGIN_ATTEMPTS_PER_CLIENT,
    }


def _client_key(client_ip: str) -> str:
    return f"client:{client_ip}"


def login_throttled() -> TooManyRequests:
    return TooManyRequests(
        "too many login attempts; wait 15 minutes or ask an administrator",
        retry_after=int(LOGIN_WINDOW.total_seconds()),
        code="auth.throttled",
    )


def login_busy() -> TooManyRequests:
    return TooManyRequests("too many logins at once; try again in a moment", retry_after=1, code="auth.busy")


THROTTLE_MEMORY_LIMIT = 10_000  # counters remembered over their limit; addresses' logins refused as busy
LOGINS_AT_ONCE_PER_CLIENT = 1  # login steps one address may have under way in a process


class LoginThrottle:
    """A process's memory of the login counters it found over their limit, until their window ends, and of the
    login steps under way from each address. A further attempt with such a counter (the same address, account, or
    both) is refused without touching the database: a flood of guesses, hundreds a second, then costs the process
    almost nothing and never competes with the SOS presses for the database. The database stays the count of
    guesses across processes; the memory only refuses sooner, on evidence the database gave or that this process saw
    itself. Its refusals are counted per counter, for the audit log (``drain``).

    An address has ``per_client`` login steps under way at a time (``enter``, ``leave``): its flood takes one of the
    process's places for logins, not every place, and its passwords are checked one after another. A further login
    step from it meanwhile is refused at once (429 ``auth.busy``) and, though no password was checked, counted:
    an address that sends more logins than its limit (``LOGIN_ATTEMPTS_PER_CLIENT``) while its own are under way is
    flooding, and is refused from memory like an address over its limit, for the rest of that window. A flood then
    costs a password check or two instead of fifty. A login refused because every place is taken is not the
    address's doing: it does not count."""

    def __init__(self, *, per_client: int = LOGINS_AT_ONCE_PER_CLIENT) -> None:
        self._per_client = per_client
        self._over: dict[str, datetime] = {}  # counter -> end of its window
        self._refused: dict[str, int] = {}  # counter -> refusals from memory not yet recorded
        self._under_way: dict[str, int] = {}  # address -> its login steps under way
        self._busy: dict[str, tuple[datetime, int]] = {}  # address -> (window start, logins refused as busy)

    def over(self, *, username: str, client_ip: str, now: datetime) -> str | None:
        """The first counter of this attempt known to be over its limit, or None."""
        return self._first_over(_login_keys(username, client_ip), now)

    def _first_over(self, keys: Iterable[str], now: datetime) -> str | None:
        for key in keys:
            until = self._over.get(key)
            if until is None:
                continue
            if until > now:
                return key
            del self._over[key]
        return None

    def enter(self, client_ip: str, *, now: datetime, places_left: bool) -> TooManyRequests | None:
        """Whether a login step from ``client_ip`` may go ahead now (None: it may, and ``leave`` must follow once it
        has ended), or the refusal to answer it with: the address is over its limit (``auth.throttled``), it has its
        login steps under way already (``auth.busy``, counted), or none of the process's places is left
        (``places_left``; ``auth.busy``). Each refusal is counted for the audit log (``drain``)."""
        key = _client_key(client_ip)
        if self._first_over((key,), now) is not None:
            self.refused(key)
            return login_throttled()
        if self._under_way.get(client_ip, 0) >= self._per_client:
            self._count_busy(client_ip, now)
            self.refused(f"busy+client:{client_ip}")
            return login_busy()
        if not places_left:
            self.refused(f"busy:{client_ip}")
            return login_busy()
        self._under_way[client_ip] = self._under_way.get(client_ip, 0) + 1
        return None

    def leave(self, client_ip: str) -> None:
        """A login step ``enter`` let go ahead has ended."""
        left = self._under_way.get(client_ip, 0) - 1
        if left > 0:
            self._under_way[client_ip] = left
        else:
            self._under_way.pop(client_ip, None)

    def _count_busy(self, client_ip: str, now: datetime) -> None:
        """Count a login from ``client_ip`` refused while its own were under way; past the address's limit within
        its window, the address is remembered as over it."""
        start, count = self._busy.get(client_ip, (now, 0))
        if start + LOGIN_WINDOW <= now:
            start, count = now, 0
        elif client_ip not in self._busy and len(self._busy) >= THROTTLE_MEMORY_LIMIT:
            self._busy = {ip: busy for ip, busy in self._busy.items() if busy[0] + LOGIN_WINDOW > now}
            if len(self._busy) >= THROTTLE_MEMORY_LIMIT:
                self._busy.clear()  # forgets floods in progress; each address then needs its limit again
        self._busy[client_ip] = (start, count + 1)
        if count + 1 > LOGIN_ATTEMPTS_PER_CLIENT:
            self.remember(_client_key(client_ip), window_start=start)

    def remember(self, key: str, *, window_start: datetime) -> None:
        if len(self._over) >= THROTTLE_MEMORY_LIMIT:
            now = utcnow()
            self._over = {k: until for k, until in self._over.items() if until > now}
            if len(self._over) >= THROTTLE_MEMORY_LIMIT:
                self._over.clear()
        self._over[key] = window_start + LOGIN_WINDOW

    def refused(self, key: str) -> None:
        self._refused[key] = self._refused.get(key, 0) + 1

    def drain(self) -> dict[str, int]:
        """The refusals since the last drain, per counter: ``account:``, ``client:`` or ``account+client:`` and
        what it counts (over its limit), ``busy+client:`` and the address (its own login step under way) or
        ``busy:`` and the address (none of the process's places left)."""
        refused, self._refused = self._refused, {}
        return refused

    def give_back(self, refused: dict[str, int]) -> None:
        """Drained refusals that could not be recorded: recorded with the next."""
        for key, count in refused.items():
            self._refused[key] = self._refused.get(key, 0) + count


async def count_login_attempt(
    core: CoreRunner, *, username: str, client_ip: str, throttle: LoginThrottle | None = None
) -> TooManyRequests | None:
    """Count a login attempt before its password is checked, and refuse it if it is one too many. Its counters are
    one atomic statement (an upsert that returns the new counts), so concurrent guesses on any number of processes
    are each counted: 60 at once for one account get 10 checks, not 60. It is committed by the process's single
    writer (``db.CoreRunner``), the one that writes residents' SOS presses: on SQLite a flood of logins then queues
    behind the presses in one thread instead of competing with them for the database's write lock (a press that
    finds the lock taken sleeps and polls for it). A successful login gives its attempt back
    (``forgive_login_attempt``). A counter found over its limit is remembered in ``throttle``."""
    limits = _login_keys(username, client_ip)
    over = False
    for key, count, window_start in await core.write(partial(_count_attempt, limits=limits)):
        if count > limits[key]:
            over = True
            if throttle is not None:
                throttle.remember(key, window_start=window_start)
    return login_throttled() if over else None


def _count_attempt(connection: Connection, *, limits: dict[str, int]) -> list[tuple[str, int, datetime]]:
    now = utcnow()
    since = now - LOGIN_WINDOW
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    expired = LoginAttempts.window_start < since
    statement = insert(LoginAttempts).values([{"key": key, "window_start": now, "count": 1} for key in limits])
    counted = statement.on_conflict_do_update(
        index_elements=[LoginAttempts.key],
        set_={
            "count": case((expired, 1), else_=LoginAttempts.count + 1),
            "window_start": case((expired, now), else_=LoginAttempts.window_start),
        },
    ).returning(LoginAttempts.key, LoginAttempts.count, LoginAttempts.window_start)
    return [(key, count, window_start) for key, count, window_start in connection.execute(counted)]


async def forgive_login_attempt(session: AsyncSession, *, username: str, client_ip: str) -> None:
    """A successful login: its attempt no longer counts against the account or the address."""
    keys = list(_login_keys(username, client_ip))
    await session.execute(delete(LoginAttempts).where(LoginAttempts.key == keys[0]))
    await session.execute(
        update(LoginAttempts)
        .where(LoginAttempts.key.in_(keys[1:]), LoginAttempts.count > 0)
        .values(count=LoginAttempts.count - 1)
    )


async def check_password(
    read_sessions: async_sessionmaker[AsyncSession], *, username: str, password: str
) -> Staff | None:
    """The active staff member with this username and password, or None. Outside any transaction, in the staff
    logins' thread: argon2 is slow on purpose and must hold neither the database nor the event loop."""
    async with read_sessions() as session:
        staff = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
    # A missing user costs the same time as a wrong password, so the two cannot be told apart.
    ok = await security.verify_staff_login(staff.password_hash if staff is not None else None, password)
    return staff if ok and staff is not None and staff.active else None


LOGIN_STEP_LIFETIME = timedelta(minutes=10)  # to type a code, or to enrol a factor with a phone in hand


async def open_staff_session(
    session: AsyncSession,
    *,
    settings: Settings,
    staff: Staff,
    client_ip: str,
    user_agent: str,
    login_step: str | None = None,
) -> NewSession:
    """A staff session; with ``login_step``, one halfway through a login that only its next step accepts, for a
    few minutes."""
    token, expires_at = await _open_session(
        session,
        lifetime=LOGIN_STEP_LIFETIME if login_step else timedelta(hours=settings.staff_session_hours),
        staff_id=staff.id,
        client_ip=client_ip,
        user_agent=user_agent,
        login_step=login_step,
    )
    return NewSession(token=token, expires_at=expires_at, staff=staff)


async def open_resident_session(
    session: AsyncSession, *, settings: Settings, resident: Resident, client_ip: str, user_agent: str
) -> NewSession:
    token, expires_at = await _open_session(
        session,
        lifetime=timedelta(days=settings.resident_session_days),
        resident_id=resident.id,
        client_ip=client_ip,
        user_agent=user_agent,
    )
    return NewSession(token=token, expires_at=expires_at, resident=resident)


async def principal_for_token(
    session: AsyncSession, token: str, *, sos: bool = False, halfway: bool = False
) -> Principal | None:
    """The resident or active staff member behind a live, unrevoked token.

    With ``sos``, a resident's expired (never a revoked) session still counts: an SOS is not refused because a
    phone was not opened for half a year. The alert is flagged instead. A session halfway through a login counts
    only with ``halfway`` (the login's next step)."""
    found = await session_principal(session, security.hash_token(token))
    return found.at(utcnow(), sos=sos, halfway=halfway) if found is not None else None


@dataclass(frozen=True, slots=True)
class SessionPrincipal:
    """Who an unrevoked session belongs to, and until when it lasts (expiry is judged at each use)."""

    principal: Principal
    expires_at: datetime

    def at(self, now: datetime, *, sos: bool, halfway: bool = False) -> Principal | None:
        if self.principal.login_step is not None and not halfway:
            return None
        expired = self.expires_at <= now
        if not expired:
            return self.principal
        if sos and self.principal.resident_id is not None:
            return replace(self.principal, session_expired=True)
        return None


# The session check behind every authenticated request (and every SOS press): built once, not at each call.
_SESSION_PRINCIPAL = (
    select(
        AuthSession.id,
        AuthSession.expires_at,
        AuthSession.revoked_at,
        AuthSession.login_step,
        Resident.id,
        Resident.name,
        Resident.phone,
        Staff.id,
        Staff.name,
        Staff.role,
        Staff.agency_id,
        Staff.unit_id,
        Staff.active,
    )
    .select_from(AuthSession)
    .outerjoin(Resident, Resident.id == AuthSession.resident_id)
    .outerjoin(Staff, Staff.id == AuthSession.staff_id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)


async def session_principal(session: AsyncSession, token_hash: str) -> SessionPrincipal | None:
    """The resident or active staff member of an unrevoked session (one query), expired or not."""
    return _session_principal_of((await session.execute(_SESSION_PRINCIPAL, {"token_hash": token_hash})).first())


def read_session_principal(connection: Connection, token_hash: str) -> SessionPrincipal | None:
    """``session_principal`` on a Core connection (``CoreRunner.read``: one hop to the database, not several)."""
    return _session_principal_of(connection.execute(_SESSION_PRINCIPAL, {"token_hash": token_hash}).first())


def _session_principal_of(row: Any) -> SessionPrincipal | None:
    if row is None:
        return None
    session_id, expires_at, revoked_at, login_step, resident_id, resident_name, phone = row[:7]
    staff_id, staff_name, role, agency_id, unit_id, active = row[7:]
    if revoked_at is not None:
        return None
    if resident_id is not None:
        principal = Principal(session_id=session_id, name=resident_name or phone, resident_id=resident_id)
        return SessionPrincipal(principal, expires_at)
    if staff_id is not None and active:
        principal = Principal(
            session_id=session_id,
            name=staff_name,
            staff_id=staff_id,
            role=Role(role),
            agency_id=agency_id,
            unit_id=unit_id,
            login_step=login_step,
        )
        return SessionPrincipal(principal, expires_at)
    return None


async def live_sessions(session: AsyncSession, session_ids: Collection[int]) -> dict[int, datetime]:
    """Of ``session_ids``, the sessions that still let their holder in, each with its end: unrevoked, and held by
    a resident or an active staff member (the rule of ``session_principal``, for many sessions at once)."""
    ids = sorted(session_ids)
    live: dict[int, datetime] = {}
    for start in range(0, len(ids), 5000):  # within every database's limit of parameters per statement
        rows = await session.execute(
            select(AuthSession.id, AuthSession.expires_at)
            .outerjoin(Staff, Staff.id == AuthSession.staff_id)
            .where(
                AuthSession.id.in_(ids[start : start + 5000]),
                AuthSession.revoked_at.is_(None),
                or_(AuthSession.resident_id.is_not(None), Staff.active.is_(True)),
            )
        )
        for session_id, expires_at in rows:
            live[session_id] = expires_at
    return live


class PrincipalCache:
    """Token -> principal for a few seconds, so the SOS press and an officer's positions do not each cost a session
    lookup. Integrators' API keys are remembered beside the sessions (``keys``) and forgotten with them.

    A revocation committed in this process (a logout, the end of a drill, a revoked API key) empties the cache at
    once, and the hub tells the other processes; a change the cache cannot hear of (a row edited by hand) is seen
    within ``ttl_s``. Expiry is judged at each use from the session's own end, never cached. Unknown tokens are not
    remembered."""

    def __init__(
        self,
        core: CoreRunner,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl_s: float = 5.0,
        limit: int = 100_000,
    ) -> None:
        self._core = core
        self._ttl = ttl_s
        self._limit = limit
        self._entries: dict[str, tuple[float, SessionPrincipal]] = {}
        self._generation = 0
        self.keys = ApiKeys(sessions, ttl_s=ttl_s)

    def forget_all(self) -> None:
        self._entries.clear()
        self._generation += 1  # a lookup that started before this must not store what it read
        self.keys.forget_all()

    async def principal(self, token: str, *, sos: bool = False, halfway: bool = False) -> Principal | None:
        key = security.hash_token(token)
        now = time.monotonic()
        cached = self._entries.get(key)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1].at(utcnow(), sos=sos, halfway=halfway)
        generation = self._generation
        found = await self._core.read(partial(read_session_principal, token_hash=key))
        if found is None:
            self._entries.pop(key, None)
            return None
        if generation == self._generation:
            if len(self._entries) >= self._limit:
                self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self._ttl}
                if len(self._entries) >= self._limit:
                    self._entries.clear()
            self._entries[key] = (now, found)
        return found.at(utcnow(), sos=sos, halfway=halfway)


async def revoke_session(session: AsyncSession, *, session_id: int) -> None:
    await session.execute(update(AuthSession).where(AuthSession.id == session_id).values(revoked_at=utcnow()))
    emit(session, SessionsRevoked())
