"""SMS adapters behind one small interface: a development recorder and an HTTP gateway."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx

from siaga.db import utcnow

if TYPE_CHECKING:
    from siaga.config import Settings

log = logging.getLogger("siaga.sms")


class DeliveryError(Exception):
    """The provider did not take the message; the attempt is recorded and retried."""


class SMSSender(Protocol):
    name: str

    async def send(self, *, to: str, body: str) -> str:
        """Hand one message to the provider; return its id for the message, or raise ``DeliveryError``."""
        ...


class DevSMS:
    """Development adapter: records each message in a JSON-lines file and the log, where a developer can read it
    (``siaga sms``). Refused outside development mode."""

    name = "dev"

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, *, to: str, body: str) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"at": utcnow().isoformat(), "to": to, "body": body}
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(record, ensure_ascii=False) + "\n")
        log.info("dev sms", extra={"to": to, "body": body})
        return f"dev-{record['at']}"

    def read(self, *, to: str | None = None) -> list[dict[str, str]]:
        """Recorded messages, oldest first, optionally only those to one number."""
        if not self.path.exists():
            return []
        rows = [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [row for row in rows if to is None or row["to"] == to]


class HttpSMS:
    """A generic HTTP SMS gateway: POST JSON ``{"to", "from", "text"}`` with a bearer token; a 2xx answer with an
    optional ``{"id": ...}`` means accepted."""

    name = "http"

    def __init__(self, *, url: str, token: str, sender: str, timeout: float = 10.0) -> None:
        if not url:
            raise ValueError("SIAGA_SMS_HTTP_URL is required for the http SMS adapter")
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout = timeout

    async def send(self, *, to: str, body: str) -> str:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(
                    self.url, json={"to": to, "from": self.sender, "text": body}, headers=headers
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS gateway unreachable: {exc}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"SMS gateway answered {response.status_code}: {response.text[:200]}")
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        return str(payload.get("id", "")) if isinstance(payload, dict) else ""


def dev_sms_path(settings: Settings) -> Path:
    """Where the development SMS adapter records messages: beside the SQLite file, or ./var."""
    db_file = settings.sqlite_path()
    folder = db_file.parent if db_file is not None else Path("var")
    return folder / "dev-sms.jsonl"
