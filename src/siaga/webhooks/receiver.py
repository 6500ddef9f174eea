"""A webhook receiver to try Siaga's webhooks with (``siaga webhook listen``): it verifies each message's signature
with the Standard Webhooks library, as an integrator's system should, prints the verified payload as one JSON line,
and answers 204 (401 to a message that does not verify). For trying and testing; not a production endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

MAX_BODY = 1024 * 1024


def serve(
    secrets: list[str], *, host: str, port: int, count: int, said: Callable[[str], None], refused: Callable[[str], None]
) -> None:
    """Receive on ``host``:``port`` until ``count`` messages verified (0: until interrupted)."""
    keys = [Webhook(secret) for secret in secrets]
    verified = 0

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            nonlocal verified
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
            body = self.rfile.read(length)
            headers = dict(self.headers.items())
            for key in keys:
                try:
                    payload = key.verify(body, headers)
                except WebhookVerificationError:
                    continue
                verified += 1
                said(json.dumps({"webhook-id": headers.get("webhook-id"), **payload}, ensure_ascii=False))
                self.send_response(204)
                self.end_headers()
                return
            refused(f"a message that does not verify (webhook-id {headers.get('webhook-id')!r}): answered 401")
            self.send_response(401)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    with ThreadingHTTPServer((host, port), Handler) as server:
        server.timeout = 0.5
        while count == 0 or verified < count:
            server.handle_request()
