"""The OsmAnd HTTP protocol, as Traccar's decoder reads it: one position report from a GPS tracker or Traccar Client.

Pure: text in, a ``Report`` or a ``BadRequest`` out. Two forms arrive:

- parameters, in the query string of a GET or POST, or as a form body: ``id`` or ``deviceid``; ``lat`` and ``lon``,
  or ``location=lat,lon``; ``timestamp`` as epoch seconds, epoch milliseconds (any number past 2^31 - 1), ISO 8601
  or ``yyyy-MM-dd HH:mm:ss`` (UTC); ``speed`` in knots; ``bearing`` or ``heading`` in degrees; ``altitude`` in
  metres; ``accuracy`` in metres; ``hdop``; ``batt`` in per cent; ``alarm`` (``sos``). Other parameters are ignored.
- the JSON body of Traccar Client 9 (``Content-Type: application/json``): ``device_id`` and ``location`` with its
  ``timestamp`` (ISO 8601), ``coords`` (``latitude``, ``longitude``, ``accuracy``, ``speed`` in m/s, ``heading``,
  ``altitude``; a negative speed, heading or accuracy means unknown), ``battery.level`` (0 to 1) and ``alarm`` or
  ``extras.alarm``.

An SOS is never refused for a value it got wrong: its unreadable time and extras are left out, then, if need be, its
unreadable position (it is raised as an SOS without a fix); ``Report.salvaged`` says what was wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from siaga.errors import BadRequest

KNOT_MPS = 1852 / 3600
EPOCH_SECONDS_LIMIT = 2**31 - 1  # Traccar's rule: a larger epoch number is in milliseconds
MAX_DEVICE_ID = 64
SOS = "sos"


@dataclass(frozen=True, slots=True)
class Report:
    """One position report, in Siaga's units. ``recorded_at`` is the device's clock (None if it sent no time)."""

    device_id: str
    lat: float | None
    lon: float | None
    recorded_at: datetime | None = None
    accuracy_m: float | None = None
    hdop: float | None = None
    speed_mps: float | None = None
    bearing: float | None = None
    altitude_m: float | None = None
    battery: int | None = None
    alarm: str | None = None
    salvaged: str | None = None  # an SOS's unreadable values, left out: what was wrong with them

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def sos(self) -> bool:
        return (self.alarm or "").strip().lower() == SOS


def from_params(params: Mapping[str, str]) -> Report:
    """A report from OsmAnd parameters (the first value of each). Raises ``BadRequest`` naming what is missing or
    wrong (an SOS: only without a device id)."""
    try:
        return _from_params(params)
    except BadRequest as error:
        if (params.get("alarm") or "").strip().lower() != SOS:
            raise
        for kept in ({"id", "deviceid", "alarm", "lat", "lon", "location"}, {"id", "deviceid", "alarm"}):
            try:
                report = _from_params({k: v for k, v in params.items() if k in kept})
            except BadRequest:
                continue
            return replace(report, salvaged=error.message)
        raise


def from_json(body: Any) -> Report:
    """A report from Traccar Client's JSON body. Raises ``BadRequest`` naming what is missing or wrong (an SOS: only
    without a device id)."""
    try:
        return _from_json(body)
    except BadRequest as error:
        location = body.get("location") if isinstance(body, dict) else None
        if not isinstance(location, dict):
            raise
        extras = location.get("extras")
        alarm = location.get("alarm", extras.get("alarm") if isinstance(extras, dict) else None)
        if not isinstance(alarm, str) or alarm.strip().lower() != SOS:
            raise
        coords = location.get("coords")
        position = (
            {k: v for k, v in coords.items() if k in ("latitude", "longitude")} if isinstance(coords, dict) else {}
        )
        for kept in ({"alarm": alarm, "coords": position}, {"alarm": alarm}):
            try:
                report = _from_json({"device_id": body.get("device_id"), "location": kept})
            except BadRequest:
                continue
            return replace(report, salvaged=error.message)
        raise


def _from_params(params: Mapping[str, str]) -> Report:
    device_id = _device_id(params.get("id") or params.get("deviceid"))
    lat, lon = _number(params, "lat"), _number(params, "lon")
    if "location" in params:
        lat, lon = _location(params["location"])
    speed_knots = _number(params, "speed")
    return _checked(
        Report(
            device_id=device_id,
            lat=lat,
            lon=lon,
            recorded_at=_timestamp(params["timestamp"]) if params.get("timestamp") else None,
            accuracy_m=_number(params, "accuracy"),
            hdop=_number(params, "hdop"),
            speed_mps=speed_knots * KNOT_MPS if speed_knots is not None else None,
            bearing=_number(params, "bearing") if "bearing" in params else _number(params, "heading"),
            altitude_m=_number(params, "altitude"),
            battery=_battery(_number(params, "batt")),
            alarm=params.get("alarm") or None,
        )
    )


def _from_json(body: Any) -> Report:
    if not isinstance(body, dict):
        raise BadRequest(
            "the body must be a JSON object with device_id and location",
            code="tracker.invalid",
            details={"field": "body"},
        )
    raw_id = body.get("device_id")
    device_id = _device_id(raw_id if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None)
    location = body.get("location")
    if not isinstance(location, dict):
        raise BadRequest("no position: the body has no location object", code="tracker.no_position")
    coords, battery, extras = _object(location, "coords"), _object(location, "battery"), _object(location, "extras")
    level = _json_number(battery, "level", "location.battery.level")
    stamp = location.get("timestamp")
    if stamp is not None and not isinstance(stamp, str | int | float):
        raise BadRequest("location.timestamp: not a time", code="tracker.invalid", details={"field": "timestamp"})
    alarm = location.get("alarm", extras.get("alarm"))
    return _checked(
        Report(
            device_id=device_id,
            lat=_json_number(coords, "latitude", "location.coords.latitude"),
            lon=_json_number(coords, "longitude", "location.coords.longitude"),
            recorded_at=_timestamp(str(stamp)) if stamp not in (None, "") else None,
            accuracy_m=_known(_json_number(coords, "accuracy", "location.coords.accuracy")),
            speed_mps=_known(_json_number(coords, "speed", "location.coords.speed")),
            bearing=_known(_json_number(coords, "heading", "location.coords.heading")),
            altitude_m=_json_number(coords, "altitude", "location.coords.altitude"),
            battery=_battery(level * 100 if level is not None and level >= 0 else None),
            alarm=alarm if isinstance(alarm, str) and alarm else None,
        )
    )


def _object(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    child = parent.get(key)
    return child if isinstance(child, dict) else {}


def _device_id(value: str | int | None) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise BadRequest(
            "no device id: send id= (or deviceid=, or device_id in JSON) with the identifier registered in Siaga",
            code="tracker.no_device",
        )
    if len(text) > MAX_DEVICE_ID:
        raise BadRequest(
            f"the device id is longer than {MAX_DEVICE_ID} characters", code="tracker.invalid", details={"field": "id"}
        )
    return text


def _checked(report: Report) -> Report:
    """A report whose position is whole and on the globe, or has none. Traccar reads 0,0 as "no fix"; so does
    Siaga."""
    lat, lon = report.lat, report.lon
    if (lat is None and lon is None) or (lat == 0 and lon == 0):
        return replace(report, lat=None, lon=None)
    if lat is None or lon is None:
        missing = "lat" if lat is None else "lon"
        raise BadRequest(f"no position: {missing} is missing", code="tracker.no_position", details={"field": missing})
    if not -90 <= lat <= 90:
        raise BadRequest("lat: must be between -90 and 90", code="tracker.invalid", details={"field": "lat"})
    if not -180 <= lon <= 180:
        raise BadRequest("lon: must be between -180 and 180", code="tracker.invalid", details={"field": "lon"})
    return report


def _number(params: Mapping[str, str], name: str) -> float | None:
    raw = params.get(name)
    if raw is None or raw.strip() == "":
        return None
    return _finite(raw, name)


def _finite(raw: str, field: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(
            f"{field}: {raw[:40]!r} is not a number", code="tracker.invalid", details={"field": field}
        ) from None
    if not math.isfinite(value):
        raise BadRequest(f"{field}: must be a finite number", code="tracker.invalid", details={"field": field})
    return value


def _json_number(obj: Mapping[str, Any], key: str, field: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRequest(f"{field}: not a number", code="tracker.invalid", details={"field": field})
    return _finite(str(value), field)


def _known(value: float | None) -> float | None:
    """Traccar Client sends -1 for what the phone does not know."""
    return value if value is not None and value >= 0 else None


def _battery(value: float | None) -> int | None:
    return round(value) if value is not None and 0 <= value <= 100 else None


def _location(raw: str) -> tuple[float | None, float | None]:
    parts = raw.split(",")
    if len(parts) != 2:
        raise BadRequest(
            "location: must be lat,lon (two numbers and a comma)", code="tracker.invalid", details={"field": "location"}
        )
    return _finite(parts[0], "location"), _finite(parts[1], "location")


def _timestamp(raw: str) -> datetime:
    """Epoch seconds or milliseconds, ISO 8601, or ``yyyy-MM-dd HH:mm:ss``; without a zone, UTC."""
    text = raw.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    try:
        if number is not None:
            if not math.isfinite(number) or number < 0:
                raise ValueError
            moment = datetime.fromtimestamp(number if number <= EPOCH_SECONDS_LIMIT else number / 1000, UTC)
        else:
            moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise BadRequest(
            f"timestamp: {text[:40]!r} is not epoch seconds, epoch milliseconds or an ISO 8601 time",
            code="tracker.invalid",
            details={"field": "timestamp"},
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 2000 <= moment.year <= 2200:
        raise BadRequest(
            f"timestamp: {text[:40]!r} is not a plausible time", code="tracker.invalid", details={"field": "timestamp"}
        )
    return moment.astimezone(UTC)
