"""An officer's action that waited in the phone's outbox is dated when they tapped it (issue 12): the phone says how
long ago that was (Action-Age-Ms), and the timeline and the alert's step times take that moment, with the arrival
kept beside it. A claim from the future is refused; one from before the step it follows is held to that step."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.alerts.models import Alert, AlertEvent
from tests.conftest import Api, Person

MINUTE = 60_000


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def step(api: Api, officer: Person, alert_id: str, action: str, age_ms: int | None) -> Any:
    headers = {**officer.headers, "Idempotency-Key": f"act-{uuid.uuid4()}"}
    if age_ms is not None:
        headers["Action-Age-Ms"] = str(age_ms)
    return await api.http.post(f"/api/v1/alerts/{alert_id}/{action}", json={}, headers=headers)


async def test_a_step_sent_late_is_dated_when_the_officer_tapped_it_and_keeps_when_it_arrived(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-LATE-1", name="Bripka Asep")
    await api.on_duty(officer)
    alert = await api.press(await api.resident())
    sent = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": officer.unit_id})
    assert sent.status_code == 200, sent.text
    # The press and the dispatch were twenty minutes ago.
    async with api.runtime.unit_of_work() as session:
        back = timedelta(minutes=20)
        row = await session.get(Alert, uuid.UUID(alert["id"]))
        assert row is not None
        assert row.acknowledged_at
        assert row.dispatched_at
        row.created_at, row.acknowledged_at, row.dispatched_at = (
            row.created_at - back,
            row.acknowledged_at - back,
            row.dispatched_at - back,
        )
        for event in (await session.scalars(select(AlertEvent).where(AlertEvent.alert_id == row.id))).all():
            event.at = event.at - back

    future = await step(api, officer, alert["id"], "en-route", -5_000)
    assert future.status_code == 422, future.text
    # Tapped fifteen minutes ago, in a lift without signal; it arrives now.
    late = await step(api, officer, alert["id"], "en-route", 15 * MINUTE)
    assert late.status_code == 200, late.text
    # Arrival claimed an hour ago: before the unit was even on its way, so it is held to that step.
    early = await step(api, officer, alert["id"], "on-scene", 60 * MINUTE)
    assert early.status_code == 200, early.text

    events = (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
    by_kind = {e["kind"]: e for e in events}
    arrived = when(by_kind["en_route"]["data"]["received_at"])
    tapped = when(by_kind["en_route"]["at"])
    assert timedelta(minutes=14) < arrived - tapped < timedelta(minutes=16)
    assert when(by_kind["on_scene"]["at"]) == tapped  # not before the step it follows
    assert when(by_kind["on_scene"]["data"]["received_at"]) >= arrived
    seen = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert when(seen["en_route_at"]) == tapped
    assert when(seen["on_scene_at"]) == tapped
    assert 4 * 60 < seen["timings"]["to_arrive_s"] < 6 * 60  # pressed 20 min ago, on scene 15 min ago

    # Without the header an action is dated when it arrives, as before.
    done = await api.http.post(
        f"/api/v1/alerts/{alert['id']}/resolve",
        json={"outcome": "genuine", "report": "aman"},
        headers=officer.headers,
    )
    assert done.status_code == 200, done.text
    closed = [e for e in (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json() if e["kind"] == "resolved"]
    assert "received_at" not in closed[0]["data"]
