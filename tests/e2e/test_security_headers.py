"""What a deployment shows the world: no API description or documentation pages unless asked for (the pages load
their scripts from a CDN, which nothing here may), and the protective headers on every answer."""

from __future__ import annotations

import httpx

from siaga.app import create_app
from siaga.runtime import Runtime
from tests.conftest import make_settings

PRODUCTION = {"dev_mode": False, "sms_adapter": "http", "sms_http_url": "http://127.0.0.1:9/sms"}


async def _get(runtime: Runtime, path: str, **settings: object) -> httpx.Response:
    app = create_app(make_settings(runtime.settings.database_url, **settings), runtime=runtime)
    app.state.runtime = runtime  # what the lifespan sets; the runtime is already running
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://siaga.test") as http:
        return await http.get(path)


async def test_outside_development_the_api_description_is_off_unless_asked_for(db: Runtime) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert (await _get(db, path, **PRODUCTION)).status_code == 404, path
    assert (await _get(db, "/openapi.json", **PRODUCTION, api_schema=True)).status_code == 200
    assert (await _get(db, "/openapi.json", dev_mode=True)).status_code == 200
    assert (await _get(db, "/docs", dev_mode=True)).status_code == 404  # it would load scripts from a CDN


async def test_every_answer_carries_the_protective_headers(db: Runtime) -> None:
    for path in ("/healthz", "/api/v1/alerts", "/console", "/static/js/map.js"):
        answer = await _get(db, path, **PRODUCTION)
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert "strict-transport-security" not in answer.headers  # only behind TLS, when the deployment says so
    behind_tls = await _get(db, "/healthz", **PRODUCTION, hsts_seconds=31536000)
    assert behind_tls.headers["strict-transport-security"] == "max-age=31536000"


async def test_map_tiles_from_the_configured_server_are_allowed_and_no_other(db: Runtime) -> None:
    answer = await _get(db, "/console", map_tile_url="https://tiles.kota.example/{z}/{x}/{y}.png")
    img = next(d for d in answer.headers["content-security-policy"].split("; ") if d.startswith("img-src"))
    assert img == "img-src 'self' data: blob: https://tiles.kota.example"
