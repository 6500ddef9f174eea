"""Two Siaga server processes on the machine's PostgreSQL and Redis: a console on one sees presses made on the
other, and a console whose process dies resumes on the other from its cursor with nothing missing or doubled."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from siaga.realtime.schemas import unbatch
from tests.conftest import REQUIRE_SERVICES, _create_postgres_database, _drop_postgres_database
from tests.e2e.test_stream_sessions import until_closed
from tests.servers import Server, registered_resident, serve_env, siaga, start, stop

REDIS_URL = os.environ.get("SIAGA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DEADLINE = 20.0
PASSWORD = "siaga-demo-2026"  # the demo accounts `siaga demo` seeds (development mode)


async def _redis_problem() -> str | None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), timeout=5)
    except (OSError, TimeoutError, redis.RedisError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()
    return None


@dataclass
class Cluster:
    a: Server
    b: Server
    folder: Path
    env: dict[str, str]


@asynccontextmanager
async def two_servers(folder: Path, *setup: tuple[str, ...]) -> AsyncIterator[Cluster]:
    """Two ``siaga serve`` processes in development mode on a fresh PostgreSQL database and Redis, once the
    ``siaga`` commands ``setup`` have run there."""
    problem = await _redis_problem()
    if problem is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required here (CI) but unreachable at {REDIS_URL}: {problem}")
        pytest.skip(f"Redis unreachable at {REDIS_URL} ({problem}); set SIAGA_TEST_REDIS_URL")
    url = await _create_postgres_database()
    env = serve_env(url, SIAGA_HUB_URL=REDIS_URL)
    for step in setup:
        done = await asyncio.to_thread(siaga, *step, env=env, cwd=folder)
        assert done.returncode == 0, done.stderr
    servers = [await asyncio.to_thread(start, env, folder, name) for name in ("a", "b")]
    try:
        yield Cluster(a=servers[0], b=servers[1], folder=folder, env=env)
    finally:
        for server in servers:
            stop(server)
        await _drop_postgres_database(url)


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    async with two_servers(tmp_path_factory.mktemp("cluster"), ("demo", "--no-serve")) as cluster:
        yield cluster


async def _login(http: httpx.AsyncClient, username: str) -> str:
    answer = await http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def _press(http: httpx.AsyncClient, resident: str) -> str:
    alert_id = str(uuid.uuid4())
    answer = await http.post(
        "/api/v1/alerts",
        json={"id": alert_id, "category": "kriminalitas", "location": {"lat": -6.8915, "lon": 107.6107}},
        headers={"Authorization": f"Bearer {resident}"},
    )
    assert answer.status_code == 201, answer.text
    return alert_id


async def _events(connection: websockets.ClientConnection) -> AsyncIterator[dict[str, Any]]:
    while True:
        for message in unbatch(json.loads(await asyncio.wait_for(connection.recv(), timeout=DEADLINE))):
            if message["type"] == "alert_event":
                yield message


async def test_a_console_on_one_process_sees_a_press_made_on_the_other(cluster: Cluster) -> None:
    async with (
        httpx.AsyncClient(base_url=cluster.a.url, timeout=30) as a,
        httpx.AsyncClient(base_url=cluster.b.url, timeout=30) as b,
    ):
        operator = await _login(b, "operator1")
        resident = await registered_resident(a, cluster.folder)
        async with websockets.connect(f"{cluster.b.ws}/console?token={operator}") as console:
            assert json.loads(await console.recv())["type"] == "hello"
            assert json.loads(await console.recv())["type"] == "snapshot"
            alert_id = await _press(a, resident)
            async for message in _events(console):
                if message["alert"]["id"] == alert_id:
                    assert message["event"]["kind"] == "created"
                    break


async def test_logging_out_on_one_process_closes_the_sessions_stream_on_the_other(cluster: Cluster) -> None:
    async with (
        httpx.AsyncClient(base_url=cluster.a.url, timeout=30) as a,
        httpx.AsyncClient(base_url=cluster.b.url, timeout=30) as b,
    ):
        operator = await _login(a, "operator1")
        async with websockets.connect(f"{cluster.b.ws}/console?token={operator}") as console:
            assert json.loads(await console.recv())["type"] == "hello"
            logout = await a.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {operator}"})
            assert logout.status_code == 204
            code, messages = await until_closed(console)
            assert code == 4401
            assert messages[-1] == "auth.session_ended"
        assert (await b.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {operator}"})).status_code == 401


async def test_a_console_resumes_on_the_other_process_after_its_own_dies(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.b.url, timeout=30) as b:
        operator = await _login(b, "operator2")
        resident = await registered_resident(b, cluster.folder)
        alert_id = await _press(b, resident)
        notes = [f"catatan {i}" for i in range(40)]
        received: list[dict[str, Any]] = []

        async def write_notes() -> None:
            for text in notes:
                answer = await b.post(
                    f"/api/v1/alerts/{alert_id}/notes",
                    json={"text": text},
                    headers={"Authorization": f"Bearer {operator}"},
                )
                assert answer.status_code == 200, answer.text
                await asyncio.sleep(0.05)

        writer = asyncio.create_task(write_notes())
        async with websockets.connect(f"{cluster.a.ws}/console?token={operator}") as console:
            await console.recv()
            await console.recv()
            try:
                async for message in _events(console):
                    if message["alert"]["id"] == alert_id and message["event"]["kind"] == "note":
                        received.append(message)
                        if len(received) == 10:
                            cluster.a.process.send_signal(signal.SIGKILL)  # process A dies mid-stream
            except (websockets.exceptions.ConnectionClosed, TimeoutError):
                pass
        cursor = received[-1]["cursor"]
        async with websockets.connect(f"{cluster.b.ws}/console?token={operator}&cursor={cursor}") as console:
            await console.recv()
            await console.recv()
            async for message in _events(console):
                if message["alert"]["id"] == alert_id and message["event"]["kind"] == "note":
                    received.append(message)
                if len(received) == len(notes):
                    break
        await writer
    assert cluster.a.process.wait(timeout=20) == -signal.SIGKILL  # A really died; it did not close cleanly
    texts = [m["event"]["data"]["text"] for m in received]
    assert texts == notes, "a note was missed or delivered twice across the failover"
    cursors = [m["cursor"] for m in received]
    assert cursors == sorted(set(cursors))
