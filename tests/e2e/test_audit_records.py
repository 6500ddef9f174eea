"""The audit records that staff and residents leave through the API, field by field: who (kind, id, name, agency,
address), what, on what, how it ended and the detail. The use cases write them now (through the actor context), and a
supervisor reading the log must find exactly what they found when the routers wrote them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.audit.models import AuditRecord
from tests.conftest import Api, Person
from tests.e2e.test_second_factor import bearer, enrol, log_in, new_staff, next_code, required

__all__ = ["required"]  # the fixture, used by name below

FIELDS = ("actor_kind", "actor_id", "actor_name", "agency_id", "target_type", "target_id", "outcome", "detail")


async def latest(api: Api, action: str) -> dict[str, Any]:
    """The newest record of ``action``, as the fields a reader of the log sees."""
    async with api.runtime.read_sessions() as session:
        row = await session.scalar(
            select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id.desc()).limit(1)
        )
    assert row is not None, f"no {action} record"
    return {"client_ip": row.client_ip, **{name: getattr(row, name) for name in FIELDS}}


def by(person: Person, **record: Any) -> dict[str, Any]:
    """A record made by a signed-in staff member (named as their session names them)."""
    return {
        "actor_kind": person.role,
        "actor_id": f"staff:{person.id}",
        "actor_name": person.name,
        "outcome": "success",
        "target_type": "",
        "target_id": "",
        "detail": {},
        **record,
    }


async def test_officer_operator_admin_and_resident_actions_leave_the_records_they_always_did(api: Api) -> None:
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG")
    agency = officer.extra["agency_id"]
    username = officer.extra["username"]
    ip = (await latest(api, "staff.login"))["client_ip"]
    assert ip
    assert await latest(api, "staff.login") == {
        "client_ip": ip,
        "actor_kind": "anonymous",
        "actor_id": username,
        "actor_name": username,
        "agency_id": agency,
        "target_type": "staff",
        "target_id": officer.id,
        "outcome": "success",
        "detail": {},
    }
    wrong = await api.http.post("/api/v1/auth/login", json={"username": f" {username.upper()} ", "password": "x"})
    assert wrong.status_code == 401, wrong.text
    assert await latest(api, "staff.login") == {
        "client_ip": ip,
        "actor_kind": "anonymous",
        "actor_id": username,
        "actor_name": username,
        "agency_id": None,
        "target_type": "",
        "target_id": "",
        "outcome": "failure",
        "detail": {"reason": "bad_credentials"},
    }

    unit = str(officer.unit_id)
    assert (await api.http.put("/api/v1/officers/me/duty", json={"mode": "post"}, headers=officer.headers)).is_success
    assert await latest(api, "officer.on_duty") == {
        "client_ip": ip,
        **by(officer, agency_id=agency, target_type="unit", target_id=unit, detail={"mode": "post"}),
    }
    assert (await api.http.delete("/api/v1/officers/me/duty", headers=officer.headers)).is_success
    assert await latest(api, "officer.off_duty") == {
        "client_ip": ip,
        **by(officer, agency_id=agency, target_type="unit", target_id=unit),
    }

    admin = await api.staff(Role.ADMIN)
    admin_agency = admin.extra["agency_id"]
    settings = {"direct_offers": True, "offer_size": 2, "offer_timeout_seconds": 30, "offer_radius_m": 2000.0}
    answer = await api.http.put(
        "/api/v1/agencies/POLSEK-COBLONG/dispatch-settings", json=settings, headers=admin.headers
    )
    assert answer.status_code == 200, answer.text
    whole = {**settings, "ack_timeout_seconds": None, "dispatch_timeout_seconds": None}
    assert await latest(api, "agency.dispatch_settings") == {
        "client_ip": ip,
        **by(admin, agency_id=agency, target_type="agency", target_id="POLSEK-COBLONG", detail=whole),
    }
    assert (await api.post(admin, "/exercise/residents", {"count": 1})).status_code == 201
    assert await latest(api, "exercise.residents") == {
        "client_ip": ip,
        **by(admin, agency_id=admin_agency, detail={"count": 1}),
    }

    resident = await api.resident(name="Siti Rahma")
    alert = await api.press(resident)
    operator = await api.staff(Role.OPERATOR)
    staff_view = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    on_alert = {"target_type": "alert", "target_id": alert["id"], "agency_id": staff_view["agency_id"]}
    assert await latest(api, "alert.read") == {
        "client_ip": ip,
        **by(operator, **on_alert, detail={"resident_id": resident.id}),
    }
    assert (await api.get(operator, "/alerts", resident_id=resident.id)).status_code == 200
    assert await latest(api, "alert.list") == {
        "client_ip": ip,
        **by(
            operator,
            agency_id=operator.extra["agency_id"],
            target_type="alert",
            detail={"count": 1, "residents": [resident.id]},
        ),
    }
    assert (await api.get(operator, f"/alerts/{alert['id']}/timeline")).status_code == 200
    assert await latest(api, "alert.read_timeline") == {"client_ip": ip, **by(operator, **on_alert)}
    assert (await api.get(operator, f"/alerts/{alert['id']}/trail")).status_code == 200
    assert await latest(api, "alert.read_trail") == {"client_ip": ip, **by(operator, **on_alert)}

    wrong_pin = await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "0000"})
    assert wrong_pin.status_code == 422, wrong_pin.text
    failed = await latest(api, "alert.cancel")
    assert (failed["actor_kind"], failed["actor_id"], failed["outcome"]) == ("resident", resident.id, "failure")
    assert (failed["target_id"], failed["agency_id"], failed["detail"]) == (
        alert["id"],
        on_alert["agency_id"],
        {"pin": "wrong"},
    )
    assert (await api.post(resident, f"/alerts/{alert['id']}/cancel", {"pin": "1234"})).status_code == 200
    cancelled = await latest(api, "alert.cancel")
    assert (cancelled["outcome"], cancelled["detail"], cancelled["client_ip"]) == ("success", {"pin": "cancel"}, ip)

    supervisor = await api.staff(Role.SUPERVISOR)
    assert (await api.get(supervisor, "/audit", action="alert.", target_id=alert["id"])).status_code == 200
    assert await latest(api, "audit.read") == {
        "client_ip": ip,
        **by(
            supervisor, agency_id=supervisor.extra["agency_id"], detail={"action": "alert.", "target_id": alert["id"]}
        ),
    }
    assert (await api.post(supervisor, "/auth/logout")).status_code == 204
    assert await latest(api, "auth.logout") == {
        "client_ip": ip,
        **by(supervisor, agency_id=supervisor.extra["agency_id"]),
    }


async def test_a_login_with_a_second_factor_leaves_the_records_it_always_did(required: Api) -> None:
    api = required
    username = await new_staff(api, Role.SUPERVISOR)
    first = await log_in(api, username)
    staff_id, agency = str(first["staff_id"]), first["agency_id"]
    ip = (await latest(api, "staff.login_password"))["client_ip"]
    as_username = {"actor_kind": "anonymous", "actor_id": username, "actor_name": username, "agency_id": agency}
    on_staff = {"target_type": "staff", "target_id": staff_id, "outcome": "success", "client_ip": ip}
    assert await latest(api, "staff.login_password") == {**as_username, **on_staff, "detail": {"next_step": "enrol"}}

    app, _ = await enrol(api, first["access_token"])
    assert await latest(api, "staff.login") == {**as_username, **on_staff, "detail": {"second_factor": "enrolled"}}

    step = bearer((await log_in(api, username))["access_token"])
    assert await latest(api, "staff.login_password") == {**as_username, **on_staff, "detail": {"next_step": "code"}}
    right = next_code(app)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    assert (await api.http.post("/api/v1/auth/code", json={"code": wrong}, headers=step)).status_code == 401
    supervisor = Person(token="", name=username.title(), id=staff_id, role="supervisor")
    assert await latest(api, "staff.factor_failed") == {
        "client_ip": ip,
        **by(
            supervisor,
            agency_id=agency,
            target_type="staff",
            target_id=staff_id,
            outcome="failure",
            detail={"username": username, "reason": "bad_code"},
        ),
    }
    assert (await api.http.post("/api/v1/auth/code", json={"code": right}, headers=step)).status_code == 200
    assert await latest(api, "staff.login") == {**as_username, **on_staff, "detail": {"second_factor": "totp"}}
