"""A resident who raised an SOS by SMS sees nothing of the alert but SMS: once a unit is dispatched, they are told
officers are on their way, once, in their language, with the unit's callsign (found from the database each round, so
a restart never loses it)."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from siaga.accounts.domain import Role
from siaga.accounts.models import Resident
from siaga.notify.models import OutboundMessage
from siaga.sms import inbound, keyword, progress
from tests.conftest import Api
from tests.residents import made_residents


async def test_an_sms_caller_is_told_once_that_officers_are_coming(api: Api) -> None:
    runtime = api.runtime
    [person] = await made_residents(api, 1)
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(Resident)
            .where(Resident.phone == person.phone)
            .values(name="Ujang", nik="3273021507900001", nik_kecamatan="327302", language="en")
        )
    handled = await inbound.receive(runtime, gateway="dev", gateway_id="p-1", sender=person.phone, text="TOLONG")
    assert handled is not None
    alert_id = keyword.alert_id(handled.message)
    assert await progress.tell_officer_coming(runtime) == 0  # nobody dispatched yet

    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-SMS-1")
    await api.on_duty(officer)
    assert (await api.post(operator, f"/alerts/{alert_id}/acknowledge")).status_code == 200
    sent = await api.post(operator, f"/alerts/{alert_id}/dispatch", {"unit_id": officer.unit_id})
    assert sent.status_code == 200, sent.text

    assert await progress.tell_officer_coming(runtime) == 1
    assert await progress.tell_officer_coming(runtime) == 0  # told once
    async with runtime.read_sessions() as session:
        [message] = (
            await session.scalars(select(OutboundMessage).where(OutboundMessage.purpose == progress.OFFICER_COMING))
        ).all()
    assert (message.recipient, message.alert_id) == (person.phone, str(alert_id))
    assert (
        message.body
        == "SIAGA: officers (COBLONG-SMS-1) are on their way to you. Stay somewhere safe; we will call this number."
    )


async def test_an_app_press_is_not_told_by_sms(api: Api) -> None:
    resident = await api.resident()
    alert = await api.press(resident)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign=f"COBLONG-{uuid.uuid4().hex[:4]}")
    await api.on_duty(officer)
    assert (await api.post(operator, f"/alerts/{alert['id']}/acknowledge")).status_code == 200
    assert (
        await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": officer.unit_id})
    ).status_code == 200

    assert await progress.tell_officer_coming(api.runtime) == 0  # the app shows who is coming
