"""A stream opened while the open streams' sessions are being checked stays open: the check judges only the sessions
it asked about. (It used to end every session held once its query returned, so a stream admitted during the query,
missing from the answer, was closed as if its session had been revoked: officers lost their live link under load.)"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from siaga.accounts import security
from siaga.accounts.domain import Role
from siaga.accounts.models import AuthSession
from siaga.accounts.sessions import live_sessions
from siaga.realtime import guard as guard_module
from siaga.realtime.guard import StreamSessions
from tests.conftest import Api, Person


async def _session_id(api: Api, person: Person) -> int:
    async with api.runtime.read_sessions() as session:
        found = await session.scalar(
            select(AuthSession.id).where(AuthSession.token_hash == security.hash_token(person.token))
        )
    assert found is not None
    return found


async def test_a_stream_admitted_during_the_check_is_not_ended_and_a_revoked_one_still_is(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    held_first, opening, revoked = [await api.staff(Role.OPERATOR) for _ in range(3)]
    first_id, opening_id, revoked_id = [await _session_id(api, p) for p in (held_first, opening, revoked)]
    streams = StreamSessions(api.runtime.read_sessions)
    ended: list[str] = []
    assert await streams.admit(first_id, lambda: ended.append("first")) is not None
    assert await streams.admit(revoked_id, lambda: ended.append("revoked")) is not None

    real = live_sessions
    admitted_meanwhile = False

    async def the_query_then_a_stream_opens(session: Any, asked: list[int]) -> dict[int, Any]:
        nonlocal admitted_meanwhile
        answer = await real(session, asked)
        if not admitted_meanwhile:  # the check's own query: a stream opens before its answer is judged
            admitted_meanwhile = True
            answer.pop(revoked_id, None)  # as if that session was revoked just before the query
            assert await streams.admit(opening_id, lambda: ended.append("opening")) is not None
        return answer

    monkeypatch.setattr(guard_module, "live_sessions", the_query_then_a_stream_opens)
    await streams.check()

    assert admitted_meanwhile
    assert ended == ["revoked"]
    assert len(streams) == 2  # the first stream and the one that opened during the check
