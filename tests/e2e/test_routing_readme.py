"""The README's routing section, run as written with curl against a real ``siaga serve`` on a fresh demo database:
a kebakaran near ITB goes to Damkar Sektor Utara (responsible) and Polsek Coblong (informed), PSC 119 does not see
it, a fire engine is recommended when asked for one, and a category change hands it to PSC 119."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.test_readme import REPO, readme_blocks, server

__all__ = ["server"]  # the fixture (a fresh demo database and siaga serve), used by name below


def test_the_readme_routing_section_works_as_written(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    _, env = server
    # The walk-through's helpers and Siti's registration, then the section.
    script = "\n".join([*readme_blocks("walkthrough")[:2], *readme_blocks("routing")])
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace(".venv/bin/siaga", f"{sys.executable} -m siaga")],
        env={**env, "TMPDIR": str(tmp_path)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    lines = result.stdout.splitlines()
    assert "kebakaran damkar police" in lines
    assert "kesehatan psc119" in lines
    tail = lines[lines.index("kebakaran", lines.index("kebakaran damkar police") + 1) :]
    assert tail == [
        "kebakaran",  # the press
        "DAMKAR-SEKTOR-UTARA",  # responsible, as Damkar's operator reads it
        "Damkar Sektor Utara",  # and as Polsek Coblong's operator reads it: the Polsek sees it too
        "['POLSEK-COBLONG']",  # informed
        "404",  # PSC 119 does not see a fire
        "available",  # the crew on duty at the station
        "DAMKAR-UTARA-1",  # the fire engine recommended
        "PSC119-BDG",  # re-routed by the category change
        "category_changed kebakaran kesehatan PSC119-BDG",
        "404",  # Damkar no longer sees it
    ], result.stdout
