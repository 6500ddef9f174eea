"""Reading alerts as CAP: one alert's message, and a page of the open alerts a staff member may see. Both use the
alerts' own access rules (``alerts.access``) and are audited, as every staff read of an alert is."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from siaga.accounts.domain import Principal, Role
from siaga.agencies.models import Agency
from siaga.alerts import access
from siaga.alerts import service as alerts
from siaga.alerts.domain import ACTIVE_STATES, AlertState, Category, Outcome, Priority
from siaga.alerts.models import Alert
from siaga.alerts.raise_rules import NO_LOCATION
from siaga.audit import service as audit
from siaga.audit.actor import ActorContext
from siaga.cap.domain import AlertFacts, Caller
from siaga.errors import Forbidden, Invalid

# Who may have the caller's name, number and words in a CAP message: the command centre, who hand alerts over to
# other agencies. An officer reads the caller in the officer app, an integrator's key never has them, and a resident
# gets no CAP at all (``refuse_residents``).
PERSONAL_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
# Placements of an alert raised without a fix: its position is its kecamatan's centre (or the city's), not a place.
_UNLOCATED = frozenset({NO_LOCATION, "kecamatan"})


def refuse_residents(principal: Principal) -> None:
    """CAP is for staff and integrators' systems. A resident's phone shows a duress alert as cancelled (whoever holds
    the phone must see nothing happen), and its CAP message would say otherwise."""
    if principal.resident_id is not None:
        raise Forbidden(
            "CAP is for command centres and their partners' systems; the app shows your alert", code="cap.staff_only"
        )


def facts(alert: Alert, *, personal: bool = False) -> AlertFacts:
    """What a CAP message may say about ``alert``: the caller only if ``personal``."""
    resident = alert.resident
    return AlertFacts(
        id=alert.id,
        state=AlertState(alert.state),
        category=Category(alert.category),
        priority=Priority(alert.priority),
        outcome=Outcome(alert.outcome) if alert.outcome else None,
        is_exercise=alert.is_exercise,
        duress=alert.duress,
        silent=alert.silent,
        channel=alert.channel,
        agency_name=alert.agency.name,
        agency_phone=alert.agency.phone,
        kecamatan=alert.jurisdiction.name if alert.jurisdiction else None,
        kecamatan_code=alert.jurisdiction.code if alert.jurisdiction else None,
        lat=alert.lat,
        lon=alert.lon,
        accuracy_m=alert.accuracy_m,
        located=alert.located_at is not None or alert.placement not in _UNLOCATED,
        place_rounded=alert.details_removed_at is not None,
        unit_callsign=alert.unit.callsign if alert.unit else None,
        created_at=alert.created_at,
        updated_at=alert.updated_at,
        caller=Caller(name=resident.name, phone=resident.phone, words=alert.description) if personal else None,
    )


async def read_message(
    session: AsyncSession, principal: Principal, alert_id: uuid.UUID, *, by: ActorContext, personal: bool
) -> AlertFacts:
    """One alert ``principal`` may see, for its CAP message (404 otherwise, as the alert's JSON answers). With
    ``personal`` the message names the caller, for the command centre's roles only (403 for others, integrators'
    keys included); audited either way, saying which."""
    refuse_residents(principal)
    alert = await alerts.get_visible(session, principal, alert_id)
    if personal and principal.role not in PERSONAL_ROLES:
        raise Forbidden(
            "the caller's personal data in CAP is for the command centre (operators, supervisors, administrators)",
            code="cap.personal_not_allowed",
        )
    await audit.record_for(
        session,
        by,
        action="alert.read_cap",
        target_type="alert",
        target_id=str(alert.id),
        agency_id=alert.agency_id,
        detail={"personal": personal, "resident_id": str(alert.resident_id)},
    )
    return facts(alert, personal=personal)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page of the feed ends (newest first): the last alert's creation time and id."""

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            moment, alert_id = raw.split("|", 1)
            created_at = datetime.fromisoformat(moment)
            if created_at.tzinfo is None:
                raise ValueError("a cursor's time has its zone")
            return cls(created_at=created_at, id=uuid.UUID(alert_id))
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise Invalid(
                "before is not a cursor this feed gave: follow the feed's next link",
                code="cap.bad_cursor",
                details={
                    "field": "before",
                    "problems": [{"field": "before", "problem": "not a cursor this feed gave"}],
                },
            ) from exc


async def open_alerts(
    session: AsyncSession, principal: Principal, *, by: ActorContext, limit: int, before: Cursor | None
) -> tuple[list[AlertFacts], Cursor | None]:
    """A page of the open alerts ``principal`` may see (the console's queue: the same access rule and states),
    newest first, and the cursor of the next page (None: this is the last). Audited as a list of alerts is."""
    refuse_residents(principal)
    query = (
        select(Alert)
        .where(await access.visibility(session, principal), Alert.state.in_([s.value for s in ACTIVE_STATES]))
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(
            or_(Alert.created_at < before.created_at, and_(Alert.created_at == before.created_at, Alert.id < before.id))
        )
    found = list((await session.scalars(query)).unique().all())
    page, more = found[:limit], len(found) > limit
    if page:
        residents = sorted({str(a.resident_id) for a in page})
        await audit.record_for(
            session,
            by,
            action="alert.list_cap",
            target_type="alert",
            detail={"count": len(page), "residents": residents},
        )
    following = Cursor(created_at=page[-1].created_at, id=page[-1].id) if more else None
    return [facts(a) for a in page], following


async def agency_name(session: AsyncSession, principal: Principal) -> str:
    """The name of the caller's agency (the feed's author), or Siaga's for an account without one."""
    if principal.agency_id is None:
        return "Siaga"
    agency = await session.get(Agency, principal.agency_id)
    return agency.name if agency is not None else "Siaga"
