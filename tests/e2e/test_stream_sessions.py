"""An open stream lives no longer than its session: a logout, an expiry, a deactivated account or the end of a drill
closes every stream of that session at once, with close code 4401 after a last ``auth.session_ended`` message, and
nothing more reaches it. (The same across processes: ``test_processes.py``.)"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import websockets
from sqlalchemy import update

from siaga.accounts.domain import Role
from siaga.accounts.models import AuthSession
from siaga.db import utcnow
from siaga.realtime.schemas import unbatch
from tests.conftest import Person
from tests.e2e.test_streams import DEADLINE, Client, Live, live, stream

__all__ = ["live"]  # the fixture, used by name below


async def until_closed(connection: websockets.ClientConnection) -> tuple[int | None, list[str]]:
    """Read until the server closes the stream: its close code (None if it was not the server that closed), and
    the messages that arrived on the way, by type (an ``error`` by its code)."""
    types: list[str] = []
    try:
        while True:
            raw = await asyncio.wait_for(connection.recv(), timeout=DEADLINE)
            types.extend(m["type"] if m["type"] != "error" else m["code"] for m in unbatch(json.loads(raw)))
    except websockets.exceptions.ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd is not None else None), types


async def _closed_for_session_end(client: Client) -> list[str]:
    code, types = await until_closed(client.connection)
    assert code == 4401, (code, types)
    return types


async def _refused(live: Live, name: str, who: Person) -> int | None:
    try:
        async with websockets.connect(f"{live.ws}/{name}?token={who.token}", open_timeout=DEADLINE) as connection:
            code, _ = await until_closed(connection)
            return code
    except websockets.exceptions.InvalidStatus as refused:
        return refused.response.status_code


async def test_logging_out_closes_the_console_and_resident_streams_of_that_session_only(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR)
    colleague = await api.staff(Role.OPERATOR)
    resident = await api.resident()
    async with (
        stream(live, "console", operator) as console,
        stream(live, "console", colleague) as other_console,
        stream(live, "resident", resident) as phone,
    ):
        assert (await api.post(operator, "/auth/logout")).status_code == 204
        assert (await api.post(resident, "/auth/logout")).status_code == 204
        assert (await _closed_for_session_end(console))[-1] == "auth.session_ended"
        assert (await _closed_for_session_end(phone))[-1] == "auth.session_ended"
        # The colleague's stream goes on: a press made now reaches it.
        someone = await api.resident()
        alert = await api.press(someone)
        await other_console.event("created", alert["id"])
    assert await _refused(live, "console", operator) in (4401, 403)


async def test_a_session_that_expires_while_its_stream_is_open_closes_the_stream(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR)
    async with api.runtime.unit_of_work() as session:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.staff_id == int(operator.id))
            .values(expires_at=utcnow() + timedelta(seconds=2))
        )
    async with stream(live, "console", operator) as console:
        assert (await _closed_for_session_end(console))[-1] == "auth.session_ended"


async def test_ending_a_drill_closes_the_streams_of_its_officers_and_residents(live: Live) -> None:
    api = live.api
    admin = await api.staff(Role.ADMIN)
    agencies = (await api.get(admin, "/agencies")).json()
    coblong = next(a["id"] for a in agencies if a["code"] == "POLSEK-COBLONG")
    made = (await api.post(admin, "/exercise/officers", {"agency_id": coblong, "count": 1})).json()[0]
    officer = Person(token=made["access_token"], name=made["name"], id=str(made["staff_id"]), role="officer")
    drill_resident = (await api.post(admin, "/exercise/residents", {"count": 1})).json()[0]
    resident = Person(token=drill_resident["access_token"], name=drill_resident["name"], id="")
    async with stream(live, "officer", officer) as officer_phone, stream(live, "resident", resident) as phone:
        assert (await api.post(admin, "/exercise/end")).status_code == 200
        assert (await _closed_for_session_end(officer_phone))[-1] == "auth.session_ended"
        assert (await _closed_for_session_end(phone))[-1] == "auth.session_ended"
