"""The README's CAP section, run as written with curl against a real ``siaga serve`` on a fresh demo database: a
resident's fire is read as CAP and in the Atom feed, the caller is named only when asked, and her cancel turns the
message into a Cancel that the OASIS schema accepts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import xmlschema

from tests.conftest import CAP_SCHEMA
from tests.e2e.test_readme import REPO, readme_blocks, server

__all__ = ["server"]  # the fixture (a fresh demo database and siaga serve), used by name below

# The walk-through's logins the section continues with (the rest of the walk-through is tested on its own).
LOGINS = """
OPERATOR=$(curl -s -X POST $B/auth/login -H 'Content-Type: application/json' \\
  -d '{"username": "operator1", "password": "siaga-demo-2026"}' | json '["access_token"]')
SUPERVISOR=$(curl -s -X POST $B/auth/login -H 'Content-Type: application/json' \\
  -d '{"username": "supervisor", "password": "siaga-demo-2026"}' | json '["access_token"]')
"""


def test_the_readme_cap_section_works_as_written(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    _, env = server
    kept = tmp_path / "cancel.xml"
    script = "\n".join(
        [
            readme_blocks("walkthrough")[0],
            LOGINS,
            *readme_blocks("cap"),
            f'curl -s $B/alerts/$FIRE/cap -H "Authorization: Bearer $OPERATOR" > {kept}',
        ]
    ).replace(".venv/bin/siaga", f"{sys.executable} -m siaga")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={**env, "TMPDIR": str(tmp_path)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "new",
        "Alert Actual Fire -6.893000,107.615000 0.020",
        "SOS kebakaran di Kecamatan Coblong",
        "Pelapor: Dewi Lestari (+6281277770101).",
    ], result.stdout
    assert lines[4:6] == ["cancelled", "Cancel Dibatalkan oleh pelapor."], result.stdout
    reads = sorted(lines[6:])
    assert len(reads) == 3, result.stdout
    assert all(line.startswith("alert.read_cap ") for line in reads), result.stdout
    assert sorted(line.rsplit(" ", 1)[1] for line in reads) == ["False", "False", "True"], result.stdout
    xmlschema.XMLSchema(str(CAP_SCHEMA)).validate(kept.read_text(encoding="utf-8"))
