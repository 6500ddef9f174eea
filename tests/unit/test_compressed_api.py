"""app.CompressedAPI: which answers are gzip-compressed, around small Starlette apps (the Siaga API's own answers are
checked in tests/e2e/test_compressed_answers.py)."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from siaga.app import CompressedAPI

ROWS = [{"id": i, "state": "new", "category": "kriminalitas", "kecamatan": "Coblong"} for i in range(200)]


async def rows(_: object) -> JSONResponse:
    return JSONResponse(ROWS)


async def small(_: object) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def streamed(_: object) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        for row in ROWS:
            yield (json.dumps(row) + "\n").encode()

    return StreamingResponse(parts(), media_type="application/json")


async def page(_: object) -> Response:
    return Response("<p>" + "Siaga " * 1000 + "</p>", media_type="text/html")


APP = CompressedAPI(
    Starlette(
        routes=[
            Route("/api/rows", rows),
            Route("/api/small", small),
            Route("/api/streamed", streamed),
            Route("/page", page),
        ]
    )
)


async def _get(path: str, encoding: str) -> tuple[httpx.Headers, bytes]:
    """The answer's headers and its body as sent on the wire (httpx would otherwise decompress it)."""
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://siaga.test") as client,
        client.stream("GET", path, headers={"Accept-Encoding": encoding}) as answer,
    ):
        return answer.headers, b"".join([part async for part in answer.aiter_raw()])


async def test_a_long_answer_in_one_part_is_gzipped_for_a_client_that_accepts_it() -> None:
    headers, wire = await _get("/api/rows", "gzip")
    assert headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(wire)) == ROWS
    assert headers["vary"] == "Accept-Encoding"

    headers, wire = await _get("/api/rows", "identity")
    assert "content-encoding" not in headers
    assert json.loads(wire) == ROWS
    assert headers["vary"] == "Accept-Encoding"


async def test_a_short_answer_a_streamed_answer_and_a_page_are_sent_as_they_are() -> None:
    headers, wire = await _get("/api/small", "gzip")
    assert "content-encoding" not in headers
    assert json.loads(wire) == {"status": "ok"}

    headers, wire = await _get("/api/streamed", "gzip")
    assert "content-encoding" not in headers
    assert [json.loads(line) for line in wire.splitlines()] == ROWS

    headers, wire = await _get("/page", "gzip")
    assert "content-encoding" not in headers


async def test_a_websocket_passes_untouched() -> None:
    sent: list[Message] = []

    async def socket(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "websocket.send", "bytes": json.dumps(ROWS).encode()})

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await CompressedAPI(socket)({"type": "websocket", "path": "/api/v1/stream/console"}, receive, send)
    assert sent == [{"type": "websocket.send", "bytes": json.dumps(ROWS).encode()}]
