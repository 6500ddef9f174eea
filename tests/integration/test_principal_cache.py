"""The principal cache: a revoked session stops working at once, in this process and in another one."""

from __future__ import annotations

import asyncio
import uuid

from siaga.accounts import service as accounts
from siaga.accounts.domain import Role
from siaga.accounts.models import Resident
from siaga.runtime import Runtime
from tests.conftest import Api, make_settings, sos_body
from tests.integration.test_hub import require


async def test_logout_is_refused_at_once_though_the_token_was_just_used(api: Api) -> None:
    resident = await api.resident()
    assert (await api.get(resident, "/residents/me")).status_code == 200  # now remembered
    assert (await api.post(resident, "/auth/logout")).status_code == 204
    assert (await api.get(resident, "/residents/me")).status_code == 401
    refused = await api.http.post("/api/v1/alerts", json=sos_body(), headers=resident.headers)
    assert refused.status_code == 401


async def test_ending_a_drill_refuses_its_officers_at_once(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    made = await api.post(admin, "/exercise/officers", {"agency_id": admin.extra["agency_id"], "count": 1})
    assert made.status_code == 201, made.text
    account = made.json()[0]
    officer_headers = {"Authorization": f"Bearer {account['access_token']}"}
    assert (await api.http.get("/api/v1/officers/me/duty", headers=officer_headers)).status_code == 200
    assert (await api.post(admin, "/exercise/end")).status_code == 200
    assert (await api.http.get("/api/v1/officers/me/duty", headers=officer_headers)).status_code == 401


async def test_a_revocation_in_another_process_is_heard_over_the_hub(database_url: str) -> None:
    """Two runtimes on one database and one Redis hub (two server processes): a logout committed by one is refused
    by the other at once, though it had just remembered the session."""
    hub_url = await require("redis")
    first, second = (Runtime.build(make_settings(database_url, hub_url=hub_url)) for _ in range(2))
    await first.start()
    await second.start()
    try:
        async with first.unit_of_work() as session:
            resident = Resident(phone=f"+62812{uuid.uuid4().int % 10**8:08d}")
            session.add(resident)
            await session.flush()
            opened = await accounts.open_resident_session(
                session, settings=first.settings, resident=resident, client_ip="", user_agent=""
            )
        assert await second.principals.principal(opened.token) is not None  # remembered there
        principal = await first.principals.principal(opened.token)
        assert principal is not None
        async with first.unit_of_work() as session:
            await accounts.revoke_session(session, session_id=principal.session_id)
        assert await first.principals.principal(opened.token) is None
        for _ in range(100):
            if await second.principals.principal(opened.token) is None:
                break
            await asyncio.sleep(0.05)
        assert await second.principals.principal(opened.token) is None
    finally:
        for runtime in (first, second):
            await runtime.stop()
            await runtime.close()
