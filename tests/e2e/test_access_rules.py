"""Access rules, as one table: every endpoint in the OpenAPI document x every kind of caller.

Residents see only their own alerts and profile; officers what their unit is assigned; staff their agency's
jurisdiction; administrators everything. A caller without a token gets 401, a caller in the wrong role 403, and an
alert or resident outside the caller's scope 404, the same answer as for an id that does not exist, so ids leak
nothing. Every read of a resident's personal data by staff leaves an audit record, and every refusal (a 403, or a
404 hiding an alert) an outcome=denied one, checked at the end of each group.

The scene, rebuilt for each test (the database is emptied per test): the *owner* pressed SOS in Coblong; the
alert belongs to POLSEK-COBLONG and is dispatched to unit COBLONG-1, whose officer is the *assigned officer*;
COBLONG-2's officer (same Polsek, other unit) is the *other officer*. The command centre (BDG-CC) sits above every
Polsek, so its operator and supervisor see the alert; the operator of POLSEK-SUKAJADI does not. A crew
administrator outside the table prepares scenes: calls that should change something run on a fresh alert (or a fresh
resident), calls that should be refused run on the shared scene, and the shared scene is checked unchanged at the end.
Direct offers go to the other officer's unit (the assigned officer's is busy with the shared alert): POLSEK-COBLONG
offers its new alerts straight to the nearest on-duty officers, the other officer waits on duty next to the owner, and
the owner presses a new alert whenever a cell needs an offer that is still waiting for an answer.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from siaga.accounts.domain import Role
from siaga.devices import service as devices
from siaga.notify.sms import DevSMS
from tests.conftest import PASSWORD, Api, Person, new_phone, sos_body
from tests.residents import made_residents

API = "/api/v1"
NOT_IN_TABLE = ("/healthz", "/livez", "/readyz", "/openapi.json", "/docs", "/redoc")
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
COBLONG = (-6.8915, 107.6107)  # near ITB, inside Kecamatan Coblong
DEADLINE = 5.0  # seconds for the unit tracker (fed through the hub) and the timer sweep to catch up


class Expect(NamedTuple):
    """The exact status each caller gets. Column order is the table's column order."""

    anonymous: int
    owner: int  # the resident who raised the alert in the path (or whose id is in the path)
    other_resident: int
    cc_operator: int  # operator of BDG-CC, the command centre above every Polsek
    sukajadi_operator: int  # operator of POLSEK-SUKAJADI: the alert is in Coblong
    assigned_officer: int  # officer of the unit the alert is dispatched to
    other_officer: int  # officer of another unit of the same Polsek
    supervisor: int  # supervisor of BDG-CC
    admin: int


ROLES: tuple[str, ...] = Expect._fields
SEES_THE_ALERT: frozenset[str] = frozenset({"owner", "cc_operator", "assigned_officer", "supervisor", "admin"})
OFFICERS: frozenset[str] = frozenset({"assigned_officer", "other_officer"})
OFFERED = "other_officer"  # direct offers reach this officer's unit: the assigned officer's is on the shared alert


# The cast -------------------------------------------------------------------------------------------------------


@dataclass
class Call:
    """What one cell sends: path parameters, a JSON body, a query string."""

    params: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    owner: Person | None = None  # who the "owner" is for a fresh alert (a resident has one active alert at a time)


@dataclass
class Cast:
    api: Api
    crew: Person  # an administrator outside the table who prepares scenes
    people: dict[str, Person]  # every role but "anonymous"
    alert_id: str  # the shared scene: the owner's alert in Coblong, dispatched to the assigned officer's unit
    reserve_unit_id: int  # a third Coblong unit, for reassigning
    direct_offers: bool = False  # POLSEK-COBLONG offers new alerts to the nearest on-duty officers
    offer_ids: list[int] = field(default_factory=list)  # every offer made to the offered officer's unit, oldest first
    offered_alerts: list[str] = field(default_factory=list)  # the alerts of those offers

    def person(self, role: str) -> Person:
        return self.people[role]

    @property
    def owner(self) -> Person:
        return self.people["owner"]

    async def request(self, role: str, method: str, path: str, call: Call) -> httpx.Response:
        who = call.owner if role == "owner" and call.owner is not None else self.people.get(role)
        return await self.api.http.request(
            method,
            path.format(**call.params),
            headers=who.headers if who is not None else {},
            json=call.json,
            params=call.query,
        )

    async def fresh_alert(self, resident: Person, *, dispatched: bool = True) -> str:
        """A new alert of ``resident`` in Coblong; unless told otherwise dispatched by the crew to the assigned
        officer's unit (state: dispatched, and acknowledged by the crew)."""
        alert = await self.api.press(resident, lat=COBLONG[0], lon=COBLONG[1])
        if not dispatched:
            return str(alert["id"])
        unit_id = self.person("assigned_officer").unit_id
        await self.on_duty("assigned_officer")  # only a unit with an officer on duty is dispatched
        answer = await self.api.post(self.crew, f"/alerts/{alert['id']}/dispatch", {"unit_id": unit_id})
        assert answer.status_code == 200, answer.text
        return str(alert["id"])

    async def fresh_subject(self, *, suspended: bool) -> Person:
        """A new resident with an alert in Coblong (so the command centre may see them)."""
        resident = await self.api.resident(name="Warga Baru")
        await self.fresh_alert(resident)
        if suspended:
            answer = await self.api.post(self.crew, f"/residents/{resident.id}/suspend", {"reason": "iseng berulang"})
            assert answer.status_code == 200, answer.text
        return resident

    async def on_duty(self, role: str, *, at: tuple[float, float] | None = None) -> None:
        """The officer goes on patrol (and, given ``at``, shares that position and waits until the unit tracker
        shows the unit available there)."""
        officer = self.person(role)
        answer = await self.api.http.put(f"{API}/officers/me/duty", json={"mode": "patrol"}, headers=officer.headers)
        assert answer.status_code == 200, answer.text
        if at is None:
            return
        sent = await self.api.post(officer, "/officers/me/location", {"lat": at[0], "lon": at[1], "accuracy_m": 10.0})
        assert sent.status_code == 202, sent.text
        for _ in range(int(DEADLINE / 0.02)):
            point = self.api.runtime.units.tracker.get(officer.unit_id or 0)
            if point is not None and point.state == "available" and _same_place((point.lat, point.lon), at):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the tracker never showed {role}'s unit available at {at}")

    async def pending_offer(self) -> int:
        """An offer to the offered officer's unit still waiting for an answer: the newest, or a new one."""
        officer = self.person(OFFERED)
        waiting = await self.api.get(officer, "/offers")
        assert waiting.status_code == 200, waiting.text
        if waiting.json():
            return int(waiting.json()[-1]["id"])
        if not self.direct_offers:
            settings = {"direct_offers": True, "offer_size": 3, "offer_timeout_seconds": 600, "offer_radius_m": 5000}
            answer = await self.api.http.put(
                f"{API}/agencies/POLSEK-COBLONG/dispatch-settings", json=settings, headers=self.crew.headers
            )
            assert answer.status_code == 200, answer.text
            self.direct_offers = True
        for alert_id in self.offered_alerts:  # the unit took an earlier offer: the crew closes that alert
            alert = (await self.api.get(self.crew, f"/alerts/{alert_id}")).json()
            if alert["unit_id"] == officer.unit_id and alert["closed_at"] is None:
                done = await self.api.post(
                    self.crew, f"/alerts/{alert_id}/resolve", {"outcome": "test", "report": "Uji akses"}
                )
                assert done.status_code == 200, done.text
        await self.on_duty(OFFERED, at=COBLONG)
        resident = (await made_residents(self.api, 1))[0]  # the owner's press would join their active alert
        alert_id = str((await self.api.press(resident, lat=COBLONG[0], lon=COBLONG[1]))["id"])
        self.offered_alerts.append(alert_id)
        for _ in range(int(DEADLINE / 0.05)):
            await self.api.runtime.timers.sweep()
            offers = [o for o in (await self.api.get(officer, "/offers")).json() if o["alert_id"] == alert_id]
            if offers:
                self.offer_ids.append(int(offers[0]["id"]))
                return self.offer_ids[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"alert {alert_id} was never offered to {OFFERED}'s unit")

    async def snapshot(self) -> dict[str, Any]:
        """What must not change when calls are refused: the shared alert, its trail and timeline, the owner."""
        alert = await self.api.get(self.crew, f"/alerts/{self.alert_id}")
        timeline = await self.api.get(self.crew, f"/alerts/{self.alert_id}/timeline")
        trail = await self.api.get(self.crew, f"/alerts/{self.alert_id}/trail")
        resident = await self.api.get(self.crew, f"/residents/{self.owner.id}")
        for answer in (alert, timeline, trail, resident):
            assert answer.status_code == 200, answer.text
        keys = ("state", "version", "lat", "lon", "unit_id", "acknowledged_by", "escalated", "priority", "closed_at")
        return {
            **{key: alert.json()[key] for key in keys},
            "timeline": [event["kind"] for event in timeline.json()],
            "trail": len(trail.json()),
            "suspended": resident.json()["suspended"],
            "strikes": resident.json()["strikes"],
        }


def _same_place(position: tuple[float | None, float | None], at: tuple[float, float]) -> bool:
    lat, lon = position
    return lat is not None and lon is not None and abs(lat - at[0]) + abs(lon - at[1]) < 1e-6


async def build_cast(api: Api) -> Cast:
    crew = await api.staff(Role.ADMIN, name="Admin Kru")
    people = {
        "owner": await api.resident(name="Siti Pemilik"),
        "other_resident": await api.resident(name="Budi Lain"),
        "cc_operator": await api.staff(Role.OPERATOR, "BDG-CC"),
        "sukajadi_operator": await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI"),
        "assigned_officer": await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-1"),
        "other_officer": await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-2"),
        "supervisor": await api.staff(Role.SUPERVISOR, "BDG-CC"),
        "admin": await api.staff(Role.ADMIN, "BDG-CC"),
    }
    reserve = await api.post(
        crew,
        "/units",
        {"agency_id": people["assigned_officer"].extra["agency_id"], "callsign": "COBLONG-3", "kind": "motorbike"},
    )
    assert reserve.status_code == 201, reserve.text
    await api.on_duty(await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-3"))
    cast = Cast(api=api, crew=crew, people=people, alert_id="", reserve_unit_id=int(reserve.json()["id"]))
    cast.alert_id = await cast.fresh_alert(cast.owner)
    return cast


# How each row prepares its call ---------------------------------------------------------------------------------

Prepare = Callable[[Cast, str, bool], Awaitable[Call]]  # (cast, role, the cell should succeed) -> the call
Body = Callable[[Cast], dict[str, Any]]
Check = Callable[[Cast, str, httpx.Response], Awaitable[None]]


def plain(
    body: Body | None = None, query: dict[str, Any] | None = None, params: dict[str, str] | None = None
) -> Prepare:
    """The same call for every cell (a body made per call, so unique names stay unique)."""

    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        return Call(params=dict(params or {}), json=body(cast) if body else None, query=query)

    return prepare


async def new_press(cast: Cast, role: str, succeeds: bool) -> Call:
    """A new press, by a resident without an active alert (the owner's would join the shared scene's alert)."""
    owner = (await made_residents(cast.api, 1))[0] if role == "owner" else None
    return Call(json=sos_body(lat=COBLONG[0], lon=COBLONG[1]), owner=owner)


def on_alert(body: Body | None = None, *, fresh: Literal["new", "dispatched"] | None = None) -> Prepare:
    """The alert in the path: a ``fresh`` one in that state when the call should change it, else the shared scene."""

    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        alert_id, owner = cast.alert_id, None
        if fresh is not None and succeeds:
            # A new resident is the owner of a fresh alert: the owner's own press would join their active alert.
            owner = (await made_residents(cast.api, 1))[0]
            alert_id = await cast.fresh_alert(owner, dispatched=fresh == "dispatched")
        return Call(params={"alert_id": alert_id}, json=body(cast) if body else None, owner=owner)

    return prepare


NO_SUCH_UNIT = 999_999


async def on_unit_of_alert(cast: Cast, role: str, succeeds: bool) -> Call:
    """A unit that is not on the shared alert (nor anywhere), moved on it."""
    return Call(params={"alert_id": cast.alert_id, "unit_id": str(NO_SUCH_UNIT)}, json={"state": "released"})


def on_resident(body: Body | None = None, *, suspended_before: bool | None = None) -> Prepare:
    """The owner in the path; a fresh resident in the right standing when the call should change them."""

    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        resident_id = cast.owner.id
        if succeeds and suspended_before is not None:
            resident_id = (await cast.fresh_subject(suspended=suspended_before)).id
        return Call(params={"resident_id": resident_id}, json=body(cast) if body else None)

    return prepare


def on_staff(body: Body | None = None, *, deactivated_before: bool = False) -> Prepare:
    """A fresh operator's account in the path (changing one of the cast would change the table's other cells)."""

    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        target = await cast.api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
        if deactivated_before:
            answer = await cast.api.post(cast.crew, f"/staff/{target.id}/deactivate")
            assert answer.status_code == 200, answer.text
        return Call(params={"staff_id": target.id}, json=body(cast) if body else None)

    return prepare


def on_duty_first(body: Body) -> Prepare:
    """Officers go on duty before a call that needs it (a position is refused off duty)."""

    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        if succeeds:
            await cast.on_duty(role)
        return Call(json=body(cast))

    return prepare


async def with_offer_waiting(cast: Cast, role: str, succeeds: bool) -> Call:
    """Officers list their offers while one waits for the offered officer's unit."""
    if role in OFFICERS:
        await cast.pending_offer()
    return Call()


async def on_offer(cast: Cast, role: str, succeeds: bool) -> Call:
    """For the officers, an offer to the offered officer's unit still waiting for an answer (theirs to take or
    decline; another unit's for the assigned officer); the others are refused before any lookup: the newest offer."""
    offer_id = await cast.pending_offer() if role in OFFICERS or not cast.offer_ids else cast.offer_ids[-1]
    return Call(params={"offer_id": str(offer_id)})


def push_subscription(cast: Cast) -> dict[str, Any]:
    """What a browser's PushSubscription.toJSON() gives: a push service URL, its P-256 key and auth secret."""
    browser = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = browser.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {
        "endpoint": f"https://push.example/send/{unique('s')}",
        "keys": {"p256dh": _b64url(point), "auth": _b64url(os.urandom(16))},
        "expirationTime": None,
    }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


async def verify_fresh_phone(cast: Cast, role: str, succeeds: bool) -> Call:
    phone = new_phone()
    answer = await cast.api.http.post(f"{API}/residents/code", json={"phone": phone})
    assert answer.status_code == 202, answer.text
    return Call(json={"phone": phone, "code": await sent_code(cast.api, answer.json()["phone"])})


COUNTER_NIK = "3273024506900001"  # Coblong, a woman born 5 June 1990


async def at_the_counter(cast: Cast, role: str, succeeds: bool) -> Call:
    """A phone the crew asked a counter code for, and that code (read out by its owner)."""
    body = {"phone": new_phone(), "name": "Warga Loket", "nik": COUNTER_NIK}
    answer = await cast.api.http.post(f"{API}/residents/counter/code", json=body, headers=cast.crew.headers)
    assert answer.status_code == 202, answer.text
    return Call(json={**body, "code": await sent_code(cast.api, answer.json()["phone"])})


async def sent_code(api: Api, phone_e164: str) -> str:
    """The code in the newest SMS to the number. The SMS may still be on its way when the request is answered (a
    background delivery of the same message can win the claim), so wait for it a moment."""
    assert isinstance(api.runtime.sms, DevSMS)
    for _ in range(int(DEADLINE / 0.02)):
        if api.runtime.sms.read(to=phone_e164):
            break
        await asyncio.sleep(0.02)
    return api.last_code(phone_e164)


async def _new_tracker(cast: Cast, holder: Person | None = None) -> dict[str, Any]:
    """A tracker of the owner's (or of ``holder``), registered by the crew: a fresh one per cell (cells disable and
    remove them)."""
    body = {"device_id": unique("TRK-"), "resident_phone": (holder or cast.owner).phone}
    answer = await cast.api.post(cast.crew, "/trackers", body)
    assert answer.status_code == 201, answer.text
    tracker: dict[str, Any] = answer.json()
    return tracker


def webhook_body(cast: Cast) -> dict[str, Any]:
    """A subscription that nothing in the table ever sends to: the troubles of an agency without panic buttons."""
    agency = cast.person("sukajadi_operator").extra["agency_id"]
    return {
        "name": unique("Penerima "),
        "url": "https://1.1.1.1/siaga",
        "events": ["device.trouble"],
        "agency_id": agency,
    }


def on_webhook(body: Body | None = None, *, paused: bool = False) -> Prepare:
    """A fresh webhook subscription in the path (``paused``: disabled, so its test event is refused, not sent)."""

    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        answer = await cast.api.post(cast.crew, "/webhooks", webhook_body(cast))
        assert answer.status_code == 201, answer.text
        webhook = answer.json()["id"]
        if paused:
            off = await cast.api.http.patch(
                f"{API}/webhooks/{webhook}", json={"enabled": False}, headers=cast.crew.headers
            )
            assert off.status_code == 200, off.text
        return Call(params={"webhook_id": str(webhook)}, json=body(cast) if body else None)

    return prepare


def on_tracker(body: Body | None = None) -> Prepare:
    """A fresh tracker in the path."""

    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        tracker = await _new_tracker(cast)
        return Call(params={"tracker_id": str(tracker["id"])}, json=body(cast) if body else None)

    return prepare


def tracker_report(*, as_json: bool) -> Prepare:
    """A registered tracker's position report (no SOS), as a query string or as Traccar Client's JSON: a tracker
    signs in to nothing, so every caller's headers are beside the point. Its holder is a resident of its own (the
    owner's tracker would follow the shared scene's alert)."""

    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        holder = (await made_residents(cast.api, 1))[0]
        device_id = (await _new_tracker(cast, holder))["device_id"]
        if as_json:
            coords = {"latitude": COBLONG[0], "longitude": COBLONG[1]}
            return Call(json={"device_id": device_id, "location": {"coords": coords}})
        return Call(query={"id": device_id, "lat": COBLONG[0], "lon": COBLONG[1]})

    return prepare


async def _new_site(cast: Cast) -> dict[str, Any]:
    """A panic-button site of the command centre (BDG-CC), registered by the crew."""
    body = {"name": unique("Bank Uji "), "lat": COBLONG[0], "lon": COBLONG[1], "agency_id": _cc_agency(cast)}
    answer = await cast.api.post(cast.crew, "/devices/sites", body)
    assert answer.status_code == 201, answer.text
    site: dict[str, Any] = answer.json()
    return site


def _cc_agency(cast: Cast) -> int:
    agency: int = cast.person("cc_operator").extra["agency_id"]
    return agency


async def _new_device(cast: Cast) -> dict[str, Any]:
    site = await _new_site(cast)
    answer = await cast.api.post(cast.crew, "/devices", {"site_id": site["id"], "name": unique("btn-")})
    assert answer.status_code == 201, answer.text
    device: dict[str, Any] = answer.json()
    return device


def on_site(body: Body) -> Prepare:
    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        return Call(params={"site_id": str((await _new_site(cast))["id"])}, json=body(cast))

    return prepare


def on_device(body: Body) -> Prepare:
    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        return Call(params={"device_id": str((await _new_device(cast))["id"])}, json=body(cast))

    return prepare


async def new_device_body(cast: Cast, role: str, succeeds: bool) -> Call:
    return Call(json={"site_id": (await _new_site(cast))["id"], "name": unique("btn-")})


async def on_api_key(cast: Cast, role: str, succeeds: bool) -> Call:
    """A fresh API key of the command centre's in the path, made by the crew."""
    body = {"name": unique("Sistem "), "agency_id": _cc_agency(cast), "scopes": ["alerts:read"]}
    answer = await cast.api.post(cast.crew, "/apikeys", body)
    assert answer.status_code == 201, answer.text
    return Call(params={"key_id": str(answer.json()["id"])})


async def on_trouble(cast: Cast, role: str, succeeds: bool) -> Call:
    """A low-battery trouble of a fresh device of the command centre's (its message handled as the broker would
    hand it over)."""
    device = await _new_device(cast)
    topic = f"siaga/devices/{device['name']}/event"
    await devices.receive(cast.api.runtime, topic, b'{"type": "low_battery"}')
    async with cast.api.runtime.read_sessions() as session:
        found = [v.trouble.id for v in await devices.open_troubles(session, None) if str(v.device.id) == device["id"]]
    return Call(params={"trouble_id": str(found[0])})


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def tiny_kecamatan(cast: Cast) -> dict[str, Any]:
    """A small square far from Bandung, so it changes no routing in the scene."""
    ring = [[100.0, 0.0], [100.01, 0.0], [100.01, 0.01], [100.0, 0.01], [100.0, 0.0]]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"kode": unique("99.99."), "nama": "Kecamatan Uji"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }


# Checks on the content of allowed answers -----------------------------------------------------------------------


async def is_own_profile(cast: Cast, role: str, answer: httpx.Response) -> None:
    assert answer.json()["id"] == cast.person(role).id, "the profile is not the caller's own"


async def is_the_owner(cast: Cast, role: str, answer: httpx.Response) -> None:
    assert answer.json()["id"] == cast.owner.id, "the profile is not the one asked for"


async def lists_residents_in_scope(cast: Cast, role: str, answer: httpx.Response) -> None:
    listed = {resident["id"] for resident in answer.json()}
    assert cast.owner.id in listed, "a resident who raised an alert in the caller's area is missing"
    if role == "admin":
        assert cast.person("other_resident").id in listed, "administrators see every resident"
    else:
        assert cast.person("other_resident").id not in listed, "a resident outside the caller's area is listed"


async def is_self(cast: Cast, role: str, answer: httpx.Response) -> None:
    me = answer.json()
    who = cast.person(role)
    assert (me["resident_id"] if who.role == "resident" else str(me["staff_id"])) == who.id, f"/auth/me says {me}"


async def token_is_revoked(cast: Cast, role: str, answer: httpx.Response) -> None:
    again = await cast.api.get(cast.person(role), "/auth/me")
    assert again.status_code == 401, f"the token still works after logout ({again.status_code})"


async def lists_only_visible_alerts(cast: Cast, role: str, answer: httpx.Response) -> None:
    listed = {alert["id"] for alert in answer.json()}
    if role in SEES_THE_ALERT:
        assert cast.alert_id in listed, "the list lacks an alert the caller may see"
    else:
        assert cast.alert_id not in listed, "the list shows an alert outside the caller's scope"
    if role in {"owner", "other_resident"}:
        assert all("resident" not in alert for alert in answer.json()), "a resident got the staff view"


async def right_alert_view(cast: Cast, role: str, answer: httpx.Response) -> None:
    body = answer.json()
    assert body["id"] == cast.alert_id
    if role == "owner":
        assert not {"resident", "agency_code"} & body.keys(), "the resident got the staff view"
    else:
        assert body["resident"]["id"] == cast.owner.id


async def units_in_scope(cast: Cast, role: str, answer: httpx.Response) -> None:
    units = answer.json()
    coblong_unit = cast.person("assigned_officer").unit_id
    if role == "sukajadi_operator":
        agency = cast.person(role).extra["agency_id"]
        assert units, "the caller's own units are missing"
        assert all(unit["agency_id"] == agency for unit in units), "units of other agencies are listed"
    else:
        listed = {unit["unit_id"] if "unit_id" in unit else unit["id"] for unit in units}
        assert coblong_unit in listed, "a unit in the caller's scope is missing"


async def is_own_unit_on_duty(cast: Cast, role: str, answer: httpx.Response) -> None:
    unit = answer.json()
    assert unit["unit_id"] == cast.person(role).unit_id, "the answer is about another unit"
    assert unit["duty_mode"] == "patrol", f"the unit is not on patrol: {unit}"
    assert unit["state"] == ("assigned" if role == "assigned_officer" else "available"), f"wrong state: {unit}"


async def is_own_duty(cast: Cast, role: str, answer: httpx.Response) -> None:
    duty = answer.json()
    assert duty["unit"]["unit_id"] == cast.person(role).unit_id, "the answer is about another unit"
    # The cast's officers are on patrol, or (the other officer, when no offer is needed) not on duty at all.
    assert duty["on_duty"] == (duty["unit"]["state"] != "off_duty"), f"duty and unit disagree: {duty}"
    assert duty["mode"] == ("patrol" if duty["on_duty"] else None), f"not the officer's own duty: {duty}"
    if role == "assigned_officer":
        assert duty["alert_id"] == cast.alert_id, f"the unit's alert is missing: {duty}"


async def is_own_unit_off_duty(cast: Cast, role: str, answer: httpx.Response) -> None:
    unit = answer.json()
    assert unit["unit_id"] == cast.person(role).unit_id, "the answer is about another unit"
    assert unit["duty_mode"] is None, f"the unit is still on duty: {unit}"
    assert unit["state"] == "off_duty", f"wrong state: {unit}"


async def position_refused_off_duty(cast: Cast, role: str, answer: httpx.Response) -> None:
    """Accepted on duty for the caller's own unit; refused straight after going off duty (the other officer's
    unit has no alert to keep it busy)."""
    assert answer.json()["unit_id"] == cast.person(role).unit_id, "the position went to another unit"
    if role == "assigned_officer":
        return
    who = cast.person(role)
    off = await cast.api.http.delete(f"{API}/officers/me/duty", headers=who.headers)
    assert off.status_code == 200, off.text
    again = await cast.api.post(who, "/officers/me/location", {"lat": COBLONG[0], "lon": COBLONG[1]})
    assert (again.status_code, _error(again)[0]) == (422, "officer.off_duty"), f"off duty: {again.text[:200]}"


async def lists_own_offers(cast: Cast, role: str, answer: httpx.Response) -> None:
    listed = answer.json()
    assert all(offer["unit_id"] == cast.person(role).unit_id for offer in listed), "another unit's offer is listed"
    if role == OFFERED:
        assert cast.offer_ids[-1] in {offer["id"] for offer in listed}, "the waiting offer is not listed"


async def took_the_alert(cast: Cast, role: str, answer: httpx.Response) -> None:
    alert = answer.json()
    assert (alert["id"], alert["state"]) == (cast.offered_alerts[-1], "dispatched"), f"not taken: {alert}"
    assert alert["unit_id"] == cast.person(role).unit_id, "the alert went to another unit"


async def is_declined(cast: Cast, role: str, answer: httpx.Response) -> None:
    offer = answer.json()
    assert (offer["id"], offer["state"]) == (cast.offer_ids[-1], "declined"), f"not declined: {offer}"


async def unknown_agency_is_not_found(cast: Cast, role: str, answer: httpx.Response) -> None:
    settings = {"direct_offers": False}
    ghost = await cast.api.http.put(
        f"{API}/agencies/POLSEK-TIDAK-ADA/dispatch-settings", json=settings, headers=cast.person(role).headers
    )
    assert (ghost.status_code, _error(ghost)[0]) == (404, "agency.not_found"), f"unknown agency: {ghost.text[:200]}"


async def is_cancelled(cast: Cast, role: str, answer: httpx.Response) -> None:
    assert answer.json()["state"] == "cancelled"


# The table ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # as in the OpenAPI document
    expect: Expect
    prepare: Prepare = field(default_factory=plain)
    check: Check | None = None
    revokes_token: bool = False  # run after the group's other rows: the caller's token dies

    @property
    def group(self) -> str:
        """Rows of a group share one test and one cast (building the scene costs more than most cells)."""
        return next((name for prefix, name in GROUP_BY_PREFIX if self.path.startswith(prefix)), "administration")

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


PARTNER = "kota-112"
HANDING_OVER = Expect(401, 403, 403, 201, 404, 403, 403, 201, 201)  # the command centre, of alerts it may see


async def _partner(cast: Cast) -> str:
    """The partner centre the handover rows name (made once per cast; nothing answers at its address)."""
    listed = await cast.api.get(cast.crew, "/partners")
    if PARTNER not in [p["name"] for p in listed.json()]:
        body = {"name": PARTNER, "url": "https://127.0.0.1:9/api/v1/partners/eido"}
        made = await cast.api.post(cast.crew, "/partners", body)
        assert made.status_code == 201, made.text
    return PARTNER


async def on_partner(cast: Cast, role: str, succeeds: bool) -> Call:
    return Call(params={"name": await _partner(cast)}, json={"label": unique("Mitra ")})


def handing_over() -> Prepare:
    """A fresh alert when the handover should be made (a handover still waiting would answer 200), to the partner."""
    fresh = on_alert(fresh="new")

    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        call = await fresh(cast, role, succeeds)
        return replace(call, json={"partner": await _partner(cast)})

    return prepare


async def _fresh_alerts(cast: Cast, count: int) -> list[str]:
    """New alerts in Coblong, each of a new resident, waiting for an operator (for linking into incidents)."""
    return [await cast.fresh_alert(resident, dispatched=False) for resident in await made_residents(cast.api, count)]


async def _fresh_incident(cast: Cast, size: int = 2) -> dict[str, Any]:
    """An incident the crew linked from ``size`` new alerts in Coblong."""
    made = await cast.api.post(cast.crew, "/incidents", {"alert_ids": await _fresh_alerts(cast, size)})
    assert made.status_code == 201, made.text
    incident: dict[str, Any] = made.json()
    return incident


def linking(*, into_incident: bool = False, splitting: bool = False) -> Prepare:
    """Linking alerts (into a new incident, or an existing one) or splitting one off: new alerts and incidents for a
    call that should succeed; for one that should not, an incident that exists and alert ids that do not (an alert
    one may not see answers the same, see test_incidents.py), or one of the incident's alerts to split off."""

    async def prepare(cast: Cast, role: str, succeeds: bool) -> Call:
        if not (into_incident or splitting):
            ids = await _fresh_alerts(cast, 2) if succeeds else [str(uuid.uuid4()), str(uuid.uuid4())]
            return Call(json={"alert_ids": ids})
        incident = await _fresh_incident(cast, 3 if splitting else 2)
        if splitting:
            return Call(params={"incident_id": incident["id"], "alert_id": incident["alerts"][0]["id"]})
        ids = await _fresh_alerts(cast, 1) if succeeds else [str(uuid.uuid4())]
        return Call(params={"incident_id": incident["id"]}, json={"alert_ids": ids})

    return prepare


async def on_incident(cast: Cast, role: str, succeeds: bool) -> Call:
    return Call(params={"incident_id": (await _fresh_incident(cast))["id"]})


# Each group asks for at most 20 SMS codes (the hourly limit per client address): the cast's 2, plus its rows'.
GROUP_BY_PREFIX = (
    (f"{API}/residents/verify", "sessions"),
    (f"{API}/auth/", "sessions"),
    (f"{API}/residents", "residents"),
    (f"{API}/alerts", "alerts"),
    (f"{API}/officers/", "officers"),
    (f"{API}/offers", "officers"),
    (f"{API}/push/", "officers"),
    (f"{API}/units/board", "officers"),
)
A = 200  # allowed
ALL_SIGNED_IN = Expect(401, A, A, A, A, A, A, A, A)
STAFF_ONLY = Expect(401, 403, 403, A, A, A, A, A, A)
RESIDENTS_ONLY = Expect(401, A, A, 403, 403, 403, 403, 403, 403)
ADMINS_ONLY = Expect(401, 403, 403, 403, 403, 403, 403, 403, 201)
ADMIN_CHANGES = Expect(401, 403, 403, 403, 403, 403, 403, 403, A)
SUPERVISORS = Expect(401, 403, 403, 403, 403, 403, 403, A, A)
COMMAND_CENTRE_ON_OWNER = Expect(401, 403, 403, A, 404, 403, 403, A, A)
STAFF_ON_ALERT = Expect(401, 403, 403, A, 404, A, 404, A, A)  # the assigned unit, or staff whose area it is in
OFFICERS_ONLY = Expect(401, 403, 403, 403, 403, A, A, 403, 403)  # officers of a unit, about their own unit
OFFER_ANSWER = Expect(401, 403, 403, 403, 403, 404, A, 403, 403)  # the offer is to the other officer's unit

TABLE: tuple[Row, ...] = (
    #   columns: anonymous, owner, other_resident, cc_operator, sukajadi_operator, assigned_officer, other_officer,
    #            supervisor, admin
    # Residents: registration is open to anyone -----------------------------------------------------------------
    Row(
        "POST",
        f"{API}/residents/code",
        Expect(202, 202, 202, 202, 202, 202, 202, 202, 202),
        plain(lambda c: {"phone": new_phone()}),
    ),
    Row("POST", f"{API}/residents/verify", Expect(A, A, A, A, A, A, A, A, A), verify_fresh_phone),
    # Residents: registered at a counter (kelurahan or Polsek) by supervisors and administrators -----------------
    Row(
        "POST",
        f"{API}/residents/counter/code",
        Expect(401, 403, 403, 403, 403, 403, 403, 202, 202),
        plain(lambda c: {"phone": new_phone(), "name": "Warga Loket", "nik": COUNTER_NIK}),
    ),
    Row("POST", f"{API}/residents/counter", Expect(401, 403, 403, 403, 403, 403, 403, 201, 201), at_the_counter),
    # Residents: their own profile -------------------------------------------------------------------------------
    Row("GET", f"{API}/residents/me", RESIDENTS_ONLY, check=is_own_profile),
    Row("PATCH", f"{API}/residents/me", RESIDENTS_ONLY, plain(lambda c: {"language": "id"}), is_own_profile),
    Row(
        "PUT",
        f"{API}/residents/me/pins",
        Expect(401, 204, 204, 403, 403, 403, 403, 403, 403),
        plain(lambda c: {"cancel_pin": "1234", "duress_pin": "9999", "current_cancel_pin": "1234"}),
    ),
    Row(
        "POST",
        f"{API}/residents/me/appeal",
        Expect(401, 201, 201, 403, 403, 403, 403, 403, 403),
        plain(lambda c: {"text": "saya tidak iseng, tombol tertekan"}),
    ),
    # The owner's alert is active: their account cannot be deleted (409); the other resident's goes, with its token.
    Row(
        "DELETE",
        f"{API}/residents/me",
        Expect(401, 409, 204, 403, 403, 403, 403, 403, 403),
        check=token_is_revoked,
        revokes_token=True,
    ),
    # Residents: staff views and moderation (officers see the resident through their alert, not here) -----------
    Row("GET", f"{API}/residents", SUPERVISORS, check=lists_residents_in_scope),
    Row("GET", f"{API}/residents/{{resident_id}}", COMMAND_CENTRE_ON_OWNER, on_resident(), is_the_owner),
    Row("GET", f"{API}/residents/{{resident_id}}/moderation", COMMAND_CENTRE_ON_OWNER, on_resident()),
    Row(
        "POST",
        f"{API}/residents/{{resident_id}}/suspend",
        SUPERVISORS,
        on_resident(lambda c: {"reason": "iseng berulang"}, suspended_before=False),
    ),
    Row(
        "POST",
        f"{API}/residents/{{resident_id}}/reinstate",
        SUPERVISORS,
        on_resident(lambda c: {"reason": "banding diterima"}, suspended_before=True),
    ),
    # Staff sessions ---------------------------------------------------------------------------------------------
    Row(
        "POST",
        f"{API}/auth/login",
        Expect(A, A, A, A, A, A, A, A, A),
        plain(lambda c: {"username": c.person("cc_operator").extra["username"], "password": PASSWORD}),
    ),
    Row(
        "POST",
        f"{API}/auth/logout",
        Expect(401, 204, 204, 204, 204, 204, 204, 204, 204),
        check=token_is_revoked,
        revokes_token=True,
    ),
    Row("GET", f"{API}/auth/me", ALL_SIGNED_IN, check=is_self),
    # The second factor: a whole staff session may enrol one (optional for these roles in development mode); only a
    # login halfway through gives a code. A confirmation before any enrolment began is a conflict.
    Row(
        "POST",
        f"{API}/auth/factor/confirm",
        Expect(401, 403, 403, 409, 409, 409, 409, 409, 409),
        plain(lambda c: {"code": "000000"}),
    ),
    Row("POST", f"{API}/auth/factor", Expect(401, 403, 403, A, A, A, A, A, A)),
    Row(
        "POST",
        f"{API}/auth/code",
        Expect(401, 403, 403, 409, 409, 409, 409, 409, 409),
        plain(lambda c: {"code": "000000"}),
    ),
    # Staff accounts and units -----------------------------------------------------------------------------------
    Row(
        "POST",
        f"{API}/staff",
        ADMINS_ONLY,
        plain(
            lambda c: {
                "username": unique("op."),
                "name": "Operator Baru",
                "role": "operator",
                "agency_id": c.person("cc_operator").extra["agency_id"],
                "password": "a long enough password",
            }
        ),
    ),
    Row("GET", f"{API}/staff", SUPERVISORS),
    Row("PATCH", f"{API}/staff/{{staff_id}}", ADMIN_CHANGES, on_staff(lambda c: {"name": "Nama Baru"})),
    Row("POST", f"{API}/staff/{{staff_id}}/deactivate", ADMIN_CHANGES, on_staff()),
    Row("DELETE", f"{API}/staff/{{staff_id}}/factor", Expect(401, 403, 403, 403, 403, 403, 403, 403, 204), on_staff()),
    Row("POST", f"{API}/staff/{{staff_id}}/activate", ADMIN_CHANGES, on_staff(deactivated_before=True)),
    Row(
        "PUT",
        f"{API}/staff/{{staff_id}}/password",
        Expect(401, 403, 403, 403, 403, 403, 403, 403, 204),
        on_staff(lambda c: {"password": "another long password"}),
    ),
    Row(
        "POST",
        f"{API}/units",
        ADMINS_ONLY,
        plain(lambda c: {"agency_id": c.person("assigned_officer").extra["agency_id"], "callsign": unique("U-")}),
    ),
    Row("GET", f"{API}/units", Expect(401, 403, 403, A, A, 403, 403, A, A), check=units_in_scope),
    # Trackers: the registry (administrators) and the OsmAnd endpoint trackers report to ---------------------------
    Row("GET", f"{API}/trackers", ADMIN_CHANGES),
    Row(
        "POST",
        f"{API}/trackers",
        ADMINS_ONLY,
        plain(lambda c: {"device_id": unique("TRK-"), "resident_phone": c.owner.phone}),
    ),
    Row("PATCH", f"{API}/trackers/{{tracker_id}}", ADMIN_CHANGES, on_tracker(lambda c: {"enabled": False})),
    Row("DELETE", f"{API}/trackers/{{tracker_id}}", Expect(401, 403, 403, 403, 403, 403, 403, 403, 204), on_tracker()),
    Row("GET", "/osmand", Expect(*([A] * 9)), tracker_report(as_json=False)),
    Row("POST", "/osmand", Expect(*([A] * 9)), tracker_report(as_json=True)),
    # Fixed panic buttons: the registry (administrators), its troubles (the command centre, its agency's) -----------
    Row("GET", f"{API}/devices/sites", Expect(401, 403, 403, A, A, 403, 403, A, A)),
    Row(
        "POST",
        f"{API}/devices/sites",
        ADMINS_ONLY,
        plain(
            lambda c: {"name": unique("Toko Uji "), "lat": COBLONG[0], "lon": COBLONG[1], "agency_id": _cc_agency(c)}
        ),
    ),
    Row("PATCH", f"{API}/devices/sites/{{site_id}}", ADMIN_CHANGES, on_site(lambda c: {"floor_notes": "Lantai 2"})),
    Row("GET", f"{API}/devices", Expect(401, 403, 403, A, A, 403, 403, A, A)),
    Row("POST", f"{API}/devices", ADMINS_ONLY, new_device_body),
    Row("PATCH", f"{API}/devices/{{device_id}}", ADMIN_CHANGES, on_device(lambda c: {"enabled": False})),
    Row("GET", f"{API}/devices/mosquitto-config", ADMIN_CHANGES),
    Row("GET", f"{API}/devices/troubles", Expect(401, 403, 403, A, A, 403, 403, A, A)),
    Row(
        "GET",
        f"{API}/devices/troubles/{{trouble_id}}/timeline",
        Expect(401, 403, 403, A, 404, 403, 403, A, A),
        on_trouble,
    ),
    # Integrators' API keys (administrators), and the device gateway that signs in with one, never a person --------
    Row("GET", f"{API}/apikeys", ADMIN_CHANGES),
    Row(
        "POST",
        f"{API}/apikeys",
        ADMINS_ONLY,
        plain(lambda c: {"name": unique("Sistem "), "agency_id": _cc_agency(c), "scopes": ["alerts:read"]}),
    ),
    Row("POST", f"{API}/apikeys/{{key_id}}/revoke", ADMIN_CHANGES, on_api_key),
    Row(
        "POST",
        f"{API}/gateway/alerts",
        Expect(401, *([403] * 8)),
        plain(lambda c: {"device": "btn-x", "event_id": "1"}),
    ),
    # Webhooks for integrators (administrators) --------------------------------------------------------------------
    Row("GET", f"{API}/webhooks", ADMIN_CHANGES),
    Row("POST", f"{API}/webhooks", ADMINS_ONLY, plain(webhook_body)),
    Row("PATCH", f"{API}/webhooks/{{webhook_id}}", ADMIN_CHANGES, on_webhook(lambda c: {"name": "Penerima baru"})),
    Row("DELETE", f"{API}/webhooks/{{webhook_id}}", Expect(401, 403, 403, 403, 403, 403, 403, 403, 204), on_webhook()),
    Row("POST", f"{API}/webhooks/{{webhook_id}}/rotate", ADMIN_CHANGES, on_webhook(lambda c: {"grace_hours": 0})),
    # An administrator passes the role check: the paused subscription's test event is then refused as such.
    Row(
        "POST",
        f"{API}/webhooks/{{webhook_id}}/test",
        Expect(401, 403, 403, 403, 403, 403, 403, 403, 409),
        on_webhook(paused=True),
    ),
    Row("GET", f"{API}/webhooks/{{webhook_id}}/deliveries", ADMIN_CHANGES, on_webhook()),
    # Drills: synthetic accounts (administrators) ------------------------------------------------------------------
    Row("POST", f"{API}/exercise/residents", ADMINS_ONLY, plain(lambda c: {"count": 1})),
    Row(
        "POST",
        f"{API}/exercise/officers",
        ADMINS_ONLY,
        plain(lambda c: {"agency_id": c.person("other_officer").extra["agency_id"], "count": 1, "kind": "motorbike"}),
    ),
    Row("POST", f"{API}/exercise/end", Expect(401, 403, 403, 403, 403, 403, 403, 403, A)),
    # The benchmarks' baseline: parses an SOS-shaped body, stores nothing ------------------------------------------
    Row("POST", f"{API}/noop", Expect(*([201] * 9)), plain(lambda c: sos_body())),
    # Reports: figures for supervisors and administrators (no personal data) ------------------------------------
    Row("GET", f"{API}/reports/residents", SUPERVISORS),
    Row("GET", f"{API}/reports/residents.csv", SUPERVISORS),
    Row("GET", f"{API}/reports/alerts", SUPERVISORS),
    Row("GET", f"{API}/reports/alerts.csv", SUPERVISORS),
    Row("GET", f"{API}/reports/response-times", SUPERVISORS),
    Row("GET", f"{API}/reports/response-times.csv", SUPERVISORS),
    Row("GET", f"{API}/reports/outcomes", SUPERVISORS),
    Row("GET", f"{API}/reports/outcomes.csv", SUPERVISORS),
    Row("GET", f"{API}/reports/moderation", SUPERVISORS),
    Row("GET", f"{API}/reports/moderation.csv", SUPERVISORS),
    Row("GET", f"{API}/reports/duty", SUPERVISORS),
    Row("GET", f"{API}/reports/duty.csv", SUPERVISORS),
    Row("GET", f"{API}/reports/kecamatan", SUPERVISORS),
    Row("GET", f"{API}/reports/kecamatan.csv", SUPERVISORS),
    # What the web apps read before anyone logs in -------------------------------------------------------------------
    Row("GET", f"{API}/config/web", Expect(A, A, A, A, A, A, A, A, A)),
    # Agencies and jurisdictions (not personal data: every staff member may read them) ----------------------------
    Row("GET", f"{API}/agencies", STAFF_ONLY),
    Row(
        "POST",
        f"{API}/agencies",
        ADMINS_ONLY,
        plain(lambda c: {"code": unique("POLSEK-UJI-"), "name": "Polsek Uji", "kind": "polsek"}),
    ),
    Row("GET", f"{API}/jurisdictions", STAFF_ONLY),
    Row("GET", f"{API}/jurisdictions.geojson", STAFF_ONLY),
    Row(
        "POST",
        f"{API}/jurisdictions/import",
        Expect(401, 403, 403, 403, 403, 403, 403, 403, A),
        plain(tiny_kecamatan),
    ),
    Row(
        "PUT",
        f"{API}/jurisdictions/{{code}}/agencies",
        Expect(401, 403, 403, 403, 403, 403, 403, 403, A),
        plain(
            lambda c: {"agencies": [{"agency_code": "POLSEK-SUKASARI", "is_primary": True}]},
            params={"code": "32.73.01"},
        ),
    ),
    Row("GET", f"{API}/placement", STAFF_ONLY, plain(query={"lat": COBLONG[0], "lon": COBLONG[1]})),
    Row("GET", f"{API}/cap/feed.atom", STAFF_ONLY),  # the open alerts each caller sees, as CAP in Atom
    # The routing table and the service areas of the agencies beside the police -----------------------------------
    Row("GET", f"{API}/routing", STAFF_ONLY),
    Row(
        "PUT",
        f"{API}/routing/{{category}}",
        ADMIN_CHANGES,
        plain(lambda c: {"services": ["police"]}, params={"category": "lainnya"}),
    ),
    Row("GET", f"{API}/service-areas", STAFF_ONLY),
    Row(
        "PUT",
        f"{API}/agencies/{{code}}/service-area",
        ADMIN_CHANGES,
        plain(lambda c: {"kecamatan": ["32.73.07"]}, params={"code": "BPBD-BDG"}),  # no part in the scene
    ),
    Row(
        "PUT",
        f"{API}/agencies/{{code}}/dispatch-settings",
        Expect(401, 403, 403, 403, 403, 403, 403, 403, A),
        plain(lambda c: {"direct_offers": False}, params={"code": "POLSEK-SUKAJADI"}),  # no part in the scene
        unknown_agency_is_not_found,
    ),
    # Alerts -------------------------------------------------------------------------------------------------------
    Row(
        "POST",
        f"{API}/alerts",
        Expect(401, 201, 201, 403, 403, 403, 403, 403, 403),
        new_press,
    ),
    Row("GET", f"{API}/alerts", ALL_SIGNED_IN, check=lists_only_visible_alerts),
    Row(
        "GET",
        f"{API}/alerts/{{alert_id}}",
        Expect(401, A, 404, A, 404, A, 404, A, A),
        on_alert(),
        right_alert_view,
    ),
    Row("GET", f"{API}/alerts/{{alert_id}}/timeline", STAFF_ON_ALERT, on_alert()),
    Row("GET", f"{API}/alerts/{{alert_id}}/trail", STAFF_ON_ALERT, on_alert()),
    Row("GET", f"{API}/alerts/{{alert_id}}/cap", STAFF_ON_ALERT, on_alert()),  # CAP 1.2: staff only (see cap.router)
    Row(
        "GET",
        f"{API}/alerts/{{alert_id}}/recommendations",
        Expect(401, 403, 403, A, 404, 403, 403, A, A),  # the command centre dispatches; officers take offers
        on_alert(),
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/locations",
        Expect(401, A, 404, 403, 403, 403, 403, 403, 403),
        on_alert(lambda c: {"points": [{"lat": -6.8916, "lon": 107.6108, "accuracy_m": 10.0}]}, fresh="dispatched"),
    ),
    # Bulk actions answer 200 with a result per alert: an alert out of the caller's sight is one "not found" result.
    Row(
        "POST",
        f"{API}/alerts/bulk",
        Expect(401, 403, 403, A, A, 403, 403, A, A),
        plain(lambda c: {"action": "acknowledge", "alert_ids": [c.alert_id]}),
    ),
    Row(
        "POST",
        f"{API}/areas/message",
        Expect(401, 403, 403, A, A, 403, 403, A, A),
        plain(lambda c: {"jurisdiction_id": 1, "text": "Petugas menuju wilayah Anda"}),
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/acknowledge",
        Expect(401, 403, 403, A, 404, 403, 403, A, A),  # officers do not work the command centre's queue
        on_alert(fresh="new"),  # dispatching by staff acknowledges too
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/dispatch",
        Expect(401, 403, 403, A, 404, 403, 404, A, A),  # an officer may only take an alert for their own unit
        on_alert(lambda c: {"unit_id": c.reserve_unit_id}, fresh="dispatched"),
    ),
    Row("POST", f"{API}/alerts/{{alert_id}}/en-route", STAFF_ON_ALERT, on_alert(fresh="dispatched")),
    # More units on one alert (a unit that does not exist: those who may add one get as far as a 422 saying so).
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/units",
        Expect(401, 403, 403, 422, 404, 403, 403, 422, 422),  # the command centre adds units; officers ask for them
        on_alert(lambda c: {"unit_ids": [NO_SUCH_UNIT]}),
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/units/{{unit_id}}/state",
        Expect(401, 403, 403, 422, 404, 403, 404, 422, 422),  # an officer moves only their own unit
        on_unit_of_alert,
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/unit-requests",
        Expect(401, 403, 403, 403, 403, A, 404, 403, 403),  # an officer of a unit on the alert asks
        on_alert(lambda c: {"kind": "backup"}, fresh="dispatched"),
    ),
    Row("POST", f"{API}/alerts/{{alert_id}}/on-scene", STAFF_ON_ALERT, on_alert(fresh="dispatched")),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/notes",
        STAFF_ON_ALERT,
        on_alert(lambda c: {"text": "warga sudah ditelepon"}, fresh="dispatched"),
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/messages",
        Expect(401, 403, 403, A, 404, 403, 403, A, A),  # the command centre writes to the resident
        on_alert(lambda c: {"text": "petugas sedang menuju"}, fresh="new"),
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/replies",
        Expect(401, A, 404, 403, 403, 403, 403, 403, 403),  # only the resident answers, on their own alert
        on_alert(lambda c: {"text": "saya di lantai dua"}, fresh="new"),
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/resolve",
        STAFF_ON_ALERT,
        on_alert(lambda c: {"outcome": "genuine", "report": "aman"}, fresh="dispatched"),
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/escalate",
        Expect(401, 403, 403, A, 404, 403, 404, A, A),  # command-centre staff flag it for supervisors
        on_alert(lambda c: {"reason": "belum ada unit tiba"}, fresh="dispatched"),
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/category",
        Expect(401, 403, 403, A, 404, 403, 403, A, A),  # the command centre re-routes; officers do not
        on_alert(lambda c: {"category": "kecelakaan"}, fresh="new"),
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/priority",
        COMMAND_CENTRE_ON_OWNER,  # the command centre of an agency that may act on it
        on_alert(lambda c: {"priority": "high", "reason": "suara tembakan"}, fresh="new"),
    ),
    Row("POST", f"{API}/incidents", HANDING_OVER, linking()),
    Row("GET", f"{API}/incidents/{{incident_id}}", COMMAND_CENTRE_ON_OWNER, on_incident),
    Row("POST", f"{API}/incidents/{{incident_id}}/alerts", COMMAND_CENTRE_ON_OWNER, linking(into_incident=True)),
    Row(
        "DELETE",
        f"{API}/incidents/{{incident_id}}/alerts/{{alert_id}}",
        COMMAND_CENTRE_ON_OWNER,
        linking(splitting=True),
    ),
    Row(
        "POST",
        f"{API}/alerts/{{alert_id}}/cancel",
        Expect(401, A, 404, 403, 403, 403, 403, 403, 403),
        on_alert(lambda c: {"pin": "1234"}, fresh="dispatched"),  # every resident's cancel PIN is 1234
        is_cancelled,
    ),
    # Officers: duty, position, offers (each about their own unit); the unit board for the command centre ----------
    Row("PUT", f"{API}/officers/me/duty", OFFICERS_ONLY, plain(lambda c: {"mode": "patrol"}), is_own_unit_on_duty),
    Row(
        "POST",
        f"{API}/officers/me/location",
        Expect(401, 403, 403, 403, 403, 202, 202, 403, 403),
        on_duty_first(lambda c: {"lat": COBLONG[0], "lon": COBLONG[1], "accuracy_m": 12.0, "battery": 70}),
        position_refused_off_duty,
    ),
    Row("GET", f"{API}/officers/me/duty", OFFICERS_ONLY, check=is_own_duty),
    Row(  # the assigned officer's unit is on the shared alert: leaving needs hand_back=true (issue 12)
        "DELETE",
        f"{API}/officers/me/duty",
        Expect(401, 403, 403, 403, 403, 409, A, 403, 403),
        check=is_own_unit_off_duty,
    ),
    Row(
        "POST",
        f"{API}/officers/me/push-subscription",
        Expect(401, 403, 403, 403, 403, 204, 204, 403, 403),
        plain(push_subscription),
    ),
    Row(
        "POST",
        f"{API}/staff/me/push-subscription",
        Expect(401, 403, 403, 204, 204, 204, 204, 204, 204),
        plain(push_subscription),
    ),
    Row("GET", f"{API}/push/public-key", ALL_SIGNED_IN),
    Row("GET", f"{API}/units/board", Expect(401, 403, 403, A, A, 403, 403, A, A), check=units_in_scope),
    Row("GET", f"{API}/offers", OFFICERS_ONLY, with_offer_waiting, lists_own_offers),
    Row("POST", f"{API}/offers/{{offer_id}}/accept", OFFER_ANSWER, on_offer, took_the_alert),
    Row("POST", f"{API}/offers/{{offer_id}}/decline", OFFER_ANSWER, on_offer, is_declined),
    # The SMS provider's webhook: the provider signs it, whoever's token comes along (unsigned, as here: 400) ------
    Row(
        "POST",
        f"{API}/sms/webhook",
        Expect(*([400] * 9)),
        plain(
            lambda c: {"type": "sms.received", "data": {"id": unique("sms-"), "from": "+6281234567890", "text": "SOS"}}
        ),
    ),
    # Partner centres: kept by administrators, handed alerts by the command centre; they sign what they send ------
    Row("GET", f"{API}/partners", Expect(401, 403, 403, A, A, 403, 403, A, A)),
    Row(
        "POST",
        f"{API}/partners",
        ADMINS_ONLY,
        plain(lambda c: {"name": unique("mitra-"), "url": "https://127.0.0.1:9"}),
    ),
    Row("PATCH", f"{API}/partners/{{name}}", ADMIN_CHANGES, on_partner),
    Row("GET", f"{API}/alerts/{{alert_id}}/eido", COMMAND_CENTRE_ON_OWNER, on_alert()),
    Row("POST", f"{API}/alerts/{{alert_id}}/handover", HANDING_OVER, handing_over()),
    Row("GET", f"{API}/alerts/{{alert_id}}/handovers", COMMAND_CENTRE_ON_OWNER, on_alert()),
    Row("GET", f"{API}/alerts/{{alert_id}}/handover/choices", COMMAND_CENTRE_ON_OWNER, on_alert()),
    Row("POST", f"{API}/partners/eido", Expect(*([400] * 9)), plain(lambda c: {"eidoVersion": "1.0"})),
    # Audit --------------------------------------------------------------------------------------------------------
    Row("GET", f"{API}/audit", SUPERVISORS),
)


GROUPS = sorted({row.group for row in TABLE})


async def run_cell(cast: Cast, row: Row, role: str) -> list[str]:
    """Play one cell; return what went wrong, each naming the cell."""
    cell = f"{role} {row}"
    expected: int = getattr(row.expect, role)
    call = await row.prepare(cast, role, 200 <= expected < 300)
    answer = await cast.request(role, row.method, row.path, call)
    if answer.status_code != expected:
        return [f"{cell}: expected {expected}, got {answer.status_code}: {answer.text[:300]}"]
    problems: list[str] = []
    if expected == 404:
        # Out of scope must look exactly like an id that does not exist.
        ghost_call = replace(call, params={key: _missing(value) for key, value in call.params.items()})
        ghost = await cast.request(role, row.method, row.path, ghost_call)
        if (ghost.status_code, _error(ghost)) != (answer.status_code, _error(answer)):
            problems.append(f"{cell}: the 404 differs from a missing id's {ghost.status_code} {ghost.text[:200]}")
    if expected == 401 and _error(answer)[0] != "auth.required":
        problems.append(f"{cell}: 401 without the auth.required code: {answer.text[:200]}")
    if row.check is not None and 200 <= expected < 300:
        try:
            await row.check(cast, role, answer)
        except AssertionError as exc:
            problems.append(f"{cell}: {str(exc).splitlines()[0]}")
    return problems


def is_recorded_refusal(row: Row, role: str) -> bool:
    """Whether the audit log records the cell's refusal: every 403, and a 404 that hides an existing alert, offer
    or resident."""
    expected: int = getattr(row.expect, role)
    hidden = ("{alert_id}", "{offer_id}", "{resident_id}")
    return expected == 403 or (expected == 404 and any(name in row.path for name in hidden))


async def unrecorded_refusals(cast: Cast, rows: list[Row]) -> list[str]:
    """Each caller's refused cells against the outcome=denied records the audit log holds for them (a summary record
    counts the refusals beyond the per-minute limit)."""
    problems: list[str] = []
    for role, person in cast.people.items():
        subject = person.id if person.role == "resident" else f"staff:{person.id}"
        answer = await cast.api.get(cast.crew, "/audit", outcome="denied", actor_id=subject, limit=1000)
        assert answer.status_code == 200, answer.text
        records = answer.json()
        recorded = sum(r["detail"]["requests"] if r["action"] == "access.denied.more" else 1 for r in records)
        refused = sum(is_recorded_refusal(row, role) for row in rows)
        if recorded != refused:
            paths = sorted(f"{r['detail']['method']} {r['detail']['path']}" for r in records)
            problems.append(f"{role}: {refused} refused cell(s) left {recorded} denied record(s): {paths}")
    return problems


def _missing(value: str) -> str:
    """An id of the same kind that names nothing: a number for numbered records, else a new UUID."""
    return "2147483647" if value.isdigit() else str(uuid.uuid4())


def _error(answer: httpx.Response) -> tuple[str, str]:
    try:
        error = answer.json()["error"]
    except (ValueError, KeyError, TypeError):
        return ("", answer.text)
    return (str(error.get("code", "")), str(error.get("message", "")))


# Tests ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", GROUPS)
async def test_every_role_gets_the_expected_answer_from_every_endpoint(api: Api, group: str) -> None:
    cast = await build_cast(api)
    before = await cast.snapshot()
    rows = sorted((row for row in TABLE if row.group == group), key=lambda row: row.revokes_token)
    failures: list[str] = []
    for row in rows:
        for role in ROLES:
            failures.extend(await run_cell(cast, row, role))
    failures.extend(await unrecorded_refusals(cast, rows))
    after = await cast.snapshot()
    if after != before:
        changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
        failures.append(f"refused calls changed the shared alert or its resident (before, after): {changed}")
    assert not failures, f"{len(failures)} cell(s) of group {group!r} break the access rules:\n" + "\n".join(failures)


async def test_the_table_covers_every_endpoint_in_the_openapi_document(api: Api) -> None:
    answer = await api.http.get("/openapi.json")
    assert answer.status_code == 200, answer.text
    served = {
        (method.upper(), path)
        for path, operations in answer.json()["paths"].items()
        if not path.startswith(NOT_IN_TABLE)
        for method in operations
        if method.upper() in HTTP_METHODS
    }
    listed = [(row.method, row.path) for row in TABLE]
    missing = sorted(served - set(listed))
    stale = sorted(set(listed) - served)
    duplicated = sorted({key for key in listed if listed.count(key) > 1})
    assert not missing, f"endpoints without a row in the access table: {missing}"
    assert not stale, f"rows for endpoints the app does not serve: {stale}"
    assert not duplicated, f"endpoints with more than one row: {duplicated}"
    assert {row.group for row in TABLE} == set(GROUPS)


async def test_a_resident_cannot_read_cancel_or_track_another_residents_alert(api: Api) -> None:
    owner = await api.resident(name="Siti Pemilik")
    intruder = await api.resident(name="Budi Penyusup")  # the same cancel PIN (1234) as the owner
    admin = await api.staff(Role.ADMIN)
    alert = await api.press(owner)
    path = f"/alerts/{alert['id']}"

    async def state() -> dict[str, Any]:
        staff_view = (await api.get(admin, path)).json()
        return {
            "staff_view": {key: staff_view[key] for key in ("state", "version", "lat", "lon", "closed_at", "duress")},
            "owner_view": (await api.get(owner, path)).json(),
            "trail": (await api.get(admin, f"{path}/trail")).json(),
            "timeline": [event["kind"] for event in (await api.get(admin, f"{path}/timeline")).json()],
        }

    before = await state()
    ghost = f"/alerts/{uuid.uuid4()}"
    point = {"points": [{"lat": -6.90, "lon": 107.62, "accuracy_m": 5.0}]}
    attempts = {
        "GET": (await api.get(intruder, path), await api.get(intruder, ghost)),
        "cancel": (
            await api.post(intruder, f"{path}/cancel", {"pin": "1234"}),
            await api.post(intruder, f"{ghost}/cancel", {"pin": "1234"}),
        ),
        "duress cancel": (
            await api.post(intruder, f"{path}/cancel", {"pin": "9999"}),
            await api.post(intruder, f"{ghost}/cancel", {"pin": "9999"}),
        ),
        "locations": (
            await api.post(intruder, f"{path}/locations", point),
            await api.post(intruder, f"{ghost}/locations", point),
        ),
    }
    for what, (answer, missing) in attempts.items():
        assert answer.status_code == 404, f"another resident's {what}: {answer.status_code} {answer.text}"
        assert answer.json() == missing.json(), f"another resident's {what} answers unlike a missing id"

    # Pressing SOS with the owner's alert id stores nothing and says nothing about that alert.
    reuse = await api.post(intruder, "/alerts", sos_body(id=alert["id"]))
    assert reuse.status_code == 409, reuse.text
    assert reuse.json()["error"]["code"] == "alert.id_reused"
    assert reuse.json()["error"]["details"] == {}

    assert await state() == before, "another resident's attempts changed the alert"
    listed = (await api.get(intruder, "/alerts")).json()
    assert alert["id"] not in {a["id"] for a in listed}
    cancels = (await api.get(admin, "/audit", action="alert.cancel", target_id=alert["id"])).json()
    assert cancels == [], "the intruder's cancel reached the PIN check"

    # The owner's PIN was never tried by the intruder: it still works on the first go.
    cancelled = await api.post(owner, f"{path}/cancel", {"pin": "1234"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"


async def _audit(api: Api, reader: Person, **filters: str) -> list[dict[str, Any]]:
    answer = await api.get(reader, "/audit", **filters)
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()
    return records


async def test_a_staff_read_of_an_alert_writes_an_alert_read_audit_record(api: Api) -> None:
    resident = await api.resident(name="Siti Rahma")
    operator = await api.staff(Role.OPERATOR, "BDG-CC")
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    admin = await api.staff(Role.ADMIN)
    alert = await api.press(resident)
    assert not [r for r in await _audit(api, admin, target_id=alert["id"]) if r["action"] == "alert.read"]

    assert (await api.get(operator, f"/alerts/{alert['id']}")).status_code == 200
    assert (await api.get(operator, f"/alerts/{alert['id']}")).status_code == 200

    reads = [
        r for r in await _audit(api, admin, action="alert.read", target_id=alert["id"]) if r["action"] == "alert.read"
    ]
    assert len(reads) == 2, reads  # every read, not only the first
    for record in reads:
        assert record["actor_id"] == f"staff:{operator.id}"
        assert record["actor_kind"] == "operator"
        assert record["target_type"] == "alert"
        assert record["outcome"] == "success"
        assert record["detail"]["resident_id"] == resident.id
    # The supervisor of the command centre sees the record too: it is in their agency's tree.
    seen = await _audit(api, supervisor, action="alert.read", target_id=alert["id"])
    assert {r["id"] for r in seen} >= {r["id"] for r in reads}


async def test_a_staff_read_of_a_resident_writes_a_resident_read_audit_record(api: Api) -> None:
    resident = await api.resident(name="Siti Rahma")
    operator = await api.staff(Role.OPERATOR, "BDG-CC")
    admin = await api.staff(Role.ADMIN)
    await api.press(resident)

    profile = await api.get(operator, f"/residents/{resident.id}")
    assert profile.status_code == 200, profile.text
    assert profile.json()["name"] == "Siti Rahma"

    reads = [
        r
        for r in await _audit(api, admin, action="resident.read", target_id=resident.id)
        if r["action"] == "resident.read"
    ]
    assert len(reads) == 1, reads
    assert reads[0]["actor_id"] == f"staff:{operator.id}"
    assert reads[0]["target_type"] == "resident"
    assert reads[0]["outcome"] == "success"


async def test_every_staff_read_of_a_residents_personal_data_is_audited(api: Api) -> None:
    """The alert's staff view, its trail and its timeline all carry the resident's name or positions."""
    resident = await api.resident(name="Siti Rahma")
    operator = await api.staff(Role.OPERATOR, "BDG-CC")
    admin = await api.staff(Role.ADMIN)
    alert = await api.press(resident)
    reads = {
        "GET /alerts": ("/alerts", "alert", None),
        "GET /alerts/{alert_id}": (f"/alerts/{alert['id']}", "alert", alert["id"]),
        "GET /alerts/{alert_id}/trail": (f"/alerts/{alert['id']}/trail", "alert", alert["id"]),
        "GET /alerts/{alert_id}/timeline": (f"/alerts/{alert['id']}/timeline", "alert", alert["id"]),
        "GET /residents/{resident_id}": (f"/residents/{resident.id}", "resident", resident.id),
        "GET /residents/{resident_id}/moderation": (f"/residents/{resident.id}/moderation", "resident", resident.id),
    }
    unaudited: list[str] = []
    for name, (path, target_type, target_id) in reads.items():
        before = await _audit(api, admin, actor_id=f"staff:{operator.id}")
        answer = await api.get(operator, path)
        assert answer.status_code == 200, f"{name}: {answer.text}"
        if name == "GET /alerts/{alert_id}/timeline":
            assert resident.name in {e["actor_name"] for e in answer.json()}, "the timeline names the resident"
        new = [r for r in await _audit(api, admin, actor_id=f"staff:{operator.id}") if r not in before]
        if target_id is None:  # a list: the record names the residents shown
            names_them = [r for r in new if r["target_type"] == target_type and resident.id in str(r["detail"])]
        else:
            names_them = [r for r in new if r["target_type"] == target_type and r["target_id"] == target_id]
        if not names_them:
            unaudited.append(f"{name} (new records: {[r['action'] for r in new]})")
    assert not unaudited, f"staff reads of personal data without an audit record: {unaudited}"
