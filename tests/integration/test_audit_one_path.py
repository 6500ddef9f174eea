"""One path to the audit log (issue 15): staff reading residents, opening a live stream and a wrong registration
code are recorded by their use case, not by the door they came in by, so every caller of the same use case (the API,
an SMS, a ``siaga`` command or a script at the server) leaves the same record, naming who it was. Before, only the
HTTP routers wrote the first two, and only the SMS handler the third: a wrong code at a counter went unrecorded."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.alerts import residents
from siaga.audit.actor import ActorContext
from siaga.audit.models import AuditRecord
from siaga.realtime import streams
from siaga.runtime import Runtime
from siaga.sms import inbound
from tests.conftest import Api, new_phone
from tests.e2e.test_sms_register import NIK, _codes_to

OS_USER = "petugas-server"
READS = ("resident.list", "resident.read", "resident.read_moderation")


async def _records(runtime: Runtime, actions: tuple[str, ...]) -> list[AuditRecord]:
    async with runtime.read_sessions() as session:
        rows = await session.scalars(
            select(AuditRecord).where(AuditRecord.action.in_(actions)).order_by(AuditRecord.id)
        )
        return list(rows.all())


def _what(record: AuditRecord) -> tuple[Any, ...]:
    return record.action, record.target_type, record.target_id, record.outcome, record.detail


async def test_reading_residents_at_the_server_is_audited_as_through_the_api(api: Api) -> None:
    resident = await api.resident(name="Siti Rahma")
    await api.press(resident)
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    listed = await api.get(supervisor, "/residents", q="Siti")
    assert [r["id"] for r in listed.json()] == [resident.id], listed.text
    assert (await api.get(supervisor, f"/residents/{resident.id}")).status_code == 200
    assert (await api.get(supervisor, f"/residents/{resident.id}/moderation")).status_code == 200
    through_the_api = await _records(api.runtime, READS)
    assert {(r.action, r.actor_id) for r in through_the_api} == {(a, f"staff:{supervisor.id}") for a in READS}

    # The same reads by someone at the server: no session, everyone in sight, and the same records, as theirs.
    by = ActorContext.command_line(OS_USER)
    async with api.runtime.unit_of_work() as session:
        found = await residents.read_residents(session, None, by=by, q="Siti")
        assert [r.id for r in found] == [uuid.UUID(resident.id)]
        assert (await residents.read_resident(session, None, uuid.UUID(resident.id), by=by)).name == "Siti Rahma"
        assert await residents.read_moderation(session, None, uuid.UUID(resident.id), by=by) == []
    at_the_server = [r for r in await _records(api.runtime, READS) if r.actor_kind == "cli"]
    assert [_what(r) for r in at_the_server] == [_what(r) for r in through_the_api]
    assert {(r.actor_id, r.actor_name) for r in at_the_server} == {("cli", OS_USER)}


async def test_opening_a_stream_is_audited_by_whoever_opens_it(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR, "BDG-CC")
    principal = await api.runtime.principals.principal(operator.token)
    assert principal is not None

    viewer = await streams.watch(
        api.runtime, "console", principal, by=ActorContext.signed_in(principal, "10.1.2.3"), cursor=42
    )

    assert viewer.principal == principal
    [opened] = await _records(api.runtime, ("stream.console",))
    assert (opened.actor_id, opened.agency_id, opened.client_ip) == (
        f"staff:{operator.id}",
        operator.extra["agency_id"],
        "10.1.2.3",
    )
    assert opened.detail == {"cursor": 42}


async def test_a_wrong_registration_code_is_audited_at_a_counter_as_by_sms(api: Api) -> None:
    by_sms = "+62" + new_phone()[1:]
    await inbound.receive(
        api.runtime, gateway="dev", gateway_id=str(uuid.uuid4()), sender=by_sms, text=f"DAFTAR Ujang {NIK}"
    )
    [code] = _codes_to(api.runtime, by_sms)
    wrong = "000000" if code != "000000" else "111111"
    await inbound.receive(api.runtime, gateway="dev", gateway_id=str(uuid.uuid4()), sender=by_sms, text=wrong)
    supervisor = await api.staff(Role.SUPERVISOR, "POLSEK-COBLONG")
    form = {"phone": new_phone(), "name": "Ujang Loket", "nik": NIK}
    asked = await api.post(supervisor, "/residents/counter/code", form)
    [code] = _codes_to(api.runtime, asked.json()["phone"])
    wrong = "000000" if code != "000000" else "111111"

    refused = await api.post(supervisor, "/residents/counter", {**form, "code": wrong})

    assert refused.status_code == 422, refused.text
    failed = [r for r in await _records(api.runtime, ("resident.login",)) if r.outcome == "failure"]
    assert [(r.actor_id, r.detail) for r in failed] == [
        (by_sms, {"reason": "otp.wrong"}),
        (f"staff:{supervisor.id}", {"reason": "otp.wrong"}),
    ]
