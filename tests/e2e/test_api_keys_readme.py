"""The README's API keys section, run as written with curl and the `siaga` command against a real ``siaga serve``
on a fresh demo database: a gateway's key raises a shop's panic, a dashboard's key reads it but may not raise, and
the dashboard's key is refused once the administrator revokes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.test_readme import REPO, readme_blocks, server

__all__ = ["server"]  # the fixture (a fresh demo database and siaga serve), used by name below


def test_the_readme_api_keys_section_works_as_written(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    _, env = server
    script = "\n".join([readme_blocks("walkthrough")[0], *readme_blocks("apikeys")])
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace(".venv/bin/siaga", f"{sys.executable} -m siaga")],
        env={**env, "TMPDIR": str(tmp_path)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.stdout.splitlines() == [
        "received",
        "gateway",
        "403",
        "Dasbor Polsek Coblong",
        "auth.invalid_key",
    ], result.stdout
