"""The apps' one way to show an error (js/errors.js) has its own unit tests in JavaScript; this runs them with Node's
built-in test runner, so `pytest` covers them too. Skipped where Node is missing, failed in CI as for the console's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "js" / "errors.test.mjs"


def test_errors_are_shown_in_the_readers_language_by_their_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        if REQUIRE_SERVICES:
            pytest.fail("Node is required here (CI) but not installed: apt-get install -y nodejs")
        pytest.skip("Node is not installed (apt-get install -y nodejs); the error text's JavaScript unit tests skipped")
    run = subprocess.run(
        [node, "--test", str(SUITE)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, f"node --test {SUITE.relative_to(ROOT)} failed:\n{run.stdout}\n{run.stderr}"
