"""The README's webhook section, run as written: a demo database, ``siaga serve`` allowed to send to this machine,
the section's blocks (a subscription, ``siaga webhook listen`` as the receiver, a test event, an SOS press): the
receiver verified both messages' signatures and printed them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.test_readme import REPO, SIAGA, readme_blocks
from tests.servers import free_port, terminate, wait_until_healthy


def test_the_readme_webhook_section_works_as_written(tmp_path: Path) -> None:
    port, receiver = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIAGA_")},
        "SIAGA_DEV_MODE": "1",
        "SIAGA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'siaga.db'}",
        "SIAGA_PORT": str(port),
        "SIAGA_URL": f"http://127.0.0.1:{port}",
        "SIAGA_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "SIAGA_LOG_LEVEL": "WARNING",
    }
    seeded = subprocess.run([*SIAGA, "demo", "--no-serve"], env=env, cwd=REPO, capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen([*SIAGA, "serve", "--no-upgrade"], env=env, cwd=REPO, stdout=log, stderr=log)
    try:
        wait_until_healthy(env["SIAGA_URL"], process, tmp_path / "server.log")
        preamble = readme_blocks("walkthrough")[0]  # B and json
        script = (
            "\n".join([preamble, *readme_blocks("webhooks")])
            .replace(".venv/bin/siaga", f"{sys.executable} -m siaga")
            .replace("9100", str(receiver))
        )
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        terminate(process)
        log.close()
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    lines = result.stdout.splitlines()
    assert lines[:2] == ["webhook.test", "new"], result.stdout
    assert "webhook.test None" in lines
    assert any(line.startswith("alert.created") and "Coblong" in line for line in lines), result.stdout
