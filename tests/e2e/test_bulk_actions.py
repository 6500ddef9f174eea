"""A surge is worked in bulk: an operator of the kecamatan's Polsek acknowledges a selection, hands a cluster to the
parent Polres, assigns a unit to several alerts and closes a mass event with one note, in one request each. Every
alert keeps its own timeline and audit record, the answer says what happened to each, and bad input is refused in
full. The residents of the area read the command centre's message on their status screen.

Before, each alert took its own request: 500 presses in a kecamatan meant 500 clicks per step."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from siaga.accounts.domain import Role
from siaga.alerts.models import Alert
from siaga.audit.models import AuditRecord
from siaga.runtime import Runtime
from tests.conftest import Api, Person
from tests.e2e.test_streams import Live, live, stream

__all__ = ["live"]  # the live server fixture, shared with the stream tests

COBLONG = (-6.8915, 107.6107)


async def _presses(api: Api, count: int) -> list[dict[str, Any]]:
    return [await api.press(await api.resident()) for _ in range(count)]


async def _bulk(api: Api, who: Person, body: dict[str, Any], language: str = "id") -> Any:
    return await api.http.post("/api/v1/alerts/bulk", json=body, headers={**who.headers, "Accept-Language": language})


async def _audits(db: Runtime, action: str) -> int:
    async with db.read_sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == action)) or 0
        )


async def _audit_rows(db: Runtime, action: str | None = None) -> list[AuditRecord]:
    async with db.read_sessions() as session:
        query = select(AuditRecord).order_by(AuditRecord.id)
        if action is not None:
            query = query.where(AuditRecord.action == action)
        return list((await session.scalars(query)).all())


async def test_a_selection_is_acknowledged_in_one_request_each_alert_on_its_own_timeline(api: Api, db: Runtime) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    rival = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    alerts = await _presses(api, 4)
    ids = [a["id"] for a in alerts]
    taken = await api.post(rival, f"/alerts/{ids[0]}/acknowledge")
    assert taken.status_code == 200, taken.text

    answer = await _bulk(api, operator, {"action": "acknowledge", "alert_ids": ids})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["applied"], body["refused"]) == (3, 1)
    results = {r["alert_id"]: r for r in body["results"]}
    assert results[ids[0]]["ok"] is False
    assert results[ids[0]]["code"] == "alert.already_acknowledged"  # the rival holds it; the others are applied
    for alert_id in ids[1:]:
        assert results[alert_id] == {**results[alert_id], "ok": True, "state": "acknowledged"}
        timeline = (await api.get(operator, f"/alerts/{alert_id}/timeline")).json()
        assert [e["kind"] for e in timeline] == ["created", "acknowledged"]
        assert timeline[-1]["actor_name"] == operator.name
    assert await _audits(db, "alert.acknowledged") == 4  # the rival's and the three bulk ones, one per alert
    bulk = [r for r in await _audit_rows(db, "alert.acknowledged") if r.detail.get("bulk") == "acknowledge"]
    assert sorted(r.target_id for r in bulk) == sorted(ids[1:])  # each alert audited once, by the operator
    assert {(r.actor_kind, r.actor_name) for r in bulk} == {("operator", operator.name)}


async def test_a_cluster_is_handed_to_the_parent_polres_and_assigned_to_a_unit(api: Api, db: Runtime) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    polres = await api.staff(Role.OPERATOR, "POLRESTABES-BDG")
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG")
    on_duty = await api.http.put("/api/v1/officers/me/duty", json={"mode": "patrol"}, headers=officer.headers)
    assert on_duty.status_code == 200, on_duty.text
    alerts = await _presses(api, 3)
    ids = [a["id"] for a in alerts]

    handed = await _bulk(api, operator, {"action": "hand_to_agency", "alert_ids": ids, "note": "Gempa: banyak korban"})
    assert handed.status_code == 200, handed.text
    assert handed.json()["applied"] == 3
    for alert_id in ids:
        seen = await api.get(polres, f"/alerts/{alert_id}")
        assert seen.status_code == 200, seen.text  # the parent Polres now sees it...
        assert seen.json()["escalated"] is True  # ...flagged, with the operator's reason on the timeline
        kinds = [
            (e["kind"], e["data"].get("reason")) for e in (await api.get(polres, f"/alerts/{alert_id}/timeline")).json()
        ]
        assert ("escalated", "Gempa: banyak korban") in kinds

    assigned = await _bulk(api, polres, {"action": "assign", "alert_ids": ids, "unit_id": officer.unit_id})
    assert assigned.status_code == 200, assigned.text
    assert [(r["state"], r["code"]) for r in assigned.json()["results"]] == [("dispatched", None)] * 3
    for alert_id in ids:
        assert (await api.get(officer, f"/alerts/{alert_id}")).json()["unit_id"] == officer.unit_id
    # Each alert audited once per bulk action, by the person who acted, as what they asked for (an assign of a new
    # alert is audited as the dispatch it was, listing the acknowledgement it made on the way, as one alert's is).
    for bulk, who in (("hand_to_agency", operator), ("assign", polres)):
        rows = [r for r in await _audit_rows(db) if r.detail.get("bulk") == bulk]
        assert sorted(r.target_id for r in rows) == sorted(ids)
        assert {r.actor_name for r in rows} == {who.name}
        asked = "escalated" if bulk == "hand_to_agency" else "dispatched"
        assert all(r.detail["events"][-1] == asked for r in rows)
        assert {r.action for r in rows} == {f"alert.{asked}"}


async def _agency_id(api: Api, who: Person, code: str) -> int:
    answer = await api.get(who, "/agencies")
    assert answer.status_code == 200, answer.text
    [agency] = [a for a in answer.json() if a["code"] == code]
    return int(agency["id"])


async def test_a_selection_is_handed_to_bpbd_which_handles_it_while_the_polsek_stays_informed(
    api: Api, db: Runtime
) -> None:
    """Floods in Coblong: the Polsek's operator hands the presses to BPBD in one request. BPBD now handles each (its
    timers start now, it acknowledges them), the Polsek still reads them but no longer acts on them, and each alert's
    timeline says who handed it to whom and why."""
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    bpbd = await api.staff(Role.OPERATOR, "BPBD-BDG")
    bpbd_id = await _agency_id(api, operator, "BPBD-BDG")
    alerts = await _presses(api, 3)
    ids = [a["id"] for a in alerts]
    before = {alert_id: (await api.get(operator, f"/alerts/{alert_id}")).json() for alert_id in ids}
    for alert_id in ids:
        assert (await api.get(bpbd, f"/alerts/{alert_id}")).status_code == 404  # a kriminalitas: not BPBD's

    # Wrong for the whole request: nothing is handed.
    for body, code in (
        ({"note": "Banjir"}, "bulk.agency_required"),
        ({"note": "Banjir", "agency_id": 999_999}, "agency.not_found"),
        ({"agency_id": bpbd_id}, "bulk.note_required"),
    ):
        refused = await _bulk(api, operator, {"action": "transfer", "alert_ids": ids, **body})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == code
    assert (await api.get(bpbd, f"/alerts/{ids[0]}")).status_code == 404

    note = "Banjir Coblong: ditangani BPBD"
    handed = await _bulk(api, operator, {"action": "transfer", "alert_ids": ids, "agency_id": bpbd_id, "note": note})
    assert handed.status_code == 200, handed.text
    assert [(r["ok"], r["state"]) for r in handed.json()["results"]] == [(True, "new")] * 3
    for alert_id in ids:
        seen = await api.get(bpbd, f"/alerts/{alert_id}")
        assert seen.status_code == 200, seen.text
        assert (seen.json()["agency_code"], seen.json()["may_act"]) == ("BPBD-BDG", True)
        assert seen.json()["ack_due_at"] > before[alert_id]["ack_due_at"]  # T1 counts again, for BPBD
        informed = (await api.get(operator, f"/alerts/{alert_id}")).json()
        assert informed["may_act"] is False  # the Polsek still reads it, but BPBD handles it
        last = (await api.get(bpbd, f"/alerts/{alert_id}/timeline")).json()[-1]
        assert (last["kind"], last["actor_name"]) == ("transferred", operator.name)
        assert last["data"]["reason"] == note
        assert (last["data"]["previous_agency"], last["data"]["agency"]) == ("POLSEK-COBLONG", "BPBD-BDG")
        assert last["data"]["informed"] == ["POLSEK-COBLONG"]
    listed = {a["id"] for a in (await api.get(bpbd, "/alerts")).json()}
    assert set(ids) <= listed  # on BPBD's list, as on its console

    transfers = [r for r in await _audit_rows(db, "alert.transferred") if r.detail.get("bulk") == "transfer"]
    assert sorted(r.target_id for r in transfers) == sorted(ids)  # one audit record per alert, by the operator
    assert {(r.actor_name, r.agency_id) for r in transfers} == {(operator.name, bpbd_id)}

    # BPBD acts on them; the Polsek is refused each alert (only informed now), and handing one to the agency that
    # already has it is refused for that alert alone.
    acknowledged = await _bulk(api, bpbd, {"action": "acknowledge", "alert_ids": ids})
    assert acknowledged.json()["applied"] == 3, acknowledged.text
    again = await _bulk(api, operator, {"action": "transfer", "alert_ids": ids, "agency_id": bpbd_id, "note": note})
    assert {r["code"] for r in again.json()["results"]} == {"alert.other_agency"}
    same = await _bulk(api, bpbd, {"action": "transfer", "alert_ids": ids[:1], "agency_id": bpbd_id, "note": note})
    [result] = same.json()["results"]
    assert (result["ok"], result["code"]) == (False, "alert.already_with_agency")


async def test_a_mass_event_is_closed_with_one_note_and_bad_input_is_refused_in_full(api: Api, db: Runtime) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    alerts = await _presses(api, 3)
    ids = [a["id"] for a in alerts]

    # Nothing is applied when the request itself is wrong: a localised 4xx, and every alert still new.
    no_note = await _bulk(api, operator, {"action": "close", "alert_ids": ids})
    assert no_note.status_code == 422
    assert no_note.json()["error"]["code"] == "bulk.note_required"
    no_unit = await _bulk(api, operator, {"action": "assign", "alert_ids": ids, "unit_id": 999_999})
    assert no_unit.status_code == 422
    assert no_unit.json()["error"]["code"] == "unit.not_found"
    too_many = await _bulk(api, operator, {"action": "acknowledge", "alert_ids": [ids[0]] * 501})
    assert too_many.status_code == 422
    nothing = await _bulk(api, operator, {"action": "acknowledge", "alert_ids": []})
    assert nothing.status_code == 422
    unknown = await _bulk(api, operator, {"action": "delete", "alert_ids": ids})
    assert unknown.status_code == 422
    for alert_id in ids:
        assert (await api.get(operator, f"/alerts/{alert_id}")).json()["state"] == "new"

    # A new alert must be looked at before it is closed: acknowledged, then closed as one event with one note.
    assert (await _bulk(api, operator, {"action": "acknowledge", "alert_ids": ids})).json()["applied"] == 3
    closed = await _bulk(
        api, operator, {"action": "close", "alert_ids": ids, "note": "Banjir Dayeuhkolot: warga dievakuasi"}
    )
    assert closed.status_code == 200, closed.text
    assert [r["state"] for r in closed.json()["results"]] == ["resolved"] * 3
    for alert_id in ids:
        timeline = (await api.get(operator, f"/alerts/{alert_id}/timeline")).json()
        assert timeline[-1]["kind"] == "resolved"
        assert timeline[-1]["data"]["report"] == "Banjir Dayeuhkolot: warga dievakuasi"
    closes = [r for r in await _audit_rows(db, "alert.resolved") if r.detail.get("bulk") == "close"]
    assert sorted(r.target_id for r in closes) == sorted(ids)  # one audit record per alert closed


async def test_an_alert_of_another_agency_in_a_bulk_request_is_answered_as_missing(api: Api) -> None:
    coblong = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    mine = await api.press(await api.resident())
    elsewhere = await api.press(await api.resident(), lat=-6.9389, lon=107.7210)  # Gedebage: another Polsek
    answer = await _bulk(api, coblong, {"action": "acknowledge", "alert_ids": [mine["id"], elsewhere["id"]]})
    assert answer.status_code == 200, answer.text
    results = {r["alert_id"]: r for r in answer.json()["results"]}
    assert results[mine["id"]]["ok"] is True
    assert results[elsewhere["id"]]["ok"] is False
    assert results[elsewhere["id"]]["code"] == "alert.not_found"


async def test_residents_of_a_surge_area_read_the_command_centres_message(api: Api, db: Runtime) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    near = [await api.resident() for _ in range(3)]
    alerts = [await api.press(person) for person in near]
    coerced = await api.resident()
    duress = await api.press(coerced)
    assert (await api.post(coerced, f"/alerts/{duress['id']}/cancel", {"pin": "9999"})).status_code == 200
    async with db.read_sessions() as session:
        area = await session.scalar(select(Alert.jurisdiction_id).where(Alert.id == uuid.UUID(alerts[0]["id"])))
    text = "Petugas menuju wilayah Anda; tetap di tempat aman"

    answer = await api.post(operator, "/areas/message", {"jurisdiction_id": area, "text": text})
    assert answer.status_code == 200, answer.text
    assert answer.json()["reached"] == 3  # the duress alert's phone shows "cancelled" and stays silent
    for person, alert in zip(near, alerts, strict=True):
        assert (await api.get(person, f"/alerts/{alert['id']}")).json()["message"] == text
    assert (await api.get(coerced, f"/alerts/{duress['id']}")).json()["message"] is None
    timeline = (await api.get(operator, f"/alerts/{alerts[0]['id']}/timeline")).json()
    assert (timeline[-1]["kind"], timeline[-1]["data"]["text"]) == ("resident_messaged", text)
    (audited,) = await _audit_rows(db, "area.message")  # sent once to the area, audited once
    assert (audited.actor_kind, audited.actor_name, audited.target_id) == ("operator", operator.name, str(area))
    assert audited.detail == {"text": text, "reached": 3}

    short = await api.post(operator, "/areas/message", {"jurisdiction_id": area, "text": ""})
    assert short.status_code == 422
    resident = near[0]
    refused = await api.post(resident, "/areas/message", {"jurisdiction_id": area, "text": text})
    assert refused.status_code == 403


async def test_the_area_message_reaches_a_residents_open_status_screen_live(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    resident = await api.resident()
    alert = await api.press(resident)
    async with live.api.runtime.read_sessions() as session:
        area = await session.scalar(select(Alert.jurisdiction_id).where(Alert.id == uuid.UUID(alert["id"])))
    text = "Petugas menuju wilayah Anda; tetap di tempat aman"
    async with stream(live, "resident", resident) as mine:
        answer = await api.post(operator, "/areas/message", {"jurisdiction_id": area, "text": text})
        assert answer.status_code == 200, answer.text
        status = await mine.until(lambda m: m["type"] == "alert_status" and m["alert_id"] == alert["id"])
        assert status["message"] == text
        assert status["state"] == "new"


async def test_a_drills_area_message_reaches_only_the_drills_residents_and_a_real_one_only_real_ones(
    api: Api, db: Runtime
) -> None:
    """A simulated mass event surges as a drill on the console: its message must not tell a real resident of the same
    kecamatan that officers are coming, and a real surge's message goes to real residents only."""
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    made = await api.post(admin, "/exercise/residents", {"count": 2})
    assert made.status_code == 201, made.text
    drill_people = [Person(token=r["access_token"], name=r["name"], id=str(r["resident_id"])) for r in made.json()]
    drills = [await api.press(person) for person in drill_people]
    real_person = await api.resident()
    real = await api.press(real_person)
    async with db.read_sessions() as session:
        area = await session.scalar(select(Alert.jurisdiction_id).where(Alert.id == uuid.UUID(real["id"])))

    drill_text = "Latihan: petugas menuju wilayah Anda"
    answer = await api.post(operator, "/areas/message", {"jurisdiction_id": area, "text": drill_text, "exercise": True})
    assert answer.status_code == 200, answer.text
    assert answer.json()["reached"] == 2
    for person, alert in zip(drill_people, drills, strict=True):
        assert (await api.get(person, f"/alerts/{alert['id']}")).json()["message"] == drill_text
    assert (await api.get(real_person, f"/alerts/{real['id']}")).json()["message"] is None

    real_text = "Petugas menuju wilayah Anda; tetap di tempat aman"
    answer = await api.post(operator, "/areas/message", {"jurisdiction_id": area, "text": real_text})
    assert answer.status_code == 200, answer.text
    assert answer.json()["reached"] == 1
    assert (await api.get(real_person, f"/alerts/{real['id']}")).json()["message"] == real_text
    assert (await api.get(drill_people[0], f"/alerts/{drills[0]['id']}")).json()["message"] == drill_text
    audited = [r.detail for r in await _audit_rows(db, "area.message")]
    assert audited == [{"text": drill_text, "reached": 2, "exercise": True}, {"text": real_text, "reached": 1}]
