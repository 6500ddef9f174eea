"""One way in: the follow-up alert Siaga raises for a duress PIN entered after staff closed an alert is raised by the
same writer and rules as a press from the app (``alerts.raising``). Both get their deadlines from their agency,
counted from the receipt; both are flagged for the same reasons; both tell the resident's emergency contacts the
same way; both are audited; and an alert outside every kecamatan goes to the default agency either way.

Before, the follow-up had a path of its own (an ORM copy of the rules), which had drifted from the press's: its
``created_at`` was its write time, and it wrote no audit record."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from siaga.accounts.domain import Role
from siaga.accounts.models import Resident
from siaga.agencies.models import Agency
from siaga.alerts.models import Alert, AlertEvent
from siaga.audit.models import AuditRecord
from siaga.notify import contacts
from siaga.notify.models import OutboundMessage
from siaga.runtime import Runtime
from tests.conftest import Api
from tests.integration.test_dispatch import COBLONG, city, with_contacts

__all__ = ["city"]  # the fixture, used by name
JAKARTA = (-6.2, 106.8)  # outside every kecamatan of the seeded city
T1, T2 = 123, 321  # the agencies' own escalation deadlines, unlike the process defaults


async def _raised(runtime: Runtime, alert_id: uuid.UUID) -> dict[str, Any]:
    """What the rules decided for one alert: its row, its first timeline events, its audit and its alarms."""
    async with runtime.read_sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        agency = await session.get(Agency, alert.agency_id)
        assert agency is not None
        events = (
            await session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id))
        ).all()
        audited = (
            await session.scalars(
                select(AuditRecord).where(AuditRecord.action == "alert.create", AuditRecord.target_id == str(alert_id))
            )
        ).all()
        alarms = (
            await session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.alert_id == str(alert_id), OutboundMessage.purpose == contacts.ALARM)
                .order_by(OutboundMessage.id)
            )
        ).all()
    created = events[0]
    return {
        "alert": alert,
        "agency": agency.code,
        "placement": (alert.placement, alert.jurisdiction_id),
        "deadlines": (alert.ack_due_at - alert.created_at, alert.dispatch_due_at - alert.created_at),
        "created": (created.kind, created.actor_kind, created.actor_id, sorted(created.data)),
        "created_data": {k: v for k, v in created.data.items() if k != "silent"},
        "flags": [e.data["reason"] for e in events if e.kind == "flagged"],
        "audited": [(a.actor_kind, a.actor_id, a.agency_id) for a in audited],
        "alarms": [(m.recipient, m.status, m.next_attempt_at - alert.created_at) for m in alarms],
        # The alarm's words, without its clock time (the two alerts may straddle a minute).
        "alarm_text": {re.sub(r"pukul \d\d:\d\d", "pukul", m.body) for m in alarms},
    }


@pytest.mark.parametrize(
    ("where", "agency", "placement"),
    [(COBLONG, "POLSEK-COBLONG", "inside"), (JAKARTA, "BDG-CC", "default")],
    ids=["in-a-kecamatan", "outside-every-kecamatan"],
)
async def test_a_duress_follow_up_is_raised_by_the_same_rules_as_a_press(
    city: Api, where: tuple[float, float], agency: str, placement: str
) -> None:
    api = city
    runtime = api.runtime
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(Agency)
            .where(Agency.code.in_(["POLSEK-COBLONG", "BDG-CC"]))
            .values(ack_timeout_seconds=T1, dispatch_timeout_seconds=T2)
        )
    resident = await api.resident(name="Sari")
    phones = await with_contacts(api, resident, ["081299990031", "081299990032"])
    operator = await api.staff(Role.OPERATOR)
    async with runtime.unit_of_work() as session:  # suspended for pranks: still heard, and flagged
        await session.execute(
            update(Resident)
            .where(Resident.id == uuid.UUID(resident.id))
            .values(suspended=True, strikes=3, suspended_reason="laporan palsu")
        )

    pressed = await api.press(resident, lat=where[0], lon=where[1])
    press = await _raised(runtime, uuid.UUID(pressed["id"]))  # as raised (closing it ends its timers)
    assert (await api.post(operator, f"/alerts/{pressed['id']}/acknowledge")).status_code == 200
    assert (
        await api.post(
            operator, f"/alerts/{pressed['id']}/resolve", {"outcome": "false_alarm", "report": "Tidak sengaja"}
        )
    ).status_code == 200
    answer = await api.post(resident, f"/alerts/{pressed['id']}/cancel", {"pin": "9999"})
    assert answer.status_code == 200, answer.text
    async with runtime.read_sessions() as session:
        follow_up_id = await session.scalar(select(Alert.id).where(Alert.follows_id == uuid.UUID(pressed["id"])))
    assert follow_up_id is not None, "the duress PIN after the close must raise a follow-up alert"

    follow_up = await _raised(runtime, follow_up_id)
    assert (press["agency"], press["placement"][0]) == (agency, placement)
    for what in ("agency", "placement", "created", "created_data", "flags", "audited", "alarm_text"):
        assert follow_up[what] == press[what], f"{what}: the follow-up {follow_up[what]!r}, the press {press[what]!r}"
    # The agency's own T1 and T2, counted from the receipt of each.
    assert press["deadlines"] == follow_up["deadlines"] == (timedelta(seconds=T1), timedelta(seconds=T2))
    assert press["flags"] == ["resident_suspended"]
    assert press["audited"] == [("resident", resident.id, press["alert"].agency_id)]
    # Each contact's alarm waits out the time to cancel by mistake, from each alert's receipt.
    delay = timedelta(seconds=runtime.settings.contact_alarm_delay_seconds)
    assert sorted(a[0] for a in follow_up["alarms"]) == sorted(phones)
    assert all(a[2] == delay for a in press["alarms"] + follow_up["alarms"])
    assert press["alert"].created_at <= follow_up["alert"].created_at
    assert (follow_up["alert"].silent, follow_up["alert"].duress) == (True, True)
