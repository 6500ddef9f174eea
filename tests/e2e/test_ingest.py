"""SOS ingest with group commit, through the API: presses arriving together are stored together, each durable
before its answer, and one bad press in a batch costs the others nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from sqlalchemy import func, select

from siaga.alerts.models import Alert, AlertEvent
from siaga.realtime.feed import FeedItem, read_events
from tests.conftest import Api, eventually, sos_body
from tests.residents import made_residents as residents


async def _stored(api: Api) -> dict[str, str]:
    async with api.runtime.sessions() as session:
        rows = (await session.execute(select(Alert.id, Alert.category))).all()
    return {str(alert_id): category for alert_id, category in rows}


async def test_a_burst_of_presses_is_stored_whole_each_with_its_own_answer(api: Api) -> None:
    people = await residents(api, 40)
    bodies = [sos_body(lat=-6.89 - n * 0.001, lon=107.61) for n in range(40)]
    answers = await asyncio.gather(
        *(api.http.post("/api/v1/alerts", json=body, headers=people[n].headers) for n, body in enumerate(bodies))
    )
    assert [a.status_code for a in answers] == [201] * 40, [a.text for a in answers if a.status_code != 201]
    assert [a.json()["id"] for a in answers] == [b["id"] for b in bodies]
    assert set(await _stored(api)) == {b["id"] for b in bodies}
    async with api.runtime.sessions() as session:
        created = await session.scalar(select(func.count()).select_from(AlertEvent).where(AlertEvent.kind == "created"))
    assert created == 40


async def test_a_conflicting_press_in_a_burst_fails_alone(api: Api) -> None:
    resident, *people = await residents(api, 11)
    reused = sos_body()
    others = [sos_body() for _ in range(10)]
    changed: dict[str, Any] = {**reused, "category": "kebakaran"}
    answers = await asyncio.gather(
        api.http.post("/api/v1/alerts", json=reused, headers=resident.headers),
        api.http.post("/api/v1/alerts", json=changed, headers=resident.headers),
        *(
            api.http.post("/api/v1/alerts", json=body, headers=p.headers)
            for body, p in zip(others, people, strict=True)
        ),
    )
    first, second, rest = answers[0], answers[1], answers[2:]
    assert sorted([first.status_code, second.status_code]) == [201, 409], (first.text, second.text)
    assert [a.status_code for a in rest] == [201] * 10
    stored = await _stored(api)
    assert set(stored) == {reused["id"], *(b["id"] for b in others)}
    winner = reused if first.status_code == 201 else changed
    assert stored[reused["id"]] == winner["category"]


async def test_the_same_press_racing_itself_in_a_burst_is_one_alert(api: Api) -> None:
    resident, *people = await residents(api, 6)
    body = sos_body()
    others = [sos_body() for _ in range(5)]
    answers = await asyncio.gather(
        *(api.http.post("/api/v1/alerts", json=body, headers=resident.headers) for _ in range(5)),
        *(api.http.post("/api/v1/alerts", json=b, headers=p.headers) for b, p in zip(others, people, strict=True)),
    )
    same = sorted(a.status_code for a in answers[:5])
    assert same == [200, 200, 200, 200, 201]
    assert len(await _stored(api)) == 6


async def test_presses_waiting_when_the_writer_stops_are_still_stored(api: Api) -> None:
    people = await residents(api, 15)
    bodies = [sos_body() for _ in range(15)]
    sending = [
        asyncio.create_task(api.http.post("/api/v1/alerts", json=body, headers=p.headers))
        for body, p in zip(bodies, people, strict=True)
    ]
    await asyncio.sleep(0)
    await api.runtime.ingest.stop(grace_s=0.0)  # cut off at once: whatever was not committed is stored alone
    answers = await asyncio.gather(*sending)
    # 201, or 200 for a press that was committed just as the writer stopped and was then found stored.
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert set(await _stored(api)) == {b["id"] for b in bodies}
    api.runtime.ingest.start()
    # Nothing is left counted as waiting: the next stop returns at once instead of waiting out its grace.
    await asyncio.wait_for(api.runtime.ingest.stop(grace_s=60.0), timeout=30.0)
    api.runtime.ingest.start()


async def test_the_feed_hands_out_a_burst_exactly_as_the_database_reads_it(api: Api) -> None:
    """The batch writer builds its events' feed items itself; consoles must get what a read of the timeline gives."""
    people = await residents(api, 10) + await residents(api, 4, named=False)
    heard: list[FeedItem] = []
    handle = api.runtime.feed.register(heard.extend)
    try:
        after = api.runtime.feed.high_water
        bodies = [sos_body(lat=-6.89 - n * 0.002, lon=107.61) for n in range(12)]
        bodies.append(sos_body(lat=-7.9, lon=110.4))  # far outside every kecamatan: the default agency takes it
        bodies.append({k: v for k, v in sos_body().items() if k != "location"})  # no fix: flagged
        answers = await asyncio.gather(
            *(api.http.post("/api/v1/alerts", json=body, headers=people[n].headers) for n, body in enumerate(bodies))
        )
        assert [a.status_code for a in answers] == [201] * len(bodies), [a.text for a in answers]
        async with api.runtime.read_sessions() as session:
            read = await read_events(session, after=after)
    finally:
        api.runtime.feed.unregister(handle)

    def seen(item: FeedItem) -> tuple[Any, ...]:
        return (item.event, item.alert, item.resident_id, item.units, item.escalated_to, item.hidden_from_resident)

    assert {item.event.kind for item in read} == {"created", "flagged"}
    assert {str(item.alert.id) for item in read} == {b["id"] for b in bodies}
    # Each event once, in timeline order, equal field by field to what the database reads back.
    assert [item.cursor for item in heard] == [item.cursor for item in read]
    assert [seen(item) for item in heard] == [seen(item) for item in read]


async def test_an_offer_after_a_gap_is_not_trusted(api: Api) -> None:
    """Items offered with an id missing before them (another writer's event may lie there) are not handed out: the
    feed reads the timeline instead, and the events that follow still reach every listener."""
    resident = await api.resident()
    feed = api.runtime.feed
    heard: list[FeedItem] = []
    handle = feed.register(heard.extend)
    try:
        await api.press(resident)
        assert heard, "the press reached the feed"
        newest = heard[-1]
        heard.clear()
        skipped = dataclasses.replace(newest, event=newest.event.model_copy(update={"id": newest.cursor + 2}))
        asked_at = time.monotonic()
        feed.offer([skipped])

        async def read_since() -> bool:
            return feed.loop.finished_at - feed.loop.last_duration > asked_at  # a read that began after the offer

        await eventually(read_since, what="the read the offer asked for")
        assert heard == [], "the read finds nothing new"
        assert feed.high_water == newest.cursor
        second = await api.press(await api.resident())
    finally:
        feed.unregister(handle)
    assert [str(i.alert.id) for i in heard] == [second["id"]]
    assert heard[0].cursor == newest.cursor + 1


async def test_a_read_under_way_does_not_hand_out_an_offer_twice(api: Api) -> None:
    resident = await api.resident()
    feed = api.runtime.feed
    heard: list[FeedItem] = []
    handle = feed.register(heard.extend)
    try:
        before = feed.high_water
        await api.press(resident)
        pressed = list(heard)
        heard.clear()
        feed.high_water = before  # as if the feed had not seen them yet
        reading = asyncio.create_task(feed._catch_up())
        await asyncio.sleep(0)  # the read has started from ``before``
        feed.offer(pressed)  # the writer's offer lands while it is under way
        await reading
    finally:
        feed.unregister(handle)
    assert [i.cursor for i in heard] == [i.cursor for i in pressed]
    assert feed.high_water == pressed[-1].cursor
