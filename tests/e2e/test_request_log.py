"""The access log: one ``siaga.http`` record per HTTP request, with the status the client got."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import Api, sos_body


async def test_each_request_is_logged_once_with_the_status_the_client_got(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    resident = await api.resident()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="siaga.http"):
        pressed = await api.http.post("/api/v1/alerts", json=sos_body(), headers=resident.headers)
        unknown = await api.http.get("/api/v1/no-such-thing")
        too_big = await api.http.post(
            "/api/v1/alerts",
            content=b"x" * (api.runtime.settings.max_body_bytes + 1),
            headers={**resident.headers, "Content-Type": "application/json"},
        )
    assert (pressed.status_code, unknown.status_code, too_big.status_code) == (201, 404, 413)
    records = [r for r in caplog.records if r.name == "siaga.http"]
    assert [(r.method, r.path, r.status) for r in records] == [  # type: ignore[attr-defined]
        ("POST", "/api/v1/alerts", 201),
        ("GET", "/api/v1/no-such-thing", 404),
        ("POST", "/api/v1/alerts", 413),
    ]
    assert all(r.ms >= 0 and r.client for r in records)  # type: ignore[attr-defined]
