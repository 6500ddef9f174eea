"""What the one alert use case gives every channel besides the app (issue 16): the channel an alert came in by is
stored and shown to staff; a request without a position is placed in the kecamatan its channel names (a feature
phone's SOS, in its resident's NIK kecamatan), not at the city's centre; an SMS from a number with no account, or a
structured SOS SMS that does not verify, is raised and flagged, never refused; and the app's press and its SMS copy,
which carry the same alert id, are one alert whichever arrives first."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import func, select

from siaga.accounts.domain import Role
from siaga.agencies.models import Jurisdiction
from siaga.alerts.domain import Category
from siaga.alerts.ingest import Raced
from siaga.alerts.models import Alert, AlertEvent
from siaga.alerts.raise_rules import Caller, CallerKind, Position, RaiseRequest, fingerprint
from siaga.db import utcnow
from siaga.runtime import Runtime
from tests.conftest import Api, Person, sos_body
from tests.integration.test_dispatch import COBLONG, city

__all__ = ["city"]  # the fixture, used by name
COBLONG_CODE = "32.73.02"


def _sms_request(
    resident: Person,
    *,
    alert_id: uuid.UUID | None = None,
    position: Position | None = None,
    place_hint: str | None = None,
    unregistered: bool = False,
    unverified: bool = False,
    text: str = "TOLONG di pasar",
) -> RaiseRequest:
    alert_id = alert_id or uuid.uuid4()
    return RaiseRequest(
        id=alert_id,
        fingerprint=fingerprint({"sms": str(alert_id), "text": text}),
        caller=Caller(
            kind=CallerKind.RESIDENT,
            id=resident.id,
            name=resident.phone,
            resident_id=uuid.UUID(resident.id),
            unregistered=unregistered,
            unverified=unverified,
        ),
        category=Category.LAINNYA if position is None else Category.KRIMINALITAS,
        received_at=utcnow(),
        channel="sms",
        position=position,
        description=text,
        place_hint=place_hint,
    )


async def _flags(runtime: Runtime, alert_id: uuid.UUID) -> list[str]:
    async with runtime.read_sessions() as session:
        events = await session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id, AlertEvent.kind == "flagged")
        )
        return sorted(e.data["reason"] for e in events)


async def test_a_feature_phones_sos_is_placed_in_its_kecamatan_and_shown_as_an_sms(city: Api) -> None:
    api = city
    runtime = api.runtime
    resident = await api.resident(name="Ujang")
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    request = _sms_request(resident, place_hint=COBLONG_CODE, unregistered=True)

    await runtime.ingest.submit(request)

    answer = await api.get(operator, f"/alerts/{request.id}")
    assert answer.status_code == 200, answer.text
    alert: dict[str, Any] = answer.json()
    assert alert["channel"] == "sms"
    assert (alert["agency_code"], alert["jurisdiction_code"], alert["placement"]) == (
        "POLSEK-COBLONG",
        COBLONG_CODE,
        "kecamatan",
    )
    assert alert["description"] == "TOLONG di pasar"
    async with runtime.read_sessions() as session:
        geometry = await session.scalar(select(Jurisdiction.geometry).where(Jurisdiction.code == COBLONG_CODE))
    # On the map inside Coblong, not at the city's centre, until a position comes.
    assert shape(geometry).contains(Point(alert["lon"], alert["lat"]))
    assert await _flags(runtime, request.id) == ["no_location", "unregistered_number"]
    # The console's own list carries the channel too.
    listed = await api.get(operator, "/alerts", active="true")
    assert [a["channel"] for a in listed.json() if a["id"] == str(request.id)] == ["sms"]


async def test_a_kecamatan_nobody_has_leaves_the_alert_with_the_default_agency(city: Api) -> None:
    api = city
    resident = await api.resident()
    request = _sms_request(resident, place_hint="99.99.99", unverified=True)

    await api.runtime.ingest.submit(request)

    async with api.runtime.read_sessions() as session:
        alert = await session.get(Alert, request.id)
        assert alert is not None
        assert (alert.placement, alert.jurisdiction_id, alert.channel) == ("no_location", None, "sms")
    assert await _flags(api.runtime, request.id) == ["no_location", "unverified_sms"]


@pytest.mark.parametrize("first", ["sms", "app"])
async def test_the_app_press_and_its_sms_copy_are_one_alert_whichever_comes_first(city: Api, first: str) -> None:
    api = city
    runtime = api.runtime
    resident = await api.resident()
    body = sos_body(lat=COBLONG[0], lon=COBLONG[1])
    alert_id = uuid.UUID(body["id"])
    copy = _sms_request(resident, alert_id=alert_id, position=Position(*COBLONG, 20.0))

    if first == "sms":
        await runtime.ingest.submit(copy)
        answer = await api.http.post("/api/v1/alerts", json=body, headers=resident.headers)
        assert answer.status_code == 200, answer.text  # answered as the press already stored, not a 409
        assert answer.json()["id"] == str(alert_id)
    else:
        await api.press(resident, **body)
        # The SMS copy, late: the writer finds the id stored (the handler then reads the stored press).
        with pytest.raises(Raced):
            await runtime.ingest.submit(copy)

    async with runtime.read_sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Alert).where(Alert.resident_id == uuid.UUID(resident.id))
        )
        stored = await session.get(Alert, alert_id)
    assert count == 1
    assert stored is not None
    assert stored.channel == first


async def test_another_press_reusing_an_id_in_the_same_channel_is_still_refused(city: Api) -> None:
    api = city
    resident = await api.resident()
    pressed = await api.press(resident)
    again = sos_body(id=pressed["id"], category="kebakaran")
    answer = await api.http.post("/api/v1/alerts", json=again, headers=resident.headers)
    assert answer.status_code == 409, answer.text
