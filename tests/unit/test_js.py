"""The apps' pure JavaScript modules (the console's attention model, the shared error text) have unit tests of
their own under tests/js; this runs each with Node's built-in test runner, so `pytest` covers them too. Skipped where
Node is missing, failed instead in CI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
SUITES = sorted((ROOT / "tests" / "js").glob("*.test.mjs"))


@pytest.mark.parametrize("suite", SUITES, ids=[s.name for s in SUITES])
def test_the_javascript_modules_pass_their_node_tests(suite: Path) -> None:
    node = shutil.which("node")
    if node is None:
        if REQUIRE_SERVICES:
            pytest.fail("Node is required here (CI) but not installed: apt-get install -y nodejs")
        pytest.skip("Node is not installed (apt-get install -y nodejs); the JavaScript unit tests are skipped")
    run = subprocess.run(
        [node, "--test", str(suite)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, f"node --test {suite.relative_to(ROOT)} failed:\n{run.stdout}\n{run.stderr}"


def test_there_are_javascript_suites_to_run() -> None:
    assert {s.name for s in SUITES} >= {"attention.test.mjs", "errors.test.mjs"}
