"""SMS delivery through the HTTP adapter against a real local HTTP server: every attempt recorded, failures retried."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select, update

from siaga.accounts import service as accounts
from siaga.db import units_of_work, utcnow
from siaga.notify import service as notify
from siaga.notify.models import DeliveryAttempt, OutboundMessage
from siaga.notify.sms import HttpSMS
from siaga.runtime import Runtime


@dataclass
class Gateway:
    """A stand-in SMS provider: a real HTTP server on loopback that records what it is sent."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            state.received.append({"body": body, "auth": self.headers.get("Authorization")})
            payload = json.dumps({"id": f"msg-{len(state.received)}"}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


async def _queue_code(db: Runtime, phone: str) -> int:
    async with db.unit_of_work() as session:
        _, message_id = await accounts.request_code(
            session, settings=db.settings, phone_raw=phone, client_ip="10.0.0.1"
        )
    return message_id


async def _message(db: Runtime, message_id: int) -> tuple[OutboundMessage, list[DeliveryAttempt]]:
    async with db.unit_of_work() as session:
        message = await session.get(OutboundMessage, message_id)
        assert message is not None
        query = select(DeliveryAttempt).where(DeliveryAttempt.message_id == message_id).order_by(DeliveryAttempt.id)
        attempts = list((await session.scalars(query)).all())  # in the order they were tried
        return message, attempts


async def test_a_code_reaches_the_gateway_and_the_stored_body_is_redacted(db: Runtime, gateway: Gateway) -> None:
    sender = HttpSMS(url=gateway.url, token="gateway-token", sender="SIAGA")
    message_id = await _queue_code(db, "0812-5555-0001")
    await notify.deliver(units_of_work(db.sessions), sender, [message_id])

    assert len(gateway.received) == 1
    sent = gateway.received[0]
    assert sent["auth"] == "Bearer gateway-token"
    assert sent["body"]["to"] == "+6281255550001"
    assert sent["body"]["from"] == "SIAGA"
    assert "Kode Siaga Anda" in sent["body"]["text"]
    message, attempts = await _message(db, message_id)
    assert message.status == "sent"
    assert message.provider_id == "msg-1"
    assert message.body == "[redacted after delivery]"
    assert [a.ok for a in attempts] == [True]


async def test_a_failed_send_is_recorded_and_retried_until_it_gets_through(db: Runtime, gateway: Gateway) -> None:
    sender = HttpSMS(url=gateway.url, token="", sender="SIAGA")
    gateway.status = 503
    message_id = await _queue_code(db, "0812-5555-0002")
    await notify.deliver(units_of_work(db.sessions), sender, [message_id])

    message, attempts = await _message(db, message_id)
    assert message.status == "failed"
    assert "503" in message.last_error
    assert message.next_attempt_at > utcnow()
    assert [a.ok for a in attempts] == [False]

    # Not due yet: the retry round leaves it alone.
    assert await notify.retry_due(units_of_work(db.sessions), sender) == 0
    async with db.unit_of_work() as session:
        await session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
    gateway.status = 200
    assert await notify.retry_due(units_of_work(db.sessions), sender) == 1
    message, attempts = await _message(db, message_id)
    assert message.status == "sent"
    assert [a.ok for a in attempts] == [False, True]
    assert len(gateway.received) == 2


async def test_an_unreachable_gateway_is_a_recorded_failure_not_a_crash(db: Runtime) -> None:
    sender = HttpSMS(url="http://127.0.0.1:9/send", token="", sender="SIAGA", timeout=2)
    message_id = await _queue_code(db, "0812-5555-0003")
    await notify.deliver(units_of_work(db.sessions), sender, [message_id])
    message, attempts = await _message(db, message_id)
    assert message.status == "failed"
    assert "unreachable" in message.last_error
    assert len(attempts) == 1


def test_backoff_grows_and_is_capped() -> None:
    waits = [notify.backoff(n).total_seconds() for n in range(1, 12)]
    assert waits[:4] == [5, 10, 20, 40]
    assert waits == sorted(waits)
    assert max(waits) == 600
