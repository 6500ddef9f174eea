"""The OsmAnd protocol as Traccar's decoder reads it: every spelling a tracker or Traccar Client may send, and a clear
refusal naming what is missing or wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from siaga.errors import BadRequest
from siaga.trackers import osmand

AT = datetime(2026, 12, 4, 5, 0, 0, tzinfo=UTC)
EPOCH = int(AT.timestamp())


@pytest.mark.parametrize(
    "params",
    [
        {"id": "T1", "lat": "-6.8915", "lon": "107.6107", "timestamp": str(EPOCH)},
        {"deviceid": "T1", "location": "-6.8915,107.6107", "timestamp": str(EPOCH * 1000)},
        {"id": "T1", "lat": "-6.8915", "lon": "107.6107", "timestamp": "2026-12-04T12:00:00+07:00"},
        {"id": "T1", "lat": "-6.8915", "lon": "107.6107", "timestamp": "2026-12-04T05:00:00Z"},
        {"id": "T1", "lat": "-6.8915", "lon": "107.6107", "timestamp": "2026-12-04 05:00:00"},
    ],
    ids=["id-lat-lon-seconds", "deviceid-location-milliseconds", "iso-with-zone", "iso-z", "date-space-time"],
)
def test_every_spelling_of_device_position_and_time_reads_the_same(params: dict[str, str]) -> None:
    report = osmand.from_params(params)
    assert (report.device_id, report.lat, report.lon, report.recorded_at) == ("T1", -6.8915, 107.6107, AT)


def test_the_measurements_are_taken_in_siagas_units() -> None:
    report = osmand.from_params(
        {
            "id": "T1",
            "lat": "-6.9",
            "lon": "107.6",
            "speed": "10",  # knots, as Traccar Client and OsmAnd send it
            "bearing": "90.5",
            "altitude": "768",
            "accuracy": "12.5",
            "hdop": "0.9",
            "batt": "87.4",
            "alarm": "sos",
        }
    )
    assert report.speed_mps == pytest.approx(5.1444, abs=1e-3)
    assert (report.bearing, report.altitude_m, report.accuracy_m, report.hdop) == (90.5, 768, 12.5, 0.9)
    assert (report.battery, report.sos) == (87, True)
    assert osmand.from_params({"id": "T1", "lat": "1", "lon": "1", "heading": "270"}).bearing == 270


def test_traccar_clients_json_body() -> None:
    body: dict[str, Any] = {
        "device_id": "T1",
        "location": {
            "timestamp": "2026-12-04T05:00:00.000Z",
            "coords": {
                "latitude": -6.8915,
                "longitude": 107.6107,
                "accuracy": 8,
                "speed": 3.5,  # metres a second
                "heading": -1,  # unknown
                "altitude": 770,
            },
            "is_moving": True,
            "battery": {"level": 0.56, "is_charging": False},
            "extras": {"alarm": "sos"},
        },
    }
    report = osmand.from_json(body)
    assert (report.device_id, report.lat, report.lon, report.recorded_at) == ("T1", -6.8915, 107.6107, AT)
    assert (report.accuracy_m, report.speed_mps, report.bearing, report.altitude_m) == (8, 3.5, None, 770)
    assert (report.battery, report.sos) == (56, True)


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"lat": "-6.9", "lon": "107.6"}, "tracker.no_device", "no device id"),
        ({"id": "  ", "lat": "-6.9", "lon": "107.6"}, "tracker.no_device", "no device id"),
        ({"id": "T1", "lat": "-6.9"}, "tracker.no_position", "lon is missing"),
        ({"id": "T1", "lat": "abc", "lon": "107.6"}, "tracker.invalid", "lat: 'abc' is not a number"),
        ({"id": "T1", "lat": "95", "lon": "107.6"}, "tracker.invalid", "lat: must be between -90 and 90"),
        ({"id": "T1", "lat": "nan", "lon": "107.6"}, "tracker.invalid", "lat: must be a finite number"),
        ({"id": "T1", "location": "-6.9"}, "tracker.invalid", "location: must be lat,lon"),
        ({"id": "T1", "lat": "1", "lon": "1", "timestamp": "kemarin"}, "tracker.invalid", "timestamp: 'kemarin'"),
        ({"id": "x" * 65, "lat": "1", "lon": "1"}, "tracker.invalid", "longer than 64"),
    ],
)
def test_bad_reports_are_refused_saying_what_is_wrong(params: dict[str, str], code: str, words: str) -> None:
    with pytest.raises(BadRequest) as refused:
        osmand.from_params(params)
    assert refused.value.code == code
    assert words in refused.value.message


def test_a_report_without_a_fix_has_no_position() -> None:
    """No lat and lon, or Traccar's 0,0 for "no fix": the report has no position (an SOS is still an SOS)."""
    assert not osmand.from_params({"id": "T1", "alarm": "sos"}).has_position
    report = osmand.from_params({"id": "T1", "lat": "0", "lon": "0", "alarm": "SOS"})
    assert (report.has_position, report.sos) == (False, True)
    assert not osmand.from_json({"device_id": "T1", "location": {"timestamp": "2026-12-04T05:00:00Z"}}).has_position


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([1, 2], "tracker.invalid"),
        ({"location": {"coords": {"latitude": 1, "longitude": 1}}}, "tracker.no_device"),
        ({"device_id": "T1"}, "tracker.no_position"),
        ({"device_id": "T1", "location": {"coords": {"latitude": "x", "longitude": 1}}}, "tracker.invalid"),
        ({"device_id": "T1", "location": {"coords": {"latitude": True, "longitude": 1}}}, "tracker.invalid"),
    ],
)
def test_bad_json_bodies_are_refused(body: Any, code: str) -> None:
    with pytest.raises(BadRequest) as refused:
        osmand.from_json(body)
    assert refused.value.code == code
