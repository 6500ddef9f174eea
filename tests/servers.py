"""Real servers for end-to-end tests: ``siaga serve`` processes (their environment, a free port, waiting until they
answer /healthz, and stopping them), and a test's own app served by uvicorn on a real port in the test's process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import uvicorn
from benchmarks.server import free_port
from starlette.types import ASGIApp

__all__ = [
    "Server",
    "free_port",
    "in_process",
    "registered_resident",
    "serve_env",
    "siaga",
    "start",
    "stop",
    "terminate",
    "wait_until_healthy",
]


def serve_env(database_url: str, **settings: str) -> dict[str, str]:
    """This process's environment without its SIAGA_ settings, plus a development-mode Siaga on ``database_url``
    that logs warnings only, and ``settings`` (SIAGA_ names) on top."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")},
        "SIAGA_DEV_MODE": "1",
        "SIAGA_DATABASE_URL": database_url,
        "SIAGA_LOG_LEVEL": "WARNING",
        **settings,
    }


def siaga(*args: str, env: dict[str, str], cwd: Path, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run a ``siaga`` command in a new interpreter, as a person would, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "siaga", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://") + "/api/v1/stream"


def start(env: dict[str, str], folder: Path, name: str, *, within: float = 60.0) -> Server:
    """``siaga serve`` (on a database already migrated) on a free port, once it answers /healthz; its output goes
    to ``folder``/``name``.log."""
    port = free_port()
    log = (folder / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "siaga", "serve", "--no-upgrade", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, folder / f"{name}.log", within=within)
    except AssertionError:
        process.kill()
        log.close()
        raise
    return Server(url=url, process=process, log=log)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path, *, within: float = 60.0) -> None:
    """Wait until the server ``process`` at ``url`` answers /healthz; fail with its ``log`` if it dies first."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"siaga serve at {url} did not become healthy within {within:.0f} s")


def stop(server: Server) -> None:
    """Stop a server as systemd would (SIGTERM, then SIGKILL if it hangs); one that already died is left as is."""
    terminate(server.process)
    server.log.close()


def terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the process has not ended within 20 s; one that already ended is left as is."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


async def registered_resident(http: httpx.AsyncClient, folder: Path) -> str:
    """A resident's token: registered by SMS code, read from the development outbox of the server run in ``folder``."""
    phone = f"0812{uuid.uuid4().int % 10**8:08d}"
    answer = await http.post("/api/v1/residents/code", json={"phone": phone})
    assert answer.status_code == 202, answer.text
    e164 = answer.json()["phone"]
    outbox = folder / "dev-sms.jsonl"
    if not outbox.exists():
        outbox = folder / "var" / "dev-sms.jsonl"
    mine: list[dict[str, str]] = []
    for _ in range(200):
        rows = [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []
        mine = [r for r in rows if r["to"] == e164]
        if mine:
            break
        await asyncio.sleep(0.1)
    assert mine, f"no code for {e164}"
    code = mine[-1]["body"].split(": ", 1)[1][:6]
    verified = await http.post("/api/v1/residents/verify", json={"phone": phone, "code": code})
    assert verified.status_code == 200, verified.text
    token: str = verified.json()["access_token"]
    return token


@asynccontextmanager
async def in_process(app: ASGIApp, *, within: float = 10.0, tls: tuple[Path, Path] | None = None) -> AsyncIterator[str]:
    """Serve ``app`` (its lifespan running) with uvicorn on a free port of 127.0.0.1 for the block; yields its base
    URL (HTTPS with ``tls``: a certificate file and its key)."""
    port = free_port()
    # A kept-alive connection outlives any pause in a test: with uvicorn's 5 s default, the test's client could reuse
    # a connection the server was closing at that moment (a ReadError seen on a busy machine).
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        timeout_keep_alive=300,
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = asyncio.get_running_loop().time() + within
    while not server.started:
        if task.done() or asyncio.get_running_loop().time() > deadline:
            server.should_exit = True
            raise AssertionError("the server did not start")
        await asyncio.sleep(0.02)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
