"""Gammu SMSD's inbox, read: the command centre's own GSM modem as a channel in.

Gammu SMSD (files backend) writes each received message to its inbox folder as
``IN<date>_<time>_<serial>_<sender>_<part>.txt``; a long message is one file per part, written together. Siaga reads
the folder every second or so (``GammuInbox``, started by the runtime when ``SIAGA_SMS_ADAPTER=gammu``): each message
is recorded first (``inbound.record``) and its files are removed only after the record is committed, then it is
handled. A crash between the two leaves the message recorded and unhandled (``inbound.handle_pending`` takes it up)
or its files in place (read again: the record already holds it, so it is handled once). Sending is
``notify.sms.GammuSMS``; messages the daemon could not send land in its error folder, and their records are marked
failed here.

The gateway id of a message is its sender, the network's timestamp (from the file name) and a hash of its text: the
same message delivered twice (the network does that) is one message, whatever serial Gammu gave each copy.
"""

from __future__ import annotations

import asyncio
import configparser
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from siaga.sms import inbound, progress, receipts
from siaga.sms.inbound import Context

log = logging.getLogger("siaga.sms.gammu")

GATEWAY = "gammu"
_INBOX_FILE = re.compile(
    r"^IN(?P<date>\d{8})_(?P<time>\d{6})_(?P<serial>\d+)_(?P<sender>[^_]+)_(?P<part>\d+)\.txt$", re.IGNORECASE
)
DUMMY_LOCATIONS = 1000
AT_ONCE = 8  # messages of one round handled at once
_OUTBOX_FILE = re.compile(r"^OUT.*\.(?:txt|smsbackup)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Folders:
    """What Siaga needs of Gammu SMSD's configuration."""

    inbox: Path
    errors: Path | None
    inbox_format: str  # unicode | standard | detail


def folders(config: Path) -> Folders:
    """Read the ``[smsd]`` section of Gammu SMSD's configuration (files backend). Relative folders are taken from
    the configuration's own folder. Raises ``ValueError`` saying what is missing."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    if not parser.read(config, encoding="utf-8"):
        raise ValueError(f"Gammu SMSD configuration {config} cannot be read (SIAGA_SMS_GAMMU_CONFIG)")
    if not parser.has_section("smsd"):
        raise ValueError(f"{config} has no [smsd] section")
    smsd = parser["smsd"]
    service = smsd.get("service", "files").strip().strip('"').lower()
    if service != "files":
        raise ValueError(f"{config}: Siaga reads Gammu SMSD's files backend (service = files), not {service!r}")

    def folder(key: str) -> Path | None:
        value = smsd.get(key, "").strip().strip('"')
        return (config.parent / value).resolve() if value else None

    inbox = folder("inboxpath")
    if inbox is None:
        raise ValueError(f"{config}: [smsd] inboxpath is not set")
    return Folders(
        inbox=inbox,
        errors=folder("errorsmspath"),
        inbox_format=smsd.get("inboxformat", "standard").strip().strip('"').lower(),
    )


def dummy_phone(config: Path) -> Path:
    """The folder of Gammu's dummy phone (``[gammu] model = dummy``, ``device = <folder>``) in ``config``."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    if not parser.read(config, encoding="utf-8") or not parser.has_section("gammu"):
        raise ValueError(f"{config} cannot be read or has no [gammu] section")
    section = parser["gammu"]
    if section.get("model", "").strip().strip('"').lower() != "dummy":
        raise ValueError(f"{config}: [gammu] model is not dummy; a message can only be made up for the dummy phone")
    device = section.get("device", "").strip().strip('"')
    if not device:
        raise ValueError(f"{config}: [gammu] device (the dummy phone's folder) is not set")
    return (config.parent / device).resolve()


def deliver_to_dummy_phone(config: Path, *, sender: str, text: str, sent_at: datetime | None = None) -> Path:
    """Make a message from ``sender`` arrive at Gammu's dummy phone, as the network would deliver it to a real
    modem: a Gammu SMS backup file (``PDU = Deliver``, ``State = UnRead``, the text as UTF-16 hex) in the phone's
    incoming folder, written whole and then moved in. For trying Siaga without a modem (``siaga sms-receive``)."""
    incoming = dummy_phone(config) / "sms" / "1"
    incoming.mkdir(parents=True, exist_ok=True)
    when = (sent_at or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = (
        "[SMSBackup000]\n"
        f'SMSC = "+0"\nState = UnRead\nNumber = "{sender}"\nCoding = Default\nFolder = 1\nSent = {when}\n'
        f"PDU = Deliver\nText00 = {text.encode('utf-16-be').hex().upper()}\n"
    )
    # The first free location: the dummy phone reads small numbers only (it stops looking somewhere below 10,000).
    location = next(n for n in range(1, DUMMY_LOCATIONS) if not (incoming / str(n)).exists())
    staged = incoming.parent / f".siaga-{location}"
    staged.write_text(backup, encoding="ascii")
    os.replace(staged, incoming / str(location))
    return incoming / str(location)


@dataclass(frozen=True, slots=True)
class Received:
    """One message from the inbox: its files (one per part, in order), sender, text and the network's time."""

    files: tuple[Path, ...]
    sender: str
    text: str
    sent_at: datetime
    gateway_id: str


def read_inbox(inbox: Path, *, inbox_format: str = "unicode") -> list[Received]:
    """The messages waiting in the inbox, oldest first, each with all its parts (files Gammu did not write are
    left alone)."""
    groups: dict[tuple[str, str, str, str], list[tuple[int, Path]]] = {}
    for path in inbox.iterdir():
        found = _INBOX_FILE.match(path.name)
        if found is None or not path.is_file():
            continue
        key = (found["date"], found["time"], found["serial"], found["sender"])
        groups.setdefault(key, []).append((int(found["part"]), path))
    messages = []
    for (date, clock, _, sender), parts in sorted(groups.items()):
        files = tuple(path for _, path in sorted(parts))
        text = "".join(_text(path, inbox_format) for path in files)
        try:
            sent_at = datetime.strptime(date + clock, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            sent_at = datetime.now(UTC)
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        messages.append(Received(files, sender, text, sent_at, f"{sender}:{date}{clock}:{digest}"))
    return messages


def _text(path: Path, inbox_format: str) -> str:
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or inbox_format == "unicode":
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class GammuInbox:
    """Reads Gammu SMSD's inbox into the inbound pipeline, and its error folder into the outbound records."""

    def __init__(self, context: Context, config: Path) -> None:
        self.context = context
        self.config = config
        self._folders: Folders | None = None
        self._failed_seen: set[str] = set()

    @property
    def folders(self) -> Folders:
        if self._folders is None:
            self._folders = folders(self.config)
        return self._folders

    async def poll(self) -> int:
        """One round: every waiting message recorded, its files removed, then handled; messages recorded earlier
        and never handled tried again; sends the daemon gave up on marked failed. Returns the messages read."""
        where = self.folders
        messages = await asyncio.to_thread(read_inbox, where.inbox, inbox_format=where.inbox_format)
        # Side by side (a surge's SOS are raised together, in the SOS writer's batches), a few at a time.
        slots = asyncio.Semaphore(AT_ONCE)

        async def take(each: Received) -> None:
            async with slots:
                message, before = await inbound.record(
                    self.context, gateway=GATEWAY, gateway_id=each.gateway_id, sender=each.sender, text=each.text
                )
                await asyncio.to_thread(_remove, each.files)  # only now: the record is committed
                if before is None:
                    await inbound.handle(self.context, message)

        await asyncio.gather(*(take(each) for each in messages))
        await progress.follow_up(self.context)  # what failed before, and residents told a unit is coming
        if where.errors is not None:
            await self._failed_sends(where.errors)
        return len(messages)

    async def _failed_sends(self, errors: Path) -> None:
        """Messages Gammu could not send are moved to its error folder under the name Siaga recorded as their
        provider id: their records are marked failed (the console sees it, the retry loop sends them again)."""
        for name in await asyncio.to_thread(_outbox_names, errors):
            if name in self._failed_seen:
                continue
            self._failed_seen.add(name)
            await receipts.delivery_report(
                self.context, adapter=GATEWAY, provider_id=name, delivered=False, error="Gammu could not send it"
            )


def _remove(files: tuple[Path, ...]) -> None:
    for path in files:
        path.unlink(missing_ok=True)


def _outbox_names(folder: Path) -> list[str]:
    """The names of the outbox files in ``folder`` (none if it does not exist)."""
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if _OUTBOX_FILE.match(path.name))
