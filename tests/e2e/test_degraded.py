"""Siaga keeps taking SOS presses, and its streams keep following the timeline, when the event hub is down."""

from __future__ import annotations

import asyncio

from siaga.accounts.domain import Role
from siaga.runtime import Runtime
from tests.conftest import served_with


async def test_with_the_hub_unreachable_presses_are_stored_and_the_feed_polls(db: Runtime) -> None:
    async with served_with(db, hub_url="redis://127.0.0.1:9/0", log_json=False) as api:
        http, runtime = api.http, api.runtime
        assert (await http.get("/healthz")).json()["status"] == "ok"
        resident = await api.resident()
        operator = await api.staff(Role.OPERATOR)
        before = runtime.feed.high_water
        alert = await api.press(resident)
        seen = (await api.get(operator, f"/alerts/{alert['id']}")).json()
        assert seen["state"] == "new"
        # The feed still reads the timeline (by polling): it has seen the press.
        for _ in range(100):
            if runtime.feed.high_water > before:
                break
            await asyncio.sleep(0.1)
        assert runtime.feed.high_water > before
