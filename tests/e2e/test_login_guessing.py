"""Password guessing is limited however it is sent: concurrent guesses are each counted before their password is
checked (60 at once for one account got 60 checks against a limit of 10), and one guesser locks out only itself, not
the command centre behind another address."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import select

from siaga.accounts import security
from siaga.accounts.domain import Role
from siaga.accounts.models import LoginAttempts
from siaga.accounts.sessions import LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT, LOGIN_ATTEMPTS_PER_CLIENT, LoginThrottle
from siaga.app import create_app
from siaga.audit.models import AuditRecord
from siaga.runtime import Runtime
from tests.conftest import PASSWORD, Api, eventually


@asynccontextmanager
async def from_address(runtime: Runtime, address: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime.settings, runtime=runtime)
    app.state.runtime = runtime
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://siaga.test") as http:
        yield http


async def _login(http: httpx.AsyncClient, username: str, password: str) -> int:
    return (await http.post("/api/v1/auth/login", json={"username": username, "password": password})).status_code


async def test_concurrent_guesses_are_each_counted_and_the_centre_can_still_log_in(
    api: Api, db: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = await api.staff(Role.OPERATOR)
    username = operator.extra["username"]
    # Every guess reaches the counting at once (a deployment with many processes, or many places for logins).
    monkeypatch.setattr(db, "logins", asyncio.Semaphore(60))
    monkeypatch.setattr(db, "login_throttle", LoginThrottle(per_client=60))
    async with from_address(db, "203.0.113.66") as attacker, from_address(db, "198.51.100.10") as centre:
        answers = Counter(await asyncio.gather(*(_login(attacker, username, f"tebakan-{i}") for i in range(60))))
        assert answers[401] <= LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT, answers  # checked: at most the limit
        assert answers[429] >= 60 - LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT, answers
        assert set(answers) <= {401, 429}, answers
        # Even the right password is refused from the guesser's address for now...
        assert await _login(attacker, username, PASSWORD) == 429
        # ...but the operator at the command centre logs in, and logging in gives that attempt back.
        assert await _login(centre, username, PASSWORD) == 200
        assert await _login(centre, username, "salah sekali") == 401
        assert await _login(centre, username, PASSWORD) == 200


async def test_unknown_accounts_are_limited_like_known_ones(api: Api, db: Runtime) -> None:
    async with from_address(db, "203.0.113.67") as attacker:
        answers = Counter([await _login(attacker, "tidak.ada", f"tebakan-{i}") for i in range(12)])
    assert answers == Counter(
        {401: LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT, 429: 12 - LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT}
    )


async def test_a_login_flood_is_turned_away_before_the_database_and_residents_still_press_sos(
    api: Api, db: Runtime
) -> None:
    """A login flood once took every database connection, and residents' SOS presses waited 30 s for one: logins
    beyond the process's few places are refused at once (429 auth.busy), and presses keep their connections."""
    resident = await api.resident()
    operator = await api.staff(Role.OPERATOR)
    username = operator.extra["username"]
    places = db.settings.logins_at_once
    async with from_address(db, "203.0.113.68") as flood:
        for _ in range(places):  # every place is taken by logins still being checked
            await db.logins.acquire()
        try:
            refused = await flood.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "auth.busy"
            assert refused.headers["retry-after"] == "1"
            stored = await api.press(resident)  # answered 201
            assert stored["state"] == "new"
        finally:
            for _ in range(places):
                db.logins.release()
        # The refused login took nothing from the account's attempts: the right password works at once.
        assert await _login(flood, username, PASSWORD) == 200
    # It is in the audit log all the same, with the other refusals of its minute.
    busy = [r.detail for r in await _login_failures(db, "203.0.113.68") if r.detail.get("reason") == "busy"]
    assert busy == [{"reason": "busy", "turn": "process", "refused": 1}]


async def _login_failures(db: Runtime, address: str) -> list[AuditRecord]:
    await db.record_throttled()  # what the runtime does every minute and when it stops
    async with db.read_sessions() as session:
        found = await session.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "staff.login",
                AuditRecord.outcome == "failure",
                AuditRecord.client_ip == address,
            )
        )
        return list(found.all())


async def _client_attempts(db: Runtime, address: str) -> int | None:
    async with db.read_sessions() as session:
        return await session.scalar(select(LoginAttempts.count).where(LoginAttempts.key == f"client:{address}"))


async def test_a_flood_from_one_address_gets_one_password_check_at_a_time_and_soon_none(api: Api, db: Runtime) -> None:
    """A flood of wrong passwords from one address, 200 a second, once kept the password checks busy until fifty of
    them were made, and residents' SOS presses waited behind them: an address has one login under way at a time, and
    each login it sends meanwhile is refused at once (429 auth.busy) and counted, so that the flood is over the
    address's limit after one check and is refused from memory from then on, every refusal recorded. The command
    centre, at another address, still logs in."""
    operator = await api.staff(Role.OPERATOR)
    username = operator.extra["username"]
    attacker = "203.0.113.70"
    checking = threading.Event()
    security._STAFF_LOGINS.submit(checking.wait)  # the password checks are busy: the first guess waits its turn
    try:
        async with from_address(db, attacker) as flood:
            first = asyncio.create_task(_login(flood, username, "tebakan-pertama"))
            await eventually(lambda: _client_attempts(db, attacker), what="the first guess to be counted")
            codes: Counter[str] = Counter()
            for i in range(LOGIN_ATTEMPTS_PER_CLIENT + 2):
                answer = await flood.post("/api/v1/auth/login", json={"username": username, "password": f"t-{i}"})
                assert answer.status_code == 429, answer.text
                codes[answer.json()["error"]["code"]] += 1
            # More logins than the address's limit while its first was under way: a flood, refused from memory.
            assert codes == Counter({"auth.busy": LOGIN_ATTEMPTS_PER_CLIENT + 1, "auth.throttled": 1})
            checking.set()
            assert await first == 401
            assert await _login(flood, username, PASSWORD) == 429  # refused from memory, the right password too
    finally:
        checking.set()
    async with from_address(db, "198.51.100.12") as centre:
        assert await _login(centre, username, PASSWORD) == 200
    assert await _client_attempts(db, attacker) == 1  # one guess reached the database and a password check

    failures = [r.detail for r in await _login_failures(db, attacker)]
    assert [d for d in failures if d.get("reason") == "bad_credentials"] == [{"reason": "bad_credentials"}]
    assert {"reason": "busy", "turn": "address", "refused": LOGIN_ATTEMPTS_PER_CLIENT + 1} in failures
    assert {"reason": "throttled", "counter": "client", "refused": 2} in failures


async def test_a_guesser_over_the_limit_is_turned_away_from_memory_and_every_refusal_is_recorded(
    api: Api, db: Runtime
) -> None:
    """A flood of guesses from one address, hundreds a second, once wrote two transactions per guess, and residents'
    presses waited for the database behind them: once the database says an address or an account is over its limit,
    the process refuses further guesses from memory, still with 429, and records them together (one record per
    counter and minute, counting them), so none goes uncounted."""
    operator = await api.staff(Role.OPERATOR)
    username = operator.extra["username"]
    guesses = 40
    async with from_address(db, "203.0.113.69") as attacker, from_address(db, "198.51.100.11") as centre:
        answers = Counter([await _login(attacker, username, f"tebakan-{i}") for i in range(guesses)])
        assert answers == Counter(
            {401: LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT, 429: guesses - LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT}
        )
        async with db.read_sessions() as session:
            counted = await session.scalar(
                select(LoginAttempts.count).where(LoginAttempts.key == f"account+client:{username}|203.0.113.69")
            )
        # The database counted up to the first refusal; the rest never reached it.
        assert counted == LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT + 1
        # The right password from the guesser's address is refused too, and the command centre still logs in.
        assert await _login(attacker, username, PASSWORD) == 429
        assert await _login(centre, username, PASSWORD) == 200

    records = await _login_failures(db, "203.0.113.69")
    throttled = [r.detail for r in records if r.detail.get("reason") == "throttled"]
    one_each = [d for d in throttled if "refused" not in d]
    together = [d for d in throttled if "refused" in d]
    refused = guesses - LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT + 1  # and the right password
    assert len(one_each) + sum(d["refused"] for d in together) == refused
    assert len(together) == 1
    assert together[0]["counter"] == "account+client"
    assert (
        len([r for r in records if r.detail.get("reason") == "bad_credentials"])
        == LOGIN_ATTEMPTS_PER_ACCOUNT_AND_CLIENT
    )
