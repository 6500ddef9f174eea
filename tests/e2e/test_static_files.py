"""The web apps' files reach a phone on a weak signal compressed, and a new release reaches it at once: every static
file is revalidated (ETag, 304 when unchanged) and pages and the service worker are never used from a cache without
asking."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from siaga.app import create_app
from siaga.web.router import STATIC
from tests.conftest import make_settings

SCRIPT = "/static/resident/outbox-core.js"  # a resident app module, several KB of text


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # Files and pages only: no database is touched, so the app's lifespan is not started.
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://siaga.test") as client:
        yield client


async def _raw(client: httpx.AsyncClient, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent on the wire (httpx would otherwise decompress it)."""
    async with client.stream("GET", path, headers=headers) as response:
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


async def test_text_files_are_sent_gzipped_to_browsers_that_accept_it(web: httpx.AsyncClient) -> None:
    original = (STATIC / SCRIPT.removeprefix("/static/")).read_bytes()
    response, wire = await _raw(web, SCRIPT, **{"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert response.headers["content-type"].startswith("text/javascript")
    assert gzip.decompress(wire) == original
    assert len(wire) < len(original) / 2

    plain, body = await _raw(web, SCRIPT, **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert body == original


async def test_images_that_are_already_compressed_are_sent_as_they_are(web: httpx.AsyncClient) -> None:
    response, wire = await _raw(web, "/static/resident/icon-192.png", **{"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert wire == (STATIC / "resident" / "icon-192.png").read_bytes()


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
async def test_a_phone_revalidates_a_file_and_downloads_it_again_only_when_it_changed(
    web: httpx.AsyncClient, encoding: str
) -> None:
    first, _ = await _raw(web, SCRIPT, **{"Accept-Encoding": encoding})
    # Kept, but never used without asking: the URL has no version, and a new release must reach phones at once.
    assert first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again, body = await _raw(web, SCRIPT, **{"Accept-Encoding": encoding, "If-None-Match": etag})
    assert again.status_code == 304
    assert body == b""
    assert again.headers["cache-control"] == "no-cache"
    stale, _ = await _raw(web, SCRIPT, **{"Accept-Encoding": encoding, "If-None-Match": '"an-older-release"'})
    assert stale.status_code == 200


@pytest.mark.parametrize("path", ["/", "/app", "/officer", "/console", "/sw.js"])
async def test_pages_and_the_service_worker_are_never_used_from_a_cache_without_asking(
    web: httpx.AsyncClient, path: str
) -> None:
    response = await web.get(path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
