"""Escalation that means something (issue 12): T1 fires only when no human has taken the alert, an officer's
acceptance stops it while the console still marks the alert as not yet seen by an operator, and the top command
centre's unacknowledged alert reaches its supervisors, never an empty list. Every escalation says why, as a code.
Timers are driven through the runtime's sweep, as a clock would."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.alerts import domain, standing
from siaga.alerts import service as alerts_service
from siaga.alerts.models import Alert
from siaga.notify.models import PushSubscriptionRecord
from siaga.notify.push import RecordedPush
from siaga.realtime.feed import read_events
from siaga.runtime import Runtime
from tests.conftest import Api, Person
from tests.integration.test_dispatch import (
    COBLONG,
    NEIGHBOUR,
    browser_keys,
    city,
    enable_direct_offers,
    escalations,
    eventually,
    make_due,
    moved,
    my_offer,
    offers_reach,
    officer,
    on_duty_at,
    recording_push,
    timeline,
    unit,
)

__all__ = ["city"]  # the fixture, used by name


async def escalated_events(api: Api, viewer: Person, alert_id: str) -> list[dict[str, Any]]:
    return [e for e in await timeline(api, viewer, alert_id) if e["kind"] == "escalated"]


async def swept_escalations(api: Api, viewer: Person, alert_id: str) -> list[dict[str, Any]]:
    """Sweep the timers, as the clock would, until the alert's escalation is on its timeline: the runtime's own sweep
    may be firing it at that moment (each timer fires once, by whichever sweep locks it first)."""

    async def probe() -> list[dict[str, Any]] | None:
        await api.runtime.timers.sweep()
        return await escalated_events(api, viewer, alert_id) or None

    return await eventually(probe, "the escalation on the alert's timeline")


async def console_summary(runtime: Runtime, alert_id: str) -> dict[str, Any]:
    """The alert as the newest console message about it carries it (what every console's queue shows)."""
    async with runtime.read_sessions() as session:
        items = [i for i in await read_events(session, after=0, limit=10_000) if str(i.alert.id) == alert_id]
    assert items, "no console message about the alert"
    summary: dict[str, Any] = items[-1].alert.model_dump(mode="json")
    return summary


async def assert_someone_is_responsible(runtime: Runtime) -> None:
    """No open alert is ever left without someone responsible (standing.responsible)."""
    async with runtime.read_sessions() as session:
        rows = (await session.scalars(select(Alert))).unique().all()
        for alert in rows:
            snapshot = alerts_service.snapshot_of(alert)
            if snapshot.state in domain.ACTIVE_STATES:
                who = standing.responsible(snapshot, ack_timer_running=alert.ack_due_at is not None)
                assert who is not None, f"alert {alert.id} ({alert.state}) has nobody responsible"


async def test_an_alert_an_officer_accepted_is_not_escalated_when_t1_runs_out(city: Api) -> None:
    api = city
    await enable_direct_offers(api, size=1, radius_m=1_000, timeout_s=600)
    operator = await api.staff(Role.OPERATOR)
    asep = await officer(api, "COBLONG-81")
    await on_duty_at(api, asep, moved(COBLONG, north_m=300))
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    await offers_reach(api.runtime, alert["id"], {unit(asep): "pending"})
    offer = await my_offer(api, asep, alert["id"])
    assert (await api.post(asep, f"/offers/{offer['id']}/accept")).status_code == 200

    # An officer has it: T1 ("nobody has taken it") is over, and the console stops counting it down.
    seen = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (seen["state"], seen["acknowledged_by"], seen["unit_id"]) == ("dispatched", None, unit(asep))
    assert seen["ack_due_at"] is None
    # Even a T1 that was already due when the officer accepted does not escalate an alert an officer holds.
    await make_due(api.runtime, alert["id"], "ack_due_at")
    await api.runtime.timers.sweep()
    assert await escalated_events(api, operator, alert["id"]) == []
    assert await escalations(api.runtime, alert["id"]) == {}
    assert (await api.get(operator, f"/alerts/{alert['id']}")).json()["escalated"] is False

    # The console still marks it, quietly, as not yet seen by an operator, until one acknowledges it.
    assert (await console_summary(api.runtime, alert["id"]))["awaiting_operator"] is True
    assert (await api.post(operator, f"/alerts/{alert['id']}/acknowledge")).status_code == 200
    assert (await console_summary(api.runtime, alert["id"]))["awaiting_operator"] is False
    await assert_someone_is_responsible(api.runtime)


async def test_an_alert_nobody_took_escalates_when_t1_runs_out_and_says_why(city: Api) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    chief = await api.staff(Role.SUPERVISOR, "POLRESTABES-BDG", name="Supervisor Polres")
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    assert (await console_summary(api.runtime, alert["id"]))["awaiting_operator"] is False
    await assert_someone_is_responsible(api.runtime)

    await make_due(api.runtime, alert["id"], "ack_due_at")
    events = await swept_escalations(api, operator, alert["id"])
    assert len(events) == 1
    data = events[0]["data"]
    assert data["reason"] == domain.EscalationReason.NOT_ACKNOWLEDGED.value
    assert {NEIGHBOUR, "POLRESTABES-BDG"} <= set(data["agencies"])
    assert chief.name in data["supervisors"]
    assert (await escalations(api.runtime, alert["id"]))[NEIGHBOUR] == "not_acknowledged"
    await assert_someone_is_responsible(api.runtime)


async def subscribe(api: Api, who: Person) -> str:
    """A push subscription for ``who``'s device, as the officer app registers one."""
    endpoint = f"https://push.example/send/{uuid.uuid4().hex}"
    keys = browser_keys()
    async with api.runtime.unit_of_work() as session:
        session.add(
            PushSubscriptionRecord(staff_id=int(who.id), endpoint=endpoint, p256dh=keys["p256dh"], auth=keys["auth"])
        )
    return endpoint


async def test_the_top_command_centres_unacknowledged_alert_escalates_to_its_supervisors(city: Api) -> None:
    api = city
    async with recording_push(api.runtime) as recorder:
        supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC", name="Supervisor Rina")
        endpoint = await subscribe(api, supervisor)
        # A press without a fix goes to the top command centre, which has no parent and no neighbours.
        alert = await api.press(await api.resident(), location=None)
        seen = (await api.get(supervisor, f"/alerts/{alert['id']}")).json()
        assert seen["agency_code"] == "BDG-CC"

        await make_due(api.runtime, alert["id"], "ack_due_at")
        events = await swept_escalations(api, supervisor, alert["id"])
        assert len(events) == 1
        data = events[0]["data"]
        assert data["reason"] == "not_acknowledged"
        assert data["agencies"] == []  # nobody above, nobody beside...
        assert data["supervisors"] == ["Supervisor Rina"]  # ...so its supervisors have it
        assert (await api.get(supervisor, f"/alerts/{alert['id']}")).json()["escalated"] is True

        async def pushed() -> list[RecordedPush]:
            return [m for m in recorder.messages(endpoint=endpoint) if m.payload.get("type") == "escalation"]

        push = (await eventually(pushed, "the escalation push to the supervisor"))[0].payload
        assert push["alert_id"] == alert["id"]
        assert push["reason"] == "not_acknowledged"
        assert push["url"] == f"/console#alert={alert['id']}"
        assert "belum diterima" in push["body"]  # in the operator's language
        await assert_someone_is_responsible(api.runtime)


async def test_a_duress_pin_on_the_top_command_centres_alert_reaches_its_supervisors(city: Api) -> None:
    api = city
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC", name="Supervisor Rina")
    resident = await api.resident()
    alert = await api.press(resident, location=None)
    answer = await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "9999"})
    assert answer.status_code == 200, answer.text

    events = await escalated_events(api, supervisor, alert["id"])
    assert [(e["data"]["reason"], e["data"]["agencies"], e["data"]["supervisors"]) for e in events] == [
        ("duress", [], ["Supervisor Rina"])
    ]
    await assert_someone_is_responsible(api.runtime)


async def test_supervisors_and_operators_subscribe_from_the_console_and_the_escalation_push_reaches_them(
    city: Api,
) -> None:
    api = city
    async with recording_push(api.runtime) as recorder:
        supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC", name="Supervisor Rina")
        operator = await api.staff(Role.OPERATOR, "BDG-CC", name="Operator Dewi")
        endpoints: dict[str, str] = {}
        for who in (supervisor, operator):
            endpoints[who.name] = f"https://push.example/send/{uuid.uuid4().hex}"
            body = {"endpoint": endpoints[who.name], "keys": browser_keys()}
            answer = await api.post(who, "/staff/me/push-subscription", body)
            assert answer.status_code == 204, answer.text
        resident = await api.resident()
        refused = await api.post(
            resident, "/staff/me/push-subscription", {"endpoint": "https://push.example/x", "keys": browser_keys()}
        )
        assert refused.status_code == 403, refused.text

        alert = await api.press(resident, location=None)  # to the top command centre
        await make_due(api.runtime, alert["id"], "ack_due_at")
        assert len(await swept_escalations(api, supervisor, alert["id"])) == 1

        for name, endpoint in endpoints.items():

            async def pushed(endpoint: str = endpoint) -> list[RecordedPush]:
                return [m for m in recorder.messages(endpoint=endpoint) if m.payload.get("type") == "escalation"]

            push = (await eventually(pushed, f"the escalation push to {name}"))[0].payload
            assert (push["alert_id"], push["url"]) == (alert["id"], f"/console#alert={alert['id']}")
