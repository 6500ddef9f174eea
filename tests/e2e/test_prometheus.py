"""Siaga watched by Debian's real Prometheus, and the alert rules and Grafana dashboard shipped in deploy/monitoring:
Prometheus scrapes a running Siaga and answers a query about presses stored; the rules load, parse and pass their
unit tests; the rules and the dashboard name only metrics Siaga serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REQUIRE_SERVICES, Api, eventually
from tests.e2e.test_monitoring import figure, scrape
from tests.e2e.test_streams import Live, live
from tests.servers import free_port

__all__ = ["live"]  # the fixture, used by name below

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
RULES = MONITORING / "alerts.yml"
DASHBOARD = MONITORING / "grafana-dashboard.json"
METRIC = re.compile(r"\b(?:siaga|process)_[a-z0-9_]+\b")
FROM_PROMETHEUS = {"up"}  # series Prometheus makes itself for every target


def _tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if found is None:
        if REQUIRE_SERVICES:
            pytest.fail(f"{name} is required here (CI installs Debian's prometheus package)")
        pytest.skip(f"{name} is not installed (apt-get install prometheus)")
    return found


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Any]:
    """Start Debian's Prometheus scraping the given Siaga every second; stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []
    logs: list[IO[bytes]] = []

    def start(target: str) -> str:
        binary = _tool("prometheus")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{"job_name": "siaga", "static_configs": [{"targets": [target]}]}],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        port = free_port()
        log = (tmp_path / "prometheus.log").open("wb")
        logs.append(log)
        started.append(
            subprocess.Popen(
                [
                    binary,
                    f"--config.file={tmp_path / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp_path / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=log,
                cwd=tmp_path,
            )
        )
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for process in started:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


async def test_prometheus_scrapes_a_running_siaga_and_answers_how_many_presses_were_stored(
    live: Live, prometheus_for: Any, tmp_path: Path
) -> None:
    api = live.api
    target = api.http.base_url.netloc.decode()
    prometheus = prometheus_for(target)
    async with httpx.AsyncClient(base_url=prometheus, timeout=10) as http:

        async def query(expression: str) -> float | None:
            try:
                answer = await http.get("/api/v1/query", params={"query": expression})
            except httpx.TransportError:
                return None  # still starting
            result = answer.json()["data"]["result"] if answer.status_code == 200 else []
            return float(result[0]["value"][1]) if result else None

        async def siaga_up() -> bool:
            return await query(f'up{{job="siaga",instance="{target}"}}') == 1.0

        await eventually(siaga_up, within=90, what=f"Prometheus's first successful scrape ({tmp_path}/prometheus.log)")
        stored_before = figure(await scrape(api.http), "siaga_sos_presses_stored_total")
        for _ in range(3):
            await api.press(await api.resident())  # each resident's own alert

        async def stored_seen() -> float | None:
            value = await query('sum(siaga_sos_presses_stored_total{job="siaga"})')
            return value if value is not None and value >= stored_before + 3 else None

        assert await eventually(stored_seen, within=60, what="the presses in Prometheus") >= stored_before + 3
        ready = await eventually(
            lambda: query('min(siaga_ready{job="siaga"})'), within=30, what="the readiness figure in Prometheus"
        )
        assert ready == 1.0
        rules = (await http.get("/api/v1/rules")).json()["data"]["groups"]
        assert {"siaga-sos", "siaga-process", "siaga-devices"} <= {group["name"] for group in rules}
        assert all(rule["health"] != "err" for group in rules for rule in group["rules"])


def test_the_alert_rules_parse_and_fire_when_presses_arrive_and_none_is_stored() -> None:
    promtool = _tool("promtool")
    checked = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", str(MONITORING / "alerts_test.yml")], capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _served_series(exposition: str) -> set[str]:
    """Every series name a scrape of this exposition gives Prometheus (families with no samples yet included)."""
    names: set[str] = set()
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "summary": ["", "_sum", "_count"]}
    for family in text_string_to_metric_families(exposition):
        names.update(family.name + suffix for suffix in suffixes.get(family.type, [""]))
    return names


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def _rule_expressions() -> list[str]:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


async def test_the_rules_and_the_dashboard_name_only_metrics_siaga_serves(api: Api) -> None:
    served = _served_series(await scrape(api.http)) | FROM_PROMETHEUS
    for source, expressions in (
        ("alerts.yml", _rule_expressions()),
        ("grafana-dashboard.json", _dashboard_expressions()),
    ):
        assert expressions, f"{source} has no expressions"
        named = {name for expression in expressions for name in METRIC.findall(expression)}
        named |= {name for name in FROM_PROMETHEUS if any(re.search(rf"\b{name}\{{", e) for e in expressions)}
        assert named, f"{source} names no metric"
        unknown = sorted(named - served)
        assert not unknown, f"{source} names metrics Siaga does not serve: {unknown}"
