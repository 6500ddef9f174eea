"""The panic-button registry through the API: wrong input is refused saying what is wrong and leaves nothing behind,
every change is audited as the administrator who made it, and a disabled button leaves the broker's files and
supervision while a panic that still reaches Siaga from it is raised all the same."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from siaga.accounts.domain import Role
from siaga.accounts.models import Resident
from siaga.agencies import service as agencies
from siaga.alerts.models import Alert
from siaga.devices import service as devices
from siaga.devices.models import Device, Site
from siaga.runtime import Runtime
from tests.conftest import Api, Person

COBLONG = (-6.8915, 107.6107)


async def _count(runtime: Runtime, model: type[Any]) -> int:
    async with runtime.read_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _site(api: Api, admin: Person, **fields: Any) -> Any:
    async with api.runtime.read_sessions() as session:
        coblong = await agencies.agency_by_code(session, "POLSEK-COBLONG")
    body = {"name": "Sekolah Uji", "lat": COBLONG[0], "lon": COBLONG[1], "agency_id": coblong.id, **fields}
    return await api.post(admin, "/devices/sites", body)


def _code(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


async def test_wrong_input_is_refused_with_its_reason_and_nothing_half_written(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    residents = await _count(db, Resident)
    assert _code(await _site(api, admin, agency_id=999_999)) == (422, "device.unknown_agency")
    assert _code(await _site(api, admin, lat=200)) == (422, "request.invalid")
    assert _code(await _site(api, admin, colour="red")) == (422, "request.invalid")
    assert (await _count(db, Site), await _count(db, Resident)) == (0, residents), "a refused site left rows"

    site = (await _site(api, admin)).json()
    good = {"site_id": site["id"], "name": "sekolah-1"}
    assert _code(await api.post(admin, "/devices", {**good, "name": "bad name!"})) == (422, "device.bad_name")
    assert _code(await api.post(admin, "/devices", {**good, "site_id": 999_999})) == (404, "device.site_not_found")
    assert _code(await api.post(admin, "/devices", {**good, "heartbeat_interval_s": 1})) == (422, "request.invalid")
    assert _code(await api.post(admin, "/devices", {**good, "protocol": "lorawan"})) == (422, "request.invalid")
    assert (await api.post(admin, "/devices", good)).status_code == 201
    assert _code(await api.post(admin, "/devices", good)) == (409, "device.name_taken")
    assert await _count(db, Device) == 1
    missing = "00000000-0000-4000-8000-000000000000"
    answer = await api.http.patch(f"/api/v1/devices/{missing}", json={"enabled": False}, headers=admin.headers)
    assert _code(answer) == (404, "device.not_found")


async def test_every_change_is_audited_and_a_disabled_button_is_still_heard(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN, name="Admin Registri")
    site = (await _site(api, admin, contacts=[{"name": "Bu Ani", "phone": "081234500002"}])).json()
    assert site["contacts"] == [{"name": "Bu Ani", "phone": "081234500002", "role": ""}]
    device = (await api.post(admin, "/devices", {"site_id": site["id"], "name": "sekolah-2"})).json()
    changed = await api.http.patch(
        f"/api/v1/devices/{device['id']}", json={"enabled": False, "new_password": True}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["password"] not in (None, device["password"]), "no new password"
    renamed = await api.http.patch(
        f"/api/v1/devices/sites/{site['id']}", json={"name": "SD Uji 2"}, headers=admin.headers
    )
    assert renamed.json()["name"] == "SD Uji 2"

    records = (await api.get(admin, "/audit", action="device.", limit=100)).json()
    done = sorted((r["action"], r["actor_name"], r["target_id"]) for r in records)
    assert done == sorted(
        [
            ("device.site_create", "Admin Registri", str(site["id"])),
            ("device.create", "Admin Registri", device["id"]),
            ("device.update", "Admin Registri", device["id"]),
            ("device.site_update", "Admin Registri", str(site["id"])),
        ]
    )

    untouched = await api.http.patch(
        f"/api/v1/devices/sites/{site['id']}", json={"lat": None, "contacts": None}, headers=admin.headers
    )
    assert untouched.status_code == 200, untouched.text
    assert (untouched.json()["lat"], untouched.json()["contacts"]) == (COBLONG[0], site["contacts"]), "null erased"
    files = (await api.get(admin, "/devices/mosquitto-config")).json()
    assert "sekolah-2" not in files["password_file"] + files["acl_file"], "a disabled button keeps its login"
    async with db.unit_of_work() as session:
        assert await devices.sweep_offline(session) == 0, "a disabled button is supervised"
    # It can no longer log in, but a panic that reaches Siaga from it (before the broker was reloaded) is an SOS.
    await devices.receive(db, "siaga/devices/sekolah-2/event", b'{"id": "late-1", "type": "panic"}')
    async with db.read_sessions() as session:
        alerts = (await session.scalars(select(Alert).where(Alert.channel == "device"))).all()
    assert [(a.category, a.resident.name) for a in alerts] == [("kriminalitas", "SD Uji 2")]
