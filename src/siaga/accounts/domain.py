"""Who is asking (the authenticated principal behind a request) and who acts on an alert, as its timeline names
them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from siaga.errors import Forbidden


class Role(StrEnum):
    OPERATOR = "operator"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class ActorKind(StrEnum):
    RESIDENT = "resident"
    OPERATOR = "operator"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something to an alert, as its timeline names them: a resident, a staff member in a role, or Siaga
    itself."""

    kind: ActorKind
    id: str
    name: str
    unit_id: int | None = None


SYSTEM = Actor(kind=ActorKind.SYSTEM, id="system", name="Siaga")


@dataclass(frozen=True, slots=True)
class Principal:
    """A resident or a staff member, as resolved from a session token."""

    session_id: int
    name: str
    resident_id: uuid.UUID | None = None
    staff_id: int | None = None
    role: Role | None = None
    agency_id: int | None = None
    unit_id: int | None = None
    session_expired: bool = False  # only ever True for a resident's SOS, which an expired session must not stop
    # A staff session halfway through a login ("code" or "enrol", see accounts.totp): only the login's next step
    # accepts it.
    login_step: str | None = None
    # An integrator's API key (a service account of ``agency_id``, see accounts.apikeys): nobody signed in, and only
    # endpoints that take one of its ``scopes`` admit it (deps). Its ``session_id`` is 0.
    api_key_id: int | None = None
    scopes: frozenset[str] = frozenset()

    @property
    def is_resident(self) -> bool:
        return self.resident_id is not None

    @property
    def subject(self) -> str:
        """A stable id for audit and timelines: the resident's UUID, ``staff:<id>`` or ``apikey:<id>``."""
        if self.api_key_id is not None:
            return f"apikey:{self.api_key_id}"
        return str(self.resident_id) if self.resident_id is not None else f"staff:{self.staff_id}"

    @property
    def kind(self) -> str:
        if self.api_key_id is not None:
            return "apikey"
        return "resident" if self.role is None else self.role.value

    def actor(self) -> Actor:
        if self.resident_id is not None:
            return Actor(kind=ActorKind.RESIDENT, id=str(self.resident_id), name=self.name)
        assert self.role is not None
        return Actor(kind=ActorKind(self.role.value), id=str(self.staff_id), name=self.name, unit_id=self.unit_id)


@dataclass(frozen=True, slots=True)
class Officer:
    """A staff member who belongs to a unit, with the unit: offers, duty and positions are per unit."""

    principal: Principal
    unit_id: int
    staff_id: int

    @classmethod
    def of(cls, principal: Principal) -> Officer:
        """The principal as an officer of a unit, or refused (403 ``officer.no_unit``): the one place this is
        checked, for requests (``deps.CurrentOfficer``) and for the use cases the CLI and timers call alike."""
        if principal.unit_id is None or principal.staff_id is None:
            raise Forbidden("this is for officers who belong to a unit", code="officer.no_unit")
        return cls(principal=principal, unit_id=principal.unit_id, staff_id=principal.staff_id)
