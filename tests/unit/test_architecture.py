"""The package contracts hold: no package imports one above it (so there are no cycles between packages), routers
import no routers and only the app mounts them, and the domain modules import no I/O. The contracts are in
pyproject.toml (``[tool.importlinter]``); the README's Architecture section explains the layers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_contracts_hold() -> None:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    result = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
