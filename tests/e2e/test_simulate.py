"""The simulator against a real `siaga serve` process: a small, fast exercise, judged through the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from siaga.demo.seed import DEMO_PASSWORD
from tests.servers import free_port, terminate, wait_until_healthy

REPO = Path(__file__).resolve().parents[2]
SIAGA = [sys.executable, "-m", "siaga"]


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
    seeded = subprocess.run([*SIAGA, "demo", "--no-serve"], env=env, cwd=REPO, capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr
    log = (folder / "server.log").open("w")
    process = subprocess.Popen([*SIAGA, "serve", "--no-upgrade"], env=env, cwd=REPO, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, folder / "server.log", within=180)  # generous: a busy machine starts it slowly
        yield url, env
    finally:
        terminate(process)
        log.close()


def _login(url: str, username: str) -> dict[str, str]:
    answer = httpx.post(f"{url}/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _exercise_units(url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    board = httpx.get(f"{url}/api/v1/units/board", headers=headers, timeout=10)
    board.raise_for_status()
    return [u for u in board.json() if u["callsign"].startswith("LAT-")]


def test_a_short_exercise_brings_officers_on_duty_raises_exercise_alerts_and_handles_them(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = server
    report = tmp_path / "report.json"
    command = [
        *SIAGA,
        "simulate",
        "--url",
        url,
        "--officers",
        "20",
        "--residents",
        "40",
        "--press-rate",
        "40",
        "--accidental-share",
        "0.3",
        "--prank-share",
        "0.2",
        "--operators",
        "auto",
        "--duration",
        "35",
        "--time-scale",
        "30",
        "--seed",
        "7",
        "--report",
        str(report),
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
        deadline = time.monotonic() + 30
        while True:
            units = _exercise_units(url, operator)
            placed = [u for u in units if u["state"] != "off_duty" and u["lat"] is not None]
            if len(placed) == 20:
                break
            assert simulator.poll() is None, Path(output.name).read_text()
            assert time.monotonic() < deadline, f"only {len(placed)} of 20 exercise units on the board: {units}"
            time.sleep(0.5)
        assert {u["duty_mode"] for u in placed} <= {"patrol", "post", "home"}
        assert all(-7.0 < u["lat"] < -6.8 and 107.5 < u["lon"] < 107.8 for u in placed)  # in Bandung
        assert simulator.wait(timeout=90) == 0
    finally:
        if simulator.poll() is None:
            simulator.kill()
        output.seek(0)
        log = output.read()
        output.close()
    assert "the city is live" in log, log
    assert "officers on duty | alerts:" in log, log  # the summary line
    assert "exercise ended: 20 officers off duty" in log, log
    counts = json.loads(report.read_text())
    assert counts["server_errors"] == 0, log
    assert counts["counts"]["offers_accepted"] >= 1, counts

    # Every alert the operator sees is the simulator's, and marked as an exercise.
    listed = httpx.get(f"{url}/api/v1/alerts", headers=operator, params={"limit": 500}, timeout=10)
    listed.raise_for_status()
    alerts = listed.json()
    assert len(alerts) >= 5
    assert all(a["is_exercise"] for a in alerts)
    assert len(alerts) == counts["counts"]["raised"], (
        [(a["state"], a["follows_id"], a["duress"], a["created_at"]) for a in alerts],
        log[-3000:],
    )
    # Officers took alerts themselves (accepting direct offers) and drove there; some were resolved; accidental
    # presses were cancelled with the PIN.
    assert any((a["unit_callsign"] or "").startswith("LAT-") and a["en_route_at"] for a in alerts), alerts
    assert any(a["state"] == "resolved" and a["outcome"] in {"genuine", "prank", "false_alarm"} for a in alerts)
    assert any(a["state"] == "cancelled" for a in alerts), alerts
    # Ending the exercise closed what was left open and took its officers off duty.
    assert all(a["state"] in {"resolved", "cancelled"} for a in alerts)
    assert all(u["state"] == "off_duty" for u in _exercise_units(url, operator))
