"""HTTP for trackers: the OsmAnd endpoint GPS trackers and Traccar Client report to (``/osmand``), and the registry
administrators keep (``/api/v1/trackers``)."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request, Response, status
from sqlalchemy.exc import IntegrityError

from siaga import metrics
from siaga.alerts import service as alerts
from siaga.alerts.ingest import Raced
from siaga.audit.actor import ActorContext
from siaga.db import utcnow
from siaga.deps import Admin, ClientIP, RuntimeDep
from siaga.errors import BadRequest, Forbidden, NotFound
from siaga.realtime.locations import AlertPosition
from siaga.runtime import Runtime
from siaga.schemas import error_responses
from siaga.trackers import osmand, service
from siaga.trackers.schemas import TrackerCreate, TrackerRead, TrackerUpdate

log = logging.getLogger("siaga.trackers")

router = APIRouter(tags=["trackers"])  # the registry, under /api/v1
osmand_router = APIRouter(tags=["trackers"])  # the protocol, at the server's root, where Traccar Client is pointed


class UnknownDevices:
    """A log line per unknown device id at most once a minute: a misconfigured tracker reports every few seconds,
    and each of its reports is counted (``siaga_tracker_reports{outcome="unknown"}``) without flooding the log."""

    EVERY_S = 60.0
    REMEMBERED = 10_000  # ids remembered at most (a flood of made-up ids costs bounded memory)

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def seen(self, device_id: str, client_ip: str) -> None:
        now = time.monotonic()
        if now - self._last.get(device_id, -self.EVERY_S) < self.EVERY_S:
            return
        if len(self._last) >= self.REMEMBERED:
            self._last.clear()
        self._last[device_id] = now
        log.warning("tracker report from an unknown device id %r (from %s): refused", device_id, client_ip)


_unknown = UnknownDevices()


OSMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Taken (an empty answer, as Traccar's)"},
    **error_responses(400, 403, 404, 413),
}


# Trackers send GET or POST, as they are built; one route each, so each has its own operation in the API's description.
@osmand_router.get("/osmand", responses=OSMAND_RESPONSES)
@osmand_router.post("/osmand", responses=OSMAND_RESPONSES)
async def report(request: Request, runtime: RuntimeDep, ip: ClientIP) -> Response:
    """A position report in the OsmAnd protocol (query string, form body, or Traccar Client's JSON body). A resident's
    tracker reporting ``alarm=sos`` raises their SOS (the same report again is the same alert), and its other reports
    follow their open alert; a unit's tracker moves the unit while an officer of it is on duty, and its ``alarm=sos``
    raises an alert for an officer in danger (critical, flagged ``officer_emergency``, to the unit's agency). 400: no
    device id, no position or a malformed value; 404: a device id nobody registered; 403: a disabled tracker."""
    now = utcnow()
    try:
        sent = await _decoded(request)
    except BadRequest:
        metrics.TRACKER_REPORTS.labels("invalid").inc()
        raise
    try:
        async with runtime.read_sessions() as session:
            holder = await service.holder(session, sent.device_id)
            raising = None
            if sent.sos and holder.resident_id is not None:
                raising = await service.sos_request(session, holder, sent, received_at=now, client_ip=ip)
    except NotFound:
        metrics.TRACKER_REPORTS.labels("unknown").inc()
        _unknown.seen(sent.device_id, ip)
        raise
    except Forbidden:
        metrics.TRACKER_REPORTS.labels("disabled").inc()
        raise
    if sent.salvaged:
        log.warning(
            "tracker %s sent an SOS with an unreadable value, raised without it: %s", sent.device_id, sent.salvaged
        )
    if sent.sos and holder.unit_id is not None:
        # An officer in danger: raised whether or not an officer of the unit is on duty (a tracker's panic button).
        async with runtime.unit_of_work() as session:
            caller_id = await service.unit_caller(session, holder)
            raising = await service.officer_sos_request(
                session, holder, sent, caller_id=caller_id, received_at=now, client_ip=ip
            )
    if raising is not None:
        # Stored already (IntegrityError, Raced): this report again, as a tracker resends until answered. One alert.
        with contextlib.suppress(IntegrityError, Raced):
            await runtime.ingest.submit(raising)
        metrics.TRACKER_REPORTS.labels("sos").inc()
        if holder.unit_id is not None and sent.has_position:
            await _move_unit(runtime, holder, sent, now=now, counted=False)
    elif not sent.has_position:
        metrics.TRACKER_REPORTS.labels("invalid").inc()
        raise BadRequest("no position: send lat= and lon= (or location=lat,lon)", code="tracker.no_position")
    elif holder.unit_id is not None:
        await _move_unit(runtime, holder, sent, now=now)
    else:
        await _follow_resident(runtime, holder, sent)
    return Response(status_code=status.HTTP_200_OK)


async def _move_unit(
    runtime: Runtime, holder: service.Holder, sent: osmand.Report, *, now: datetime, counted: bool = True
) -> None:
    """The unit's position, by the officer app's own path, while an officer of it is on duty. Off duty a unit's
    position is nobody's business: not kept (and answered 200, so the tracker does not keep resending it).
    ``counted``: the report is counted here (an SOS is counted as one already)."""
    assert holder.unit_id is not None
    if not await runtime.units.on_duty(holder.unit_id):
        if counted:
            metrics.TRACKER_REPORTS.labels("off_duty").inc()
        return
    runtime.units.submit(service.position_fix(holder, sent, now=now))
    if counted:
        metrics.TRACKER_REPORTS.labels("position").inc()


async def _follow_resident(runtime: Runtime, holder: service.Holder, sent: osmand.Report) -> None:
    """A resident's position follows their open alert, on its trail and live to the consoles, as their phone's does;
    with no alert open it is not kept."""
    assert holder.resident_id is not None
    async with runtime.unit_of_work() as session:
        alert = await alerts.follow_resident(session, resident_id=holder.resident_id, body=service.trail(sent))
        position = AlertPosition.of(alert) if alert is not None else None
    if position is not None:
        await runtime.positions.publish(position)
    metrics.TRACKER_REPORTS.labels("position" if position is not None else "not_kept").inc()


async def _decoded(request: Request) -> osmand.Report:
    """The report, from Traccar Client's JSON body, the query string, or a form body (Traccar's order)."""
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith("application/json"):
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the body is not valid JSON", code="request.malformed_json") from None
        return osmand.from_json(body)
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    if not pairs and request.method == "POST":
        pairs = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    params: dict[str, str] = {}
    for key, value in pairs:
        params.setdefault(key, value)  # the first value of each, as a retry's appended copy would differ
    return osmand.from_params(params)


@router.get("/trackers", responses=error_responses(401, 403))
async def list_trackers(principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> list[TrackerRead]:
    """Every tracker and its holder (administrators; audited: it names residents and their numbers)."""
    async with runtime.unit_of_work() as session:
        return await service.listing(session, by=ActorContext.signed_in(principal, ip))


@router.post("/trackers", status_code=status.HTTP_201_CREATED, responses=error_responses(401, 403, 404, 409, 422))
async def add_tracker(body: TrackerCreate, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> TrackerRead:
    """Register a tracker: for a resident (``resident_phone``: its ``alarm=sos`` raises their SOS) or a unit
    (``unit_callsign``: its positions are the unit's while an officer of it is on duty)."""
    async with runtime.unit_of_work() as session:
        return await service.add(
            session,
            settings=runtime.settings,
            device_id=body.device_id,
            label=body.label,
            resident_phone=body.resident_phone,
            unit_callsign=body.unit_callsign,
            by=ActorContext.signed_in(principal, ip),
        )


TrackerId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.patch("/trackers/{tracker_id}", responses=error_responses(401, 403, 404, 422))
async def update_tracker(
    tracker_id: TrackerId, body: TrackerUpdate, principal: Admin, runtime: RuntimeDep, ip: ClientIP
) -> TrackerRead:
    """Enable or disable a tracker (a disabled one's reports are refused with 403), or rename it."""
    async with runtime.unit_of_work() as session:
        return await service.update(
            session, tracker_id, enabled=body.enabled, label=body.label, by=ActorContext.signed_in(principal, ip)
        )


@router.delete(
    "/trackers/{tracker_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 403, 404)
)
async def remove_tracker(tracker_id: TrackerId, principal: Admin, runtime: RuntimeDep, ip: ClientIP) -> Response:
    """Forget a tracker: its reports are refused as unknown from then on."""
    async with runtime.unit_of_work() as session:
        await service.remove(session, tracker_id, by=ActorContext.signed_in(principal, ip))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


__all__ = ["osmand_router", "router"]
