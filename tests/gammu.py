"""A real Gammu SMSD for tests: Debian's ``gammu-smsd`` with Gammu's dummy phone (``model = dummy``), its files
backend in a test's own folders. A message "arrives" at the modem when a Gammu SMS backup file is written to the
dummy phone's ``sms/1/`` folder; the daemon moves it to its inbox within a second or two, as a real modem's would be.
What the daemon sends lands in its sent folder."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

_locations = itertools.count(1)


@dataclass
class Modem:
    folder: Path
    config: Path
    process: subprocess.Popen[bytes]

    @property
    def phone(self) -> Path:
        return self.folder / "phone"

    @property
    def inbox(self) -> Path:
        return self.folder / "inbox"

    @property
    def sent(self) -> Path:
        return self.folder / "sent"

    def deliver(self, sender: str, text: str, *, sent_at: datetime | None = None) -> Path:
        """A message from ``sender`` reaches the modem (as a backup file in the dummy phone's incoming folder, written
        whole and then moved in, so the daemon never reads half of it). The same ``sent_at`` twice is the network
        delivering one message twice."""
        when = (sent_at or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        backup = "\n".join(
            [
                "[SMSBackup000]",
                'SMSC = "+6281100000"',
                "State = UnRead",
                f'Number = "{sender}"',
                "Coding = Default",
                "Folder = 1",
                f"Sent = {when}",
                "PDU = Deliver",
                f"Text00 = {text.encode('utf-16-be').hex().upper()}" if text else "Text00 = ",
                "",
            ]
        )
        location = next(_locations)
        staged = self.folder / f"staged-{location}"
        staged.write_text(backup, encoding="ascii")
        target = self.phone / "sms" / "1" / str(location)
        target.parent.mkdir(parents=True, exist_ok=True)  # the daemon makes it at start; it may not have yet
        os.replace(staged, target)
        return target

    def sent_to(self, number: str) -> str:
        """Everything the daemon has sent to ``number``, parts joined, oldest first."""
        texts = []
        for path in sorted(self.sent.glob(f"OUT*_{number}_*.txt")):
            data = path.read_bytes()
            texts.append(data.decode("utf-16") if data.startswith((b"\xff\xfe", b"\xfe\xff")) else data.decode())
        return "".join(texts)


def _config(folder: Path) -> str:
    return f"""[gammu]
model = dummy
connection = none
device = {folder / "phone"}/

[smsd]
service = files
inboxpath = {folder / "inbox"}/
outboxpath = {folder / "outbox"}/
sentsmspath = {folder / "sent"}/
errorsmspath = {folder / "error"}/
inboxformat = unicode
outboxformat = unicode
transmitformat = auto
checksecurity = 0
checkbattery = 0
checksignal = 0
commtimeout = 1
sendtimeout = 5
receivefrequency = 1
statusfrequency = 0
loopsleep = 1
logfile = {folder / "smsd.log"}
debuglevel = 1
"""


@pytest.fixture
def modem(tmp_path: Path) -> Iterator[Modem]:
    """``gammu-smsd`` running on a dummy phone in this test's folder (fails on CI if it is not installed)."""
    daemon = shutil.which("gammu-smsd")
    if daemon is None or shutil.which("gammu-smsd-inject") is None:
        if REQUIRE_SERVICES:
            pytest.fail("gammu-smsd is not installed (.ci/run installs it: apt-get install gammu-smsd)")
        pytest.skip("gammu-smsd is not installed (apt-get install gammu-smsd)")
    folder = tmp_path / "gammu"
    for name in ("phone", "inbox", "outbox", "sent", "error"):
        (folder / name).mkdir(parents=True)
    config = folder / "smsdrc"
    config.write_text(_config(folder), encoding="utf-8")
    process = subprocess.Popen([daemon, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield Modem(folder=folder, config=config, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
