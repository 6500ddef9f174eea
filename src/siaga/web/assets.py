"""Siaga's static files (``/static``) as a phone on a weak signal needs them: text compressed with gzip, and cached
so that a new release reaches every phone at once.

The files' URLs carry no version (the service worker and the import map name them as they are), so a cached copy
may not be used blindly for a long time: every answer says ``Cache-Control: no-cache`` with an ETag, and the
browser asks again with ``If-None-Match`` and gets a 304 of a few bytes while the file is unchanged. Without a
``Cache-Control`` a browser would guess a lifetime from ``Last-Modified`` and keep an old release for days.
"""

from __future__ import annotations

import gzip
import os

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

CACHE_CONTROL = "no-cache"
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "application/manifest+json", "image/svg+xml")
MINIMUM_SIZE = 1024  # smaller files gain less than gzip's framing and a header cost


class StaticAssets(StaticFiles):
    """``StaticFiles`` with gzip for text (each file compressed once per version, then kept) and revalidation."""

    def __init__(self, *, directory: str | os.PathLike[str]) -> None:
        super().__init__(directory=directory)
        self._gzipped: dict[tuple[str, str], bytes] = {}

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.headers["Vary"] = "Accept-Encoding"  # a shared cache must not give the gzip copy to everyone
        if not isinstance(response, FileResponse) or not self._compress(response, Headers(scope=scope)):
            return response
        etag = response.headers["etag"]
        key = (str(response.path), etag)
        body = self._gzipped.get(key)
        if body is None:
            body = await anyio.to_thread.run_sync(_gzip, response.path)
            self._gzipped[key] = body
        headers = {name: value for name, value in response.headers.items() if name not in ("content-length", "etag")}
        # Another representation of the same file: a weak validator (Starlette compares it without the W/).
        headers |= {"content-encoding": "gzip", "etag": f"W/{etag}"}
        return Response(body, status_code=response.status_code, headers=headers)

    @staticmethod
    def _compress(response: FileResponse, request: Headers) -> bool:
        size = int(response.headers.get("content-length", "0"))
        return (
            response.status_code == 200
            and "range" not in request
            and "gzip" in request.get("accept-encoding", "")
            and size >= MINIMUM_SIZE
            and (response.media_type or "").startswith(COMPRESSIBLE)
        )


def _gzip(path: str | os.PathLike[str]) -> bytes:
    with open(path, "rb") as file:
        return gzip.compress(file.read(), compresslevel=9, mtime=0)
