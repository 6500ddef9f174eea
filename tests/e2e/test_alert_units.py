"""Several units on one alert, from several agencies: Damkar dispatches a fire engine to a kebakaran, the informed
police add a patrol car as backup, the fire engine's crew on scene asks for an ambulance, and PSC 119 (which covers
the place) sees the request and adds its ambulance. Each unit has its own offer, state and timeline events; the
unit board shows each busy; closing the alert releases every unit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from siaga.accounts.domain import Role
from siaga.agencies.models import Agency
from siaga.alerts.models import Alert, AlertOffer
from siaga.db import utcnow
from siaga.responders.models import Unit
from tests.conftest import Api, Person, eventually
from tests.e2e.test_streams import COBLONG, Live, live

__all__ = ["live"]


async def crew(api: Api, agency: str, callsign: str, kind: str) -> Person:
    """An officer of a unit of ``kind`` (a fire engine, an ambulance), on duty near ITB."""
    officer = await api.staff(Role.OFFICER, agency, unit_callsign=callsign, name=f"Petugas {callsign}")
    async with api.runtime.unit_of_work() as session:
        await session.execute(update(Unit).where(Unit.id == officer.unit_id).values(kind=kind))
    await api.runtime.units.reload()
    await api.on_duty(officer)
    sent = await api.post(officer, "/officers/me/location", {"lat": COBLONG[0], "lon": COBLONG[1], "accuracy_m": 9})
    assert sent.status_code == 202, sent.text
    return officer


async def view(api: Api, who: Person, alert_id: str) -> dict[str, Any]:
    answer = await api.get(who, f"/alerts/{alert_id}")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def units_of(alert: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Callsign -> (role, state) of every unit on the alert."""
    return {u["callsign"]: (u["role"], u["state"]) for u in alert["units"]}


async def board(api: Api, who: Person) -> dict[int, str]:
    answer = await api.get(who, "/units/board")
    assert answer.status_code == 200, answer.text
    return {u["unit_id"]: u["state"] for u in answer.json()}


async def offer_of(api: Api, officer: Person, alert_id: str) -> int:
    async def found() -> int | None:
        offers = (await api.get(officer, "/offers")).json()
        return next((o["id"] for o in offers if o["alert_id"] == alert_id), None)

    return await eventually(found, what=f"{officer.name}'s offer")


async def timeline_kinds(api: Api, who: Person, alert_id: str) -> list[tuple[str, Any]]:
    events = (await api.get(who, f"/alerts/{alert_id}/timeline")).json()
    return [(e["kind"], e["data"].get("unit_name")) for e in events]


async def test_a_kebakaran_gets_a_fire_engine_a_police_backup_and_an_ambulance_the_crew_asked_for(api: Api) -> None:
    damkar = await api.staff(Role.OPERATOR, "DAMKAR-SEKTOR-UTARA")
    police = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    medics = await api.staff(Role.OPERATOR, "PSC119-BDG")
    engine = await crew(api, "DAMKAR-SEKTOR-UTARA", "DAMKAR-UJI-1", "fire_engine")
    patrol = await crew(api, "POLSEK-COBLONG", "COBLONG-UJI-1", "patrol_car")
    ambulance = await crew(api, "PSC119-BDG", "PSC-UJI-1", "ambulance")
    resident = await api.resident(name="Siti")
    pressed = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1], category="kebakaran")
    alert_id = pressed["id"]

    # Damkar dispatches its fire engine: the lead, and the alert's own unit.
    sent = await api.post(damkar, f"/alerts/{alert_id}/dispatch", {"unit_id": engine.unit_id})
    assert sent.status_code == 200, sent.text
    assert units_of(sent.json()) == {"DAMKAR-UJI-1": ("lead", "assigned")}

    # The police may not send the lead (Damkar's), but add their own unit beside it; not Damkar's or PSC 119's.
    refused = await api.post(police, f"/alerts/{alert_id}/units", {"unit_ids": [ambulance.unit_id]})
    assert refused.status_code == 422, refused.text
    added = await api.post(police, f"/alerts/{alert_id}/units", {"unit_ids": [patrol.unit_id]})
    assert added.status_code == 200, added.text
    assert units_of(added.json())["COBLONG-UJI-1"] == ("backup", "offered")
    assert (await board(api, police))[patrol.unit_id or 0] == "offered"
    # Added twice, or a unit already the lead: 409.
    again = await api.post(police, f"/alerts/{alert_id}/units", {"unit_ids": [patrol.unit_id]})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "alert.unit_already_added")
    lead_again = await api.post(damkar, f"/alerts/{alert_id}/units", {"unit_ids": [engine.unit_id]})
    assert (lead_again.status_code, lead_again.json()["error"]["code"]) == (409, "alert.unit_already_added")

    # The patrol car's officer accepts its own offer: the backup is assigned, the alert still the fire engine's.
    accepted = await api.post(patrol, f"/offers/{await offer_of(api, patrol, alert_id)}/accept")
    assert accepted.status_code == 200, accepted.text
    now = await view(api, damkar, alert_id)
    assert (now["unit_callsign"], now["state"]) == ("DAMKAR-UJI-1", "dispatched")
    assert units_of(now)["COBLONG-UJI-1"] == ("backup", "assigned")
    assert (await board(api, police))[patrol.unit_id or 0] == "assigned"
    # The backup's officer sees the alert and moves through en route and on scene; the lead is on scene too.
    assert (await api.get(patrol, f"/alerts/{alert_id}")).status_code == 200
    for state in ("en_route", "on_scene"):
        moved = await api.post(patrol, f"/alerts/{alert_id}/units/{patrol.unit_id}/state", {"state": state})
        assert moved.status_code == 200, moved.text
    assert (await board(api, police))[patrol.unit_id or 0] == "on_scene"
    assert (await api.post(engine, f"/alerts/{alert_id}/on-scene")).status_code == 200

    # The resident sees the fire engine's crew and one more unit.
    mine = (await api.get(resident, f"/alerts/{alert_id}")).json()
    assert (mine["unit_callsign"], mine["other_units"]) == ("DAMKAR-UJI-1", 1)

    # PSC 119 does not see a kebakaran, until the crew on scene asks for an ambulance.
    assert (await api.get(medics, f"/alerts/{alert_id}")).status_code == 404
    asked = await api.post(engine, f"/alerts/{alert_id}/unit-requests", {"kind": "ambulance"})
    assert asked.status_code == 200, asked.text
    flagged = await view(api, medics, alert_id)
    [request] = flagged["unit_requests"]
    assert (request["kind"], request["unit_kind"], request["by_unit"]) == ("ambulance", "ambulance", "DAMKAR-UJI-1")
    assert {"PSC119-BDG", "DAMKAR-SEKTOR-UTARA"} <= set(request["agencies"])
    # Recommendations for the request: PSC 119's ambulance.
    found = (await api.get(medics, f"/alerts/{alert_id}/recommendations", unit_type="ambulance")).json()
    assert [r["callsign"] for r in found] == ["PSC-UJI-1"]
    sent_ambulance = await api.post(medics, f"/alerts/{alert_id}/units", {"unit_ids": [ambulance.unit_id]})
    assert sent_ambulance.status_code == 200, sent_ambulance.text
    assert sent_ambulance.json()["unit_requests"] == []  # answered: no longer flagged
    taken = await api.post(ambulance, f"/offers/{await offer_of(api, ambulance, alert_id)}/accept")
    assert taken.status_code == 200, taken.text

    # A backup cannot resolve the alert: the lead (or an operator) does, and every unit is released.
    refused = await api.post(patrol, f"/alerts/{alert_id}/resolve", {"outcome": "genuine"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "alert.not_assigned_to_you")
    closed = await api.post(engine, f"/alerts/{alert_id}/resolve", {"outcome": "genuine", "report": "padam"})
    assert closed.status_code == 200, closed.text
    assert {state for _, state in units_of(closed.json()).values()} == {"released"}
    for who, unit in ((police, patrol), (medics, ambulance), (damkar, engine)):
        assert (await board(api, who))[unit.unit_id or 0] == "available"
    kinds = await timeline_kinds(api, damkar, alert_id)
    for step in (
        ("unit_added", "COBLONG-UJI-1"),
        ("unit_accepted", "COBLONG-UJI-1"),
        ("unit_en_route", "COBLONG-UJI-1"),
        ("unit_on_scene", "COBLONG-UJI-1"),
        ("units_requested", "DAMKAR-UJI-1"),
        ("unit_added", "PSC-UJI-1"),
        ("unit_accepted", "PSC-UJI-1"),
        ("unit_released", "COBLONG-UJI-1"),
        ("unit_released", "PSC-UJI-1"),
    ):
        assert step in kinds, (step, kinds)


async def test_a_busy_unit_cannot_be_added_and_a_declined_backup_leaves_the_alert(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    first = await crew(api, "POLSEK-COBLONG", "COBLONG-UJI-2", "patrol_car")
    second = await crew(api, "POLSEK-COBLONG", "COBLONG-UJI-3", "patrol_car")
    one = await api.press(await api.resident())
    two = await api.press(await api.resident())
    assert (await api.post(operator, f"/alerts/{one['id']}/dispatch", {"unit_id": first.unit_id})).status_code == 200
    busy = await api.post(operator, f"/alerts/{two['id']}/units", {"unit_ids": [first.unit_id]})
    assert (busy.status_code, busy.json()["error"]["code"]) == (409, "unit.busy")
    # Nothing half-written: the refused request left no unit on the alert.
    assert (await view(api, operator, two["id"]))["units"] == []
    added = await api.post(operator, f"/alerts/{one['id']}/units", {"unit_ids": [second.unit_id]})
    assert added.status_code == 200, added.text
    declined = await api.post(second, f"/offers/{await offer_of(api, second, one['id'])}/decline")
    assert declined.status_code == 200, declined.text
    assert units_of(await view(api, operator, one["id"]))["COBLONG-UJI-3"] == ("backup", "released")
    assert (await board(api, operator))[second.unit_id or 0] == "available"
    # Free again: it can be asked again, and this time staff withdraw the offer before anyone answers.
    again = await api.post(operator, f"/alerts/{one['id']}/units", {"unit_ids": [second.unit_id]})
    assert again.status_code == 200, again.text
    withdrawn = await api.post(operator, f"/alerts/{one['id']}/units/{second.unit_id}/state", {"state": "released"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert (await api.get(second, "/offers")).json() == []
    # The lead moves with the alert, not here.
    lead = await api.post(first, f"/alerts/{one['id']}/units/{first.unit_id}/state", {"state": "en_route"})
    assert (lead.status_code, lead.json()["error"]["code"]) == (409, "alert.unit_is_lead")


async def test_two_units_asked_for_one_backup_accepting_at_once_exactly_one_takes_it(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    lead = await crew(api, "POLSEK-COBLONG", "RACE-LEAD", "patrol_car")
    racers = [await crew(api, "POLSEK-COBLONG", f"RACE-BACKUP-{i}", "patrol_car") for i in range(4)]
    alert = await api.press(await api.resident())
    assert (await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": lead.unit_id})).status_code == 200
    added = await api.post(operator, f"/alerts/{alert['id']}/units", {"unit_ids": [r.unit_id for r in racers]})
    assert added.status_code == 200, added.text
    offers = [await offer_of(api, r, alert["id"]) for r in racers]
    answers = await asyncio.gather(*(api.post(r, f"/offers/{o}/accept") for r, o in zip(racers, offers, strict=True)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1, [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code != 200} == {"offer.taken"}
    winner = racers[statuses.index(200)]
    on_alert = units_of(await view(api, operator, alert["id"]))
    assert on_alert[f"RACE-BACKUP-{racers.index(winner)}"] == ("backup", "assigned")
    assert sorted(state for role, state in on_alert.values() if role == "backup") == [
        "assigned",
        "released",
        "released",
        "released",
    ]
    states = await board(api, operator)
    assert states[winner.unit_id or 0] == "assigned"
    assert all(states[r.unit_id or 0] == "available" for r in racers if r is not winner)


async def test_a_backup_offer_nobody_answers_runs_out_like_a_leads_and_the_operator_asks_again(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    lead = await crew(api, "POLSEK-COBLONG", "COBLONG-UJI-4", "patrol_car")
    silent = await crew(api, "POLSEK-COBLONG", "COBLONG-UJI-5", "patrol_car")
    alert = await api.press(await api.resident())
    alert_id = uuid.UUID(alert["id"])
    assert (await api.post(operator, f"/alerts/{alert_id}/dispatch", {"unit_id": lead.unit_id})).status_code == 200
    added = await api.post(operator, f"/alerts/{alert_id}/units", {"unit_ids": [silent.unit_id]})
    assert added.status_code == 200, added.text
    await offer_of(api, silent, str(alert_id))

    # The place waits the lead's offer timeout, on the alert's timer; a sweep before then changes nothing.
    async with api.runtime.unit_of_work() as session:
        row = await session.scalar(select(Alert).where(Alert.id == alert_id))
        offer = await session.scalar(select(AlertOffer).where(AlertOffer.alert_id == alert_id, AlertOffer.slot == 1))
        timeout = await session.scalar(select(Agency.offer_timeout_seconds).where(Agency.code == "POLSEK-COBLONG"))
        assert row is not None
        assert offer is not None
        assert timeout is not None
        assert offer.expires_at - offer.offered_at == timedelta(seconds=timeout)
        assert row.backup_due_at == offer.expires_at
    await api.runtime.timers.sweep()
    assert units_of(await view(api, operator, str(alert_id)))["COBLONG-UJI-5"] == ("backup", "offered")

    # Its time passes unanswered: the offer expires, the unit leaves the alert as unanswered and is free again.
    past = utcnow() - timedelta(seconds=1)
    async with api.runtime.unit_of_work() as session:
        await session.execute(update(AlertOffer).where(AlertOffer.id == offer.id).values(expires_at=past))
        await session.execute(update(Alert).where(Alert.id == alert_id).values(backup_due_at=past))
    await api.runtime.timers.sweep()  # or the server's own sweep, if it came first

    async def left() -> dict[str, Any] | None:
        now = await view(api, operator, str(alert_id))
        return now if units_of(now)["COBLONG-UJI-5"] == ("backup", "unanswered") else None

    now = await eventually(left, what="the backup's place left unanswered")
    assert (now["unit_callsign"], now["state"]) == ("COBLONG-UJI-4", "dispatched")  # the lead is untouched
    assert (await api.get(silent, "/offers")).json() == []
    assert (await board(api, operator))[silent.unit_id or 0] == "available"
    events = (await api.get(operator, f"/alerts/{alert_id}/timeline")).json()
    [expired] = [e for e in events if e["kind"] == "offer_expired"]
    assert (expired["data"]["unit_ids"], expired["data"]["slot"]) == ([silent.unit_id], 1)
    async with api.runtime.unit_of_work() as session:
        assert await session.scalar(select(Alert.backup_due_at).where(Alert.id == alert_id)) is None
    # Too late to answer; an unanswered unit is not moved; the operator asks it again, and this time it accepts.
    late = await api.post(silent, f"/offers/{offer.id}/accept")
    assert (late.status_code, late.json()["error"]["code"]) == (409, "offer.expired")
    moved = await api.post(operator, f"/alerts/{alert_id}/units/{silent.unit_id}/state", {"state": "released"})
    assert (moved.status_code, moved.json()["error"]["code"]) == (409, "alert.unit_not_on_alert")
    again = await api.post(operator, f"/alerts/{alert_id}/units", {"unit_ids": [silent.unit_id]})
    assert again.status_code == 200, again.text
    assert units_of(again.json())["COBLONG-UJI-5"] == ("backup", "offered")
    taken = await api.post(silent, f"/offers/{await offer_of(api, silent, str(alert_id))}/accept")
    assert taken.status_code == 200, taken.text
    assert units_of(await view(api, operator, str(alert_id)))["COBLONG-UJI-5"] == ("backup", "assigned")


async def test_a_backups_officer_adds_notes_while_on_the_alert_and_not_before_or_after(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    lead = await crew(api, "POLSEK-COBLONG", "COBLONG-UJI-6", "patrol_car")
    backup = await crew(api, "POLSEK-COBLONG", "COBLONG-UJI-7", "patrol_car")
    alert = await api.press(await api.resident())
    alert_id = alert["id"]
    assert (await api.post(operator, f"/alerts/{alert_id}/dispatch", {"unit_id": lead.unit_id})).status_code == 200
    assert (await api.post(operator, f"/alerts/{alert_id}/units", {"unit_ids": [backup.unit_id]})).status_code == 200
    # Only asked, not yet on it: no note.
    early = await api.post(backup, f"/alerts/{alert_id}/notes", {"text": "Sudah dekat"})
    assert (early.status_code, early.json()["error"]["code"]) == (422, "alert.not_assigned_to_you")
    assert (await api.post(backup, f"/offers/{await offer_of(api, backup, alert_id)}/accept")).status_code == 200
    # Assigned, en route, on scene: the backup's officer adds notes, as the lead's does.
    steps = ((None, "Meluncur dari pos"), ("en_route", "Lewat Jl. Dago"), ("on_scene", "Dua orang diamankan"))
    for step, text in steps:
        if step is not None:
            moved = await api.post(backup, f"/alerts/{alert_id}/units/{backup.unit_id}/state", {"state": step})
            assert moved.status_code == 200, moved.text
        noted = await api.post(backup, f"/alerts/{alert_id}/notes", {"text": text})
        assert noted.status_code == 200, noted.text
    assert (await api.post(lead, f"/alerts/{alert_id}/notes", {"text": "Unit utama tiba"})).status_code == 200
    timeline = (await api.get(operator, f"/alerts/{alert_id}/timeline")).json()
    notes = [(e["data"]["text"], e["actor_name"]) for e in timeline if e["kind"] == "note"]
    assert notes == [
        ("Meluncur dari pos", "Petugas COBLONG-UJI-7"),
        ("Lewat Jl. Dago", "Petugas COBLONG-UJI-7"),
        ("Dua orang diamankan", "Petugas COBLONG-UJI-7"),
        ("Unit utama tiba", "Petugas COBLONG-UJI-6"),
    ]
    # An officer moves only their own unit: the lead's officer cannot move the backup.
    other = await api.post(lead, f"/alerts/{alert_id}/units/{backup.unit_id}/state", {"state": "released"})
    assert (other.status_code, other.json()["error"]["code"]) == (403, "alert.unit_not_yours")
    # Released from the alert: no more notes from it.
    left = await api.post(backup, f"/alerts/{alert_id}/units/{backup.unit_id}/state", {"state": "released"})
    assert left.status_code == 200, left.text
    late = await api.post(backup, f"/alerts/{alert_id}/notes", {"text": "Catatan terlambat"})
    assert (late.status_code, late.json()["error"]["code"]) == (422, "alert.not_assigned_to_you")


async def test_a_re_routed_alert_stays_with_the_agencies_whose_units_are_on_it_or_were_asked(api: Api) -> None:
    damkar = await api.staff(Role.OPERATOR, "DAMKAR-SEKTOR-UTARA")
    police = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    medics = await api.staff(Role.OPERATOR, "PSC119-BDG")
    engine = await crew(api, "DAMKAR-SEKTOR-UTARA", "DAMKAR-UJI-3", "fire_engine")
    pressed = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kebakaran")
    alert_id = pressed["id"]
    assert (await api.post(damkar, f"/alerts/{alert_id}/dispatch", {"unit_id": engine.unit_id})).status_code == 200
    assert (await api.post(engine, f"/alerts/{alert_id}/on-scene")).status_code == 200
    asked = await api.post(engine, f"/alerts/{alert_id}/unit-requests", {"kind": "ambulance"})
    assert asked.status_code == 200, asked.text
    assert (await api.get(medics, f"/alerts/{alert_id}")).status_code == 200

    # It was a robbery, not a fire: the police are responsible now. Damkar's engine is still on it and PSC 119's
    # ambulance is still asked for, so both agencies keep the alert, as the timeline says.
    moved = await api.post(damkar, f"/alerts/{alert_id}/category", {"category": "kriminalitas"})
    assert moved.status_code == 200, moved.text
    now = await view(api, police, alert_id)
    assert now["agency_code"] == "POLSEK-COBLONG"
    for who in (damkar, medics):
        seen = await view(api, who, alert_id)
        assert [r["unit_kind"] for r in seen["unit_requests"]] == ["ambulance"]
    events = (await api.get(police, f"/alerts/{alert_id}/timeline")).json()
    [changed] = [e for e in events if e["kind"] == "category_changed"]
    assert {"DAMKAR-SEKTOR-UTARA", "PSC119-BDG"} <= set(changed["data"]["informed"])
    # PSC 119 still answers the request with its own ambulance.
    ambulance = await crew(api, "PSC119-BDG", "PSC-UJI-3", "ambulance")
    added = await api.post(medics, f"/alerts/{alert_id}/units", {"unit_ids": [ambulance.unit_id]})
    assert added.status_code == 200, added.text
