"""The README's panic-button section, run as written: on a fresh demo database, register a site and a button with
the command line, generate the broker's files, run a real Mosquitto with them and a real ``siaga serve`` following
it, press the button with ``mosquitto_pub``: the alert is there, the site's, with what the console shows."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.e2e.test_readme import REPO, SIAGA, readme_blocks
from tests.servers import free_port, terminate, wait_until_healthy

DEADLINE_S = 60.0


def _script(name: str, mqtt_port: int, folder: Path) -> str:
    """A README block as a script here: this interpreter's siaga, the test's broker port and folder."""
    return (
        "\n".join(readme_blocks(name))
        .replace(".venv/bin/siaga", f"{sys.executable} -m siaga")
        .replace("127.0.0.1:1883", f"127.0.0.1:{mqtt_port}")
        .replace("-p 1883", f"-p {mqtt_port}")
        .replace("/etc/mosquitto/siaga", str(folder))
    )


def _run(script: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def _device_alerts(database: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT alerts.channel, residents.name, alerts.description FROM alerts "
            "JOIN residents ON residents.id = alerts.resident_id WHERE alerts.channel = 'device'"
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def test_the_readme_panic_button_section_works_as_written(tmp_path: Path) -> None:
    for command in ("mosquitto", "mosquitto_pub"):
        if shutil.which(command) is None:
            if REQUIRE_SERVICES:
                pytest.fail(f"{command} is required here (CI) but not installed")
            pytest.skip(f"{command} is not installed (Debian's mosquitto and mosquitto-clients)")
    broker_files = tmp_path / "mosquitto"
    mqtt_port, port = free_port(), free_port()
    database = tmp_path / "siaga.db"
    env = {
        **os.environ,
        "SIAGA_DEV_MODE": "1",
        "SIAGA_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "SIAGA_PORT": str(port),
        "TMPDIR": str(tmp_path),
    }
    env.pop("SIAGA_MQTT_URL", None)
    seeded = subprocess.run([*SIAGA, "demo", "--no-serve"], env=env, cwd=REPO, capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr

    # The README's setup block, and the password it printed (the press block uses it).
    out = _run(_script("devices-setup", mqtt_port, broker_files) + '\necho "PASSWORD=$PASSWORD"', env)
    password = re.search(r"^PASSWORD=(\S+)$", out, flags=re.MULTILINE)
    assert password is not None, out
    assert (broker_files / "acl").read_text().count("user bank-dago-1") == 1

    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"user {getpass.getuser()}\nlistener {mqtt_port} 127.0.0.1\nallow_anonymous false\npersistence false\n"
        f"password_file {broker_files / 'passwd'}\nacl_file {broker_files / 'acl'}\n"
    )
    log = (tmp_path / "server.log").open("w")
    broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=log)
    served_env = {**env, "SIAGA_MQTT_URL": f"mqtt://siaga:a-long-secret@127.0.0.1:{mqtt_port}"}
    server = subprocess.Popen([*SIAGA, "serve", "--no-upgrade"], env=served_env, cwd=REPO, stdout=log, stderr=log)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", server, tmp_path / "server.log")
        # Siaga connects to the broker in the background. Its session keeps what is published from its first
        # subscription on (a real deployment's broker has had it for long): wait until it has subscribed.
        deadline = time.monotonic() + DEADLINE_S
        while "following device topics" not in (tmp_path / "server.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            assert broker.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        _run(f"PASSWORD={password.group(1)}\n" + _script("devices-press", mqtt_port, broker_files), env)
        while not _device_alerts(database):
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
    finally:
        terminate(server)
        terminate(broker)
        log.close()
    [(channel, caller, description)] = _device_alerts(database)
    assert (channel, caller) == ("device", "Bank Uji Dago")
    for fact in ("Jl. Ir. H. Juanda 12", "Lantai 2, pintu samping", "teller 2", "Pak Budi 081234500001 (satpam)"):
        assert fact in description
