"""Who the benchmarks need, made before anything is measured.

- Bandung (agencies, kecamatan, the kecamatan -> Polsek table, demo staff): ``siaga.demo.seed.seed_bandung``, the
  seed ``siaga demo`` uses, without direct offers (each press is then exactly the ingest path).
- Console operators: through the public API, as an administrator would (created by the demo admin, logged in).
- Residents, one per press of a run: written straight into the database with a session each. A resident's press
  while their alert is active joins that alert, so a load of new alerts needs a new resident for every press, and
  the API limits code requests per address.
- Thousands of on-duty officers: written straight into the database through Siaga's ORM models before the server
  starts (units, officer accounts sharing one argon2 hash, sessions, open duty periods, unit states with a
  position). Going through the API would cost one argon2 hash and several requests per officer; this is setup,
  never measured.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from benchmarks.httpload import BANDUNG
from benchmarks.server import SECRET_KEY, Database
from siaga.accounts import security
from siaga.accounts.domain import Role
from siaga.accounts.models import AuthSession, Resident, Staff
from siaga.agencies.models import Agency, Jurisdiction, JurisdictionAgency
from siaga.alerts.domain import Category
from siaga.alerts.models import Alert, AlertEvent
from siaga.config import Settings
from siaga.db import create_engine, session_factory, transaction, utcnow
from siaga.demo.seed import DEMO_PASSWORD, seed_bandung
from siaga.responders.models import DutyMode, DutyPeriod, Unit, UnitState, UnitStatus
from siaga.trackers.models import Tracker

OFFICER_PASSWORD = "bench-officer-password"  # noqa: S105 - a throwaway server on loopback
KINDS = ("patrol_car", "motorbike", "patrol_car", "foot")
CHUNK = 2000


def _settings(database: Database) -> Settings:
    return Settings(dev_mode=True, database_url=database.url, secret_key=SECRET_KEY, log_json=False)


async def seed_city(database: Database) -> None:
    engine = create_engine(database.url)
    try:
        async with transaction(session_factory(engine)) as session:
            await seed_bandung(session, with_accounts=True, direct_offers=False)
    finally:
        await engine.dispose()


async def seed_residents(database: Database, count: int) -> list[str]:
    """``count`` named residents with a session each, written straight into the database; returns their tokens.
    A resident's press while their alert is active joins it, so a load of new alerts needs a resident per press
    (the API's code requests are limited per address: registering thousands through it is not possible)."""
    tokens = [security.new_token() for _ in range(count)]
    engine = create_engine(database.url)
    now = utcnow()
    try:
        async with transaction(session_factory(engine)) as session:
            people = [
                {"id": uuid.uuid4(), "phone": f"+62899{i:08d}", "name": f"Warga Beban {i:06d}"} for i in range(count)
            ]
            for start in range(0, count, CHUNK):
                await session.execute(insert(Resident), people[start : start + CHUNK])
            sessions = [
                {
                    "token_hash": security.hash_token(token),
                    "resident_id": person["id"],
                    "expires_at": now + timedelta(days=1),
                    "client_ip": "127.0.0.1",
                    "user_agent": "siaga-bench",
                }
                for token, person in zip(tokens, people, strict=True)
            ]
            for start in range(0, count, CHUNK):
                await session.execute(insert(AuthSession), sessions[start : start + CHUNK])
    finally:
        await engine.dispose()
    return tokens


async def seed_officers(database: Database, count: int, *, seed: int = 7) -> list[str]:
    """``count`` officers on patrol duty, each in their own unit, spread over Bandung's Polsek and over the city;
    returns their session tokens (officer ``i`` holds token ``i``)."""
    if count <= 0:
        return []
    rng = random.Random(seed)
    password_hash = security.hash_secret(OFFICER_PASSWORD)
    tokens = [security.new_token() for _ in range(count)]
    engine = create_engine(database.url)
    now = utcnow()
    try:
        async with transaction(session_factory(engine)) as session:
            polsek = list((await session.scalars(select(Agency.id).where(Agency.kind == "polsek"))).all())
            units = [
                {"agency_id": polsek[i % len(polsek)], "callsign": f"BENCH-{i:06d}", "kind": KINDS[i % len(KINDS)]}
                for i in range(count)
            ]
            for start in range(0, count, CHUNK):
                await session.execute(insert(Unit), units[start : start + CHUNK])
            rows = (await session.execute(select(Unit.id, Unit.agency_id).where(Unit.callsign.like("BENCH-%")))).all()
            rows = sorted(rows)
            staff = [
                {
                    "username": f"bench.officer.{i:06d}",
                    "name": f"Bripda Uji {i:06d}",
                    "role": Role.OFFICER.value,
                    "agency_id": agency_id,
                    "unit_id": unit_id,
                    "password_hash": password_hash,
                }
                for i, (unit_id, agency_id) in enumerate(rows)
            ]
            for start in range(0, count, CHUNK):
                await session.execute(insert(Staff), staff[start : start + CHUNK])
            officers = select(Staff.unit_id, Staff.id).where(Staff.username.like("bench.officer.%"))
            staff_ids: dict[int, int] = dict((await session.execute(officers)).all())  # type: ignore[arg-type]
            sessions, duty, states = [], [], []
            for i, (unit_id, _) in enumerate(rows):
                staff_id = staff_ids[unit_id]
                sessions.append(
                    {
                        "token_hash": security.hash_token(tokens[i]),
                        "staff_id": staff_id,
                        "expires_at": now + timedelta(hours=12),
                        "client_ip": "127.0.0.1",
                        "user_agent": "siaga-bench",
                    }
                )
                duty.append(
                    {"staff_id": staff_id, "unit_id": unit_id, "mode": DutyMode.PATROL.value, "started_at": now}
                )
                states.append(
                    {
                        "unit_id": unit_id,
                        "state": UnitState.AVAILABLE.value,
                        "duty_mode": DutyMode.PATROL.value,
                        "lat": rng.uniform(BANDUNG[0], BANDUNG[1]),
                        "lon": rng.uniform(BANDUNG[2], BANDUNG[3]),
                        "accuracy_m": 10.0,
                        "position_at": now,
                        "changed_at": now,
                    }
                )
            for table, values in ((AuthSession, sessions), (DutyPeriod, duty), (UnitStatus, states)):
                for start in range(0, count, CHUNK):
                    await session.execute(insert(table), values[start : start + CHUNK])
    finally:
        await engine.dispose()
    return tokens


async def seed_unit_trackers(database: Database) -> list[str]:
    """A tracker in each of ``seed_officers``' units (a patrol car's, or an officer's phone with Traccar Client),
    its device id the unit's callsign; returns the device ids."""
    engine = create_engine(database.url)
    try:
        async with transaction(session_factory(engine)) as session:
            units = (await session.execute(select(Unit.id, Unit.callsign).where(Unit.callsign.like("BENCH-%")))).all()
            rows = [{"device_id": callsign, "label": "bench", "unit_id": unit_id} for unit_id, callsign in units]
            for start in range(0, len(rows), CHUNK):
                await session.execute(insert(Tracker), rows[start : start + CHUNK])
    finally:
        await engine.dispose()
    return [str(row["device_id"]) for row in rows]


async def operators(url: str, count: int) -> list[str]:
    """``count`` command-centre operators created by the demo admin through the API, each logged in; tokens."""
    password = "bench-operator-password"  # noqa: S105 - a throwaway server on loopback
    async with httpx.AsyncClient(base_url=f"{url}/api/v1", timeout=60) as http:
        login = await http.post("/auth/login", json={"username": "admin", "password": DEMO_PASSWORD})
        login.raise_for_status()
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        agencies = (await http.get("/agencies", headers=admin)).json()
        centre = next(a["id"] for a in agencies if a["code"] == "BDG-CC")
        tag = uuid.uuid4().hex[:6]
        gate = asyncio.Semaphore(4)
        # One login at a time: the server lets an address have one login under way and refuses another meanwhile
        # (429 auth.busy), as it would a flood.
        one_login = asyncio.Lock()

        async def one(i: int) -> str:
            username = f"bench.op.{tag}.{i:03d}"
            async with gate:
                made = await http.post(
                    "/staff",
                    json={
                        "username": username,
                        "name": f"Operator Uji {i:03d}",
                        "role": Role.OPERATOR.value,
                        "agency_id": centre,
                        "password": password,
                    },
                    headers=admin,
                )
                made.raise_for_status()
            async with one_login:
                answer = await http.post("/auth/login", json={"username": username, "password": password})
            answer.raise_for_status()
            return str(answer.json()["access_token"])

        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def insert_open_alerts(
    session: AsyncSession,
    count: int,
    *,
    agency_code: str = "POLSEK-COBLONG",
    near: tuple[float, float] | None = None,
    offer_due: bool = False,
    seed: int = 11,
) -> list[uuid.UUID]:
    """``count`` open, unacknowledged alerts of as many new residents, in the agency's kecamatan (within a kilometre
    of ``near``, else of its centre), written straight into the database (with their ``created`` event), oldest
    first, a second apart, ending now: a surge that already happened. Acknowledgement (T1) and dispatch (T2) timers
    fall due a day from now; ``offer_due``: direct offers are due at once, as after a press in an agency that makes
    them."""
    rng = random.Random(seed)
    agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
    assert agency is not None, f"no agency {agency_code}"
    kecamatan = (
        await session.execute(
            select(Jurisdiction.id, Jurisdiction.centroid_lat, Jurisdiction.centroid_lon)
            .join(JurisdictionAgency, JurisdictionAgency.jurisdiction_id == Jurisdiction.id)
            .where(JurisdictionAgency.agency_id == agency.id)
            .limit(1)
        )
    ).one()
    jurisdiction_id = kecamatan.id
    near = near or (kecamatan.centroid_lat, kecamatan.centroid_lon)
    now = utcnow()
    batch = uuid.uuid4().int % 10**6  # numbers of their own: a database may be surged more than once
    people = [
        {"id": uuid.uuid4(), "phone": f"+6287{batch:06d}{i:06d}", "name": f"Warga Surge {batch:06d}-{i:06d}"}
        for i in range(count)
    ]
    alerts, events = [], []
    categories = [c.value for c in Category]
    for i, person in enumerate(people):
        created = now - timedelta(seconds=count - i)
        alert_id = uuid.uuid4()
        lat, lon = near[0] + rng.uniform(-0.01, 0.01), near[1] + rng.uniform(-0.01, 0.01)
        alerts.append(
            {
                "id": alert_id,
                "request_hash": uuid.uuid4().hex,
                "resident_id": person["id"],
                "agency_id": agency.id,
                "jurisdiction_id": jurisdiction_id,
                "placement": "inside",
                "category": categories[i % len(categories)],
                "lat": lat,
                "lon": lon,
                "accuracy_m": 15.0,
                "pressed_at": created,
                "created_at": created,
                "updated_at": created,
                "ack_due_at": now + timedelta(days=1),
                "dispatch_due_at": now + timedelta(days=1),
                "offer_due_at": now if offer_due else None,
            }
        )
        events.append(
            {
                "alert_id": alert_id,
                "agency_id": agency.id,
                "kind": "created",
                "actor_kind": "resident",
                "actor_id": str(person["id"]),
                "actor_name": person["name"],
                "at": created,
                "lat": lat,
                "lon": lon,
                "state_after": "new",
                "data": {},
            }
        )
    for table, values in ((Resident, people), (Alert, alerts), (AlertEvent, events)):
        for start in range(0, count, CHUNK):
            await session.execute(insert(table), values[start : start + CHUNK])
    return [a["id"] for a in alerts]
