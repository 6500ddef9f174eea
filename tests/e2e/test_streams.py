"""Real-time streams over real WebSockets against a running server: what each viewer sees, in order, resumable."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import websockets
from pydantic import TypeAdapter
from sqlalchemy import func, select, update

from siaga.accounts.domain import SYSTEM, Role
from siaga.alerts.domain import AlertSnapshot, DomainEvent, EventKind
from siaga.alerts.models import Alert, AlertEvent
from siaga.alerts.timeline import append_event, lock_event_log
from siaga.db import utcnow
from siaga.realtime.schemas import StreamMessage, unbatch
from siaga.responders.models import PositionRecord
from siaga.runtime import Runtime
from tests.conftest import Api, Person, app_for, eventually, sos_body
from tests.servers import in_process

MESSAGE = TypeAdapter(StreamMessage)
DEADLINE = 15.0  # generous: these wait for something to happen, they never judge how fast
COBLONG = (-6.8915, 107.6107)


@dataclass
class Live:
    api: Api
    ws: str


@pytest.fixture
async def live(db: Runtime) -> AsyncIterator[Live]:
    """Siaga served by uvicorn on a real port, on the test database."""
    async with in_process(app_for(db)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield Live(api=Api(http=http, runtime=db), ws=url.replace("http://", "ws://") + "/api/v1/stream")


class Client:
    """A stream client that checks every message against its schema."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self.seen: list[dict[str, Any]] = []
        self.frames: list[str] = []  # each frame's type (a batch is one frame)
        self.waiting: list[dict[str, Any]] = []  # the rest of a batch not yet taken

    async def next(self, *, skip_heartbeats: bool = True) -> dict[str, Any]:
        while True:
            if not self.waiting:
                raw = await asyncio.wait_for(self.connection.recv(), timeout=DEADLINE)
                frame: dict[str, Any] = json.loads(raw)
                MESSAGE.validate_python(frame)  # every message a client gets has a schema
                self.frames.append(frame["type"])
                self.waiting = unbatch(frame)
            message = self.waiting.pop(0)
            self.seen.append(message)
            if skip_heartbeats and message["type"] == "heartbeat":
                continue
            return message

    async def until(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            message = await self.next()
            if wanted(message):
                return message

    async def event(self, kind: str, alert_id: str | None = None) -> dict[str, Any]:
        return await self.until(
            lambda m: (
                m["type"] == "alert_event"
                and m["event"]["kind"] == kind
                and (alert_id is None or m["alert"]["id"] == alert_id)
            )
        )


async def _drain(client: Client, *, seconds: float) -> list[dict[str, Any]]:
    """Everything the client receives in the next ``seconds`` (a quiet stream gives an empty list)."""
    got: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        try:
            got.append(await asyncio.wait_for(client.next(), timeout=left))
        except TimeoutError:
            break
    return got


@asynccontextmanager
async def stream(live: Live, name: str, who: Person, **query: Any) -> AsyncIterator[Client]:
    params = "&".join(f"{k}={v}" for k, v in {"token": who.token, **query}.items())
    async with websockets.connect(f"{live.ws}/{name}?{params}", open_timeout=DEADLINE) as connection:
        client = Client(connection)
        hello = await client.next()
        assert hello["type"] == "hello"
        snapshot = await client.next()
        assert snapshot["type"] == "snapshot"
        client.seen = [hello, snapshot]
        yield client


async def on_duty_near(live: Live, officer: Person, lat: float, lon: float) -> None:
    """The officer goes on patrol and shares a position; wait until the process's tracker has it."""
    api = live.api
    assert (
        await api.http.put("/api/v1/officers/me/duty", json={"mode": "patrol"}, headers=officer.headers)
    ).status_code == 200
    sent = await api.post(officer, "/officers/me/location", {"lat": lat, "lon": lon, "accuracy_m": 10})
    assert sent.status_code == 202, sent.text
    for _ in range(int(DEADLINE / 0.05)):
        point = api.runtime.units.tracker.get(officer.unit_id or 0)
        if point is not None and point.lat is not None and point.state == "available":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the officer's position never reached the tracker")


async def direct_offers(api: Api, agency: str = "POLSEK-COBLONG", size: int = 3) -> None:
    admin = await api.staff(Role.ADMIN)
    answer = await api.http.put(
        f"/api/v1/agencies/{agency}/dispatch-settings",
        json={"direct_offers": True, "offer_size": size, "offer_timeout_seconds": 60, "offer_radius_m": 3000},
        headers=admin.headers,
    )
    assert answer.status_code == 200, answer.text


async def test_a_press_reaches_console_officer_and_resident_live_and_in_order(live: Live) -> None:
    api = live.api
    await direct_offers(api)
    operator = await api.staff(Role.OPERATOR)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-7", name="Bripka Asep")
    resident = await api.resident(name="Siti")
    await on_duty_near(live, officer, COBLONG[0] + 0.004, COBLONG[1])

    async with (
        stream(live, "console", operator) as console,
        stream(live, "officer", officer) as phone,
        stream(live, "resident", resident) as mine,
    ):
        alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
        created = await console.event("created", alert["id"])
        assert created["alert"]["state"] == "new"
        assert (await mine.until(lambda m: m["type"] == "alert_status"))["state"] == "new"

        offered = await phone.event("offered", alert["id"])
        assert officer.unit_id in offered["event"]["data"]["unit_ids"]
        offers = (await api.get(officer, "/offers")).json()
        # The event names each unit's offer, so a phone can answer straight from the stream.
        data = offered["event"]["data"]
        assert dict(zip(data["unit_ids"], data["offer_ids"], strict=True))[officer.unit_id] == offers[0]["id"]
        accepted = await api.post(officer, f"/offers/{offers[0]['id']}/accept")
        assert accepted.status_code == 200, accepted.text

        for client in (console, phone):
            dispatched = await client.event("dispatched", alert["id"])
            assert dispatched["alert"]["unit_id"] == officer.unit_id
        status = await mine.until(lambda m: m["type"] == "alert_status" and m["state"] == "dispatched")
        assert status["officer_names"] == ["Bripka Asep"]
        assert status["unit_callsign"] == "COBLONG-7"
        assert status["eta_s"] is not None
        assert status["eta_s"] > 0

        for step in ("en-route", "on-scene"):
            assert (await api.post(officer, f"/alerts/{alert['id']}/{step}")).status_code == 200
        resolved = await api.post(
            officer, f"/alerts/{alert['id']}/resolve", {"outcome": "genuine", "report": "Korban aman"}
        )
        assert resolved.status_code == 200
        await console.event("resolved", alert["id"])
        await mine.until(lambda m: m["type"] == "alert_status" and m["state"] == "resolved")

    kinds = [m["event"]["kind"] for m in console.seen if m["type"] == "alert_event" and m["alert"]["id"] == alert["id"]]
    assert kinds[0] == "created"
    for earlier, later in [
        ("created", "offered"),
        ("offered", "dispatched"),
        ("dispatched", "en_route"),
        ("en_route", "on_scene"),
        ("on_scene", "resolved"),
    ]:
        assert kinds.index(earlier) < kinds.index(later), kinds
    cursors = [m["cursor"] for m in console.seen if m["type"] == "alert_event"]
    assert cursors == sorted(cursors)
    assert len(cursors) == len(set(cursors))
    resident_states = [m["state"] for m in mine.seen if m["type"] == "alert_status"]
    assert resident_states[0] == "new"
    assert resident_states[-1] == "resolved"


async def test_a_console_that_reconnects_with_its_cursor_gets_what_it_missed_once(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR)
    resident = await api.resident()
    first = await api.press(resident)
    async with stream(live, "console", operator) as console:
        assert (await api.post(operator, f"/alerts/{first['id']}/acknowledge")).status_code == 200
        seen = await console.event("acknowledged", first["id"])
    cursor = seen["cursor"]
    # While the console is away: a note, a new press, and its acknowledgement.
    await api.post(operator, f"/alerts/{first['id']}/notes", {"text": "menelepon balik"})
    second = await api.press(await api.resident())  # another resident: this one's press would join their alert
    await api.post(operator, f"/alerts/{second['id']}/acknowledge")
    async with stream(live, "console", operator, cursor=cursor) as console:
        missed = [await console.next() for _ in range(3)]
        assert [(m["event"]["kind"], m["alert"]["id"]) for m in missed] == [
            ("note", first["id"]),
            ("created", second["id"]),
            ("acknowledged", second["id"]),
        ]
        assert console.frames[2:] == ["batch"], "what was missed comes in one frame"
        assert all(m["cursor"] > cursor for m in missed)
        await api.post(operator, f"/alerts/{second['id']}/notes", {"text": "live again"})
        live_note = await console.event("note", second["id"])
        assert live_note["cursor"] > missed[-1]["cursor"]
    cursors = [m["cursor"] for m in console.seen if m["type"] == "alert_event"]
    assert len(cursors) == len(set(cursors)) == 4


async def test_events_written_together_reach_a_console_in_one_frame_in_order(live: Live) -> None:
    """A press without a position is written with its flag: the console gets both in one batch frame, in timeline
    order, each exactly as if it had come alone."""
    api = live.api
    operator = await api.staff(Role.OPERATOR)
    resident = await api.resident()
    async with stream(live, "console", operator) as console:
        body = sos_body(location=None)
        answer = await api.http.post("/api/v1/alerts", json=body, headers=resident.headers)
        assert answer.status_code == 201, answer.text
        created = await console.event("created", body["id"])
        flagged = await console.next()
        assert (flagged["type"], flagged["event"]["kind"], flagged["alert"]["id"]) == (
            "alert_event",
            "flagged",
            body["id"],
        )
        assert flagged["event"]["data"]["reason"] == "no_location"
        assert flagged["cursor"] > created["cursor"]
        assert console.frames[-1] == "batch"


async def test_each_console_sees_only_its_agencys_alerts_until_one_is_escalated_to_it(live: Live) -> None:
    api = live.api
    resident = await api.resident()
    alert = await api.press(resident)  # in Coblong
    # The acknowledgement timer runs out: Siaga escalates to the parent and the neighbouring Polsek.
    async with api.runtime.unit_of_work() as session:
        await session.execute(
            update(Alert).where(Alert.id == uuid.UUID(alert["id"])).values(ack_due_at=utcnow() - timedelta(seconds=1))
        )
    await api.runtime.timers.sweep()  # or the server's own sweep, if it came first
    admin = await api.staff(Role.ADMIN)

    async def escalations() -> list[dict[str, Any]]:
        timeline = (await api.get(admin, f"/alerts/{alert['id']}/timeline")).json()
        return [e for e in timeline if e["kind"] == "escalated"]

    escalated = await eventually(escalations, what="the escalation")
    assert len(escalated) == 1
    assert escalated[0]["data"]["reason"] == "not_acknowledged"
    neighbours = [c for c in escalated[0]["data"]["agencies"] if c.startswith("POLSEK-")]
    assert neighbours, escalated
    outsider_agency = "POLSEK-GEDEBAGE"  # across the city from Coblong: never a neighbour
    assert outsider_agency not in neighbours
    neighbour = await api.staff(Role.OPERATOR, neighbours[0])
    outsider = await api.staff(Role.OPERATOR, outsider_agency)
    async with stream(live, "console", neighbour) as near, stream(live, "console", outsider) as far:
        assert [a["id"] for a in near.seen[1]["alerts"]] == [alert["id"]]
        assert far.seen[1]["alerts"] == []
        other = await api.press(await api.resident(), lat=-6.9575, lon=107.6985)  # far east of the city: not theirs
        operator = await api.staff(Role.OPERATOR)
        await api.post(operator, f"/alerts/{alert['id']}/notes", {"text": "untuk tetangga"})
        note = await near.event("note", alert["id"])
        assert note["alert"]["escalated"] is True
        far_kinds = await _drain(far, seconds=1.0)
        assert alert["id"] not in [(m.get("alert") or {}).get("id") for m in far_kinds]
        assert other["id"] not in [m["alert"]["id"] for m in near.seen if m["type"] == "alert_event"]


async def test_many_officers_accepting_one_offer_at_once_exactly_one_gets_it(live: Live) -> None:
    api = live.api
    await direct_offers(api, size=5)
    officers = [await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign=f"RACE-{i}") for i in range(5)]
    for i, officer in enumerate(officers):
        await on_duty_near(live, officer, COBLONG[0] + 0.001 * (i + 1), COBLONG[1])
    resident = await api.resident()
    alert = await api.press(resident)
    offers: dict[str, int] = {}
    for _ in range(int(DEADLINE / 0.1)):
        for officer in officers:
            for offer in (await api.get(officer, "/offers")).json():
                offers[officer.id] = offer["id"]
        if len(offers) == len(officers):
            break
        await asyncio.sleep(0.1)
    assert len(offers) == len(officers), "every nearby officer should have been offered the alert"
    answers = await asyncio.gather(*(api.post(o, f"/offers/{offers[o.id]}/accept") for o in officers))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1, [a.text for a in answers]
    assert statuses.count(409) == 4, [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} <= {"offer.taken", "alert.taken"}
    winner = officers[statuses.index(200)]
    admin = await api.staff(Role.ADMIN)
    view = (await api.get(admin, f"/alerts/{alert['id']}")).json()
    assert view["unit_id"] == winner.unit_id
    board = {u["unit_id"]: u["state"] for u in (await api.get(admin, "/units/board")).json()}
    assert board[winner.unit_id] == "assigned"
    assert all(board[o.unit_id] == "available" for o in officers if o is not winner)


async def test_sweeps_racing_each_escalate_an_alert_exactly_once(live: Live) -> None:
    api = live.api
    alerts = [await api.press(await api.resident()) for _ in range(3)]
    async with api.runtime.unit_of_work() as session:
        await session.execute(update(Alert).values(ack_due_at=utcnow() - timedelta(seconds=1)))
    await asyncio.gather(*(api.runtime.timers.sweep() for _ in range(6)))
    async with api.runtime.unit_of_work() as session:
        count = await session.scalar(select(func.count()).select_from(AlertEvent).where(AlertEvent.kind == "escalated"))
    assert count == len(alerts)


async def test_a_slow_console_is_dropped_without_delaying_others_and_resumes_from_its_cursor(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR)
    resident = await api.resident()
    alert = await api.press(resident)
    settings = api.runtime.settings
    async with stream(live, "console", operator) as fast:
        original = settings.stream_queue_size
        settings.stream_queue_size = 10
        try:
            async with stream(live, "console", operator) as slow:
                start = slow.seen[0]["cursor"]
                # Thirty notes in one transaction reach the feed as one burst: more than the slow queue holds.
                async with api.runtime.unit_of_work() as session:
                    row = await session.get(Alert, uuid.UUID(alert["id"]))
                    assert row is not None
                    await lock_event_log(session)
                    for i in range(30):
                        append_event(
                            session, row, DomainEvent(EventKind.NOTE, {"text": f"n{i}"}), SYSTEM, AlertSnapshot()
                        )
                got = await slow.until(lambda m: m["type"] == "error")
                assert got["code"] == "stream.too_slow"
        finally:
            settings.stream_queue_size = original
        notes = [await fast.event("note", alert["id"]) for _ in range(30)]
        assert [n["event"]["data"]["text"] for n in notes] == [f"n{i}" for i in range(30)]
    async with stream(live, "console", operator, cursor=start) as again:
        resumed = [await again.event("note", alert["id"]) for _ in range(30)]
        assert [n["event"]["data"]["text"] for n in resumed] == [f"n{i}" for i in range(30)]


async def test_after_a_duress_pin_the_residents_stream_says_cancelled_and_staff_see_duress(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR)
    resident = await api.resident()
    alert = await api.press(resident)
    async with stream(live, "console", operator) as console, stream(live, "resident", resident) as mine:
        assert (await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "9999"})).status_code == 200
        duress = await console.event("duress", alert["id"])
        assert duress["alert"]["duress"] is True
        assert duress["alert"]["priority"] == "critical"
        status = await mine.until(lambda m: m["type"] == "alert_status")
        assert status["state"] == "cancelled"
        await api.post(operator, f"/alerts/{alert['id']}/acknowledge")
        await console.event("acknowledged", alert["id"])
        later = await _drain(mine, seconds=1.5)
        assert [m for m in later if m["type"] == "alert_status"] == []


async def test_streams_refuse_the_wrong_people_and_beat_when_idle(live: Live) -> None:
    api = live.api
    resident = await api.resident()
    operator = await api.staff(Role.OPERATOR)
    for path, close_code in (
        (f"{live.ws}/console", 4401),
        (f"{live.ws}/console?token={resident.token}", 4403),
        (f"{live.ws}/officer?token={operator.token}", 4403),
    ):
        # The documented close code reaches the client (an HTTP 403 at the handshake would hide it).
        with pytest.raises(websockets.exceptions.ConnectionClosed) as caught:
            async with websockets.connect(path, open_timeout=DEADLINE) as connection:
                await asyncio.wait_for(connection.recv(), timeout=DEADLINE)
        assert caught.value.rcvd is not None
        assert caught.value.rcvd.code == close_code
    settings = api.runtime.settings
    original = settings.stream_heartbeat_seconds
    settings.stream_heartbeat_seconds = 0.2
    try:
        async with stream(live, "console", operator) as console:
            beat = await console.next(skip_heartbeats=False)
            assert beat["type"] == "heartbeat"
    finally:
        settings.stream_heartbeat_seconds = original


async def test_every_stream_message_type_is_exercised(live: Live) -> None:
    """Each message type in the schema union appears in a real stream (the other tests check their content)."""
    api = live.api
    await direct_offers(api)
    operator = await api.staff(Role.OPERATOR)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-8")
    resident = await api.resident()
    settings = api.runtime.settings
    original = settings.stream_heartbeat_seconds
    settings.stream_heartbeat_seconds = 0.3
    try:
        async with stream(live, "console", operator) as console, stream(live, "resident", resident) as mine:
            await on_duty_near(live, officer, COBLONG[0] + 0.002, COBLONG[1])
            await console.until(lambda m: m["type"] == "unit")
            alert = await api.press(resident)
            await console.event("created", alert["id"])
            await mine.until(lambda m: m["type"] == "alert_status")
            moved = await api.post(
                resident, f"/alerts/{alert['id']}/locations", {"points": [{"lat": -6.8921, "lon": 107.6111}]}
            )
            assert moved.status_code == 200
            position = await console.until(lambda m: m["type"] == "alert_location")
            assert (position["alert_id"], position["lat"], position["lon"]) == (alert["id"], -6.8921, 107.6111)
            await console.next(skip_heartbeats=False)
            while True:  # the next heartbeat, however long the machine takes to send it
                message = await console.next(skip_heartbeats=False)
                if message["type"] == "heartbeat":
                    break
    finally:
        settings.stream_heartbeat_seconds = original
    async with stream(live, "officer", officer) as phone:
        await phone.connection.send(
            json.dumps({"type": "positions", "seq": 1, "points": [{"lat": -6.89, "lon": 107.61}]})
        )
        await phone.until(lambda m: m["type"] == "positions_ack")
    types = {m["type"] for m in console.seen + mine.seen + phone.seen}
    assert {"hello", "snapshot", "alert_event", "unit", "heartbeat", "alert_status", "alert_location"} <= types
    assert "positions_ack" in types


async def test_an_officer_sends_positions_over_the_stream_and_the_console_sees_the_unit_move(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-6", name="Bripda Wulan")

    async with stream(live, "officer", officer) as phone, stream(live, "console", operator) as console:
        # Off duty, positions are refused (the phone keeps them and says so), never silently dropped.
        await phone.connection.send(
            json.dumps({"type": "positions", "seq": 1, "points": [{"lat": -6.9, "lon": 107.6}]})
        )
        refused = await phone.until(lambda m: m["type"] == "positions_ack")
        assert (refused["seq"], refused["accepted"], refused["refused"]) == (1, 0, "officer.off_duty")
        # Nonsense is answered with what is wrong.
        await phone.connection.send(json.dumps({"type": "positions", "seq": 2, "points": [{"lat": 95, "lon": 0}]}))
        invalid = await phone.until(lambda m: m["type"] == "positions_ack")
        assert (invalid["accepted"], invalid["refused"]) == (0, "positions.invalid")
        assert "lat" in invalid["message"]

        on = await api.http.put("/api/v1/officers/me/duty", json={"mode": "patrol"}, headers=officer.headers)
        assert on.status_code == 200, on.text
        points = [
            {"lat": -6.8950, "lon": 107.6100, "accuracy_m": 8, "recorded_at": "2026-11-23T10:00:00+07:00"},
            {"lat": -6.8940, "lon": 107.6110, "accuracy_m": 8, "recorded_at": "2026-11-23T10:00:05+07:00"},
        ]
        await phone.connection.send(json.dumps({"type": "positions", "seq": 3, "points": points}))
        taken = await phone.until(lambda m: m["type"] == "positions_ack")
        assert (taken["seq"], taken["accepted"], taken["refused"]) == (3, 2, None)
        moved = await console.until(
            lambda m: m["type"] == "unit" and m["unit_id"] == officer.unit_id and m["lat"] is not None
        )
        assert (round(moved["lat"], 4), round(moved["lon"], 4)) == (-6.894, 107.611)

    async def written() -> int:
        async with api.runtime.read_sessions() as session:
            query = select(func.count()).select_from(PositionRecord).where(PositionRecord.unit_id == officer.unit_id)
            return int(await session.scalar(query) or 0)

    for _ in range(int(DEADLINE / 0.1)):
        if await written() == 2:
            break
        await asyncio.sleep(0.1)
    assert await written() == 2
