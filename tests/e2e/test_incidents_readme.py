"""The README's section on priority and linked alerts, run as written with curl against a real ``siaga serve`` on a
fresh demo database: two witnesses' presses are linked into one incident, the second's priority is raised with a
reason (an empty reason refused), and splitting it off dissolves the incident, each step on its timeline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.test_readme import REPO, readme_blocks, server

__all__ = ["server"]  # the fixture (a fresh demo database and siaga serve), used by name below


def test_the_readme_incidents_section_works_as_written(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    _, env = server
    script = "\n".join([readme_blocks("walkthrough")[0], *readme_blocks("incidents")])
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace(".venv/bin/siaga", f"{sys.executable} -m siaga")],
        env={**env, "TMPDIR": str(tmp_path)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.stdout.splitlines() == [
        "Perkelahian di Jalan Ganesha 2 SOS",
        "high",
        "alert.priority_reason_required",
        "[]",  # the incident had two alerts: splitting one off dissolves it
        "created linked priority_changed unlinked",
    ], result.stdout
