"""A lease on the database: at most one process at a time holds a named job (the MQTT bridge), and another takes it
over once the holder stops renewing it (it died, or lost the database).

Works the same on PostgreSQL and SQLite: taking the lease is one conditional UPDATE (``holder`` is this process, or
the lease ran out), or the first INSERT of its row; both databases serialise the writes, so two processes never both
succeed. The holder renews it well before it runs out, and gives it up when it stops; a process that cannot renew
stops the job itself before the lease runs out (``Lease.valid``), so the next holder never overlaps it.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from siaga.db import transaction, utcnow
from siaga.devices.models import Lease as LeaseRow

log = logging.getLogger("siaga.devices.lease")


def holder_id() -> str:
    """This process, as the lease names it: the machine, the process id and a random part (a restarted process with
    the same id is another holder)."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Lease:
    """A named lease as one process sees it: ``take`` takes or renews it, ``valid`` says whether this process may
    still act on it, ``give_up`` lets another take it at once."""

    sessions: async_sessionmaker[AsyncSession]
    name: str
    ttl: timedelta
    holder: str = field(default_factory=holder_id)
    held_until: datetime | None = None  # as this process last took it (by its own clock)

    async def take(self) -> bool:
        """Take the lease, or renew it if this process holds it. Returns whether it holds it now."""
        now = utcnow()
        until = now + self.ttl
        async with transaction(self.sessions) as session:
            taken = await session.execute(
                update(LeaseRow)
                .where(LeaseRow.name == self.name, or_(LeaseRow.holder == self.holder, LeaseRow.expires_at < now))
                .values(holder=self.holder, expires_at=until)
            )
            if getattr(taken, "rowcount", 0) != 1:
                if await session.scalar(select(LeaseRow.name).where(LeaseRow.name == self.name)) is not None:
                    self.held_until = None
                    return False
                try:
                    async with session.begin_nested():
                        session.add(LeaseRow(name=self.name, holder=self.holder, expires_at=until))
                except IntegrityError:  # another process made the row first: it holds the lease
                    self.held_until = None
                    return False
        self.held_until = until
        return True

    def valid(self, *, margin: timedelta) -> bool:
        """Whether this process may still act as the holder: it took the lease and it runs for ``margin`` more."""
        return self.held_until is not None and utcnow() + margin < self.held_until

    async def give_up(self) -> None:
        """Let another process take the lease at once (on a clean stop)."""
        self.held_until = None
        try:
            async with transaction(self.sessions) as session:
                await session.execute(
                    delete(LeaseRow).where(LeaseRow.name == self.name, LeaseRow.holder == self.holder)
                )
        except Exception:  # it runs out on its own
            log.warning("could not give up the lease %s; it runs out on its own", self.name, exc_info=True)
