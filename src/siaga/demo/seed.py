"""Seed Bandung: agencies (police, Damkar, PSC 119, BPBD), kecamatan, the kecamatan -> Polsek table, the other
agencies' service areas, units and demo staff. Safe to run again."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts import security
from siaga.accounts import service as accounts
from siaga.accounts.domain import Role
from siaga.accounts.models import Staff
from siaga.agencies import service as agencies
from siaga.agencies.models import Agency, AgencyKind
from siaga.responders import service as responders
from siaga.responders.models import Unit

DEMO_PASSWORD = "siaga-demo-2026"  # noqa: S105 - development mode only; `siaga demo` refuses otherwise


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    name: str
    role: Role
    agency_code: str
    unit_callsign: str | None = None


DEMO_UNITS = [
    ("CC-1", "BDG-CC", "patrol_car"),
    ("COBLONG-1", "POLSEK-COBLONG", "patrol_car"),
    ("COBLONG-2", "POLSEK-COBLONG", "motorbike"),
    ("SUKAJADI-1", "POLSEK-SUKAJADI", "patrol_car"),
    ("BANDUNG-WETAN-1", "POLSEK-BANDUNG-WETAN", "motorbike"),
    ("DAMKAR-UTARA-1", "DAMKAR-SEKTOR-UTARA", "fire_engine"),
    ("DAMKAR-SELATAN-1", "DAMKAR-SEKTOR-SELATAN", "fire_engine"),
    ("DAMKAR-TIMUR-1", "DAMKAR-SEKTOR-TIMUR", "fire_engine"),
    ("DAMKAR-RESCUE-1", "DAMKAR-BDG", "rescue_team"),
    ("PSC119-AMB-1", "PSC119-BDG", "ambulance"),
    ("PSC119-AMB-2", "PSC119-BDG", "ambulance"),
    ("BPBD-TRC-1", "BPBD-BDG", "rescue_team"),
    ("BPBD-TRC-2", "BPBD-BDG", "rescue_team"),
]

DEMO_ACCOUNTS = [
    DemoAccount("admin", "Admin Siaga", Role.ADMIN, "BDG-CC"),
    DemoAccount("supervisor", "Supervisor Rina", Role.SUPERVISOR, "BDG-CC"),
    DemoAccount("operator1", "Operator Budi", Role.OPERATOR, "BDG-CC"),
    DemoAccount("operator2", "Operator Sari", Role.OPERATOR, "BDG-CC"),
    DemoAccount("operator.coblong", "Operator Dedi (Polsek Coblong)", Role.OPERATOR, "POLSEK-COBLONG"),
    DemoAccount("officer1", "Bripka Asep", Role.OFFICER, "POLSEK-COBLONG", "COBLONG-1"),
    DemoAccount("officer2", "Briptu Wulan", Role.OFFICER, "POLSEK-COBLONG", "COBLONG-2"),
    DemoAccount("officer3", "Brigadir Yusuf", Role.OFFICER, "POLSEK-SUKAJADI", "SUKAJADI-1"),
    DemoAccount("officer4", "Bripda Nenden", Role.OFFICER, "POLSEK-BANDUNG-WETAN", "BANDUNG-WETAN-1"),
    DemoAccount("operator.damkar", "Operator Joko (Damkar)", Role.OPERATOR, "DAMKAR-BDG"),
    DemoAccount("operator.psc119", "Operator Lina (PSC 119)", Role.OPERATOR, "PSC119-BDG"),
    DemoAccount("operator.bpbd", "Operator Hendra (BPBD)", Role.OPERATOR, "BPBD-BDG"),
    DemoAccount("damkar1", "Petugas Damkar Ujang", Role.OFFICER, "DAMKAR-SEKTOR-UTARA", "DAMKAR-UTARA-1"),
    DemoAccount("psc1", "Perawat Dewi (PSC 119)", Role.OFFICER, "PSC119-BDG", "PSC119-AMB-1"),
    DemoAccount("bpbd1", "Petugas TRC Iwan (BPBD)", Role.OFFICER, "BPBD-BDG", "BPBD-TRC-1"),
]


def _data(name: str) -> str:
    return resources.files("siaga.demo").joinpath("data", name).read_text(encoding="utf-8")


async def seed_agencies(session: AsyncSession, *, direct_offers: bool = False) -> int:
    """Create the Bandung agencies that do not exist yet. Returns how many were created."""
    created = 0
    for row in csv.DictReader(io.StringIO(_data("bandung_agencies.csv"))):
        if await session.scalar(select(Agency.id).where(Agency.code == row["code"])) is None:
            agency = await agencies.create_agency(
                session,
                code=row["code"],
                name=row["name"],
                kind=AgencyKind(row["kind"]),
                parent_code=row["parent_code"] or None,
            )
            # In the demo, Polsek offer new alerts straight to their nearest officers, as Lampung did.
            agency.direct_offers = direct_offers and agency.kind == AgencyKind.POLSEK.value
            created += 1
    return created


async def seed_service_areas(session: AsyncSession) -> None:
    """The kecamatan each Damkar sector, PSC 119 and BPBD covers (``bandung_service_areas.csv``)."""
    covered: dict[str, list[str]] = {}
    for row in csv.DictReader(io.StringIO(_data("bandung_service_areas.csv"))):
        covered.setdefault(row["agency_code"], []).append(row["jurisdiction_code"])
    existing = await agencies.service_areas(session)
    for code, kecamatan in covered.items():
        agency = await agencies.agency_by_code(session, code)
        if agency.id not in existing:
            await agencies.set_service_area(session, agency_code=code, kecamatan=kecamatan, source="demo")


async def seed_bandung(session: AsyncSession, *, with_accounts: bool, direct_offers: bool = False) -> list[DemoAccount]:
    """Agencies, the 30 kecamatan with their Polsek, units and (in development) the demo staff accounts."""
    await seed_agencies(session, direct_offers=direct_offers)
    features = agencies.parse_geojson(_data("bandung_kecamatan.geojson"))
    await agencies.import_features(session, features=features, source="demo:bandung_kecamatan.geojson (OSM, ODbL)")
    await agencies.import_agency_table(session, text=_data("bandung_kecamatan_polsek.csv"))
    await seed_service_areas(session)
    units: dict[str, int] = {}
    for callsign, agency_code, kind in DEMO_UNITS:
        unit = await session.scalar(select(Unit).where(Unit.callsign == callsign))
        if unit is None:
            agency = await agencies.agency_by_code(session, agency_code)
            unit = await responders.create_unit(session, agency_id=agency.id, callsign=callsign, kind=kind)
        units[callsign] = unit.id
    if not with_accounts:
        return []
    # Every demo account has the one published password: hash it once (argon2 is slow on purpose, nine times over
    # was most of the seeding's time).
    password_hash = await asyncio.to_thread(security.hash_secret, DEMO_PASSWORD)
    for account in DEMO_ACCOUNTS:
        if await session.scalar(select(Staff.id).where(Staff.username == account.username)) is not None:
            continue
        agency = await agencies.agency_by_code(session, account.agency_code)
        await accounts.create_staff(
            session,
            username=account.username,
            name=account.name,
            role=account.role,
            agency_id=agency.id,
            password=DEMO_PASSWORD,
            password_hash=password_hash,
            unit_id=units[account.unit_callsign] if account.unit_callsign else None,
        )
    return DEMO_ACCOUNTS
