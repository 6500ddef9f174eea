"""Emergency contacts are told the truth: the alarm waits out the time to cancel a press made by mistake, a press
cancelled within it sends nothing, a cancel after the alarm sends an all-clear, and a duress PIN (which looks like a
cancel on the phone) never withdraws the alarm nor sends an all-clear.

Before, every press sent its alarm at once, a press cancelled within seconds included, and no all-clear ever
followed. The alarm now carries the kecamatan and a map link instead of raw coordinates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from siaga.db import utcnow
from siaga.notify import service as notify
from siaga.notify.models import OutboundMessage
from siaga.notify.sms import DevSMS
from siaga.runtime import Runtime
from tests.conftest import Api
from tests.integration.test_dispatch import COBLONG, alarms_to, city, eventually, messages_for, with_contacts

__all__ = ["city"]  # the fixture, used by name
PHONES = ["081299990011", "081299990012"]


async def _time_passes(runtime: Runtime, alert_id: str) -> None:
    """As if the time to cancel were over: the held alarms are due now, the retry loop's pass runs, and whatever the
    app's own workers had in hand is done.

    Only alarms still held move: one the app's retry loop (or its delivery after the press's commit) has already
    claimed carries a lease, and making that one due as well would have this pass send it a second time while the
    worker is still sending it (a duplicate alarm that only showed on a busy machine)."""
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.alert_id == alert_id,
                OutboundMessage.status == "pending",
                OutboundMessage.attempts == 0,
            )
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
    await notify.retry_due(runtime.unit_of_work, runtime.senders)

    async def settled() -> bool:
        return not any(m.status == "sending" for m in await messages_for(runtime, alert_id))

    await eventually(settled, "the app's workers to finish sending this alert's messages")


def _alarms_told(sms: DevSMS, contacts: list[str]) -> dict[str, int]:
    """How many alarms (not consent requests) each contact got."""
    return {phone: len(alarms_to(sms, phone)) for phone in contacts}


async def test_a_press_cancelled_in_time_sends_the_contacts_nothing(city: Api) -> None:
    api = city
    resident = await api.resident(name="Rina")
    contacts = await with_contacts(api, resident, PHONES)
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    held = await messages_for(api.runtime, alert["id"])
    assert [(m.recipient, m.status, m.attempts) for m in held] == [(c, "pending", 0) for c in contacts]
    assert all(m.next_attempt_at > utcnow() for m in held), "the alarms must wait for a cancel by mistake"
    assert (await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "1234"})).status_code == 200
    await _time_passes(api.runtime, alert["id"])
    assert {m.status for m in await messages_for(api.runtime, alert["id"])} == {"withdrawn"}
    assert isinstance(api.runtime.sms, DevSMS)
    told = _alarms_told(api.runtime.sms, contacts)
    assert told == dict.fromkeys(contacts, 0), f"a press cancelled in time must send the contacts nothing: {told}"


async def test_a_cancel_after_the_alarm_sends_each_contact_an_all_clear(city: Api) -> None:
    api = city
    resident = await api.resident(name="Rina")
    contacts = await with_contacts(api, resident, PHONES)
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    await _time_passes(api.runtime, alert["id"])
    sms = api.runtime.sms
    assert isinstance(sms, DevSMS)
    for phone in contacts:
        (alarm,) = alarms_to(sms, phone)
        assert "Rina menekan tombol darurat" in alarm["body"]
        assert "Kec. Coblong" in alarm["body"]
        assert f"mlat={COBLONG[0]:.5f}&mlon={COBLONG[1]:.5f}" in alarm["body"]
    assert (await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "1234"})).status_code == 200

    async def all_clear() -> list[list[dict[str, str]]] | None:
        told = [alarms_to(sms, phone) for phone in contacts]
        return told if all(len(messages) == 2 for messages in told) else None

    for _alarm, clear in await eventually(all_clear, "an all-clear to each contact"):
        assert "Keadaan aman" in clear["body"]


@pytest.mark.parametrize("alarm_sent", [False, True])
async def test_a_duress_pin_never_withdraws_the_alarm_nor_sends_an_all_clear(city: Api, alarm_sent: bool) -> None:
    api = city
    resident = await api.resident(name="Rina")
    contacts = await with_contacts(api, resident, PHONES)
    alert = await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
    if alarm_sent:
        await _time_passes(api.runtime, alert["id"])
    assert (await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "9999"})).status_code == 200
    await _time_passes(api.runtime, alert["id"])
    messages = await messages_for(api.runtime, alert["id"])
    assert [(m.purpose, m.status) for m in messages] == [("emergency_contact", "sent")] * len(contacts), (
        "after a duress PIN each contact's alarm must still go, and nothing else (no withdrawal, no all-clear)"
    )
    assert isinstance(api.runtime.sms, DevSMS)
    told = _alarms_told(api.runtime.sms, contacts)
    assert told == dict.fromkeys(contacts, 1), (
        f"after a duress PIN each contact must get the alarm exactly once and no all-clear; SMS received: {told}"
    )
