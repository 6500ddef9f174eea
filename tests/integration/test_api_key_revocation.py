"""A revoked API key stops working at once, in the process that revoked it and in another one (as sessions do: see
test_principal_cache.py)."""

from __future__ import annotations

import asyncio

from siaga.accounts import apikeys
from siaga.agencies import service as agencies
from siaga.audit.actor import ActorContext
from siaga.runtime import Runtime
from tests.conftest import make_settings
from tests.integration.test_hub import require


async def test_a_key_revoked_in_one_process_is_refused_by_another_at_once(db: Runtime) -> None:
    """Two runtimes on one database and one Redis hub (two server processes): a key revoked by one is refused by the
    other at once, though it had just remembered the key."""
    hub_url = await require("redis")
    first, second = (Runtime.build(make_settings(db.settings.database_url, hub_url=hub_url)) for _ in range(2))
    await first.start()
    await second.start()
    by = ActorContext.command_line("tester")
    try:
        async with first.unit_of_work() as session:
            agency = await agencies.agency_by_code(session, "BDG-CC")
            made = await apikeys.create(session, by=by, name="Dasbor Uji", agency_id=agency.id, scopes=["alerts:read"])
        assert await second.principals.keys.holder(made.key) is not None  # remembered there
        assert await first.principals.keys.holder(made.key) is not None
        async with first.unit_of_work() as session:
            await apikeys.revoke(session, by=by, key_id=made.row.id)
        assert await first.principals.keys.holder(made.key) is None
        for _ in range(100):
            if await second.principals.keys.holder(made.key) is None:
                break
            await asyncio.sleep(0.05)
        assert await second.principals.keys.holder(made.key) is None
    finally:
        for runtime in (first, second):
            await runtime.stop()
            await runtime.close()
