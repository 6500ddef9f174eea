"""Every message a stream sends. Clients can rely on ``type`` and on ``cursor`` (the timeline event id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, computed_field

from siaga.alerts.domain import AlertState, Category, Priority
from siaga.alerts.schemas import ChatMessage, UnitRequestRead
from siaga.alerts.standing import awaits_operator
from siaga.responders.schemas import PositionIn
from siaga.schemas import Model

StreamName = Literal["console", "officer", "resident"]


class Hello(BaseModel):
    """First message on every stream: where the stream starts. Reconnect with ``?cursor=<last cursor seen>``."""

    type: Literal["hello"] = "hello"
    stream: StreamName
    cursor: int = Field(description="The newest event id at connection; events after it follow")
    resumed_from: int | None = Field(description="The cursor the client resumed from, if any")
    server_time: datetime


class Heartbeat(BaseModel):
    """Sent when nothing else was sent for a while, so both sides know the connection lives."""

    type: Literal["heartbeat"] = "heartbeat"
    cursor: int
    server_time: datetime


class AlertSummary(BaseModel):
    """What a console or an officer needs to show an alert in a list or on a map."""

    id: uuid.UUID
    state: AlertState
    category: Category
    priority: Priority
    silent: bool
    duress: bool
    escalated: bool
    resident_suspended: bool
    is_exercise: bool = False
    delivery_failed: bool = False
    press_count: int = Field(default=1, description="Presses of the resident on this alert (more: pressed again)")
    channel: str = Field(
        default="app",
        description="Where it came in: app, sms, device (a panic button over MQTT), gateway (a device gateway "
        "with an API key), tracker or partner",
    )
    agency_id: int
    informed_agency_ids: list[int] = Field(
        default_factory=list, description="Agencies informed besides the responsible one (by the routing table)"
    )
    jurisdiction_id: int | None
    jurisdiction_name: str | None = None
    resident_name: str | None = Field(default=None, description="The caller's name (or number if unnamed)")
    incident_id: uuid.UUID | None = Field(
        default=None, description="The incident staff linked it into with other alerts about the same event"
    )
    lat: float
    lon: float
    accuracy_m: float | None
    unit_id: int | None
    unit_requests: list[UnitRequestRead] = Field(
        default_factory=list, description="Officers' open requests for backup or an ambulance: flag the alert"
    )
    created_at: datetime
    acknowledged_at: datetime | None

    @computed_field(  # type: ignore[prop-decorator]
        description="An officer took the alert (a direct offer) but no operator has acknowledged it yet: not "
        "escalated, shown quietly as not yet seen by an operator"
    )
    @property
    def awaiting_operator(self) -> bool:
        return awaits_operator(
            self.state, acknowledged=self.acknowledged_at is not None, has_unit=self.unit_id is not None
        )


class EventBody(BaseModel):
    id: int
    kind: str
    actor_kind: str
    actor_name: str
    at: datetime
    lat: float | None
    lon: float | None
    state_after: AlertState
    data: dict[str, Any]


class AlertEventMessage(BaseModel):
    """A change to an alert (console and officer streams): the timeline event and the alert after it."""

    type: Literal["alert_event"] = "alert_event"
    cursor: int
    event: EventBody
    alert: AlertSummary


class AlertWithdrawn(BaseModel):
    """An alert this console saw is no longer its to see (its category changed and the routing table sends it to
    other agencies now): drop it from the queue and the map."""

    type: Literal["alert_withdrawn"] = "alert_withdrawn"
    cursor: int
    alert_id: uuid.UUID
    reason: Literal["rerouted"] = "rerouted"


class ResidentAlertStatus(BaseModel):
    """The resident's stream: their alert's state as their phone should show it (after a duress PIN: cancelled)."""

    type: Literal["alert_status"] = "alert_status"
    cursor: int
    alert_id: uuid.UUID
    state: AlertState
    acknowledged: bool
    unit_callsign: str | None
    officer_names: list[str]
    other_units: int = Field(default=0, description="Units coming or there besides the lead one")
    officer_lat: float | None
    officer_lon: float | None
    eta_s: float | None
    message: str | None = Field(
        default=None, description="The command centre's latest message to the resident (an area message in a surge)"
    )
    said: ChatMessage | None = Field(
        default=None, description="The chat message this change is (the command centre's or the resident's), if any"
    )


class UnitUpdate(BaseModel):
    """A unit's state or position changed (console stream). Not in the timeline: a reconnecting console gets the
    current board in its snapshot instead of every past position."""

    type: Literal["unit"] = "unit"
    unit_id: int
    callsign: str
    agency_id: int
    state: str
    lat: float | None
    lon: float | None
    at: datetime | None
    is_exercise: bool = Field(default=False, description="A drill's unit: hidden with the drills on the console")


class AlertLocation(BaseModel):
    """The resident's phone moved (console and assigned officer). Stored in the trail; not a timeline event."""

    type: Literal["alert_location"] = "alert_location"
    alert_id: uuid.UUID
    lat: float
    lon: float
    accuracy_m: float | None
    at: datetime


SNAPSHOT_PAGE = 1000  # open alerts in one snapshot frame at most


class Snapshot(BaseModel):
    """Sent after ``hello``: what is true now (open alerts for the stream's viewer, and the unit board for consoles).

    Every open alert the viewer may see is sent, however many there are, oldest first, in pages of at most
    ``SNAPSHOT_PAGE``: this message carries the first page, ``open_alerts`` (how many there are in all) and
    ``more``; while ``more`` is true a ``snapshot_page`` follows with the next page, and nothing else is sent in
    between. The picture is whole once a page says ``more: false``: apply it then, replacing what was known (events
    after ``cursor`` follow the last page)."""

    type: Literal["snapshot"] = "snapshot"
    cursor: int
    open_alerts: int = Field(default=0, description="The viewer's open alerts in all (this page and those to come)")
    more: bool = Field(default=False, description="A snapshot_page with more open alerts follows")
    alerts: list[AlertSummary]
    units: list[UnitUpdate]


class SnapshotPage(BaseModel):
    """The next page of a snapshot's open alerts (see ``Snapshot``)."""

    type: Literal["snapshot_page"] = "snapshot_page"
    cursor: int
    more: bool = Field(description="Another snapshot_page follows; false on the snapshot's last page")
    alerts: list[AlertSummary]


class PositionsIn(Model):
    """Sent by an officer's phone on its stream: positions while on duty, without an HTTP request each."""

    type: Literal["positions"]
    seq: int | None = Field(default=None, description="The phone's number for this batch, echoed in the ack")
    points: Annotated[list[PositionIn], Field(min_length=1, max_length=100)]


class PositionsAck(BaseModel):
    """The answer to a phone's ``positions``: how many were taken, or why none were."""

    type: Literal["positions_ack"] = "positions_ack"
    seq: int | None
    accepted: int
    refused: str | None = Field(default=None, description="An error code when nothing was taken (officer.off_duty)")
    message: str = ""


class StreamError(BaseModel):
    """Sent before the server closes a stream on purpose (e.g. the client fell too far behind: reconnect with the
    cursor)."""

    type: Literal["error"] = "error"
    code: str
    message: str


class DeviceTroubleMessage(BaseModel):
    """A panic button's trouble opened or cleared (``cleared_at`` set), to the consoles of its agency: the same fields
    as ``GET /api/v1/devices/troubles`` lists, so the console adds or removes the row (see ``realtime.troubles``)."""

    type: Literal["device_trouble"] = "device_trouble"
    id: int
    kind: str = Field(description="offline, low_battery or tamper")
    opened_at: datetime
    cleared_at: datetime | None
    device_id: str
    device_name: str
    device_label: str
    site_id: int
    site_name: str
    site_address: str
    agency_id: int


# One message of a stream (a ``batch`` carries several of these).
SingleMessage = (
    Hello
    | Heartbeat
    | AlertEventMessage
    | AlertWithdrawn
    | ResidentAlertStatus
    | UnitUpdate
    | AlertLocation
    | Snapshot
    | SnapshotPage
    | StreamError
    | PositionsAck
    | DeviceTroubleMessage
)


class Batch(BaseModel):
    """Several messages in one frame, in order: what was waiting for a client when the server sent to it. Under load a
    console gets one frame per burst of events instead of one per event; read each message as if it came alone."""

    type: Literal["batch"] = "batch"
    messages: list[Annotated[SingleMessage, Field(discriminator="type")]]


StreamMessage = SingleMessage | Batch


def unbatch(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages a decoded frame carries, in order: a ``batch``'s, or the frame's own message."""
    if message.get("type") == "batch":
        inner: list[dict[str, Any]] = message["messages"]
        return inner
    return [message]


BATCH_HEAD = '{"type":"batch","messages":['


def batch_text(texts: list[str]) -> str:
    """One frame for ``texts`` (each a serialised message): the text itself if alone, else a ``batch``."""
    if len(texts) == 1:
        return texts[0]
    return BATCH_HEAD + ",".join(texts) + "]}"
