"""Linked alerts, over HTTP and a real console stream, on SQLite and PostgreSQL: several presses about one event are
linked into one incident and split again; every alert keeps its own state and history and gets a timeline event
naming the incident and the others, the consoles see the group live, each change is audited, and links across what
one may not act on, or between a drill and a real SOS, are refused with nothing changed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from siaga.accounts.domain import Role
from siaga.accounts.models import Resident
from siaga.audit.models import AuditRecord
from tests.conftest import Api, Person
from tests.e2e.test_streams import COBLONG, Live, live, stream

__all__ = ["live"]  # the fixture, used by the stream test here


async def _kinds(api: Api, who: Person, alert_id: str) -> list[str]:
    answer = await api.get(who, f"/alerts/{alert_id}/timeline")
    assert answer.status_code == 200, answer.text
    return [event["kind"] for event in answer.json()]


async def _audited(api: Api, action: str, incident_id: str) -> list[dict[str, Any]]:
    async with api.runtime.unit_of_work() as session:
        rows = await session.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == action, AuditRecord.target_id == incident_id)
            .order_by(AuditRecord.id)
        )
        return [dict(row.detail) for row in rows.all()]


async def _presses(api: Api, count: int, **fields: Any) -> list[str]:
    return [
        str((await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], **fields))["id"])
        for _ in range(count)
    ]


async def test_three_presses_are_linked_into_one_incident_seen_live_and_split_again(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    first, second, third = await _presses(api, 3)
    assert (await api.post(operator, f"/alerts/{first}/acknowledge")).status_code == 200

    async with stream(live, "console", supervisor) as console:
        answer = await api.post(operator, "/incidents", {"alert_ids": [third, first, second], "title": "Perkelahian"})
        assert answer.status_code == 201, answer.text
        incident = answer.json()
        assert incident["title"] == "Perkelahian"
        assert incident["created_by_name"] == operator.name
        assert [a["id"] for a in incident["alerts"]] == [first, second, third]  # oldest first
        assert {a["incident_id"] for a in incident["alerts"]} == {incident["id"]}
        for alert_id in (first, second, third):
            heard = await console.event("linked", alert_id)
            assert heard["alert"]["incident_id"] == incident["id"]
            assert heard["event"]["data"]["alert_ids"] == [first, second, third]
            assert heard["event"]["actor_name"] == operator.name
        # Each keeps its own state: the first is still the operator's, the others still wait.
        states = {a["id"]: a["state"] for a in incident["alerts"]}
        assert states == {first: "acknowledged", second: "new", third: "new"}

        # And each is still handled on its own: the second is acknowledged alone.
        assert (await api.post(supervisor, f"/alerts/{second}/acknowledge")).status_code == 200
        taken = await console.event("acknowledged", second)
        assert taken["alert"]["incident_id"] == incident["id"]

        split = await api.http.delete(f"/api/v1/incidents/{incident['id']}/alerts/{third}", headers=operator.headers)
        assert split.status_code == 200, split.text
        assert [a["id"] for a in split.json()["alerts"]] == [first, second]
        told = {}
        while len(told) < 3:
            heard = await console.event("unlinked")
            told[heard["alert"]["id"]] = heard
        assert told[third]["alert"]["incident_id"] is None
        assert told[third]["event"]["data"]["removed"] == [third]
        assert told[first]["alert"]["incident_id"] == told[second]["alert"]["incident_id"] == incident["id"]
        assert told[first]["event"]["data"]["alert_ids"] == [first, second]

    assert await _kinds(api, operator, first) == ["created", "acknowledged", "linked", "unlinked"]
    assert await _kinds(api, operator, second) == ["created", "linked", "acknowledged", "unlinked"]
    assert await _kinds(api, operator, third) == ["created", "linked", "unlinked"]
    read = await api.get(supervisor, f"/incidents/{incident['id']}")
    assert [a["id"] for a in read.json()["alerts"]] == [first, second]

    # Splitting one of the last two dissolves the incident: both are single alerts again.
    again = await api.http.delete(f"/api/v1/incidents/{incident['id']}/alerts/{second}", headers=operator.headers)
    assert again.status_code == 200, again.text
    assert again.json()["alerts"] == []
    for alert_id in (first, second, third):
        assert (await api.get(operator, f"/alerts/{alert_id}")).json()["incident_id"] is None
    assert (await api.get(supervisor, f"/incidents/{incident['id']}")).status_code == 404

    linked = await _audited(api, "incident.link", incident["id"])
    assert linked == [{"added": [first, second, third], "alert_ids": [first, second, third]}]
    unlinked = await _audited(api, "incident.unlink", incident["id"])
    assert unlinked == [
        {"removed": [third], "alert_ids": [first, second]},
        {"removed": [first, second], "alert_ids": []},
    ]

    # A new press about the same event joins an existing incident.
    fresh = await api.post(operator, "/incidents", {"alert_ids": [first, second]})
    more = await api.post(operator, f"/incidents/{fresh.json()['id']}/alerts", {"alert_ids": [third, first]})
    assert more.status_code == 200, more.text
    assert [a["id"] for a in more.json()["alerts"]] == [first, second, third]
    assert (await _kinds(api, operator, third))[-1] == "linked"


async def test_links_one_may_not_make_are_refused_with_nothing_changed(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    elsewhere = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG")
    admin = await api.staff(Role.ADMIN)
    crime, other = await _presses(api, 2)
    # A kesehatan in Coblong is PSC 119's: the Polsek sees it in its kecamatan but may not act on it.
    medical = (await _presses(api, 1, category="kesehatan"))[0]
    drill_resident = await api.resident()
    async with api.runtime.unit_of_work() as session:
        await session.execute(
            update(Resident).where(Resident.id == uuid.UUID(drill_resident.id)).values(is_exercise=True)
        )
    drill = str((await api.press(drill_resident, lat=COBLONG[0], lon=COBLONG[1]))["id"])

    def code(answer: Any) -> tuple[int, str]:
        return answer.status_code, answer.json()["error"]["code"]

    assert code(await api.post(operator, "/incidents", {"alert_ids": [crime, medical]})) == (403, "alert.other_agency")
    assert code(await api.post(elsewhere, "/incidents", {"alert_ids": [crime, other]})) == (404, "alert.not_found")
    assert code(await api.post(officer, "/incidents", {"alert_ids": [crime, other]}))[0] == 403
    assert code(await api.post(admin, "/incidents", {"alert_ids": [crime, drill]})) == (
        422,
        "incident.exercise_and_real",
    )
    assert code(await api.post(operator, "/incidents", {"alert_ids": [crime, crime]})) == (422, "incident.too_few")
    missing = await api.post(operator, f"/incidents/{uuid.uuid4()}/alerts", {"alert_ids": [crime]})
    assert code(missing) == (404, "incident.not_found")
    for alert_id in (crime, other, medical, drill):
        assert "linked" not in await _kinds(api, admin, alert_id)
        assert (await api.get(admin, f"/alerts/{alert_id}")).json()["incident_id"] is None

    made = await api.post(operator, "/incidents", {"alert_ids": [crime, other]})
    assert made.status_code == 201, made.text
    incident_id = made.json()["id"]
    third = (await _presses(api, 1))[0]
    fourth = (await _presses(api, 1))[0]
    elsewhere_incident = await api.post(operator, "/incidents", {"alert_ids": [third, fourth]})
    taken = await api.post(operator, f"/incidents/{incident_id}/alerts", {"alert_ids": [third]})
    assert code(taken) == (409, "incident.already_linked")
    not_in = await api.http.delete(f"/api/v1/incidents/{incident_id}/alerts/{third}", headers=operator.headers)
    assert code(not_in) == (409, "incident.not_linked")
    assert (await api.get(admin, f"/alerts/{third}")).json()["incident_id"] == elsewhere_incident.json()["id"]
    # Adding a drill to a real incident is refused as linking them at first would be.
    drilled = await api.post(admin, f"/incidents/{incident_id}/alerts", {"alert_ids": [drill]})
    assert code(drilled) == (422, "incident.exercise_and_real")
