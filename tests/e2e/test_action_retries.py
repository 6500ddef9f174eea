"""An officer's phone on a bad network sends each action again until it hears an answer: accept, en route, on scene,
note and resolve, each sent twice with the same Idempotency-Key, is applied once and answered OK both times."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.alerts.models import AlertEvent
from siaga.audit.models import AuditRecord
from tests.conftest import Api, Person
from tests.integration.test_dispatch import (
    COBLONG,
    city,
    enable_direct_offers,
    moved,
    my_offer,
    officer,
    on_duty_at,
    tracker_state,
)

__all__ = ["city"]  # the fixture, used by name


async def twice(api: Api, who: Person, path: str, body: dict[str, Any] | None = None) -> list[httpx.Response]:
    """Send one action two times under one key, as a retry after a lost answer does."""
    headers = {**who.headers, "Idempotency-Key": f"act-{uuid.uuid4()}"}
    return [await api.http.post(f"/api/v1{path}", json=body or {}, headers=headers) for _ in range(2)]


async def timeline_kinds(api: Api, alert_id: str) -> Counter[str]:
    async with api.runtime.read_sessions() as session:
        kinds = await session.scalars(select(AlertEvent.kind).where(AlertEvent.alert_id == uuid.UUID(alert_id)))
        return Counter(kinds)


async def audited(api: Api, action: str) -> int:
    async with api.runtime.read_sessions() as session:
        return len((await session.scalars(select(AuditRecord.id).where(AuditRecord.action == action))).all())


async def test_each_officer_action_sent_twice_with_one_key_is_applied_once(city: Api) -> None:
    api = city
    await enable_direct_offers(api)
    asep = await officer(api, "COBLONG-RETRY-1")
    await on_duty_at(api, asep, moved(COBLONG, north_m=300))
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    await tracker_state(api, asep, "offered")
    offer = await my_offer(api, asep, alert["id"])

    steps: list[tuple[str, dict[str, Any] | None, str]] = [
        (f"/offers/{offer['id']}/accept", None, "dispatched"),
        (f"/alerts/{alert['id']}/en-route", None, "en_route"),
        (f"/alerts/{alert['id']}/on-scene", None, "on_scene"),
        (f"/alerts/{alert['id']}/notes", {"text": "Korban aman, menunggu ambulans"}, "on_scene"),
        (f"/alerts/{alert['id']}/resolve", {"outcome": "genuine", "report": "Selesai"}, "resolved"),
    ]
    for path, body, state in steps:
        first, again = await twice(api, asep, path, body)
        assert first.status_code == 200, first.text
        assert again.status_code == 200, again.text
        assert first.json()["state"] == again.json()["state"] == state
        assert again.json()["version"] == first.json()["version"]  # nothing changed the second time

    kinds = await timeline_kinds(api, alert["id"])
    for kind in ("dispatched", "en_route", "on_scene", "note", "resolved"):
        assert kinds[kind] == 1, kinds
    assert await audited(api, "alert.resolved") == 1
    assert await audited(api, "offer.accept") == 1


async def test_a_new_key_is_a_new_action_and_a_key_is_only_its_actors(city: Api) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    other = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    key = f"note-{uuid.uuid4()}"
    path = f"/api/v1/alerts/{alert['id']}/notes"
    for who in (operator, operator, other):
        answer = await api.http.post(
            path, json={"text": "Menghubungi pelapor"}, headers={**who.headers, "Idempotency-Key": key}
        )
        assert answer.status_code == 200, answer.text
    # Without a key, every note is a note of its own.
    for _ in range(2):
        assert (await api.post(operator, f"/alerts/{alert['id']}/notes", {"text": "Lagi"})).status_code == 200
    assert (await timeline_kinds(api, alert["id"]))["note"] == 4

    refused = await api.http.post(
        path, json={"text": "x"}, headers={**operator.headers, "Idempotency-Key": "bad key with spaces"}
    )
    assert refused.status_code == 422


async def test_two_copies_of_one_action_racing_are_applied_once(city: Api) -> None:
    api = city
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    headers = {**operator.headers, "Idempotency-Key": f"race-{uuid.uuid4()}"}
    path = f"/api/v1/alerts/{alert['id']}/notes"
    answers = await asyncio.gather(
        *(api.http.post(path, json={"text": "Pelapor dihubungi"}, headers=headers) for _ in range(4))
    )
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert (await timeline_kinds(api, alert["id"]))["note"] == 1
