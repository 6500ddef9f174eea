"""An administrator looks after staff accounts through the API: edits them, deactivates and reactivates them, gives a
new password, and finds one among hundreds. Every change is audited; a deactivated account is out at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from siaga.accounts import service as accounts
from siaga.accounts.domain import Role
from siaga.agencies import service as agencies
from siaga.audit.models import AuditRecord
from tests.conftest import PASSWORD, Api, Person
from tests.e2e.test_stream_sessions import _closed_for_session_end
from tests.e2e.test_streams import Live, live, stream
from tests.integration.test_dispatch import COBLONG, board_state, city, moved, officer, on_duty_at

__all__ = ["city", "live"]  # the fixtures, used by name below


async def audit_of(api: Api, action: str, staff_id: str) -> list[AuditRecord]:
    async with api.runtime.read_sessions() as session:
        rows = await session.scalars(
            select(AuditRecord).where(AuditRecord.action == action, AuditRecord.target_id == staff_id)
        )
        return list(rows.all())


async def can_log_in(api: Api, who: Person, password: str = PASSWORD) -> bool:
    answer = await api.http.post("/api/v1/auth/login", json={"username": who.extra["username"], "password": password})
    return answer.status_code == 200


async def test_a_deactivated_operators_open_console_stream_closes_and_their_token_is_refused(live: Live) -> None:
    api = live.api
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    async with stream(live, "console", operator) as console:
        answer = await api.post(admin, f"/staff/{operator.id}/deactivate")
        assert answer.status_code == 200, answer.text
        assert answer.json()["active"] is False
        assert (await _closed_for_session_end(console))[-1] == "auth.session_ended"
    assert (await api.get(operator, "/auth/me")).status_code == 401
    assert not await can_log_in(api, operator)
    [record] = await audit_of(api, "staff.deactivate", operator.id)
    assert record.actor_id == f"staff:{admin.id}"
    assert record.detail["sessions_ended"] == 1

    # Back at work: the password lets them in again; the old token stays dead.
    assert (await api.post(admin, f"/staff/{operator.id}/activate")).json()["active"] is True
    assert await can_log_in(api, operator)
    assert (await api.get(operator, "/auth/me")).status_code == 401
    assert len(await audit_of(api, "staff.activate", operator.id)) == 1


async def test_an_administrator_edits_a_staff_member_and_a_new_role_signs_them_out(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG", name="Operator Lama")
    async with api.runtime.read_sessions() as session:
        sukajadi = (await agencies.agency_by_code(session, "POLSEK-SUKAJADI")).id

    renamed = await api.http.patch(
        f"/api/v1/staff/{operator.id}", json={"name": "Operator Baru", "phone": "0812-1111-2222"}, headers=admin.headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Operator Baru"
    assert renamed.json()["phone"] == "+6281211112222"
    assert (await api.get(operator, "/auth/me")).status_code == 200  # a new name changes nothing they may do

    moved = await api.http.patch(
        f"/api/v1/staff/{operator.id}", json={"role": "supervisor", "agency_id": sukajadi}, headers=admin.headers
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["role"], moved.json()["agency_id"]) == ("supervisor", sukajadi)
    assert (await api.get(operator, "/auth/me")).status_code == 401
    changes = [r.detail["changed"] for r in await audit_of(api, "staff.update", operator.id)]
    assert {"name": ["Operator Lama", "Operator Baru"], "phone": [None, "+6281211112222"]} in changes
    assert any(c.get("role") == ["operator", "supervisor"] for c in changes)


async def test_edits_that_would_break_an_account_are_refused_with_the_reason(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)

    async def patch(staff_id: str, body: dict[str, Any]) -> tuple[int, str]:
        answer = await api.http.patch(f"/api/v1/staff/{staff_id}", json=body, headers=admin.headers)
        return answer.status_code, answer.json()["error"]["code"] if answer.status_code >= 400 else ""

    assert await patch(operator.id, {"role": "officer"}) == (422, "staff.unit_required")
    assert (await patch(operator.id, {"name": None}))[0] == 422
    assert await patch("999999", {"name": "Siapa"}) == (404, "staff.not_found")
    assert await patch(admin.id, {"role": "operator"}) == (409, "staff.self")
    own = await api.post(admin, f"/staff/{admin.id}/deactivate")
    assert (own.status_code, own.json()["error"]["code"]) == (409, "staff.self")
    assert await audit_of(api, "staff.update", operator.id) == []


async def test_a_new_password_lets_the_staff_member_in_and_ends_their_old_sessions(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG")
    short = await api.http.put(
        f"/api/v1/staff/{officer.id}/password", json={"password": "short"}, headers=admin.headers
    )
    assert short.status_code == 422
    answer = await api.http.put(
        f"/api/v1/staff/{officer.id}/password", json={"password": "a brand new password"}, headers=admin.headers
    )
    assert answer.status_code == 204, answer.text
    assert (await api.get(officer, "/auth/me")).status_code == 401
    assert not await can_log_in(api, officer)
    assert await can_log_in(api, officer, "a brand new password")
    [record] = await audit_of(api, "staff.password_reset", officer.id)
    assert "password" not in str(record.detail).replace("password_reset", "")


async def test_two_hundred_staff_are_searched_and_paged(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    async with api.runtime.unit_of_work() as session:
        coblong = (await agencies.agency_by_code(session, "POLSEK-COBLONG")).id
        for index in range(210):
            await accounts.create_staff(
                session,
                username=f"piket.{index:03d}",
                name=f"Petugas Piket {index:03d}",
                role=Role.OPERATOR,
                agency_id=coblong,
                password=PASSWORD,
            )

    seen: list[str] = []
    for offset in (0, 100, 200):
        page = await api.get(admin, "/staff", q="PIKET", limit=100, offset=offset)
        assert page.status_code == 200, page.text
        assert page.headers["X-Total-Count"] == "210"
        seen += [s["username"] for s in page.json()]
    assert sorted(seen) == [f"piket.{i:03d}" for i in range(210)]

    one = await api.get(admin, "/staff", q="piket 117")
    assert [s["username"] for s in one.json()] == ["piket.117"]
    async with api.runtime.unit_of_work() as session:
        await accounts.create_staff(
            session,
            username="piket.tidur",
            name="Piket Tidur",
            role=Role.OPERATOR,
            agency_id=coblong,
            password=PASSWORD,
        )
    sleeper = (await api.get(admin, "/staff", q="tidur")).json()[0]
    assert (await api.post(admin, f"/staff/{sleeper['id']}/deactivate")).status_code == 200
    inactive = await api.get(admin, "/staff", q="piket", active=False)
    assert [s["username"] for s in inactive.json()] == ["piket.tidur"]
    assert inactive.headers["X-Total-Count"] == "1"


async def test_a_deactivated_officer_on_an_alert_leaves_duty_and_the_alert_goes_back_to_the_command_centre(
    city: Api,
) -> None:
    api = city
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    asep = await officer(api, "COBLONG-PERGI-1")
    await on_duty_at(api, asep, moved(COBLONG, north_m=200))
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    sent = await api.post(operator, f"/alerts/{alert['id']}/dispatch", {"unit_id": asep.unit_id})
    assert sent.status_code == 200, sent.text

    answer = await api.post(admin, f"/staff/{asep.id}/deactivate")
    assert answer.status_code == 200, answer.text
    assert await board_state(api, operator, asep) == "off_duty"
    back = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert back["unit_id"] is None
    kinds = [e["kind"] for e in (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()]
    assert "handed_back" in kinds
    [record] = await audit_of(api, "staff.deactivate", asep.id)
    assert record.detail["handed_back"] == [alert["id"]]
