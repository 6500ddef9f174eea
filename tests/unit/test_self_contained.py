"""A clone of the repository is all a user has: nothing in it may read or link a folder beside it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The project's working notes lived in a folder beside the clone; a user's clone has none. Written so that this
# file does not match itself.
OUTSIDE = [
    re.compile(r"\.\./shared\b"),  # a relative path or link to it
    re.compile("/work" + r"/shared\b"),  # the path on the machine it was developed on
    re.compile(r"""\.parents?\b[^\n]*/\s*["']shared["']"""),  # a path built from this file up and over to it
]


def _tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [REPO / name for name in listed.decode().split("\0") if name]


def test_no_tracked_file_reads_or_links_outside_the_repository() -> None:
    offenders: list[str] = []
    checked = 0
    for path in _tracked_files():
        if not path.is_file():  # deleted in the working tree, not yet committed
            continue
        content = path.read_bytes()
        if b"\0" in content:  # binary: images and the like
            continue
        checked += 1
        text = content.decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if any(pattern.search(line) for pattern in OUTSIDE):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:120]}")
    assert checked > 100, f"only {checked} text files listed: is this the whole repository?"
    assert not offenders, "these lines read or link a folder outside the repository:\n" + "\n".join(offenders)


def test_the_data_the_tests_and_demo_use_is_in_the_repository_with_its_licence() -> None:
    from tests.conftest import BANDUNG_GEOJSON, CAP_SCHEMA, LAMPUNG_GEOJSON

    for path in (BANDUNG_GEOJSON, LAMPUNG_GEOJSON, CAP_SCHEMA):
        assert path.is_file(), path
        assert path.resolve().is_relative_to(REPO), f"{path} is outside the repository"
    # Attribution travels with the data: OpenStreetMap's (ODbL) for Bandung, the sources of the test-only files.
    assert "OpenStreetMap contributors" in (BANDUNG_GEOJSON.parent / "README.md").read_text(encoding="utf-8")
    notes = (LAMPUNG_GEOJSON.parents[1] / "README.md").read_text(encoding="utf-8")
    for name in (LAMPUNG_GEOJSON.name, CAP_SCHEMA.name):
        assert name in notes, f"tests/data/README.md does not say where {name} comes from"
