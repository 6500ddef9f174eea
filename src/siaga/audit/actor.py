"""Who made a change, for its audit record: a signed-in staff member, someone at the server with the ``siaga``
command, or Siaga itself. Use cases take one and record their change with it (``audit.service.record_for``), so a
change is audited the same way whichever door it came in by."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from siaga.accounts.domain import Principal

COMMAND_LINE = "cli"
SIAGA = "system"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the process's uid (e.g. some containers)
        return "unknown"


@dataclass(frozen=True, slots=True)
class ActorContext:
    """``kind``: the staff member's role, ``"cli"`` or ``"system"``; ``id``: ``staff:<id>`` or ``"cli"`` or
    ``"siaga"``; ``name``: the staff member's name, or the operating-system user who ran the command."""

    kind: str
    id: str
    name: str
    agency_id: int | None = None
    client_ip: str = ""
    principal: Principal | None = None  # the signed-in staff member (their session is not the one to end)

    @classmethod
    def staff(cls, principal: Principal, client_ip: str = "") -> ActorContext:
        return cls(
            kind=principal.kind,
            id=principal.subject,
            name=principal.name,
            agency_id=principal.agency_id,
            client_ip=client_ip,
            principal=principal,
        )

    @classmethod
    def command_line(cls, os_user: str | None = None) -> ActorContext:
        """Someone at the server, with its keys: recorded as ``cli``, named by their operating-system user."""
        return cls(kind=COMMAND_LINE, id=COMMAND_LINE, name=os_user or _os_user())

    @classmethod
    def siaga(cls) -> ActorContext:
        """Siaga itself (timers, the hourly purge)."""
        return cls(kind=SIAGA, id="siaga", name="Siaga")

    @property
    def staff_id(self) -> int | None:
        return self.principal.staff_id if self.principal is not None else None
