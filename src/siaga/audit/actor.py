"""Who made a change, for its audit record: a signed-in staff member, someone at the server with the ``siaga``
command, or Siaga itself. Use cases take one and record their change with it (``audit.service.record_for``), so a
change is audited the same way whichever door it came in by."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Protocol

COMMAND_LINE = "cli"
SIAGA = "system"


class Acting(Protocol):
    """Whoever acts, as an audit record names them (``accounts.domain.Principal`` is one): audit needs nothing
    more of the accounts that sign in."""

    @property
    def kind(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def agency_id(self) -> int | None: ...


class SignedIn(Acting, Protocol):
    """A signed-in resident or staff member, as a change they make names them."""

    @property
    def session_id(self) -> int: ...

    @property
    def staff_id(self) -> int | None: ...


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
    session_id: int | None = None  # the signed-in staff member's session (not the one a change ends)
    staff_id: int | None = None

    @classmethod
    def signed_in(cls, principal: SignedIn, client_ip: str = "") -> ActorContext:
        """A signed-in resident or staff member."""
        return cls(
            kind=principal.kind,
            id=principal.subject,
            name=principal.name,
            agency_id=principal.agency_id,
            client_ip=client_ip,
            session_id=principal.session_id,
            staff_id=principal.staff_id,
        )

    @classmethod
    def anonymous(cls, label: str, client_ip: str = "") -> ActorContext:
        """Someone not signed in, named by what they gave (the phone number asking for a code)."""
        return cls(kind="anonymous", id=label, name=label, client_ip=client_ip)

    @classmethod
    def command_line(cls, os_user: str | None = None) -> ActorContext:
        """Someone at the server, with its keys: recorded as ``cli``, named by their operating-system user."""
        return cls(kind=COMMAND_LINE, id=COMMAND_LINE, name=os_user or _os_user())

    @classmethod
    def siaga(cls) -> ActorContext:
        """Siaga itself (timers, the hourly purge)."""
        return cls(kind=SIAGA, id="siaga", name="Siaga")
