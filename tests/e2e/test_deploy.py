"""The deployment guide's files, run as the guide runs them: Debian's Caddy with TLS in front of two Siaga processes
on PostgreSQL and Redis carries a resident's press and an operator's live stream; the shipped systemd units parse;
the Caddyfile shown in docs/deploy.md is the one tested here."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from siaga.config import Settings
from tests.conftest import REQUIRE_SERVICES
from tests.e2e.test_processes import Cluster, _events, _login, _press, two_servers
from tests.servers import free_port, registered_resident, terminate

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CADDYFILE = DEPLOY / "Caddyfile"
UNITS = DEPLOY / "systemd"
GUIDE = REPO / "docs" / "deploy.md"
INSTALL_PREFIX = "/opt/siaga/.venv"  # where the units expect Siaga (docs/deploy.md)
DEADLINE = 60.0


def _caddy() -> str:
    path = shutil.which("caddy")
    if path is None:
        if REQUIRE_SERVICES:
            pytest.fail("Caddy is required here (CI) but not installed: apt-get install -y caddy")
        pytest.skip("Caddy is not installed (apt-get install -y caddy)")
    return path


def _caddy_env(folder: Path, **settings: str) -> dict[str, str]:
    """Caddy's environment: its data (certificates, its local CA) in ``folder``, never the user's own."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder / "home"),
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CONFIG_HOME": str(folder / "config"),
        **settings,
    }


def test_the_guide_shows_the_caddyfile_that_is_tested() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    assert f"```caddyfile\n{CADDYFILE.read_text(encoding='utf-8')}```" in guide


def test_the_example_environment_names_only_real_settings_and_is_accepted_once_filled_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = dict(
        line.split("=", 1)
        for line in (DEPLOY / "siaga.env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert set(example) <= {f"SIAGA_{name.upper()}" for name in Settings.model_fields}
    assert "SIAGA_DEV_MODE" not in example
    for name in [name for name in os.environ if name.startswith("SIAGA_")]:
        monkeypatch.delenv(name)
    for name, value in example.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="SIAGA_SECRET_KEY"):
        Settings(_env_file=None)  # as shipped: refused until the secrets are filled in
    monkeypatch.setenv("SIAGA_SECRET_KEY", "a-long-random-value-for-this-deployment-only-0123456789")
    monkeypatch.setenv("SIAGA_SMS_HTTP_URL", "https://sms.kota.example/send")
    settings = Settings(_env_file=None)
    assert not settings.dev_mode
    assert settings.hub_url.startswith("redis://")
    assert settings.database_url.startswith("postgresql+asyncpg://")


def test_the_caddyfile_is_valid_for_a_public_domain(tmp_path: Path) -> None:
    caddy = _caddy()
    env = _caddy_env(tmp_path, SIAGA_DOMAIN="siaga.kota.example", SIAGA_UPSTREAMS="127.0.0.1:8001 127.0.0.1:8002")

    def caddyfile(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [caddy, command, "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = caddyfile("validate")
    assert done.returncode == 0, done.stderr
    assert "not formatted" not in done.stderr  # `caddy fmt` has nothing to change
    adapted = caddyfile("adapt")
    assert adapted.returncode == 0, adapted.stderr
    server = json.loads(adapted.stdout)["apps"]["http"]["servers"]["srv0"]
    assert server["listen"] == [":443"]
    (proxy,) = _handlers(server, "reverse_proxy")
    assert [upstream["dial"] for upstream in proxy["upstreams"]] == ["127.0.0.1:8001", "127.0.0.1:8002"]
    assert proxy["health_checks"]["active"]["uri"] == "/livez"  # never /readyz: see docs/deploy.md


def _handlers(config: Any, name: str) -> list[dict[str, Any]]:
    """Every handler called ``name`` anywhere in an adapted Caddy configuration."""
    if isinstance(config, list):
        return [found for item in config for found in _handlers(item, name)]
    if not isinstance(config, dict):
        return []
    own = [config] if config.get("handler") == name else []
    return own + [found for value in config.values() for found in _handlers(value, name)]


def _installed_units(folder: Path) -> Path:
    """The units as installed: the same files, with Siaga where this checkout has it instead of /opt/siaga."""
    folder.mkdir()
    for unit in UNITS.iterdir():
        (folder / unit.name).write_text(unit.read_text().replace(INSTALL_PREFIX, sys.prefix))
    return folder


def test_the_systemd_units_parse(tmp_path: Path) -> None:
    units = _installed_units(tmp_path / "units")
    assert (units / "siaga@.service").read_text().count(sys.prefix) == 1
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        done = subprocess.run(
            [analyze, "verify", *(str(units / name) for name in ("siaga@8001.service", "siaga-migrate.service"))],
            cwd=units,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # systemd only warns ("ignoring") about a setting it cannot parse: any output is a mistake.
        assert (done.returncode, done.stdout + done.stderr) == (0, "")
        return
    for unit in units.iterdir():  # no systemd here: at least the shape of each unit
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(unit)
        assert "Unit" in parser, unit.name
        if unit.suffix == ".service":
            command = parser["Service"]["ExecStart"].split()
            assert Path(command[0]).is_file(), command


@dataclass
class Proxy:
    url: str
    http_url: str
    tls: ssl.SSLContext

    @property
    def wss(self) -> str:
        return self.url.replace("https://", "wss://") + "/api/v1/stream"


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    """Two ``siaga serve`` processes on a fresh PostgreSQL database and Redis, as the guide's walk-through runs
    them: migrated once with ``siaga db upgrade``, seeded with the demo city (development mode, for its accounts
    and the recorded SMS codes)."""
    async with two_servers(tmp_path_factory.mktemp("deployed"), ("db", "upgrade"), ("demo", "--no-serve")) as cluster:
        yield cluster


def _wait_for_tls(proxy_url: str, data: Path, process: subprocess.Popen[bytes], log: Path) -> ssl.SSLContext:
    """Caddy's local CA once it has issued localhost's certificate, and the site answering through it."""
    root = data / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        if root.exists():
            tls = ssl.create_default_context(cafile=str(root))
            try:
                if httpx.get(f"{proxy_url}/healthz", verify=tls, timeout=5).status_code == 200:
                    return tls
            except (httpx.TransportError, ssl.SSLError):
                pass
        time.sleep(0.2)
    raise AssertionError(f"Caddy did not serve {proxy_url} over TLS in time:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def proxy(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """Debian's Caddy running deploy/Caddyfile for ``localhost`` (a certificate from Caddy's own CA), on free
    ports, with no admin endpoint, in front of both processes."""
    caddy = _caddy()
    folder = tmp_path_factory.mktemp("caddy")
    https_port, http_port = free_port(), free_port()
    upstreams = " ".join(server.url.removeprefix("http://") for server in (cluster.a, cluster.b))
    env = _caddy_env(
        folder,
        SIAGA_DOMAIN="localhost",
        SIAGA_UPSTREAMS=upstreams,
        SIAGA_HTTPS_PORT=str(https_port),
        SIAGA_HTTP_PORT=str(http_port),
        SIAGA_CADDY_ADMIN="off",
    )
    log_path = folder / "caddy.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [caddy, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env=env,
            cwd=folder,
            stdout=log,
            stderr=log,
        )
    url = f"https://localhost:{https_port}"
    try:
        tls = _wait_for_tls(url, folder / "data", process, log_path)
        yield Proxy(url=url, http_url=f"http://localhost:{http_port}", tls=tls)
    finally:
        terminate(process)


async def test_a_press_and_the_console_stream_go_through_caddy_over_tls(cluster: Cluster, proxy: Proxy) -> None:
    async with httpx.AsyncClient(base_url=proxy.url, verify=proxy.tls, timeout=30) as https:
        operator = await _login(https, "operator1")
        resident = await registered_resident(https, cluster.folder)
        async with websockets.connect(f"{proxy.wss}/console?token={operator}", ssl=proxy.tls) as console:
            assert json.loads(await console.recv())["type"] == "hello"
            assert json.loads(await console.recv())["type"] == "snapshot"
            alert_id = await _press(https, resident)
            async for message in _events(console):
                if message["alert"]["id"] == alert_id:
                    assert message["event"]["kind"] == "created"
                    break


async def test_plain_http_is_sent_to_https_and_files_arrive_compressed(proxy: Proxy) -> None:
    async with httpx.AsyncClient(timeout=30) as plain:
        redirected = await plain.get(f"{proxy.http_url}/app")
    assert redirected.status_code in (301, 308)
    location = httpx.URL(redirected.headers["location"])  # Caddy 2.6 leaves out a non-standard HTTPS port
    assert (location.scheme, location.host, location.path) == ("https", "localhost", "/app")
    async with (
        httpx.AsyncClient(base_url=proxy.url, verify=proxy.tls, timeout=30) as https,
        https.stream("GET", "/static/resident/outbox-core.js", headers={"Accept-Encoding": "gzip"}) as script,
    ):
        assert script.status_code == 200
        assert script.headers["content-encoding"] == "gzip"
        assert script.headers["cache-control"] == "no-cache"
        # Prometheus scrapes each process itself; the public site has no /metrics.
        assert (await https.get("/metrics")).status_code == 404
