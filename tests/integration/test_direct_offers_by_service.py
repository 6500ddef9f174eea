"""Direct offers ring the units that give the help an alert needs: with fire engines and ambulances on duty beside
the police, a crime rings only police patrols and a fire only Damkar's engines, however near the others are."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from siaga.alerts.models import Alert
from siaga.responders.models import Unit
from tests.conftest import Api, Person
from tests.integration.test_dispatch import (
    COBLONG,
    city,
    enable_direct_offers,
    eventually,
    moved,
    offers,
    offers_reach,
    officer,
    on_duty_at,
    unit,
)

__all__ = ["city"]


async def crew(api: Api, agency: str, callsign: str, kind: str, where: tuple[float, float]) -> Person:
    """An officer of a unit of ``kind`` of ``agency``, on duty at ``where``."""
    person = await officer(api, callsign, agency)
    async with api.runtime.unit_of_work() as session:
        await session.execute(update(Unit).where(Unit.id == unit(person)).values(kind=kind))
    await api.runtime.units.reload()
    await on_duty_at(api, person, where)
    return person


async def rings_tried(api: Api, alert_id: str) -> None:
    async def tried() -> bool:
        async with api.runtime.read_sessions() as session:
            ring = await session.scalar(select(Alert.offer_ring).where(Alert.id == uuid.UUID(alert_id)))
        return bool(ring)

    await eventually(tried, "the first offer round")


async def test_a_crime_rings_police_patrols_and_a_fire_damkars_engines_never_the_nearer_other_units(city: Api) -> None:
    api = city
    await enable_direct_offers(api, size=3, radius_m=1_000, timeout_s=600)
    await enable_direct_offers(api, agency="DAMKAR-SEKTOR-UTARA", size=3, radius_m=1_000, timeout_s=600)
    ambulance = await crew(api, "PSC119-BDG", "PSC-OFFER-1", "ambulance", moved(COBLONG, north_m=100))
    engine = await crew(api, "DAMKAR-SEKTOR-UTARA", "DAMKAR-OFFER-1", "fire_engine", moved(COBLONG, east_m=200))
    patrol = await crew(api, "POLSEK-COBLONG", "COBLONG-OFFER-1", "patrol_car", moved(COBLONG, north_m=-600))

    crime = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kriminalitas")
    rung = await offers_reach(api.runtime, crime["id"], {unit(patrol): "pending"})
    assert set(rung) == {unit(patrol)}, "a crime rang a unit that is not the police's"

    fire = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kebakaran")
    rung = await offers_reach(api.runtime, fire["id"], {unit(engine): "pending"})
    assert set(rung) == {unit(engine)}, "a fire rang a unit that is not Damkar's"
    assert unit(ambulance) not in set(await offers(api.runtime, crime["id"])) | set(rung)


async def test_a_unit_coming_on_duty_is_asked_only_about_waiting_alerts_it_can_help_with(city: Api) -> None:
    """Nobody in reach: the alert waits for a unit. An ambulance coming on duty beside it is not asked about a
    crime; a police patrol coming on duty next is."""
    api = city
    await enable_direct_offers(api, size=2, radius_m=1_000, timeout_s=600)
    crime = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kriminalitas")
    await rings_tried(api, crime["id"])
    assert await offers(api.runtime, crime["id"]) == {}

    ambulance = await crew(api, "PSC119-BDG", "PSC-OFFER-2", "ambulance", moved(COBLONG, north_m=50))
    patrol = await crew(api, "POLSEK-COBLONG", "COBLONG-OFFER-2", "patrol_car", moved(COBLONG, north_m=400))
    rung = await offers_reach(api.runtime, crime["id"], {unit(patrol): "pending"})
    assert unit(ambulance) not in rung
