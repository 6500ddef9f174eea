"""A real Siaga server for a benchmark: a scratch database (a SQLite file in a temporary folder, or a fresh
PostgreSQL database), migrated with ``siaga db upgrade``, and ``siaga serve`` as a subprocess. Its peak memory is read
from /proc (``VmHWM``), and reset between scenarios."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

POSTGRES_ADMIN_URL = os.environ.get(
    "SIAGA_BENCH_POSTGRES_URL",
    os.environ.get("SIAGA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
)
SECRET_KEY = "siaga-benchmark-secret-key-0123456789abcdef"  # noqa: S105 - a throwaway server on loopback


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Database:
    """A scratch database: ``url`` for Siaga, ``kind`` sqlite or postgres."""

    kind: str
    url: str
    folder: Path

    @property
    def sqlite_file(self) -> Path | None:
        return Path(self.url.split("///", 1)[1]) if self.kind == "sqlite" else None

    @property
    def asyncpg_dsn(self) -> str:
        return self.url.replace("postgresql+asyncpg://", "postgresql://")


async def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used (None if it answers)."""
    import asyncpg

    try:
        connection = await asyncio.wait_for(asyncpg.connect(_dsn(POSTGRES_ADMIN_URL)), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def create_database(kind: str, folder: Path) -> Database:
    if kind == "sqlite":
        return Database(kind, f"sqlite+aiosqlite:///{folder / 'siaga.db'}", folder)
    import asyncpg

    name = f"siaga_bench_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(_dsn(POSTGRES_ADMIN_URL))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return Database(kind, f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}", folder)


async def drop_database(database: Database) -> None:
    if database.kind != "postgres":
        return
    import asyncpg

    name = database.url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(_dsn(POSTGRES_ADMIN_URL))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def server_env(database: Database, **extra: str) -> dict[str, str]:
    """The server's settings. Development mode for the recording SMS adapter (residents register through the
    public API with the code it records); escalation timers of a day, so the thousands of unacknowledged benchmark
    alerts do not all escalate in the middle of a measurement (the timer sweep itself still runs every second)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")}
    env.update(
        {
            "SIAGA_DEV_MODE": "1",
            "SIAGA_DATABASE_URL": database.url,
            "SIAGA_SECRET_KEY": SECRET_KEY,
            "SIAGA_LOG_LEVEL": "WARNING",
            "SIAGA_OTP_PER_CLIENT_PER_HOUR": "100000",
            "SIAGA_ACK_TIMEOUT_SECONDS": "86400",
            "SIAGA_DISPATCH_TIMEOUT_SECONDS": "86400",
        }
    )
    env.update(extra)
    return env


def siaga(database: Database, *args: str) -> None:
    """Run a ``siaga`` command against the database (e.g. ``db upgrade``)."""
    done = subprocess.run(
        [sys.executable, "-m", "siaga", *args],
        env=server_env(database),
        cwd=database.folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"siaga {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@dataclass
class Server:
    database: Database
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    log_path: Path
    memory: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_mb(self) -> float | None:
        """VmHWM: the most resident memory the server has had (since start or the last reset)."""
        return _status_kb(self.pid, "VmHWM")

    def rss_mb(self) -> float | None:
        return _status_kb(self.pid, "VmRSS")

    def reset_peak(self) -> bool:
        """Start a new peak from the current RSS (Linux ``clear_refs`` 5); False where that is not allowed."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def stop(self, *, kill: bool = False) -> None:
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            elif os.environ.get("BENCH_PROFILE_DIR"):
                self.process.send_signal(signal.SIGINT)  # cProfile writes its file on the KeyboardInterrupt
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.log.close()


def _status_kb(pid: int, key: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _profiled(name: str) -> list[str]:
    """With ``BENCH_PROFILE_DIR`` set, the server runs under cProfile and writes ``<dir>/<name>.prof`` when it stops
    (read it with ``python -m pstats``): where a scenario's server CPU goes, from the same run."""
    folder = os.environ.get("BENCH_PROFILE_DIR")
    if not folder:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    return ["-m", "cProfile", "-o", str(Path(folder) / f"{name}.prof")]


def start(database: Database, *, name: str = "server", **extra_env: str) -> Server:
    """``siaga serve`` on a free port (migrations already applied); returns once /healthz answers."""
    port = free_port()
    log_path = database.folder / f"{name}.log"
    log = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, *_profiled(name), "-m", "siaga", "serve", "--no-upgrade", "--port", str(port)],
        env=server_env(database, **extra_env),
        cwd=database.folder,
        stdout=log,
        stderr=log,
    )
    server = Server(database=database, port=port, process=process, log=log, log_path=log_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            raise RuntimeError(f"the server exited: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop(kill=True)
    raise RuntimeError("the server did not become healthy within 120 s")
