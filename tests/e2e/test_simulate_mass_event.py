"""``siaga simulate --mass-event``: a disaster in one kecamatan against a real ``siaga serve``, judged by what an
administrator sees through the API while it runs."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from siaga.demo.seed import DEMO_PASSWORD
from tests.e2e import test_simulate as simulate
from tests.e2e.test_simulate import REPO, SIAGA

server = simulate.server  # a demo city served by a real process
PRESSES = 12  # a surge within 3 s; each resident sets its PINs first (argon2 on the server), so no more than needed


def _simulate(url: str, env: dict[str, str], *extra: str, log: Path) -> subprocess.Popen[str]:
    command = [*SIAGA, "simulate", "--url", url, "--officers", "2", "--press-rate", "0.01", "--seed", "3", *extra]
    with log.open("w") as output:  # the child has its own copy of the descriptor
        return subprocess.Popen(
            command,
            env={**env, "SIAGA_SIMULATE_PASSWORD": DEMO_PASSWORD},
            cwd=REPO,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )


def test_a_mass_event_raises_a_surge_of_exercise_alerts_in_one_kecamatan(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = server
    log = tmp_path / "simulate.log"
    simulator = _simulate(
        url,
        env,
        *("--mass-event", "coblong", "--mass-presses", str(PRESSES), "--mass-seconds", "3", "--mass-after", "1"),
        *("--duration", "180"),
        log=log,
    )
    admin = simulate._login(url, "admin")
    try:
        deadline = time.monotonic() + 150  # generous: residents' PINs are set first, each an argon2 hash
        while True:
            answer = httpx.get(f"{url}/api/v1/alerts", headers=admin, params={"active": "true", "limit": 500})
            answer.raise_for_status()
            struck = [a for a in answer.json() if a["is_exercise"] and a["jurisdiction_name"] == "Coblong"]
            if len(struck) >= PRESSES:
                break
            assert simulator.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"{len(struck)} of {PRESSES} mass-event alerts open in Coblong"
            time.sleep(0.5)
        categories = {a["category"] for a in struck}
        assert categories <= {"bencana_alam", "kesehatan", "kebakaran", "lainnya", "kriminalitas", "kecelakaan"}
        assert "bencana_alam" in categories
    finally:
        simulator.terminate()  # Ctrl-C: the exercise ends and its alerts are closed
        simulator.wait(timeout=90)
    output = log.read_text()
    assert "a mass event in Coblong" in output, output
    assert "exercise ended" in output, output


def test_a_mass_event_in_a_kecamatan_that_does_not_exist_is_refused_before_anything_is_made(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = server
    log = tmp_path / "simulate.log"
    simulator = _simulate(url, env, "--mass-event", "Atlantis", "--duration", "30", log=log)
    assert simulator.wait(timeout=60) == 1
    output = log.read_text()
    assert "no kecamatan 'Atlantis'" in output, output
    assert "Coblong" in output, "the message lists the kecamatan there are"
