"""Residents made straight in the database, with a session and PINs: for scenes that need many residents at once.

A resident's second press while their alert is active joins that alert, so a burst of separate alerts needs as many
residents; registering each by SMS code (``Api.resident``) would meet the code request limit of one address."""

from __future__ import annotations

from siaga.accounts import service as accounts
from siaga.accounts.models import Resident
from siaga.accounts.schemas import PinsSet
from siaga.audit.actor import ActorContext
from tests.conftest import Api, Person, new_phone

CANCEL_PIN, DURESS_PIN = "1234", "9999"  # as ``Api.resident`` sets them


async def made_residents(api: Api, count: int, *, named: bool = True) -> list[Person]:
    pins = PinsSet(cancel_pin=CANCEL_PIN, duress_pin=DURESS_PIN)
    hashes = await accounts.hash_pins(pins)
    people = []
    async with api.runtime.unit_of_work() as session:
        for n in range(count):
            phone = "+62" + new_phone()[1:]
            resident = Resident(phone=phone, name=f"Warga {n}" if named else None)
            session.add(resident)
            await session.flush()
            await accounts.set_pins(
                session,
                resident_id=resident.id,
                pins=pins,
                entry=None,
                hashes=hashes,
                max_failures=5,
                by=ActorContext.anonymous(phone),
            )
            opened = await accounts.open_resident_session(
                session, settings=api.runtime.settings, resident=resident, client_ip="127.0.0.1", user_agent="test"
            )
            people.append(Person(token=opened.token, name=resident.name or phone, id=str(resident.id), phone=phone))
    return people
