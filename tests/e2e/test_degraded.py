"""Siaga keeps taking SOS presses, and its streams keep following the timeline, when the event hub is down."""

from __future__ import annotations

import asyncio

import httpx

from siaga.accounts.models import Role
from siaga.app import create_app
from siaga.runtime import Runtime
from tests.conftest import Api, make_settings


async def test_with_the_hub_unreachable_presses_are_stored_and_the_feed_polls(db: Runtime) -> None:
    settings = make_settings(db.settings.database_url, hub_url="redis://127.0.0.1:9/0", log_json=False)
    runtime = Runtime.build(settings)
    runtime.sms = db.sms
    app = create_app(settings, runtime=runtime)
    try:
        async with app.router.lifespan_context(app):
            app.state.runtime = runtime
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://siaga.test") as http:
                api = Api(http=http, runtime=runtime)
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
    finally:
        await runtime.close()
