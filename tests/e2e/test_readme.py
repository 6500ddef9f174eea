"""The README's walk-through, run as written against a real `siaga serve` process on a fresh demo database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, terminate, wait_until_healthy

REPO = Path(__file__).resolve().parents[2]
SIAGA = [sys.executable, "-m", "siaga"]


def readme_blocks(name: str) -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(f"<!-- {name}:start -->", 1)[1].split(f"<!-- {name}:end -->", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def walkthrough_script() -> str:
    blocks = readme_blocks("walkthrough")
    assert len(blocks) >= 6, "the walk-through lost its command blocks"
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("readme")
    port = free_port()
    env = {
        **os.environ,
        "SIAGA_DEV_MODE": "1",
        "SIAGA_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'siaga.db'}",
        "SIAGA_PORT": str(port),
        "SIAGA_URL": f"http://127.0.0.1:{port}",
    }
    seeded = subprocess.run([*SIAGA, "demo", "--no-serve"], env=env, cwd=REPO, capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr
    assert "operator1" in seeded.stdout
    log = (folder / "server.log").open("w")
    process = subprocess.Popen([*SIAGA, "serve", "--no-upgrade"], env=env, cwd=REPO, stdout=log, stderr=log)
    try:
        wait_until_healthy(env["SIAGA_URL"], process, folder / "server.log")
        yield env["SIAGA_URL"], env
    finally:
        terminate(process)
        log.close()


def test_the_readme_walkthrough_and_live_section_work_as_written(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    _, env = server
    blocks = "\n".join(readme_blocks("walkthrough") + readme_blocks("live"))
    assert not re.search(r"^\s*sleep \d", blocks, flags=re.MULTILINE), "the README's blocks wait a fixed time"
    # The README calls .venv/bin/siaga; point it at this interpreter's siaga wherever the suite runs.
    script = (walkthrough_script() + "\n" + "\n".join(readme_blocks("live"))).replace(
        ".venv/bin/siaga", f"{sys.executable} -m siaga"
    )
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={**env, "TMPDIR": str(tmp_path)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    out, live = result.stdout.split("console:", 1)
    # The walk-through: registration, the press, acknowledgement, dispatch, the officer's steps, the records.
    assert "Coblong" in out
    assert "COBLONG-1" in out
    assert '"officer_names":["Bripka Asep"]' in out
    for state in ("acknowledged", "en_route", "on_scene"):
        assert state in out
    assert "to_close_s" in out
    for kind in ("created", "acknowledged", "dispatched", "en_route", "on_scene", "resolved"):
        assert re.search(rf"\s{kind}\s", out), f"timeline lacks {kind}"
    assert "alert.resolved" in out
    assert "resident.login" not in out  # the audit query was filtered to the alert
    # The live section: the console saw every step of the second press, the officer's phone from the offer on.
    console, officer = live.split("officer:", 1)
    console_kinds = [line.split()[1] for line in console.strip().splitlines()]
    officer_kinds = [line.split()[1] for line in officer.strip().splitlines()]
    assert console_kinds == ["created", "offered", "dispatched", "en_route", "on_scene", "resolved"], result.stdout
    assert officer_kinds == ["offered", "dispatched", "en_route", "on_scene", "resolved"], result.stdout


def test_the_readme_tracker_section_works_as_written(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    """The tracker section continues the walk-through (run first, above: Siti is registered and her alerts are
    closed): a unit's tracker reports, a resident's tracker sends one SOS twice, and there is one alert."""
    _, env = server
    operator = (
        "OPERATOR=$(curl -s -X POST $B/auth/login -H 'Content-Type: application/json' "
        """-d '{"username": "operator1", "password": "siaga-demo-2026"}' | json '["access_token"]')"""
    )
    script = "\n".join([readme_blocks("walkthrough")[0], operator, *readme_blocks("trackers")])
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={**env, "TMPDIR": str(tmp_path)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.stdout.splitlines() == [
        "COBLONG-1-GPS",
        "Siti Rahma",
        "200",
        "200",
        "200",
        "tracker Siti Rahma Coblong",
    ], result.stdout
