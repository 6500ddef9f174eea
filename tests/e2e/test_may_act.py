"""Every staff view of an alert says whether the reader's agency handles it (``may_act``), exactly as the server
decides what it refuses: the police informed of Damkar's kebakaran read ``false`` (and are refused), Damkar and an
administrator ``true``; an escalation to the police, or a re-route that makes them responsible, turns it ``true``."""

from __future__ import annotations

import uuid
from typing import Any

from siaga.accounts.domain import Role
from siaga.agencies import service as agencies
from siaga.alerts.models import AlertEscalation
from tests.conftest import Api, Person

COBLONG = (-6.8915, 107.6107)  # near ITB: Polsek Coblong's, and Damkar Sektor Utara's for fires


async def _may_act(api: Api, who: Person, alert_id: str) -> bool:
    answer = await api.get(who, f"/alerts/{alert_id}")
    assert answer.status_code == 200, answer.text
    value: bool = answer.json()["may_act"]
    return value


async def test_may_act_says_which_agency_handles_the_alert_as_the_server_refuses(api: Api) -> None:
    damkar = await api.staff(Role.OPERATOR, "DAMKAR-SEKTOR-UTARA")
    police = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    admin = await api.staff(Role.ADMIN)
    fire = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kebakaran")
    crime = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kriminalitas")

    assert await _may_act(api, police, fire["id"]) is False
    assert await _may_act(api, damkar, fire["id"]) is True
    assert await _may_act(api, admin, fire["id"]) is True
    listed: dict[str, Any] = {a["id"]: a["may_act"] for a in (await api.get(police, "/alerts")).json()}
    assert (listed[fire["id"]], listed[crime["id"]]) == (False, True)
    refused = await api.post(police, f"/alerts/{fire['id']}/acknowledge")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "alert.other_agency")
    noted = await api.post(police, f"/alerts/{fire['id']}/notes", {"text": "Jalan Dago ditutup"})
    assert noted.status_code == 200, noted.text
    assert noted.json()["may_act"] is False, "a note's answer offered the informed police the buttons"

    # Escalated to the police: they handle it too, and the server agrees.
    async with api.runtime.unit_of_work() as session:
        police_agency = await agencies.agency_by_code(session, "POLSEK-COBLONG")
        session.add(AlertEscalation(alert_id=uuid.UUID(fire["id"]), agency_id=police_agency.id, reason="uji"))
    assert await _may_act(api, police, fire["id"]) is True
    taken = await api.post(police, f"/alerts/{fire['id']}/acknowledge")
    assert taken.status_code == 200, taken.text
    assert taken.json()["may_act"] is True


async def test_a_re_route_to_the_police_makes_them_the_ones_who_act(api: Api) -> None:
    damkar = await api.staff(Role.OPERATOR, "DAMKAR-SEKTOR-UTARA")
    police = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    fire = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kebakaran")
    assert await _may_act(api, police, fire["id"]) is False
    moved = await api.post(damkar, f"/alerts/{fire['id']}/category", {"category": "kriminalitas"})
    assert moved.status_code == 200, moved.text
    assert await _may_act(api, police, fire["id"]) is True
