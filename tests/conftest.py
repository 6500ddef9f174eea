"""Fixtures shared by every suite: a real database (SQLite and PostgreSQL), a running app, and helpers to act as
residents and staff through the public API."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import Integer, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

import siaga.demo
from siaga import migrate
from siaga.accounts import security
from siaga.accounts import service as accounts
from siaga.accounts.domain import Role
from siaga.accounts.sessions import LoginThrottle
from siaga.agencies import service as agencies
from siaga.app import create_app
from siaga.config import Settings
from siaga.demo.seed import seed_bandung
from siaga.notify.sms import DevSMS
from siaga.responders import service as responders
from siaga.responders.models import Unit
from siaga.runtime import Runtime
from siaga.tables import metadata

pytest_plugins = ["tests.progress"]

POSTGRES_ADMIN_URL = os.environ.get("SIAGA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("SIAGA_REQUIRE_SERVICES", "") == "1" or os.environ.get("CI", "") == "true"
PASSWORD = "correct horse battery"
# Everything the tests read is in the repository: Bandung's kecamatan are the demo's own copy (shipped in the
# package), the rest is under tests/data (see its README for sources and licences).
TEST_DATA = Path(__file__).resolve().parent / "data"
BANDUNG_GEOJSON = Path(siaga.demo.__file__).resolve().parent / "data" / "bandung_kecamatan.geojson"
LAMPUNG_GEOJSON = TEST_DATA / "geo" / "bandar_lampung_kecamatan.geojson"
CAP_SCHEMA = TEST_DATA / "standards" / "cap12.xsd"


# Test files that share a server-wide resource run on one worker when the suite is spread over cores
# (`pytest -n`, as make test does): Redis channels ignore the database number, so two clusters on one Redis would
# hear each other's alerts.
SHARED_REDIS = frozenset(
    {"test_hub.py", "test_processes.py", "test_degraded.py", "test_principal_cache.py", "test_hung_hub.py"}
)


BROWSER_TESTS = Path(__file__).resolve().parent / "browser"


# The files that take longest, longest first: they start the run, so that no worker is still in one of them after
# the others have finished everything else (the schema fuzzer alone takes two to three minutes). Only the order of
# files changes; a file's tests keep theirs.
LONGEST_FIRST = ("test_schemathesis.py", "test_access_rules.py", "test_attack_smoke.py", "test_soak_shift.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep each test on the databases it proves something on, and start with the longest files.

    A test marked ``one_database(name)`` runs on that database alone, and browser tests run on SQLite only: what a
    page shows does not depend on the database, and the API tests prove every endpoint on PostgreSQL too."""
    elsewhere = [item for item in items if _database_param(item) not in (None, _database_wanted(item))]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        dropped = set(map(id, elsewhere))
        items[:] = [item for item in items if id(item) not in dropped]
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Spread the suite over workers by file (``pytest -n --dist loadgroup``, as make test does): a file's tests run
    on one worker in their order, so its module fixtures are set up once and a test may continue where the one
    above it stopped (the README's sections), and the files of SHARED_REDIS run on one worker together.

    A scheduler of our own rather than ``xdist_group`` markers: xdist applies a group by rewriting each item's node
    id, which pytest 9 no longer lets a plugin do, so the markers were silently ignored."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "shared-redis" if Path(path).name in SHARED_REDIS else path

    return ByFile(config, log)


def _database_param(item: pytest.Item) -> str | None:
    params: dict[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
    value = params.get("database_url")
    return value if isinstance(value, str) else None


def _database_wanted(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("one_database")
    if marker is not None:
        wanted: str = marker.args[0]
        return wanted
    if item.path.is_relative_to(BROWSER_TESTS):
        return "sqlite"
    return _database_param(item)


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Argon2 with light parameters: the same code path, a fraction of the time per hash."""
    original = security._hasher
    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    security._hasher = original


async def _postgres_reachable(url: str) -> str | None:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        connection = await asyncio.wait_for(asyncpg.connect(dsn), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


async def _create_postgres_database() -> str:
    import asyncpg

    problem = await _postgres_reachable(POSTGRES_ADMIN_URL)
    if problem is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL is required here (CI) but unreachable at {POSTGRES_ADMIN_URL}: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL} ({problem}); set SIAGA_TEST_POSTGRES_URL")
    name = f"siaga_test_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def _without_autovacuum(url: str) -> None:
    """Tests empty the tables with DELETE (see ``db``); with autovacuum off, rows are still read back in the order
    they were written, as from the fresh tables TRUNCATE gave, where a test reads without ORDER BY."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for table in metadata.sorted_tables:
            await connection.execute(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false)')
    finally:
        await connection.close()


async def _drop_postgres_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def _databases() -> AsyncIterator[dict[str, str]]:
    """The worker's migrated databases by kind, each made on its first use and kept until the session ends.

    A session fixture with parameters is set up again whenever the parameter changes, and with the suite spread over
    workers by file (make test) it changed at every file: a new database was created, migrated and seeded Bandung
    into some twenty times per worker, 4-5 s each. Every test starts from ``db``'s emptied and re-seeded tables,
    so one database of each kind per worker proves the same (as one pytest process without -n always ran)."""
    made: dict[str, str] = {}
    yield made
    if "postgres" in made:
        await _drop_postgres_database(made["postgres"])


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, _databases: dict[str, str]
) -> str:
    """A migrated database: a SQLite file, or a database of its own on the machine's PostgreSQL."""
    kind: str = request.param
    if kind not in _databases:
        _databases[kind] = await _migrated_database(kind, tmp_path_factory)
    return _databases[kind]


async def _migrated_database(kind: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'siaga.db'}"
        await migrate.upgrade_async(url)
        return url
    url = await _create_postgres_database()
    try:
        await migrate.upgrade_async(url)
        await _without_autovacuum(url)
    except BaseException:
        await _drop_postgres_database(url)
        raise
    return url


@pytest.fixture(scope="session")
async def _runtimes(_databases: dict[str, str]) -> AsyncIterator[dict[str, Runtime]]:
    """A runtime per database, kept with the database for the session (closed before the databases are dropped)."""
    made: dict[str, Runtime] = {}
    yield made
    for rt in made.values():
        await rt.close()


@pytest.fixture(scope="session")
async def runtime(database_url: str, _runtimes: dict[str, Runtime]) -> Runtime:
    rt = _runtimes.get(database_url)
    if rt is None:
        rt = _runtimes[database_url] = Runtime.build(make_settings(database_url))
    return rt


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "dev_mode": True,
        "database_url": database_url,
        "secret_key": "test-secret-key-that-is-long-enough-1234567890",
        "log_json": False,
        # The heap keeper's full collection at every app start cost 0.2-0.4 s a test, and what it froze piled up over
        # the session. tests/unit/test_heap.py proves the keeper; the served processes (siaga serve) run it as set.
        "gc_freeze_seconds": 0,
        # Partner centres in tests are receivers on this machine; tests/e2e/test_handover_ssrf.py proves the refusal.
        "partner_allowed_networks": "127.0.0.1/32",
    }
    values.update(overrides)
    if not values["dev_mode"] and "partner_allowed_networks" not in overrides:
        values.pop("partner_allowed_networks")  # loopback is refused outside development mode, rightly
    return Settings(**values)


# What seeding Bandung wrote, per database: the first test on a database seeds it (the demo's own code path), and
# every later test gets those rows back with a few statements instead of parsing and importing the GeoJSON again.
_seeded_rows: dict[str, dict[str, list[dict[str, Any]]]] = {}


@pytest.fixture
async def db(runtime: Runtime, tmp_path: Path) -> Runtime:
    """The runtime with every table emptied first and Bandung's agencies and kecamatan seeded."""
    url = runtime.settings.database_url
    if url in _seeded_rows:
        await _restore(runtime, _seeded_rows[url])
    else:
        await _restore(runtime, {})
        async with runtime.unit_of_work() as session:
            await seed_bandung(session, with_accounts=False)
        _seeded_rows[url] = await _snapshot(runtime)
    runtime.locator = agencies.JurisdictionLocator()
    runtime.units.tracker.clear()  # unit ids restart with the emptied tables
    runtime.login_throttle = LoginThrottle()  # so do the login counters
    runtime.sms = DevSMS(tmp_path / "dev-sms.jsonl")
    return runtime


async def _snapshot(runtime: Runtime) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in key order (parents before the agencies below them)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    async with runtime.unit_of_work() as session:
        for table in metadata.sorted_tables:
            result = await session.execute(select(table).order_by(*table.primary_key.columns))
            found = [dict(row) for row in result.mappings()]
            if found:
                rows[table.name] = found
    return rows


async def _restore(runtime: Runtime, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Empty every table, put the snapshot's rows back, and let new ids start after them, as after seeding."""
    async with runtime.unit_of_work() as session:
        await _delete_everything(session, sqlite=runtime.settings.is_sqlite)
        for table in metadata.sorted_tables:
            if table.name in rows:
                await session.execute(insert(table), rows[table.name])
        if not runtime.settings.is_sqlite:
            await session.execute(text(f"SELECT {', '.join(_restart_sequences())}"))


def _restart_sequences() -> list[str]:
    """PostgreSQL: each table's id sequence set to continue after the rows present (from 1 when there are none)."""
    calls = []
    for table in metadata.sorted_tables:
        [key, *more] = table.primary_key.columns
        if more or key.autoincrement is False or key.foreign_keys or not isinstance(key.type, Integer):
            continue
        calls.append(
            f"setval(pg_get_serial_sequence('\"{table.name}\"', '{key.name}'), "  # noqa: S608 - our own names
            f'COALESCE((SELECT MAX("{key.name}") FROM "{table.name}"), 0) + 1, false)'
        )
    return calls


async def _delete_everything(session: AsyncSession, *, sqlite: bool) -> None:
    if sqlite:
        # Agencies refer to their parents; check the keys once, at commit, when every table is empty.
        await session.execute(text("PRAGMA defer_foreign_keys=ON"))
    # DELETE rather than TRUNCATE: for a few rows it is several times faster on PostgreSQL. Only the tables that hold
    # rows, found in one query: a test writes to a few of the fifty-odd tables, and a statement per table was most of
    # the reset's time (each a round trip, and on SQLite a hop to its thread).
    holding = set((await session.execute(text(_NON_EMPTY))).scalars())
    for table in reversed(metadata.sorted_tables):
        if table.name in holding:
            await session.execute(text(f'DELETE FROM "{table.name}"'))  # noqa: S608 - names from our own metadata


# The names of the tables that hold at least one row (the same SQL on SQLite and PostgreSQL).
_NON_EMPTY = " UNION ALL ".join(
    f"SELECT '{table.name}' WHERE EXISTS (SELECT 1 FROM \"{table.name}\")"  # noqa: S608 - our own names
    for table in metadata.sorted_tables
)


# One app per runtime, its lifespan run again for each test: FastAPI prepares each route the first time it is matched
# (dependencies, validators), a few tenths of a second an app that every test paid again.
_apps: dict[int, tuple[Runtime, FastAPI]] = {}


def app_for(runtime: Runtime) -> FastAPI:
    """The Siaga app serving ``runtime`` (made on first use), to be run with its lifespan like a freshly made one."""
    made = _apps.get(id(runtime))
    if made is None or made[0] is not runtime:
        made = _apps[id(runtime)] = (runtime, create_app(runtime.settings, runtime=runtime))
    return made[1]


@pytest.fixture
async def client(db: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to a Siaga app (its lifespan running) on the test database."""
    app = app_for(db)
    async with app.router.lifespan_context(app):
        app.state.runtime = db
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://siaga.test") as http:
            yield http


@asynccontextmanager
async def served_with(db: Runtime, **overrides: Any) -> AsyncIterator[Api]:
    """A Siaga app of its own (its runtime built from ``db``'s settings with ``overrides``, ``db``'s SMS outbox) on
    the test database, its lifespan running for the block."""
    settings = make_settings(db.settings.database_url, **overrides)
    runtime = Runtime.build(settings)
    runtime.sms = db.sms
    app = create_app(settings, runtime=runtime)
    try:
        async with app.router.lifespan_context(app):
            app.state.runtime = runtime
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://siaga.test") as http:
                yield Api(http=http, runtime=runtime)
    finally:
        await runtime.close()


T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T | None]], *, within: float = 20.0, what: str = "") -> T:
    """Poll until ``check`` returns something truthy and return it (the server's workers, a page and a busy machine
    run at their own pace): a generous deadline for waiting, never a judgement of speed."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.25)


@dataclass
class Person:
    """Someone with a session token: a resident or a staff member."""

    token: str
    name: str
    id: str
    role: str = "resident"
    unit_id: int | None = None
    phone: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


_phone_counter = iter(range(10_000_000))


def new_phone() -> str:
    return f"0812{next(_phone_counter) + 20_000_000:08d}"


@dataclass
class Api:
    """Act through the public API, as the people in the brief would."""

    http: httpx.AsyncClient
    runtime: Runtime

    def last_code(self, phone_e164: str) -> str:
        assert isinstance(self.runtime.sms, DevSMS)
        messages = self.runtime.sms.read(to=phone_e164)
        assert messages, f"no SMS recorded for {phone_e164}"
        return messages[-1]["body"].split(": ", 1)[1][:6]

    async def resident(self, *, name: str = "Warga Uji", pins: bool = True, profile: bool = True) -> Person:
        phone = new_phone()
        answer = await self.http.post("/api/v1/residents/code", json={"phone": phone})
        assert answer.status_code == 202, answer.text
        e164 = answer.json()["phone"]
        verified = await self.http.post("/api/v1/residents/verify", json={"phone": phone, "code": self.last_code(e164)})
        assert verified.status_code == 200, verified.text
        body = verified.json()
        person = Person(token=body["access_token"], name=name, id=body["resident_id"], phone=e164)
        person.extra["sms_key"] = body["sms_key"]  # what the app keeps to sign an SOS SMS with
        if profile:
            update = await self.http.patch("/api/v1/residents/me", json={"name": name}, headers=person.headers)
            assert update.status_code == 200, update.text
        if pins:
            answer = await self.http.put(
                "/api/v1/residents/me/pins", json={"cancel_pin": "1234", "duress_pin": "9999"}, headers=person.headers
            )
            assert answer.status_code == 204, answer.text
        return person

    async def staff(
        self, role: Role, agency_code: str = "BDG-CC", *, unit_callsign: str | None = None, name: str | None = None
    ) -> Person:
        username = f"{role.value}.{uuid.uuid4().hex[:8]}"
        async with self.runtime.unit_of_work() as session:
            agency = await agencies.agency_by_code(session, agency_code)
            unit_id = None
            if role is Role.OFFICER:
                unit_id = await _unit(session, agency.id, unit_callsign or f"U-{uuid.uuid4().hex[:6]}")
            staff = await accounts.create_staff(
                session,
                username=username,
                name=name or f"{role.value.title()} {username[-4:]}",
                role=role,
                agency_id=agency.id,
                password=PASSWORD,
                unit_id=unit_id,
            )
        answer = await self.http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return Person(
            token=answer.json()["access_token"],
            name=staff.name,
            id=str(staff.id),
            role=role.value,
            unit_id=unit_id,
            extra={"username": username, "agency_id": agency.id},
        )

    async def press(
        self, resident: Person, *, lat: float = -6.8915, lon: float = 107.6107, **fields: Any
    ) -> dict[str, Any]:
        """Press SOS (by default in Coblong, near ITB) and return the stored alert as the resident sees it."""
        body = sos_body(lat=lat, lon=lon, **fields)
        answer = await self.http.post("/api/v1/alerts", json=body, headers=resident.headers)
        assert answer.status_code == 201, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def on_duty(self, officer: Person, *, mode: str = "patrol") -> None:
        """The officer goes on duty (a unit is dispatched only with an officer on duty)."""
        answer = await self.http.put("/api/v1/officers/me/duty", json={"mode": mode}, headers=officer.headers)
        assert answer.status_code == 200, answer.text

    async def post(self, who: Person, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(f"/api/v1{path}", json=body if body is not None else {}, headers=who.headers)

    async def get(self, who: Person, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(f"/api/v1{path}", headers=who.headers, params=params)


async def _unit(session: AsyncSession, agency_id: int, callsign: str) -> int:
    existing = await session.scalar(select(Unit).where(Unit.callsign == callsign))
    if existing is not None:
        return existing.id
    unit = await responders.create_unit(session, agency_id=agency_id, callsign=callsign, kind="patrol_car")
    return unit.id


def sos_body(*, lat: float = -6.8915, lon: float = 107.6107, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "category": "kriminalitas",
        "location": {"lat": lat, "lon": lon, "accuracy_m": 15.0},
        "battery": 80,
    }
    body.update(fields)
    return body


@pytest.fixture
def api(client: httpx.AsyncClient, db: Runtime) -> Api:
    return Api(http=client, runtime=db)


__all__ = [
    "BANDUNG_GEOJSON",
    "CAP_SCHEMA",
    "LAMPUNG_GEOJSON",
    "TEST_DATA",
    "Api",
    "Person",
    "eventually",
    "make_settings",
    "sos_body",
]
