"""A disaster surge over real WebSockets: a console that opens after twenty thousand presses is told of every open
alert it may see, with the true count, and a second console converges on the same picture as the first."""

from __future__ import annotations

import asyncio
from typing import Any

from benchmarks.population import insert_open_alerts

from siaga.accounts.domain import Role
from siaga.realtime.feed import newest_event_id
from tests.conftest import Api
from tests.e2e import test_streams as streams
from tests.e2e.test_streams import Client, Live

live = streams.live  # Siaga served on a real port
SURGE = 20_000


async def whole_snapshot(client: Client) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The snapshot message and every open alert of it, its pages included."""
    first = client.seen[1]
    alerts = list(first["alerts"])
    more = first["more"]
    while more:
        page = await client.next()
        assert page["type"] == "snapshot_page", "nothing comes between a snapshot's pages"
        assert page["cursor"] == first["cursor"]
        alerts += page["alerts"]
        more = page["more"]
    return first, alerts


async def surged(api: Api, count: int) -> list[str]:
    """``count`` open alerts written at once, and the process's feed past their events: the surge is over before any
    console opens (a console open during it would get them live, as it does during a real one)."""
    async with api.runtime.unit_of_work() as session:
        ids = await insert_open_alerts(session, count)
    async with api.runtime.read_sessions() as session:
        newest = await newest_event_id(session)
    async with asyncio.timeout(streams.DEADLINE * 4):
        while api.runtime.feed.high_water < newest:
            api.runtime.feed.wake()
            await asyncio.sleep(0.05)
    return [str(i) for i in ids]


async def test_a_console_opened_after_a_surge_sees_every_open_alert(live: Live) -> None:
    api = live.api
    surge = await surged(api, SURGE)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    elsewhere = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
    newest = await api.press(await api.resident())

    async with streams.stream(live, "console", operator) as console:
        snapshot, alerts = await whole_snapshot(console)
        ids = [a["id"] for a in alerts]
        assert snapshot["open_alerts"] == len(alerts) == SURGE + 1, "the true count, and every alert behind it"
        assert set(ids) == set(surge) | {newest["id"]}
        assert ids[0] == surge[0], "oldest first: the oldest unhandled leads"
        assert ids[-1] == newest["id"], "and the newest unhandled is there too"

        # A press after the snapshot follows it; a console that opens now has it in its snapshot: the same picture.
        later = await api.press(await api.resident())
        await console.event("created", later["id"])
        async with streams.stream(live, "console", operator) as second:
            again, second_alerts = await whole_snapshot(second)
        assert again["open_alerts"] == SURGE + 2
        assert {a["id"] for a in second_alerts} == set(ids) | {later["id"]}

    async with streams.stream(live, "console", elsewhere) as other:
        snapshot, alerts = await whole_snapshot(other)
        assert snapshot["open_alerts"] == len(alerts) == 0, "another Polsek's console is not told of Coblong's surge"


async def test_a_console_that_reconnects_after_a_surge_converges_on_the_same_picture(live: Live) -> None:
    """A console's connection drops; while it is away thousands press and an alert it showed is closed. It comes
    back with its cursor, as the console app does: the snapshot (with the true count) and then what it missed
    leave it with exactly the open alerts of a console opened afresh, the closed one gone."""
    from siaga.alerts.domain import ACTIVE_STATES

    api = live.api
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    before = [await api.press(await api.resident()) for _ in range(2)]
    async with streams.stream(live, "console", operator) as console:
        _, shown = await whole_snapshot(console)
        assert {a["id"] for a in shown} == {a["id"] for a in before}
        cursor = console.seen[0]["cursor"]  # the hello's: where the console's picture stands

    away = 5_000  # more than the old cap of 2,000, and several snapshot pages
    assert (await api.post(operator, f"/alerts/{before[0]['id']}/acknowledge")).status_code == 200
    closed = await api.post(operator, f"/alerts/{before[0]['id']}/resolve", {"outcome": "genuine", "report": "aman"})
    assert closed.status_code == 200, closed.text
    surge = await surged(api, away)

    async with streams.stream(live, "console", operator, cursor=cursor) as back:
        snapshot, alerts = await whole_snapshot(back)
        assert snapshot["open_alerts"] == len(alerts) == away + 1
        picture = {a["id"]: a for a in alerts}
        marker = await api.press(await api.resident())  # live, so after everything the catch-up replays
        while True:
            message = await back.next()
            if message["type"] != "alert_event":
                continue
            alert = message["alert"]
            if alert["state"] in ACTIVE_STATES:
                picture[alert["id"]] = alert
            else:
                picture.pop(alert["id"], None)
            if message["event"]["kind"] == "created" and alert["id"] == marker["id"]:
                break
    async with streams.stream(live, "console", operator) as fresh:
        again, fresh_alerts = await whole_snapshot(fresh)
    assert again["open_alerts"] == away + 2
    assert set(picture) == {a["id"] for a in fresh_alerts} == set(surge) | {before[1]["id"], marker["id"]}
    assert {i: a["state"] for i, a in picture.items()} == {a["id"]: a["state"] for a in fresh_alerts}
