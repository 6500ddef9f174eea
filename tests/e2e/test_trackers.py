"""GPS trackers and Traccar Client over the OsmAnd protocol, against a real server on a real port: every spelling
Traccar's decoder reads moves a unit; a resident's tracker raises one SOS however often it resends; bad reports,
unknown and disabled trackers are refused, counted and say why."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from siaga.accounts.domain import Role
from siaga.accounts.models import Resident
from siaga.agencies import service as agencies
from siaga.responders.models import PositionRecord, UnitStatus
from siaga.runtime import Runtime
from tests.conftest import Api, Person, app_for, eventually
from tests.e2e.test_streams import Live, stream
from tests.servers import in_process

COBLONG = (-6.8915, 107.6107)
EPOCH = 1_796_360_400  # 2026-12-04 05:00:00 UTC


@dataclass
class Site:
    live: Live
    http: httpx.AsyncClient  # the tracker's side: no session, no headers of Siaga's


@pytest.fixture
async def site(db: Runtime) -> AsyncIterator[Site]:
    """Siaga served by uvicorn on a real port, on the test database."""
    async with (
        in_process(app_for(db)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
        httpx.AsyncClient(base_url=url, timeout=30) as tracker,
    ):
        live = Live(api=Api(http=http, runtime=db), ws=url.replace("http://", "ws://") + "/api/v1/stream")
        yield Site(live=live, http=tracker)


async def register(api: Api, admin: Person, **holder: Any) -> dict[str, Any]:
    body = {"device_id": f"TRK-{uuid.uuid4().hex[:8]}", "label": "Traccar Client", **holder}
    answer = await api.post(admin, "/trackers", body)
    assert answer.status_code == 201, answer.text
    tracker: dict[str, Any] = answer.json()
    return tracker


def counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("siaga_tracker_reports_total", {"outcome": outcome}) or 0.0


async def unit_at(api: Api, unit_id: int, lat: float, lon: float) -> bool:
    """Whether the unit board (what the console reads) shows the unit at lat, lon."""
    point = api.runtime.units.tracker.get(unit_id)
    return point is not None and (round(point.lat or 0, 5), round(point.lon or 0, 5)) == (lat, lon)


async def test_every_parameter_spelling_moves_the_unit(site: Site) -> None:
    api = site.live.api
    admin = await api.staff(Role.ADMIN)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-T1")
    await api.on_duty(officer)
    device = (await register(api, admin, unit_callsign="COBLONG-T1"))["device_id"]
    assert officer.unit_id is not None

    reports: list[tuple[str, dict[str, Any]]] = [
        ("GET", {"params": {"id": device, "lat": "-6.8901", "lon": "107.6101", "timestamp": str(EPOCH)}}),
        ("POST", {"params": {"deviceid": device, "location": "-6.8902,107.6102", "timestamp": str(EPOCH + 5) + "000"}}),
        (
            "POST",
            {
                "content": f"id={device}&lat=-6.8903&lon=107.6103&timestamp=2026-12-04T05:00:10Z&speed=12&bearing=90"
                "&altitude=770&accuracy=9&hdop=0.8&batt=77",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
        ),
        (
            "GET",
            {
                "params": {
                    "id": device,
                    "lat": "-6.8904",
                    "lon": "107.6104",
                    "timestamp": "2026-12-04 05:00:15",
                    "heading": "45",
                }
            },
        ),
        (
            "POST",
            {
                "json": {
                    "device_id": device,
                    "location": {
                        "timestamp": "2026-12-04T05:00:20.000Z",
                        "coords": {
                            "latitude": -6.8905,
                            "longitude": 107.6105,
                            "accuracy": 7,
                            "speed": 3,
                            "heading": -1,
                        },
                        "battery": {"level": 0.5, "is_charging": False},
                    },
                }
            },
        ),
    ]
    for n, (method, request) in enumerate(reports, start=1):
        answer = await site.http.request(method, "/osmand", **request)
        assert (answer.status_code, answer.content) == (200, b""), f"report {n}: {answer.text}"
        lat, lon = round(-6.89 - n / 10_000, 5), round(107.61 + n / 10_000, 5)
        await eventually(partial(unit_at, api, officer.unit_id, lat, lon), what=f"report {n} moves the unit")


async def test_a_report_without_device_id_or_position_is_a_clear_400(site: Site) -> None:
    api = site.live.api
    admin = await api.staff(Role.ADMIN)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-T2")
    device = (await register(api, admin, unit_callsign="COBLONG-T2"))["device_id"]
    before = counted("invalid")
    cases = [
        ({"lat": "-6.9", "lon": "107.6"}, "tracker.no_device"),
        ({"id": device}, "tracker.no_position"),
        ({"id": device, "lat": "-6.9"}, "tracker.no_position"),
        ({"id": device, "lat": "utara", "lon": "107.6"}, "tracker.invalid"),
    ]
    for params, code in cases:
        answer = await site.http.post("/osmand", params=params)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == code, answer.text
    malformed = await site.http.post("/osmand", content=b"{", headers={"Content-Type": "application/json"})
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "request.malformed_json")
    assert counted("invalid") - before == len(cases) + 1
    assert officer.unit_id is not None
    assert api.runtime.units.tracker.get(officer.unit_id) is None or not await unit_at(
        api, officer.unit_id, -6.9, 107.6
    )


async def test_an_unknown_device_is_refused_counted_and_logged_once_a_minute(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    before = counted("unknown")
    device = f"GHOST-{uuid.uuid4().hex[:6]}"
    with caplog.at_level(logging.WARNING, logger="siaga.trackers"):
        for _ in range(3):
            answer = await site.http.get("/osmand", params={"id": device, "lat": "-6.9", "lon": "107.6"})
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] == "tracker.unknown"
            assert device in answer.json()["error"]["message"]
    assert counted("unknown") - before == 3
    lines = [r.getMessage() for r in caplog.records if r.name == "siaga.trackers" and device in r.getMessage()]
    assert len(lines) == 1, lines


async def test_a_residents_sos_is_one_alert_however_often_the_tracker_resends_it(site: Site) -> None:
    api = site.live.api
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    resident = await api.resident(name="Ibu Tracker")
    device = (await register(api, admin, resident_phone=resident.phone))["device_id"]
    report = {"id": device, "lat": str(COBLONG[0]), "lon": str(COBLONG[1]), "timestamp": str(EPOCH), "alarm": "sos"}

    async with stream(site.live, "console", operator) as console:
        for _ in range(3):  # Traccar Client resends a report until it is answered 200
            answer = await site.http.post("/osmand", params=report)
            assert (answer.status_code, answer.content) == (200, b""), answer.text
        created = await console.event("created")
        # While the alert is open, the tracker's next positions follow it on the console's map, as the app's do.
        moved = {"id": device, "lat": "-6.8921", "lon": "107.6111", "timestamp": str(EPOCH + 30), "accuracy": "6"}
        assert (await site.http.post("/osmand", params=moved)).status_code == 200
        followed = await console.until(lambda m: m["type"] == "alert_location")
    assert created["alert"]["channel"] == "tracker"
    assert (followed["alert_id"], followed["lat"], followed["lon"]) == (created["alert"]["id"], -6.8921, 107.6111)
    alerts = (await api.get(operator, "/alerts", active="true")).json()
    mine = [a for a in alerts if a["resident"]["id"] == resident.id]
    assert len(mine) == 1, mine
    alert = mine[0]
    assert (alert["channel"], alert["lat"], alert["lon"]) == ("tracker", -6.8921, 107.6111)
    trail = (await api.get(operator, f"/alerts/{alert['id']}/trail")).json()
    assert [(p["lat"], p["lon"]) for p in trail] == [COBLONG, (-6.8921, 107.6111)], trail
    assert alert["jurisdiction_name"] == "Coblong"
    # The same SOS as Traccar Client's JSON is the same alert too; a later SOS joins the open one.
    later = {**report, "timestamp": str(EPOCH + 60)}
    assert (await site.http.post("/osmand", params=later)).status_code == 200
    alerts = (await api.get(operator, "/alerts", active="true")).json()
    assert [a["id"] for a in alerts if a["resident"]["id"] == resident.id] == [alert["id"]]


async def test_an_sos_without_a_fix_is_still_raised(site: Site) -> None:
    api = site.live.api
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    resident = await api.resident()
    device = (await register(api, admin, resident_phone=resident.phone))["device_id"]
    body = {"device_id": device, "location": {"timestamp": "2026-12-04T05:00:00Z", "extras": {"alarm": "sos"}}}
    answer = await site.http.post("/osmand", json=body)
    assert answer.status_code == 200, answer.text

    async def raised() -> list[dict[str, Any]]:
        alerts = (await api.get(operator, "/alerts", active="true")).json()
        return [a for a in alerts if a["resident"]["id"] == resident.id]

    alert = (await eventually(raised, what="the SOS"))[0]
    assert alert["channel"] == "tracker"
    timeline = (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
    assert any(e["kind"] == "flagged" and e["data"].get("reason") == "no_location" for e in timeline), timeline


async def test_a_units_tracker_moves_the_unit_on_the_console(site: Site) -> None:
    api = site.live.api
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-T3")
    device = (await register(api, admin, unit_callsign="COBLONG-T3"))["device_id"]
    before = counted("off_duty")
    # Off duty, the unit's position is nobody's business: answered 200 (the tracker stops resending) and not kept.
    off = await site.http.get("/osmand", params={"id": device, "lat": "-6.8800", "lon": "107.6200"})
    assert off.status_code == 200, off.text
    assert counted("off_duty") - before == 1
    await api.on_duty(officer)
    async with stream(site.live, "console", operator) as console:
        report = {"id": device, "lat": "-6.8850", "lon": "107.6150", "timestamp": str(EPOCH)}
        assert (await site.http.get("/osmand", params=report)).status_code == 200
        moved = await console.until(
            lambda m: m["type"] == "unit" and m["unit_id"] == officer.unit_id and m["lat"] is not None
        )
    assert (round(moved["lat"], 4), round(moved["lon"], 4)) == (-6.885, 107.615)
    board = (await api.get(operator, "/units/board")).json()
    mine = next(u for u in board if u["unit_id"] == officer.unit_id)
    assert (round(mine["lat"], 4), round(mine["lon"], 4)) == (-6.885, 107.615)


async def test_a_disabled_tracker_is_refused_until_enabled_and_every_change_is_audited(site: Site) -> None:
    api = site.live.api
    admin = await api.staff(Role.ADMIN)
    resident = await api.resident()
    tracker = await register(api, admin, resident_phone=resident.phone)
    listed = (await api.get(admin, "/trackers")).json()
    assert [(t["device_id"], t["resident_name"], t["resident_phone"]) for t in listed] == [
        (tracker["device_id"], "Warga Uji", resident.phone)
    ]
    report = {"id": tracker["device_id"], "lat": "-6.9", "lon": "107.6"}
    before = counted("not_kept")
    assert (await site.http.get("/osmand", params=report)).status_code == 200  # no alert open: not kept
    assert counted("not_kept") - before == 1

    off = await api.http.patch(f"/api/v1/trackers/{tracker['id']}", json={"enabled": False}, headers=admin.headers)
    assert (off.status_code, off.json()["enabled"]) == (200, False)
    before = counted("disabled")
    refused = await site.http.get("/osmand", params={**report, "alarm": "sos"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "tracker.disabled")
    assert counted("disabled") - before == 1

    on = await api.http.patch(f"/api/v1/trackers/{tracker['id']}", json={"enabled": True}, headers=admin.headers)
    assert on.status_code == 200
    assert (await site.http.get("/osmand", params=report)).status_code == 200
    gone = await api.http.delete(f"/api/v1/trackers/{tracker['id']}", headers=admin.headers)
    assert gone.status_code == 204
    after = await site.http.get("/osmand", params=report)
    assert (after.status_code, after.json()["error"]["code"]) == (404, "tracker.unknown")

    taken = await api.post(admin, "/trackers", {"device_id": "X1", "resident_phone": resident.phone})
    again = await api.post(admin, "/trackers", {"device_id": "X1", "resident_phone": resident.phone})
    both = await api.post(
        admin, "/trackers", {"device_id": "X2", "resident_phone": resident.phone, "unit_callsign": "C"}
    )
    assert taken.status_code == 201
    assert (again.status_code, again.json()["error"]["code"]) == (409, "tracker.device_taken")
    assert (both.status_code, both.json()["error"]["code"]) == (422, "tracker.holder")

    records = (await api.get(admin, "/audit", action="tracker.", limit=100)).json()
    actions = sorted(r["action"] for r in records if r["target_id"] == tracker["device_id"])
    assert actions == ["tracker.add", "tracker.disable", "tracker.enable", "tracker.remove"]
    assert {r["actor_name"] for r in records if r["target_id"] == tracker["device_id"]} == {admin.name}


async def test_a_resident_who_deletes_their_account_leaves_no_tracker_behind(site: Site) -> None:
    """Erasing an account removes the rows that exist only for its resident: their tracker is forgotten, its
    reports refused as unknown, never raised for the emptied pseudonym."""
    api = site.live.api
    admin = await api.staff(Role.ADMIN)
    resident = await api.resident()
    device = (await register(api, admin, resident_phone=resident.phone))["device_id"]
    deleted = await api.http.delete("/api/v1/residents/me", headers=resident.headers)
    assert deleted.status_code == 204, deleted.text
    assert (await api.get(admin, "/trackers")).json() == []
    sos = {"id": device, "lat": str(COBLONG[0]), "lon": str(COBLONG[1]), "alarm": "sos"}
    refused = await site.http.post("/osmand", params=sos)
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "tracker.unknown")


async def test_a_late_report_joins_the_units_history_but_never_moves_it_back(site: Site) -> None:
    """Trackers buffer positions while out of coverage and send them late, out of order: an older report is kept
    in the unit's history and the unit stays where its newest report put it."""
    api = site.live.api
    admin = await api.staff(Role.ADMIN)
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-T4")
    assert officer.unit_id is not None
    await api.on_duty(officer)
    device = (await register(api, admin, unit_callsign="COBLONG-T4"))["device_id"]
    for lat, lon, at in (("-6.8801", "107.6201", EPOCH + 60), ("-6.8802", "107.6202", EPOCH)):
        answer = await site.http.get("/osmand", params={"id": device, "lat": lat, "lon": lon, "timestamp": str(at)})
        assert answer.status_code == 200, answer.text

    async def both_written() -> bool:
        async with api.runtime.read_sessions() as session:
            query = select(func.count()).select_from(PositionRecord).where(PositionRecord.unit_id == officer.unit_id)
            return int(await session.scalar(query) or 0) == 2

    await eventually(both_written, what="both reports in the unit's history")
    async with api.runtime.read_sessions() as session:
        status = await session.get(UnitStatus, officer.unit_id)
    assert status is not None
    assert (status.lat, status.lon) == (-6.8801, 107.6201)
    assert await unit_at(api, officer.unit_id, -6.8801, 107.6201)


async def test_a_units_sos_is_an_officer_emergency_for_the_units_agency_once(site: Site) -> None:
    """An officer pressing SOS on a vehicle tracker or Traccar Client is an officer in danger: an alert at the unit's
    position (its last known one if the report has no fix), critical and flagged, for the unit's own agency (a
    Sukajadi unit in Coblong: Polsek Sukajadi handles it, Coblong's police are informed), raised once however often
    the tracker resends, and a second SOS joins it."""
    api = site.live.api
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
    officer = await api.staff(Role.OFFICER, "POLSEK-SUKAJADI", unit_callsign="SUKAJADI-T9")
    device = (await register(api, admin, unit_callsign="SUKAJADI-T9"))["device_id"]
    await api.on_duty(officer)
    moved = {"id": device, "lat": str(COBLONG[0]), "lon": str(COBLONG[1]), "timestamp": str(EPOCH)}
    assert (await site.http.get("/osmand", params=moved)).status_code == 200

    async def known() -> bool:
        async with api.runtime.read_sessions() as session:
            status = await session.get(UnitStatus, officer.unit_id)
            return status is not None and status.lat is not None

    await eventually(known, what="the unit's position stored")
    before = counted("sos")
    sos = {"id": device, "timestamp": str(EPOCH + 30), "alarm": "sos"}  # the panic button sends no fix
    async with stream(site.live, "console", operator) as console:
        for _ in range(3):  # resent until answered
            answer = await site.http.get("/osmand", params=sos)
            assert (answer.status_code, answer.content) == (200, b""), answer.text
        created = await console.event("created")
    assert counted("sos") - before == 3
    alert = (await api.get(operator, f"/alerts/{created['alert']['id']}")).json()
    assert (alert["channel"], alert["agency_code"], alert["priority"]) == ("tracker", "POLSEK-SUKAJADI", "critical")
    assert (alert["lat"], alert["lon"]) == COBLONG
    assert alert["jurisdiction_name"] == "Coblong"
    async with api.runtime.read_sessions() as session:
        coblong = await agencies.agency_by_code(session, "POLSEK-COBLONG")
    assert coblong.id in alert["informed_agency_ids"]
    timeline = (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
    flags = [e["data"].get("reason") for e in timeline if e["kind"] == "flagged"]
    assert "officer_emergency" in flags, timeline

    # A second SOS, with a fix, while the alert is open: the same alert, pressed again.
    again = {"id": device, "lat": "-6.8930", "lon": "107.6120", "timestamp": str(EPOCH + 90), "alarm": "sos"}
    assert (await site.http.get("/osmand", params=again)).status_code == 200
    active = (await api.get(operator, "/alerts", active="true")).json()
    theirs = [a for a in active if a["resident"]["id"] == alert["resident"]["id"]]
    assert [a["id"] for a in theirs] == [alert["id"]]
    assert theirs[0]["press_count"] == 2
    # The unit's caller row is nobody to count in the reports, and nobody to text.
    async with api.runtime.read_sessions() as session:
        caller = await session.get(Resident, uuid.UUID(alert["resident"]["id"]))
    assert caller is not None
    assert (caller.kind, caller.name) == ("unit", "Unit SUKAJADI-T9")
