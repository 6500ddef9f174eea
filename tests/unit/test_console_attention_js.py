"""The console's attention model (what needs a person now, and in what order) is a pure ES module with its own unit
tests in JavaScript; this runs them with Node's built-in test runner, so `pytest` covers them too.

Skipped with a reason where Node is missing; in CI (CI=true or SIAGA_REQUIRE_SERVICES=1) a missing Node fails.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "js" / "attention.test.mjs"


def test_the_console_attention_model_passes_its_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        if REQUIRE_SERVICES:
            pytest.fail("Node is required here (CI) but not installed: apt-get install -y nodejs")
        pytest.skip("Node is not installed (apt-get install -y nodejs); the console's JavaScript unit tests skipped")
    run = subprocess.run(
        [node, "--test", str(SUITE)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, f"node --test {SUITE.relative_to(ROOT)} failed:\n{run.stdout}\n{run.stderr}"
