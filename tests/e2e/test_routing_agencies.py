"""Agencies of every kind, routed by what happened: a kebakaran goes to Damkar (responsible) and the police
(informed), each sees it on its console's real stream, a category change re-routes an alert with a timeline event,
recommendations filter by unit type, and administrators edit the routing table and service areas (audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.audit.actor import ActorContext
from siaga.audit.models import AuditRecord
from siaga.partners import service as partners
from siaga.partners.schemas import PartnerCreate
from tests.conftest import Api, Person
from tests.e2e.test_streams import COBLONG, Live, live, on_duty_near, stream

__all__ = ["live"]  # the fixture, used by the stream tests here

GEDEBAGE = (-6.9420, 107.6890)  # Kecamatan Gedebage: Damkar Sektor Timur, Polsek Gedebage


async def _alert(api: Api, who: Person, alert_id: str) -> dict[str, Any]:
    answer = await api.get(who, f"/alerts/{alert_id}")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _agency_ids(api: Api, who: Person) -> dict[str, int]:
    return {a["code"]: a["id"] for a in (await api.get(who, "/agencies")).json()}


async def _audited(api: Api, action: str, target_id: str) -> list[AuditRecord]:
    async with api.runtime.unit_of_work() as session:
        rows = await session.scalars(
            select(AuditRecord).where(AuditRecord.action == action, AuditRecord.target_id == target_id)
        )
        return list(rows.all())


async def test_a_kebakaran_goes_to_damkar_and_the_police_and_both_consoles_see_it_live(live: Live) -> None:
    api = live.api
    damkar = await api.staff(Role.OPERATOR, "DAMKAR-BDG")  # Damkar's headquarters sees its sectors' alerts
    police = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    medics = await api.staff(Role.OPERATOR, "PSC119-BDG")
    ids = await _agency_ids(api, damkar)
    async with (
        stream(live, "console", damkar) as damkar_console,
        stream(live, "console", police) as police_console,
    ):
        pressed = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kebakaran")
        for console in (damkar_console, police_console):
            created = await console.event("created", pressed["id"])
            assert created["alert"]["agency_id"] == ids["DAMKAR-SEKTOR-UTARA"]
            assert created["alert"]["informed_agency_ids"] == [ids["POLSEK-COBLONG"]]
            assert created["event"]["data"]["agency"] == "DAMKAR-SEKTOR-UTARA"
            assert created["event"]["data"]["informed"] == ["POLSEK-COBLONG"]

    alert = await _alert(api, police, pressed["id"])
    assert (alert["agency_code"], alert["agency_name"]) == ("DAMKAR-SEKTOR-UTARA", "Damkar Sektor Utara")
    assert [a["id"] for a in (await api.get(damkar, "/alerts")).json()] == [pressed["id"]]
    # PSC 119 is not in a kebakaran's row: its operator cannot see it.
    assert (await api.get(medics, f"/alerts/{pressed['id']}")).status_code == 404
    assert (await api.get(medics, "/alerts")).json() == []


async def test_the_informed_police_read_a_kebakaran_and_note_on_it_but_only_damkar_handles_it(live: Live) -> None:
    """The police informed of a fire see it and may write on its timeline, but do not take it from Damkar: their
    acknowledgement would stop Damkar's T1, their unit would take the alert's one place, and closing it as a prank
    would strike the resident on another agency's word."""
    api = live.api
    damkar = await api.staff(Role.OPERATOR, "DAMKAR-SEKTOR-UTARA")
    police = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    police_unit = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-7")
    await on_duty_near(live, police_unit, *COBLONG)
    pressed = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kebakaran")
    alert_path = f"/alerts/{pressed['id']}"

    for step, body in (
        ("acknowledge", {}),
        ("dispatch", {"unit_id": police_unit.unit_id}),
        ("resolve", {"outcome": "prank", "report": "iseng"}),
        ("category", {"category": "kriminalitas"}),
        ("priority", {"priority": "high", "reason": "asap tebal"}),
    ):
        refused = await api.post(police, f"{alert_path}/{step}", body)
        assert refused.status_code == 403, (step, refused.text)
        assert refused.json()["error"]["code"] == "alert.other_agency"
    noted = await api.post(police, f"{alert_path}/notes", {"text": "Jalan Dago ditutup untuk mobil pemadam"})
    assert noted.status_code == 200, noted.text
    # Nor do they hand it over to the city's 112 centre: it is not offered to them, and refused if asked.
    async with api.runtime.unit_of_work() as session:
        await partners.create_partner(
            session,
            settings=api.runtime.settings,
            body=PartnerCreate(name="kota-112", url="http://127.0.0.1:9/eido"),
            by=ActorContext.command_line("test"),
        )
    assert (await api.get(police, f"{alert_path}/handover/choices")).json() == []
    handed = await api.post(police, f"{alert_path}/handover", {"partner": "kota-112"})
    assert handed.status_code == 403, handed.text
    assert [c["name"] for c in (await api.get(damkar, f"{alert_path}/handover/choices")).json()] == ["kota-112"]

    alert = await _alert(api, police, pressed["id"])
    assert (alert["state"], alert["acknowledged_by"], alert["category"]) == ("new", None, "kebakaran")
    taken = await api.post(damkar, f"{alert_path}/acknowledge")
    assert taken.status_code == 200, taken.text
    assert taken.json()["acknowledged_by"] == damkar.name


async def test_a_kriminalitas_stays_with_the_police_and_other_agencies_do_not_see_it(live: Live) -> None:
    api = live.api
    medics = await api.staff(Role.OPERATOR, "PSC119-BDG")
    damkar = await api.staff(Role.OPERATOR, "DAMKAR-SEKTOR-UTARA")
    police = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    async with stream(live, "console", medics) as medics_console, stream(live, "console", police) as police_console:
        crime = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kriminalitas")
        created = await police_console.event("created", crime["id"])
        assert created["alert"]["informed_agency_ids"] == []
        # A kesehatan after it: the medics' console hears of that one and never of the crime.
        hurt = await api.press(await api.resident(), lat=GEDEBAGE[0], lon=GEDEBAGE[1], category="kesehatan")
        seen = await medics_console.event("created", hurt["id"])
        assert seen["alert"]["agency_id"] == (await _agency_ids(api, medics))["PSC119-BDG"]
        assert not [m for m in medics_console.seen if m.get("alert", {}).get("id") == crime["id"]]
    for outsider in (medics, damkar):
        assert (await api.get(outsider, f"/alerts/{crime['id']}")).status_code == 404
    assert (await _alert(api, police, crime["id"]))["agency_code"] == "POLSEK-COBLONG"


async def test_a_category_change_re_routes_the_alert_with_a_timeline_event_and_the_streams_follow(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR, "POLSEK-GEDEBAGE")
    damkar = await api.staff(Role.OPERATOR, "DAMKAR-SEKTOR-TIMUR")
    medics = await api.staff(Role.OPERATOR, "PSC119-BDG")
    ids = await _agency_ids(api, operator)
    pressed = await api.press(await api.resident(), lat=GEDEBAGE[0], lon=GEDEBAGE[1], category="kriminalitas")
    assert (await api.post(operator, f"/alerts/{pressed['id']}/acknowledge")).status_code == 200
    assert (await api.get(damkar, f"/alerts/{pressed['id']}")).status_code == 404

    async with stream(live, "console", damkar) as damkar_console, stream(live, "console", medics) as medics_console:
        # It turns out to be a fire: Damkar Sektor Timur is responsible now, the Polsek informed.
        changed = await api.post(operator, f"/alerts/{pressed['id']}/category", {"category": "kebakaran"})
        assert changed.status_code == 200, changed.text
        alert = changed.json()
        assert (alert["category"], alert["agency_code"]) == ("kebakaran", "DAMKAR-SEKTOR-TIMUR")
        assert alert["informed_agency_ids"] == [ids["POLSEK-GEDEBAGE"]]
        assert alert["acknowledged_by"] == operator.name  # the operator who took it still holds it
        event = (await damkar_console.event("category_changed", pressed["id"]))["event"]
        assert event["data"]["from"] == "kriminalitas"
        assert event["data"]["to"] == "kebakaran"
        assert event["data"]["agency"] == "DAMKAR-SEKTOR-TIMUR"
        assert event["data"]["previous_agency"] == "POLSEK-GEDEBAGE"
        assert event["data"]["informed"] == ["POLSEK-GEDEBAGE"]
        assert event["actor_name"] == operator.name

        # The Polsek handed it on: Damkar is responsible now, and only Damkar re-routes it again.
        refused = await api.post(operator, f"/alerts/{pressed['id']}/category", {"category": "kesehatan"})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "alert.other_agency"
        # Then a medical case after all: PSC 119 gets it, and Damkar's console is told to drop it.
        again = await api.post(damkar, f"/alerts/{pressed['id']}/category", {"category": "kesehatan"})
        assert again.status_code == 200, again.text
        assert again.json()["agency_code"] == "PSC119-BDG"
        withdrawn = await damkar_console.until(
            lambda m: m["type"] == "alert_withdrawn" and m["alert_id"] == pressed["id"]
        )
        assert withdrawn["reason"] == "rerouted"
        await medics_console.event("category_changed", pressed["id"])
    assert (await api.get(damkar, f"/alerts/{pressed['id']}")).status_code == 404
    assert (await api.get(medics, f"/alerts/{pressed['id']}")).status_code == 200
    # The Polsek still sees it: the kecamatan's police see every alert in it, as before.
    assert (await api.get(operator, f"/alerts/{pressed['id']}")).status_code == 200

    timeline = (await api.get(operator, f"/alerts/{pressed['id']}/timeline")).json()
    changes = [e["data"] for e in timeline if e["kind"] == "category_changed"]
    assert [(c["from"], c["to"]) for c in changes] == [("kriminalitas", "kebakaran"), ("kebakaran", "kesehatan")]
    assert len(await _audited(api, "alert.category_change", pressed["id"])) == 2


async def test_an_unacknowledged_alert_re_routed_starts_the_new_agencys_timers(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR, "BDG-CC")
    pressed = await api.press(await api.resident(), lat=GEDEBAGE[0], lon=GEDEBAGE[1], category="kriminalitas")
    before = await _alert(api, operator, pressed["id"])
    changed = await api.post(operator, f"/alerts/{pressed['id']}/category", {"category": "bencana_alam"})
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert after["agency_code"] == "BPBD-BDG"
    assert after["acknowledged_by"] is None
    assert after["ack_due_at"] > before["ack_due_at"]  # T1 counts again, for BPBD
    # The same category again changes nothing; officers and residents cannot change it at all.
    same = await api.post(operator, f"/alerts/{pressed['id']}/category", {"category": "bencana_alam"})
    assert same.status_code == 200
    assert same.json()["version"] == after["version"]
    bad = await api.post(operator, f"/alerts/{pressed['id']}/category", {"category": "gempa"})
    assert bad.status_code == 422


async def test_recommendations_filter_by_unit_type(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR, "BDG-CC")
    patrol = await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-UJI-R1")
    firefighter = await api.staff(Role.OFFICER, "DAMKAR-SEKTOR-UTARA", unit_callsign="DAMKAR-UTARA-1")
    await on_duty_near(live, patrol, COBLONG[0] + 0.001, COBLONG[1])
    await on_duty_near(live, firefighter, COBLONG[0] + 0.004, COBLONG[1])
    pressed = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kebakaran")

    nearest = (await api.get(operator, f"/alerts/{pressed['id']}/recommendations")).json()
    assert [r["callsign"] for r in nearest][:2] == ["COBLONG-UJI-R1", "DAMKAR-UTARA-1"]
    engines = await api.get(operator, f"/alerts/{pressed['id']}/recommendations", unit_type="fire_engine")
    assert engines.status_code == 200, engines.text
    assert [(r["callsign"], r["kind"]) for r in engines.json()] == [("DAMKAR-UTARA-1", "fire_engine")]
    unknown = await api.get(operator, f"/alerts/{pressed['id']}/recommendations", unit_type="tank")
    assert unknown.status_code == 422


async def test_an_administrator_edits_the_routing_table_audited_and_new_alerts_follow_it(live: Live) -> None:
    api = live.api
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR, "BDG-CC")
    table = {row["category"]: row["services"] for row in (await api.get(operator, "/routing")).json()}
    assert table["kebakaran"] == ["damkar", "police"]
    assert table["kesehatan"] == ["psc119"]

    answer = await api.http.put(
        "/api/v1/routing/kesehatan", json={"services": ["psc119", "police"]}, headers=admin.headers
    )
    assert answer.status_code == 200, answer.text
    [record] = await _audited(api, "routing.set", "kesehatan")
    assert record.detail == {"before": ["psc119"], "after": ["psc119", "police"]}
    assert record.actor_name == admin.name

    hurt = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kesehatan")
    alert = await _alert(api, operator, hurt["id"])
    ids = await _agency_ids(api, operator)
    assert (alert["agency_code"], alert["informed_agency_ids"]) == ("PSC119-BDG", [ids["POLSEK-COBLONG"]])

    for path, body, code in [
        ("/api/v1/routing/gempa", {"services": ["bpbd"]}, "routing.category"),
        ("/api/v1/routing/kesehatan", {"services": ["psc119", "psc119"]}, "routing.duplicate"),
        ("/api/v1/routing/kesehatan", {"services": ["tentara"]}, None),
        ("/api/v1/routing/kesehatan", {"services": []}, None),
    ]:
        refused = await api.http.put(path, json=body, headers=admin.headers)
        assert refused.status_code == 422, (path, body, refused.text)
        if code is not None:
            assert refused.json()["error"]["code"] == code
    assert (
        await api.http.put("/api/v1/routing/kesehatan", json={"services": ["bpbd"]}, headers=operator.headers)
    ).status_code == 403
    after = {row["category"]: row["services"] for row in (await api.get(admin, "/routing")).json()}
    assert after["kesehatan"] == ["psc119", "police"]  # nothing of the refused edits was kept


def _square(lat: float, lon: float, half: float) -> dict[str, Any]:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half]]
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}],
    }


async def test_a_damkar_post_with_a_polygon_of_its_own_takes_the_fires_inside_it(live: Live) -> None:
    api = live.api
    admin = await api.staff(Role.ADMIN)
    created = await api.post(
        admin,
        "/agencies",
        {"code": "DAMKAR-POS-ITB", "name": "Pos Damkar ITB", "kind": "damkar", "parent_code": "DAMKAR-BDG"},
    )
    assert created.status_code == 201, created.text
    area = await api.http.put(
        "/api/v1/agencies/DAMKAR-POS-ITB/service-area",
        json={"geojson": _square(COBLONG[0], COBLONG[1], 0.004)},  # a few hundred metres around ITB
        headers=admin.headers,
    )
    assert area.status_code == 200, area.text
    assert area.json()["polygon"] is True
    assert len(await _audited(api, "service_area.set", "DAMKAR-POS-ITB")) == 1

    inside = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1], category="kebakaran")
    assert (await _alert(api, admin, inside["id"]))["agency_code"] == "DAMKAR-POS-ITB"
    # Elsewhere in Coblong the sector that covers the kecamatan still has it.
    dago = await api.press(await api.resident(), lat=-6.8850, lon=107.6150, category="kebakaran")
    assert (await _alert(api, admin, dago["id"]))["agency_code"] == "DAMKAR-SEKTOR-UTARA"
    # Outside every area and kecamatan: the default agency, never nobody.
    far = await api.press(await api.resident(), lat=-6.50, lon=107.00, category="kebakaran")
    outside = await _alert(api, admin, far["id"])
    assert (outside["agency_code"], outside["informed_agency_ids"]) == ("BDG-CC", [])


async def test_bad_service_areas_are_refused_and_nothing_is_kept(live: Live) -> None:
    api = live.api
    admin = await api.staff(Role.ADMIN)
    before = (await api.get(admin, "/service-areas")).json()
    swapped = _square(107.6107, -6.8915, 0.004)  # [lat, lon] instead of [lon, lat]
    for code, body, error in [
        ("PSC119-BDG", {"geojson": swapped}, "geojson.invalid"),
        ("PSC119-BDG", {"geojson": {"type": "Polygon"}}, "geojson.invalid"),
        ("PSC119-BDG", {"kecamatan": ["32.73.99"]}, "service_area.kecamatan"),
        ("PSC119-BDG", {}, "service_area.empty"),
        ("POLSEK-COBLONG", {"kecamatan": ["32.73.02"]}, "service_area.police"),
    ]:
        answer = await api.http.put(f"/api/v1/agencies/{code}/service-area", json=body, headers=admin.headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]["code"] == error
    missing = await api.http.put(
        "/api/v1/agencies/DAMKAR-TIDAK-ADA/service-area", json={"kecamatan": ["32.73.02"]}, headers=admin.headers
    )
    assert missing.status_code == 404
    assert (await api.get(admin, "/service-areas")).json() == before


async def test_placement_says_who_would_get_an_alert_of_a_category_at_a_point(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR, "BDG-CC")
    where = {"lat": GEDEBAGE[0], "lon": GEDEBAGE[1]}
    police = (await api.get(operator, "/placement", **where)).json()
    assert (police["agency_code"], police["informed"]) == ("POLSEK-GEDEBAGE", [])
    fire = (await api.get(operator, "/placement", **where, category="kebakaran")).json()
    assert (fire["jurisdiction_name"], fire["agency_code"], fire["informed"]) == (
        "Gedebage",
        "DAMKAR-SEKTOR-TIMUR",
        ["POLSEK-GEDEBAGE"],
    )
    assert (await api.get(operator, "/placement", **where, category="gempa")).status_code == 422


async def test_an_administrator_adds_an_ambulance_to_psc119_and_no_unknown_unit_type(live: Live) -> None:
    api = live.api
    admin = await api.staff(Role.ADMIN)
    psc = (await _agency_ids(api, admin))["PSC119-BDG"]
    made = await api.post(admin, "/units", {"agency_id": psc, "callsign": "PSC119-AMB-9", "kind": "ambulance"})
    assert made.status_code == 201, made.text
    assert made.json()["kind"] == "ambulance"
    refused = await api.post(admin, "/units", {"agency_id": psc, "callsign": "PSC119-X", "kind": "helicopter"})
    assert refused.status_code == 422
