"""Emergency contacts cannot be used to send SMS at the city's cost (issue 14, item 11).

Before, anyone who registered could list any five numbers and every press sent each an official-looking alarm with a
name the resident chose; 1,000 presses sent 5,000 SMS. Now each new contact is asked once whether they agree, through
a link to a page in Bahasa Indonesia; before they answer they get one alarm, marked as unconfirmed; after declining,
nothing; and one number gets at most ``contact_alarms_per_day`` alarms a day, counted in the database. The resident
sees each contact's answer, and the audit log says what was sent and what was not, and why."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.audit.models import AuditRecord
from siaga.notify import service as notify
from siaga.notify.models import OutboundMessage
from siaga.notify.sms import DevSMS
from siaga.runtime import Runtime
from tests.conftest import Api, Person
from tests.integration.test_contact_alarms import _time_passes
from tests.integration.test_dispatch import (
    COBLONG,
    alarms_to,
    city,
    consent_code,
    eventually,
    messages_for,
    with_contacts,
)

__all__ = ["city"]  # the fixture, used by name
PHONE = "081299990021"


def _sms(api: Api) -> DevSMS:
    assert isinstance(api.runtime.sms, DevSMS)
    return api.runtime.sms


async def _consents(api: Api, resident: Person) -> list[str]:
    """What the resident's app shows for each contact."""
    answer = await api.http.get("/api/v1/residents/me", headers=resident.headers)
    assert answer.status_code == 200, answer.text
    return [c["consent"] for c in answer.json()["emergency_contacts"]]


async def _alarm(api: Api, resident: Person) -> OutboundMessage:
    """The resident presses SOS, the time to cancel by mistake passes, and the alarm to their one contact is
    decided; the press is then cancelled so the next press is a new alert. Returns the alarm as decided."""
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    await _time_passes(api.runtime, alert["id"])
    alarm = await eventually(lambda: _decided(api.runtime, alert["id"]), "the alarm to be sent or suppressed")
    assert (await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "1234"})).status_code == 200
    return alarm


async def _decided(runtime: Runtime, alert_id: str) -> OutboundMessage | None:
    """The alarm to the one contact once it is sent or suppressed (the app's own retry loop may be the one that
    takes it)."""
    (alarm,) = [m for m in await messages_for(runtime, alert_id) if m.purpose == "emergency_contact"]
    return alarm if alarm.status in ("sent", "suppressed") else None


async def _audited(runtime: Runtime, action: str) -> list[AuditRecord]:
    async with runtime.read_sessions() as session:
        rows = await session.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id))
        return list(rows.all())


async def _decisions(runtime: Runtime) -> list[tuple[str, Any]]:
    """Each alarm's decision, audited once, as Siaga's."""
    rows = await _audited(runtime, "contact.alarm")
    assert {(row.actor_kind, row.actor_id) for row in rows} <= {("system", "siaga")}
    return [(row.outcome, row.detail["reason"]) for row in rows]


async def test_a_contact_who_has_not_answered_gets_one_marked_alarm_then_nothing_until_they_agree(city: Api) -> None:
    api = city
    resident = await api.resident(name="Rina")
    (contact,) = await with_contacts(api, resident, [PHONE], agree=False)
    code = await consent_code(api, contact, asked_by=resident.name)
    (asked,) = _sms(api).read(to=contact)
    assert "Rina mencantumkan nomor ini sebagai kontak darurat" in asked["body"]
    assert f"/k/{code}" in asked["body"]
    assert await _consents(api, resident) == ["pending"]

    first = await _alarm(api, resident)
    assert first.status == "sent"
    (told,) = [m for m in alarms_to(_sms(api), contact) if "menekan tombol darurat" in m["body"]]
    assert "belum terverifikasi" in told["body"]
    assert f"/k/{code}" in told["body"]

    second = await _alarm(api, resident)
    assert (second.status, second.last_error) == ("suppressed", "not sent: unconfirmed")
    assert len([m for m in alarms_to(_sms(api), contact) if "menekan tombol darurat" in m["body"]]) == 1

    page = await api.http.get(f"/k/{code}")
    assert page.status_code == 200
    assert all(word in page.text for word in ("Rina", "Setuju", "Tolak"))
    assert await _consents(api, resident) == ["pending"]  # opening the link (a preview) is not an answer
    agreed = await api.http.post(f"/k/{code}/setuju")
    assert agreed.status_code == 200
    assert "Anda setuju" in agreed.text
    assert await _consents(api, resident) == ["confirmed"]
    (answered,) = await _audited(api.runtime, "contact.consent")  # the answer, audited once, as the contact's
    assert (answered.actor_kind, answered.actor_id, answered.detail["consent"]) == ("anonymous", "contact", "confirmed")

    third = await _alarm(api, resident)
    assert third.status == "sent"
    alarms = [m for m in alarms_to(_sms(api), contact) if "menekan tombol darurat" in m["body"]]
    assert len(alarms) == 2
    assert "belum terverifikasi" not in alarms[-1]["body"]
    assert await _decisions(api.runtime) == [
        ("success", "unconfirmed_once"),
        ("suppressed", "unconfirmed"),
        ("success", "confirmed"),
    ]


async def test_a_contact_who_declined_gets_nothing_more(city: Api) -> None:
    api = city
    resident = await api.resident(name="Rina")
    (contact,) = await with_contacts(api, resident, [PHONE], agree=False)
    code = await consent_code(api, contact, asked_by=resident.name)
    declined = await api.http.post(f"/k/{code}/tolak")
    assert declined.status_code == 200
    assert "Anda menolak" in declined.text
    assert await _consents(api, resident) == ["declined"]

    alarm = await _alarm(api, resident)
    assert (alarm.status, alarm.last_error) == ("suppressed", "not sent: declined")
    assert alarms_to(_sms(api), contact) == []  # no alarm, and no all-clear after the cancel either
    # Saving the contacts again does not ask them again.
    await with_contacts(api, resident, [PHONE], agree=False)
    assert len(_sms(api).read(to=contact)) == 1
    assert await _consents(api, resident) == ["declined"]


async def test_a_contact_who_declines_after_their_alarm_gets_no_all_clear(city: Api) -> None:
    api = city
    resident = await api.resident(name="Rina")
    (contact,) = await with_contacts(api, resident, [PHONE], agree=False)
    code = await consent_code(api, contact, asked_by=resident.name)
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    await _time_passes(api.runtime, alert["id"])
    alarm = await eventually(lambda: _decided(api.runtime, alert["id"]), "the alarm to be sent")
    assert alarm.status == "sent"
    assert (await api.http.post(f"/k/{code}/tolak")).status_code == 200
    assert (await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "1234"})).status_code == 200
    messages = await messages_for(api.runtime, alert["id"])
    assert [m.purpose for m in messages] == ["emergency_contact"], "an all-clear was queued for a declined contact"


async def test_an_unknown_link_is_a_404_page_in_bahasa_indonesia(city: Api) -> None:
    for answer in (await city.http.get("/k/tidak-ada"), await city.http.post("/k/tidak-ada/setuju")):
        assert answer.status_code == 404
        assert "Tautan tidak dikenal" in answer.text


async def test_one_number_gets_at_most_the_days_cap_of_alarms_however_many_residents_list_it(
    city: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five residents who all list the same (agreeing) number press at once, and the five alarms are decided at
    the same moment by concurrent deliveries: the number gets exactly the cap, the rest are suppressed."""
    api = city
    monkeypatch.setattr(api.runtime.settings, "contact_alarms_per_day", 2)
    residents = [await api.resident(name=f"Warga {n}") for n in range(5)]
    for resident in residents:
        await with_contacts(api, resident, [PHONE])
    alerts = [await api.press(resident, lat=COBLONG[0], lon=COBLONG[1]) for resident in residents]
    ids = [m.id for alert in alerts for m in await messages_for(api.runtime, alert["id"])]
    async with api.runtime.unit_of_work() as session:  # all due now (the time to cancel by mistake is over)
        for message in (await session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids)))).all():
            message.next_attempt_at = message.created_at
    senders = api.runtime.senders
    await asyncio.gather(*(notify.deliver(api.runtime.unit_of_work, senders, [i]) for i in ids))

    decided = [m for alert in alerts for m in await messages_for(api.runtime, alert["id"])]
    assert sorted(m.status for m in decided) == ["sent", "sent", "suppressed", "suppressed", "suppressed"]
    assert {m.last_error for m in decided if m.status == "suppressed"} == {"not sent: daily_cap"}
    (contact,) = {m.recipient for m in decided}
    assert len(alarms_to(_sms(api), contact)) == 2
    supervisor = await api.staff(Role.SUPERVISOR)
    audit = await api.get(supervisor, "/audit", action="contact.alarm")
    assert audit.status_code == 200, audit.text
    reasons = sorted(r["detail"]["reason"] for r in audit.json())
    assert reasons == ["confirmed", "confirmed", "daily_cap", "daily_cap", "daily_cap"]
