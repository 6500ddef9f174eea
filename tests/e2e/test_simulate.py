"""The simulator against a real `siaga serve` process: a small, fast exercise, judged through the API."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest

from siaga import migrate
from siaga.config import Settings
from siaga.demo.seed import DEMO_PASSWORD, seed_bandung
from siaga.runtime import Runtime
from tests.servers import free_port, terminate, wait_until_healthy

REPO = Path(__file__).resolve().parents[2]
SIAGA = [sys.executable, "-m", "siaga"]
T = TypeVar("T")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("simulate")
    port = free_port()
    env = {
        **os.environ,
        "SIAGA_DEV_MODE": "1",
        "SIAGA_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'siaga.db'}",
        "SIAGA_PORT": str(port),
    }
    seed_demo_city(env["SIAGA_DATABASE_URL"])
    log = (folder / "server.log").open("w")
    process = subprocess.Popen([*SIAGA, "serve", "--no-upgrade"], env=env, cwd=REPO, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, folder / "server.log", within=180)  # generous: a busy machine starts it slowly
        yield url, env
    finally:
        terminate(process)
        log.close()


def seed_demo_city(database_url: str) -> None:
    """What `siaga demo --no-serve` does (tests of the CLI run that): migrate, then Bandung's agencies, kecamatan,
    units and demo accounts. Here, in this process: a served city costs one interpreter start fewer."""
    settings = Settings(database_url=database_url, dev_mode=True)
    migrate.upgrade(database_url)

    async def seed() -> None:
        runtime = Runtime.build(settings)
        try:
            async with runtime.unit_of_work() as session:
                await seed_bandung(session, with_accounts=True, direct_offers=True)
        finally:
            await runtime.close()

    asyncio.run(seed())


def _login(url: str, username: str) -> dict[str, str]:
    answer = httpx.post(f"{url}/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _exercise_units(url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    board = httpx.get(f"{url}/api/v1/units/board", headers=headers, timeout=10)
    board.raise_for_status()
    return [u for u in board.json() if u["callsign"].startswith("LAT-")]


OFFICERS = 8


def test_a_short_exercise_brings_officers_on_duty_raises_exercise_alerts_and_handles_them(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """The exercise runs until the operator has seen what it is for (its officers on the board, an officer driving
    to an alert, alerts resolved and cancelled), then ends as a person ends it: Ctrl-C."""
    url, env = server
    report = tmp_path / "report.json"
    command = [
        *SIAGA,
        "simulate",
        *("--url", url, "--officers", str(OFFICERS), "--residents", "20", "--press-rate", "60"),
        *("--accidental-share", "0.3", "--prank-share", "0.2", "--operators", "auto"),
        *("--time-scale", "60", "--seed", "7", "--report", str(report)),
    ]
    output = (tmp_path / "simulate.log").open("w+")
    simulator = subprocess.Popen(
        command,
        env={**env, "SIAGA_SIMULATE_PASSWORD": DEMO_PASSWORD},
        cwd=REPO,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # The person watching: the demo's command-centre operator, whose console must show the city.
    operator = _login(url, "operator1")
    try:
        # While it runs, the exercise officers are on duty with positions on the operator's unit board.
        units = _until(
            lambda: _placed(_exercise_units(url, operator)),
            simulator,
            output,
            f"{OFFICERS} exercise units on duty and placed on the board",
        )
        assert {u["duty_mode"] for u in units} <= {"patrol", "post", "home"}
        assert all(-7.0 < u["lat"] < -6.8 and 107.5 < u["lon"] < 107.8 for u in units)  # in Bandung
        # Officers take alerts themselves (accepting direct offers) and drive there; some are resolved; accidental
        # presses are cancelled with the PIN.
        _until(
            lambda: _handled(_alerts(url, operator)),
            simulator,
            output,
            "exercise alerts: one a LAT- unit drove to, one resolved with an outcome, one cancelled",
        )
    finally:
        if simulator.poll() is None:
            simulator.send_signal(signal.SIGINT)  # Ctrl-C: the exercise ends and what is left open is closed
        try:
            code = simulator.wait(timeout=90)
        finally:
            if simulator.poll() is None:
                simulator.kill()
            output.seek(0)
            log = output.read()
            output.close()
    assert code == 0, log
    assert "the city is live" in log, log
    assert "officers on duty | alerts:" in log, log  # the summary line
    assert f"exercise ended: {OFFICERS} officers off duty" in log, log
    counts = json.loads(report.read_text())
    assert counts["server_errors"] == 0, log
    assert counts["counts"]["offers_accepted"] >= 1, counts

    # Every alert the operator sees is the simulator's, and marked as an exercise.
    alerts = _alerts(url, operator)
    assert _handled(alerts), alerts
    assert all(a["is_exercise"] for a in alerts)
    assert len(alerts) == counts["counts"]["raised"], (
        [(a["state"], a["follows_id"], a["duress"], a["created_at"]) for a in alerts],
        log[-3000:],
    )
    # Ending the exercise closed what was left open and took its officers off duty.
    assert all(a["state"] in {"resolved", "cancelled"} for a in alerts)
    assert all(u["state"] == "off_duty" for u in _exercise_units(url, operator))


def _placed(units: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    placed = [u for u in units if u["state"] != "off_duty" and u["lat"] is not None]
    return placed if len(placed) == OFFICERS else None


def _alerts(url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    listed = httpx.get(f"{url}/api/v1/alerts", headers=headers, params={"limit": 500}, timeout=10)
    listed.raise_for_status()
    alerts: list[dict[str, Any]] = listed.json()
    return alerts


def _handled(alerts: list[dict[str, Any]]) -> bool:
    """What an exercise is for: a few alerts, an officer drove to one, one was resolved with an outcome, one was
    cancelled."""
    return (
        len(alerts) >= 5
        and any((a["unit_callsign"] or "").startswith("LAT-") and a["en_route_at"] for a in alerts)
        and any(a["state"] == "resolved" and a["outcome"] in {"genuine", "prank", "false_alarm"} for a in alerts)
        and any(a["state"] == "cancelled" for a in alerts)
    )


def _until(probe: Callable[[], T | None], simulator: subprocess.Popen[str], output: IO[str], what: str) -> T:
    """Poll until ``probe`` finds what it looks for, while the simulator runs: a generous deadline for a busy
    machine, never a judgement of speed."""
    deadline = time.monotonic() + 120
    while True:
        found = probe()
        if found:
            return found
        assert simulator.poll() is None, Path(output.name).read_text()
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {Path(output.name).read_text()[-3000:]}"
        time.sleep(0.5)
