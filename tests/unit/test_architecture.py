"""The package contracts hold: no package imports one above it (so there are no cycles between packages), routers
import no routers and only the app mounts them, and the domain modules import no I/O. The contracts are in
pyproject.toml (``[tool.importlinter]``); the README's Architecture section explains the layers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_contracts_hold() -> None:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    result = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_list_no_exception_but_the_http_edge() -> None:
    """An import that points the wrong way is fixed, not listed: the only imports the contracts let through are the
    routers' (the HTTP edge, mounted by the app, may import any package)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    ignored = {contract["id"]: sorted(contract.get("ignore_imports", [])) for contract in config["contracts"]}
    assert ignored == {
        "layers": ["siaga.*.router -> siaga.**", "siaga.accounts.login -> siaga.**"],
        "routers": [],
        "mounted": [],
        "pure-domain": [],
    }
