"""The README's partner-centres section, run as written: two `siaga serve` processes on demo databases of their own,
this Siaga and a second one started as the "112 centre"; after the walk-through, the alert handed over reaches the
112 centre, and what it received is a valid EIDO."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.e2e.test_readme import readme_blocks
from tests.servers import free_port, terminate, wait_until_healthy
from tests.unit.test_eido import assert_valid_eido

REPO = Path(__file__).resolve().parents[2]
SIAGA = [sys.executable, "-m", "siaga"]


@pytest.fixture
def centres(tmp_path: Path) -> Iterator[dict[str, str]]:
    """This Siaga and the 112 centre, each a demo database of its own served by `siaga serve`."""
    processes: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
    urls = {}
    try:
        for name in ("siaga", "centre-112"):
            folder = tmp_path / name
            folder.mkdir()
            port = free_port()
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")},
                "SIAGA_DEV_MODE": "1",
                "SIAGA_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'siaga.db'}",
                "SIAGA_PORT": str(port),
                "SIAGA_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "SIAGA_LOG_LEVEL": "WARNING",
                "SIAGA_PARTNER_ALLOWED_NETWORKS": "127.0.0.1/32",  # each centre reaches the other on this machine
            }
            seeded = subprocess.run([*SIAGA, "demo", "--no-serve"], env=env, cwd=folder, capture_output=True, text=True)
            assert seeded.returncode == 0, seeded.stderr
            log = (folder / "server.log").open("wb")
            process = subprocess.Popen([*SIAGA, "serve", "--no-upgrade"], env=env, cwd=folder, stdout=log, stderr=log)
            processes.append((process, log))
            wait_until_healthy(env["SIAGA_PUBLIC_URL"], process, folder / "server.log")
            urls[name] = env["SIAGA_PUBLIC_URL"]
            if name == "siaga":
                urls["env"] = json.dumps(env)
        yield urls
    finally:
        for process, log in processes:
            terminate(process)
            log.close()


def test_the_readme_partner_section_hands_an_alert_over_to_a_second_siaga(
    centres: dict[str, str], tmp_path: Path
) -> None:
    env = {**json.loads(centres["env"]), "SIAGA_URL": centres["siaga"], "SIAGA_112_URL": centres["centre-112"]}
    script = "\n".join(readme_blocks("walkthrough") + readme_blocks("partners")).replace(
        ".venv/bin/siaga", f"{sys.executable} -m siaga"
    )
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={**env, "TMPDIR": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.stdout.splitlines()[-4:] == ["siaga-a", "new", "pending", "partner kebakaran Coblong"], result.stdout
    received = json.loads((tmp_path / "alert-eido.json").read_text())
    assert_valid_eido(received)
    assert received["incidentComponent"]["incidentTypeInternalCode"] == "kebakaran"
