"""SMS adapters behind one small interface: a development recorder, an HTTP gateway and Gammu SMSD."""

from __future__ import annotations

import asyncio
import json
import logging
import re
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


class GammuSMS:
    """Gammu SMSD (a GSM modem of the command centre's own): each message is handed to ``gammu-smsd-inject``,
    which writes it to the daemon's outbox (long messages in parts); the daemon sends it and moves it to its sent
    folder (or its error folder). The provider id is the outbox file's name."""

    name = "gammu"

    def __init__(self, *, config: Path, inject: str = "gammu-smsd-inject", timeout: float = 30.0) -> None:
        self.config = config.resolve()  # the command runs in its folder (relative paths in it are its own)
        self.inject = inject
        self.timeout = timeout

    async def send(self, *, to: str, body: str) -> str:
        if not re.fullmatch(r"\+?[0-9]{3,20}", to):
            raise DeliveryError(f"not a number Gammu can send to: {to!r}")
        coding = [] if _is_gsm7(body) else ["-unicode"]
        command = [self.inject, "-c", str(self.config), "TEXT", to, "-len", str(max(160, len(body))), *coding]
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                "-text",
                body,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.config.parent,  # a relative folder in the configuration is the configuration's own
            )
            out, err = await asyncio.wait_for(process.communicate(), timeout=self.timeout)
        except FileNotFoundError as exc:
            raise DeliveryError(f"{self.inject} is not installed (apt-get install gammu-smsd)") from exc
        except TimeoutError as exc:
            process.kill()
            raise DeliveryError(f"{self.inject} did not finish within {self.timeout:.0f} s") from exc
        text = (out + err).decode("utf-8", "replace")
        written = re.search(r"Written message with ID (\S+)", text)
        if process.returncode != 0 or written is None:
            raise DeliveryError(f"{self.inject} failed ({process.returncode}): {text.strip()[-300:]}")
        return Path(written.group(1)).name


# GSM 03.38's basic character set: a message of only these goes in 7-bit parts of 160 characters, anything else in
# UCS-2 parts of 70.
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def _is_gsm7(text: str) -> bool:
    return all(char in _GSM7 for char in text)


def parts(text: str) -> int:
    """How many SMS a message goes as (what a gateway charges for): 160 GSM characters in one, 153 a part when
    concatenated; 70 and 67 for text outside GSM's character set (sent as UCS-2)."""
    single, part = (160, 153) if _is_gsm7(text) else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // part)


def dev_sms_path(settings: Settings) -> Path:
    """Where the development SMS adapter records messages: beside the SQLite file, or ./var."""
    db_file = settings.sqlite_path()
    folder = db_file.parent if db_file is not None else Path("var")
    return folder / "dev-sms.jsonl"
