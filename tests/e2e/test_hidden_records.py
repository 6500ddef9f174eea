"""Refusals that tell nothing and still leave a trace (issue 14, item 7).

A resident's profile or an offer out of the caller's sight answers exactly as an id that does not exist, so ids are
no oracle; but, unlike a missing id, it is an ``outcome=denied`` audit record naming the caller. Before, these
refusals left no record. A refused WebSocket (4401, 4403) is recorded the same way (before: nothing), rate-limited
per caller like refused HTTP requests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
import websockets

from siaga.accounts.domain import Role
from siaga.alerts.models import AlertOffer
from siaga.audit.service import DENIED_RECORDS_PER_MINUTE
from siaga.db import utcnow
from tests.conftest import Api, Person
from tests.e2e.test_denied_requests import denied, refused_requests
from tests.e2e.test_streams import DEADLINE, Live, live  # noqa: F401 - the served app fixture

API = "/api/v1"


def _same_answer(hidden: Any, missing: Any) -> None:
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json(), "a hidden record answers unlike a missing id"


async def test_a_resident_out_of_an_operators_sight_answers_as_missing_and_is_recorded(api: Api) -> None:
    resident = await api.resident(name="Siti Coblong")
    await api.press(resident)  # in Coblong
    operator = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    for suffix in ("", "/moderation"):
        hidden = await api.get(operator, f"/residents/{resident.id}{suffix}")
        missing = await api.get(operator, f"/residents/{uuid.uuid4()}{suffix}")
        _same_answer(hidden, missing)

    records = await denied(api, supervisor, f"staff:{operator.id}")
    assert [(r["target_type"], r["target_id"], r["detail"]["code"]) for r in records] == [
        ("resident", resident.id, "resident.not_found")
    ] * 2, "one record for each read of the resident who exists, none for the missing ones"
    assert "Siti" not in str(records)


async def test_another_units_offer_answers_as_missing_and_is_recorded(api: Api) -> None:
    resident = await api.resident()
    alert = await api.press(resident)
    theirs = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="CBL-01")
    mine = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="CBL-02")
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    assert theirs.unit_id is not None
    async with api.runtime.unit_of_work() as session:
        offer = AlertOffer(
            alert_id=uuid.UUID(alert["id"]),
            unit_id=theirs.unit_id,
            ring=1,
            distance_m=300,
            eta_s=60,
            expires_at=utcnow() + timedelta(minutes=5),
        )
        session.add(offer)
        await session.flush()
        offer_id = offer.id
    for action in ("accept", "decline"):
        hidden = await api.post(mine, f"/offers/{offer_id}/{action}")
        missing = await api.post(mine, f"/offers/{offer_id + 1000}/{action}")
        _same_answer(hidden, missing)

    records = await denied(api, supervisor, f"staff:{mine.id}")
    assert [(r["target_type"], r["target_id"]) for r in records] == [("offer", str(offer_id))] * 2
    async with api.runtime.read_sessions() as session:
        still = await session.get(AlertOffer, offer_id)
        assert still is not None
        assert still.state == "pending", "another unit's officer changed the offer"


async def _refused(served: Live, path: str) -> int:
    with pytest.raises(websockets.exceptions.ConnectionClosed) as caught:
        async with websockets.connect(f"{served.ws}/{path}", open_timeout=DEADLINE) as connection:
            await asyncio.wait_for(connection.recv(), timeout=DEADLINE)
    assert caught.value.rcvd is not None
    return caught.value.rcvd.code


async def test_a_refused_stream_leaves_a_denied_record(live: Live) -> None:  # noqa: F811
    api = live.api
    resident = await api.resident()
    admin = await api.staff(Role.ADMIN)
    assert await _refused(live, f"console?token={resident.token}") == 4403

    async def recorded(actor_id: str) -> list[dict[str, Any]] | None:
        return await denied(api, admin, actor_id) or None

    (record,) = await _wait(lambda: recorded(resident.id))
    assert record["detail"]["method"] == "WEBSOCKET"
    assert record["detail"]["path"] == f"{API}/stream/console"
    assert record["detail"]["code"] == "stream.forbidden"
    assert resident.token not in str(record), "the record holds the session token"

    assert await _refused(live, "console?token=not-a-session") == 4401
    (stranger,) = await _wait(lambda: recorded("ip:127.0.0.1"))
    assert stranger["actor_kind"] == "anonymous"
    assert stranger["detail"]["code"] == "stream.unauthorized"


async def test_a_flood_of_refused_streams_leaves_a_bounded_number_of_records(live: Live) -> None:  # noqa: F811
    api = live.api
    resident: Person = await api.resident()
    admin = await api.staff(Role.ADMIN)
    attempts = DENIED_RECORDS_PER_MINUTE + 15
    for _ in range(attempts):
        assert await _refused(live, f"officer?token={resident.token}") == 4403

    async def all_counted() -> list[dict[str, Any]] | None:
        records = await denied(api, admin, resident.id)
        return records if refused_requests(records) == attempts else None

    records = await _wait(all_counted)
    assert len(records) == DENIED_RECORDS_PER_MINUTE + 1  # ten, and one that counts the rest


async def _wait(check: Any) -> Any:
    """The record is written after the close reaches the client: wait for it (a deadline, not a speed)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while True:
        found = await check()
        if found:
            return found
        assert loop.time() < end, "no denied record appeared"
        await asyncio.sleep(0.1)
