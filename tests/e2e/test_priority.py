"""Operator-set priority with a reason, over HTTP and a real console stream, on SQLite and PostgreSQL: the change
is a timeline event naming who, from, to and why, audited, and every console that sees the alert hears of it live;
bad input and people who may not are refused clearly, with nothing changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.audit.models import AuditRecord
from tests.conftest import Api, Person
from tests.e2e.test_streams import COBLONG, Live, live, stream

__all__ = ["live"]  # the fixture, used by the stream test here


async def _timeline(api: Api, who: Person, alert_id: str) -> list[dict[str, Any]]:
    answer = await api.get(who, f"/alerts/{alert_id}/timeline")
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()
    return events


async def _set(api: Api, who: Person, alert_id: str, priority: str, reason: str = "Warga terdengar panik") -> Any:
    return await api.post(who, f"/alerts/{alert_id}/priority", {"priority": priority, "reason": reason})


async def test_an_operator_raises_the_priority_with_a_reason_and_the_consoles_see_it_live(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    command_centre = await api.staff(Role.SUPERVISOR, "BDG-CC")
    pressed = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    async with stream(live, "console", command_centre) as console:
        answer = await _set(api, operator, pressed["id"], "high", "  Ada suara tembakan di latar  ")
        assert answer.status_code == 200, answer.text
        assert answer.json()["priority"] == "high"
        heard = await console.event("priority_changed", pressed["id"])
        assert heard["alert"]["priority"] == "high"
        assert heard["event"]["data"] == {"from": "normal", "to": "high", "reason": "Ada suara tembakan di latar"}
        assert heard["event"]["actor_name"] == operator.name

    changed = [e for e in await _timeline(api, operator, pressed["id"]) if e["kind"] == "priority_changed"]
    assert [(e["data"]["to"], e["actor_name"], e["state_after"]) for e in changed] == [("high", operator.name, "new")]
    async with api.runtime.unit_of_work() as session:
        records = list(
            (
                await session.scalars(
                    select(AuditRecord).where(
                        AuditRecord.action == "alert.priority_change", AuditRecord.target_id == pressed["id"]
                    )
                )
            ).all()
        )
    assert [(r.actor_name, r.detail["to"], r.detail["reason"]) for r in records] == [
        (operator.name, "high", "Ada suara tembakan di latar")
    ]

    # The same priority again (a retry) changes nothing; a supervisor lowers it back, with their own reason.
    assert (await _set(api, operator, pressed["id"], "high")).status_code == 200
    lowered = await _set(api, command_centre, pressed["id"], "normal", "Ternyata petasan")
    assert lowered.status_code == 200, lowered.text
    changed = [e for e in await _timeline(api, operator, pressed["id"]) if e["kind"] == "priority_changed"]
    assert [(e["data"]["from"], e["data"]["to"]) for e in changed] == [("high", "normal"), ("normal", "high")][::-1]


async def test_bad_priorities_and_people_who_may_not_are_refused_with_nothing_changed(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    elsewhere = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG")
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])

    unknown = await _set(api, operator, alert["id"], "urgent")
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["error"]["code"] == "request.invalid"
    for empty in ("", "   "):
        answer = await _set(api, operator, alert["id"], "critical", empty)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "alert.priority_reason_required"
    assert (await _set(api, officer, alert["id"], "high")).status_code == 403
    hidden = await _set(api, elsewhere, alert["id"], "high")
    assert hidden.status_code == 404, hidden.text  # another Polsek's alert: as if it did not exist

    # A kesehatan in Coblong is PSC 119's: the Polsek sees it in its kecamatan but may not set its priority.
    medical = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kesehatan")
    seen_only = await _set(api, operator, medical["id"], "high")
    assert seen_only.status_code == 403, seen_only.text
    assert seen_only.json()["error"]["code"] == "alert.other_agency"

    # A closed alert keeps the priority it closed with.
    assert (await api.post(operator, f"/alerts/{alert['id']}/acknowledge")).status_code == 200
    assert (
        await api.post(operator, f"/alerts/{alert['id']}/resolve", {"outcome": "genuine", "report": "aman"})
    ).status_code == 200
    closed = await _set(api, operator, alert["id"], "high")
    assert closed.status_code == 409, closed.text
    assert closed.json()["error"]["code"] == "alert.closed"
    for refused in (alert, medical):
        kinds = [e["kind"] for e in await _timeline(api, await api.staff(Role.ADMIN), refused["id"])]
        assert "priority_changed" not in kinds


async def test_a_duress_alert_stays_critical(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    resident = await api.resident()
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    duress = await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "9999"})
    assert duress.status_code == 200, duress.text
    assert (await api.get(operator, f"/alerts/{alert['id']}")).json()["priority"] == "critical"
    for lower in ("high", "normal"):
        answer = await _set(api, operator, alert["id"], lower, "Mungkin tidak sengaja")
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "alert.duress_stays_critical"
    assert (await _set(api, operator, alert["id"], "critical")).status_code == 200  # already so: nothing happens
    after = await api.get(operator, f"/alerts/{alert['id']}")
    assert after.json()["priority"] == "critical"
    kinds = [e["kind"] for e in await _timeline(api, operator, alert["id"])]
    assert "priority_changed" not in kinds
