"""Watching a running Siaga: /metrics counts what an operator needs, only monitoring may read it, /readyz says when a
part of the process is down (a dead SOS writer, a hub whose Redis went away), and the access log has request ids
without a line per position update."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from urllib.parse import urlsplit

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from siaga.accounts.domain import Role
from siaga.app import create_app
from siaga.runtime import Runtime
from tests.conftest import REQUIRE_SERVICES, Api, eventually, served_with, sos_body
from tests.e2e.test_processes import _redis_problem
from tests.e2e.test_streams import Client, Live, live

__all__ = ["live"]  # the fixture, used by name below

REDIS_URL = os.environ.get("SIAGA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
COBLONG = {"agency": "POLSEK-COBLONG", "state": "new", "exercise": "false"}


def figure(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 if absent)."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def scrape(http: httpx.AsyncClient) -> str:
    answer = await http.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


async def test_metrics_count_presses_received_stored_and_refused_by_reason(api: Api) -> None:
    resident = await api.resident()
    before = await scrape(api.http)
    await api.press(resident)
    anonymous = await api.http.post("/api/v1/alerts", json=sos_body())
    invalid = await api.http.post("/api/v1/alerts", json={"id": "not-a-uuid"}, headers=resident.headers)
    assert (anonymous.status_code, invalid.status_code) == (401, 422)
    after = await scrape(api.http)

    def grew(name: str, **labels: str) -> float:
        return figure(after, name, **labels) - figure(before, name, **labels)

    assert grew("siaga_sos_presses_received_total") == 3
    assert grew("siaga_sos_presses_stored_total") == 1
    assert grew("siaga_sos_presses_refused_total", reason="auth.required") == 1
    assert grew("siaga_sos_presses_refused_total", reason="request.invalid") == 1
    assert grew("siaga_sos_press_to_commit_seconds_count") == 1
    assert grew("siaga_sos_writer_batch_size_count") >= 1
    assert figure(after, "siaga_ready", check="sos_writer") == 1

    # Read from the database when scraped (at most every few seconds): the alert is open in Coblong's Polsek.
    async def coblong_open() -> float:
        return figure(await scrape(api.http), "siaga_alerts_open", **COBLONG)

    assert await eventually(coblong_open, what="the open alert in the metrics") == 1


async def test_commit_to_console_latency_is_observed_for_a_console_on_its_stream(live: Live) -> None:
    operator = await live.api.staff(Role.OPERATOR)
    resident = await live.api.resident()
    before = await scrape(live.api.http)
    async with websockets.connect(f"{live.ws}/console?token={operator.token}") as connection:
        console = Client(connection)
        await console.until(lambda m: m["type"] == "snapshot")
        opened = figure(await scrape(live.api.http), "siaga_streams_open", kind="console")
        alert = await live.api.press(resident)
        await console.until(lambda m: m["type"] == "alert_event" and m["alert"]["id"] == alert["id"])
    after = await scrape(live.api.http)
    assert opened == figure(before, "siaga_streams_open", kind="console") + 1
    observed = figure(after, "siaga_sos_commit_to_console_seconds_count")
    assert observed - figure(before, "siaga_sos_commit_to_console_seconds_count") >= 1


async def test_metrics_answer_only_the_monitoring_networks_and_with_the_token_once_set(
    api: Api, db: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(db.settings, runtime=db)
    app.state.runtime = db  # the api fixture's app runs the runtime
    outside = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 40000)), base_url="http://siaga.test"
    )
    async with outside:
        refused = await outside.get("/metrics")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "metrics.forbidden"
        assert "siaga_" not in refused.text
        assert (await api.http.get("/metrics")).status_code == 200  # from this machine

        monkeypatch.setattr(db.settings, "metrics_token", SecretStr("a-scrape-token-for-prometheus"))
        monkeypatch.setattr(db.settings, "metrics_allow", "127.0.0.0/8,203.0.113.0/24")
        assert (await api.http.get("/metrics")).status_code == 403
        wrong = await outside.get("/metrics", headers={"Authorization": "Bearer guessed"})
        assert wrong.status_code == 403
        right = await outside.get("/metrics", headers={"Authorization": "Bearer a-scrape-token-for-prometheus"})
        assert right.status_code == 200
        assert "siaga_sos_presses_received_total" in right.text


async def test_a_running_process_is_live_and_ready_with_the_age_of_each_part(api: Api) -> None:
    alive = await api.http.get("/livez")
    assert alive.status_code == 200
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "hub", "sos_writer", "timer_sweep"}
    assert all(check["ok"] and check["age_s"] >= 0 for check in body["checks"].values())
    assert (await api.http.get("/healthz")).json()["status"] == "ok"  # kept for what already probes it


async def test_a_dead_sos_writer_makes_the_process_not_ready_and_presses_are_still_stored(
    api: Api, db: Runtime
) -> None:
    resident = await api.resident()
    writer = db.ingest._worker  # the writer task dies, as an unexpected crash would end it
    assert writer is not None
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)

    answer = await api.http.get("/readyz")
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["sos_writer"]["ok"] is False
    assert "not running" in checks["sos_writer"]["detail"]
    assert checks["database"]["ok"]
    assert checks["timer_sweep"]["ok"]
    stored = await api.press(resident)  # an SOS is never lost: stored on its own
    seen = await api.get(await api.staff(Role.OPERATOR), f"/alerts/{stored['id']}")
    assert seen.status_code == 200
    assert figure(await scrape(api.http), "siaga_ready", check="sos_writer") == 0


class Cable:
    """A TCP relay between the hub and the machine's Redis that the test can cut and mend: Redis going away, and
    coming back, for this process only."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.listen_port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def mend(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()


async def test_a_hub_whose_redis_goes_away_makes_the_process_not_ready_until_it_is_back(db: Runtime) -> None:
    problem = await _redis_problem()
    if problem is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required here (CI) but unreachable at {REDIS_URL}: {problem}")
        pytest.skip(f"Redis unreachable at {REDIS_URL} ({problem})")
    redis = urlsplit(REDIS_URL)
    cable = Cable(redis.hostname or "127.0.0.1", redis.port or 6379)
    await cable.mend()
    try:
        async with served_with(db, hub_url=f"redis://127.0.0.1:{cable.listen_port}{redis.path or '/0'}") as served:
            http = served.http

            async def readiness(status: int) -> dict[str, dict[str, object]] | None:
                answer = await http.get("/readyz")
                return answer.json()["checks"] if answer.status_code == status else None

            ready = await eventually(lambda: readiness(200), what="ready with Redis up")
            assert ready["hub"]["ok"] is True
            await cable.cut()
            down = await eventually(lambda: readiness(503), what="not ready once Redis is gone")
            assert down["hub"]["ok"] is False
            assert down["database"]["ok"]
            assert down["sos_writer"]["ok"]
            await cable.mend()
            back = await eventually(lambda: readiness(200), what="ready again once Redis is back")
            assert back["hub"]["ok"] is True
    finally:
        with contextlib.suppress(Exception):
            await cable.cut()


async def test_a_hub_that_never_answered_makes_the_process_not_ready(db: Runtime) -> None:
    async with served_with(db, hub_url="redis://127.0.0.1:9/0") as served:
        answer = await served.http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["checks"]["hub"]["ok"] is False
        assert "redis://" not in answer.text.replace("redis hub", "")  # no URL (it may hold a password)


async def test_each_request_carries_a_request_id_in_its_answer_and_its_log_records(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="siaga.http"):
        given = await api.http.get("/livez", headers={"X-Request-ID": "trace-4bf92f3577b34da6"})
        made = await api.http.get("/livez")
        forged = await api.http.get("/livez", headers={"X-Request-ID": "a\tb" * 100})
    assert given.headers["x-request-id"] == "trace-4bf92f3577b34da6"
    assert len(made.headers["x-request-id"]) == 32
    assert forged.headers["x-request-id"] not in ("a\tb" * 100, made.headers["x-request-id"])
    logged = [getattr(r, "request_id", None) for r in caplog.records if r.name == "siaga.http"]
    assert logged == [given.headers["x-request-id"], made.headers["x-request-id"], forged.headers["x-request-id"]]


async def test_position_updates_are_counted_but_not_logged_one_line_each(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-LOG-1")
    before = await scrape(api.http)
    refused = await api.post(officer, "/officers/me/location", {"lat": -6.8915, "lon": 107.6107})
    assert refused.status_code == 422  # off duty: a refusal is logged
    on = await api.http.put("/api/v1/officers/me/duty", json={"mode": "patrol"}, headers=officer.headers)
    assert on.status_code == 200, on.text
    with caplog.at_level(logging.INFO, logger="siaga.http"):
        for step in range(5):
            sent = await api.post(officer, "/officers/me/location", {"lat": -6.8915 + step / 1e4, "lon": 107.6107})
            assert sent.status_code == 202, sent.text
        await api.http.get("/livez")
    after = await scrape(api.http)
    paths = [r.path for r in caplog.records if r.name == "siaga.http"]  # type: ignore[attr-defined]
    assert paths == ["/livez"]
    counted = figure(after, "siaga_position_updates_total", status="202")
    assert counted - figure(before, "siaga_position_updates_total", status="202") == 5
    assert figure(after, "siaga_position_updates_total", status="422") >= 1
