"""Two Siaga server processes on the machine's PostgreSQL and Redis: a console on one sees presses made on the
other, and a console whose process dies resumes on the other from its cursor with nothing missing or doubled."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import websockets

from siaga.realtime.schemas import unbatch
from tests.conftest import REQUIRE_SERVICES, _create_postgres_database, _drop_postgres_database
from tests.e2e.test_readme import _free_port
from tests.e2e.test_stream_sessions import until_closed

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
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://") + "/api/v1/stream"


@dataclass
class Cluster:
    a: Server
    b: Server
    folder: Path
    env: dict[str, str]


def _start(env: dict[str, str], folder: Path, name: str) -> Server:
    port = _free_port()
    log = (folder / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "siaga", "serve", "--no-upgrade", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (folder / f"{name}.log").read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return Server(url=url, process=process, log=log)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    log.close()
    raise AssertionError(f"server {name} did not become healthy")


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    problem = await _redis_problem()
    if problem is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required here (CI) but unreachable at {REDIS_URL}: {problem}")
        pytest.skip(f"Redis unreachable at {REDIS_URL} ({problem}); set SIAGA_TEST_REDIS_URL")
    url = await _create_postgres_database()
    folder = tmp_path_factory.mktemp("cluster")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")},
        "SIAGA_DEV_MODE": "1",
        "SIAGA_DATABASE_URL": url,
        "SIAGA_HUB_URL": REDIS_URL,
        "SIAGA_LOG_LEVEL": "WARNING",
    }
    seeded = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "siaga", "demo", "--no-serve"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert seeded.returncode == 0, seeded.stderr
    servers = [await asyncio.to_thread(_start, env, folder, name) for name in ("a", "b")]
    try:
        yield Cluster(a=servers[0], b=servers[1], folder=folder, env=env)
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.process.terminate()
                try:
                    server.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.process.kill()
                    server.process.wait(timeout=20)
            server.log.close()
        await _drop_postgres_database(url)


async def _login(http: httpx.AsyncClient, username: str) -> str:
    answer = await http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def _resident(http: httpx.AsyncClient, cluster: Cluster) -> str:
    phone = f"0812{uuid.uuid4().int % 10**8:08d}"
    answer = await http.post("/api/v1/residents/code", json={"phone": phone})
    assert answer.status_code == 202, answer.text
    e164 = answer.json()["phone"]
    outbox = cluster.folder / "var" / "dev-sms.jsonl"
    for _ in range(100):
        rows = [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []
        mine = [r for r in rows if r["to"] == e164]
        if mine:
            break
        await asyncio.sleep(0.1)
    code = mine[-1]["body"].split(": ", 1)[1][:6]
    verified = await http.post("/api/v1/residents/verify", json={"phone": phone, "code": code})
    assert verified.status_code == 200, verified.text
    token: str = verified.json()["access_token"]
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
        resident = await _resident(a, cluster)
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
        resident = await _resident(b, cluster)
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
