"""Signed webhooks reach a real receiver: a local HTTP server that verifies every message with the Standard Webhooks
library, as an integrator's would. A press arrives as alert.created, an operator's steps as alert.state_changed; a
receiver that fails is tried again and every try is recorded; one that keeps failing is disabled, audited and shown
until an administrator enables it again; after a rotation both secrets verify during the grace period; a URL that
points inside the network or at Siaga itself is refused with a 422 and recorded; a change that rolls back leaves
no delivery behind; and a receiver that trickles its answer is cut off at the time limit, sent the delivery once per
lease, and a try that outlived its lease is not recorded over the process that took the delivery over."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from siaga.accounts.domain import Role
from siaga.accounts.models import Resident
from siaga.agencies import service as agencies
from siaga.alerts import domain as alert_domain
from siaga.alerts.models import Alert
from siaga.audit.models import AuditRecord
from siaga.db import utcnow
from siaga.devices import service as devices
from siaga.dispatch import service as dispatch
from siaga.runtime import Runtime
from siaga.webhooks import outbox as webhooks
from siaga.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.conftest import Api, Person, eventually, served_with
from tests.servers import in_process

LOCAL = "127.0.0.1/32"


class Undone(Exception):
    """Raised inside a transaction to roll it back."""


@dataclass
class Message:
    id: str
    type: str
    data: dict[str, Any]
    signatures: list[str]
    verified_by: list[int]  # which of the receiver's secrets verified it


@dataclass
class Receiver:
    """An integrator's endpoint: it knows its secrets, verifies each message, and can be told to fail."""

    url: str = ""
    secrets: list[str] = field(default_factory=list)
    failures_left: int = 0  # answer 503 to this many messages first
    refusing: bool = False  # answer 500 to everything
    messages: list[Message] = field(default_factory=list)
    unverified: int = 0

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if self.refusing:
            return Response("down for maintenance", status_code=500)
        if self.failures_left > 0:
            self.failures_left -= 1
            return Response("try again later", status_code=503)
        headers = dict(request.headers)
        verified_by = []
        for index, secret in enumerate(self.secrets):
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified_by.append(index)
        if not verified_by:
            self.unverified += 1
            return Response("bad signature", status_code=401)
        payload = json.loads(body)
        self.messages.append(
            Message(
                id=headers["webhook-id"],
                type=payload["type"],
                data=payload["data"],
                signatures=headers["webhook-signature"].split(" "),
                verified_by=verified_by,
            )
        )
        return Response(status_code=204)

    def of(self, event_type: str, **data: Any) -> list[Message]:
        return [m for m in self.messages if m.type == event_type and all(m.data.get(k) == v for k, v in data.items())]


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/hooks/siaga", receiver.handle, methods=["POST"])])
    async with in_process(app) as url:
        receiver.url = f"{url}/hooks/siaga"
        yield receiver


@asynccontextmanager
async def siaga_and_receiver(db: Runtime, **settings: Any) -> AsyncIterator[tuple[Api, Receiver, Person]]:
    """A Siaga that may send webhooks to 127.0.0.1 (SIAGA_WEBHOOK_ALLOWED_NETWORKS), a receiver, and an admin."""
    async with receiving() as receiver, served_with(db, webhook_allowed_networks=LOCAL, **settings) as api:
        yield api, receiver, await api.staff(Role.ADMIN)


async def subscribe(api: Api, admin: Person, receiver: Receiver, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Pusat 112",
        "url": receiver.url,
        "events": ["alert.created", "alert.state_changed", "alert.escalated"],
        **fields,
    }
    answer = await api.post(admin, "/webhooks", body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    assert created["secret"].startswith("whsec_")
    receiver.secrets.append(created["secret"])
    return created


async def _count(runtime: Runtime, model: type[Any], *where: Any) -> int:
    async with runtime.read_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_a_press_and_each_step_arrive_signed_without_personal_data(db: Runtime) -> None:
    async with siaga_and_receiver(db) as (api, receiver, admin):
        subscription = await subscribe(api, admin, receiver)
        listed = (await api.get(admin, "/webhooks")).json()
        assert [s["id"] for s in listed] == [subscription["id"]]
        assert listed[0]["secret"] is None, "the secret was shown again"

        resident = await api.resident(name="Siti Rahayu")
        alert = await api.press(resident)
        created = await eventually(lambda: _first(receiver.of("alert.created", alert_id=alert["id"])))
        assert created.data["state"] == "new"
        assert created.data["exercise"] is False
        assert created.data["kecamatan"]["name"].lower() == "coblong"
        assert created.data["agency"]["code"], "the agency is named"
        assert created.data["position"]["lat"] == pytest.approx(-6.8915)
        said = json.dumps(created.data)
        assert "Siti" not in said
        assert resident.phone not in said
        assert resident.phone[1:] not in said

        operator = await api.staff(Role.OPERATOR)
        assert (await api.post(operator, f"/alerts/{alert['id']}/acknowledge")).status_code == 200
        resolved = await api.post(operator, f"/alerts/{alert['id']}/resolve", {"outcome": "genuine", "report": "aman"})
        assert resolved.status_code == 200, resolved.text
        changes = await eventually(
            lambda: _enough(receiver.of("alert.state_changed", alert_id=alert["id"]), 2), what="both steps"
        )
        assert sorted(m.data["state"] for m in changes) == ["acknowledged", "resolved"]
        closed = next(m for m in changes if m.data["state"] == "resolved")
        assert closed.data["position"] is None, "a closed alert's position was sent"
        assert closed.data["outcome"] == "genuine"
        assert closed.data["times"]["closed_at"]
        assert receiver.unverified == 0
        assert len({m.id for m in receiver.messages}) == len(receiver.messages), "a message id was reused"


async def test_a_failing_receiver_is_tried_again_and_every_try_is_recorded(db: Runtime) -> None:
    async with siaga_and_receiver(db) as (api, receiver, admin):
        subscription = await subscribe(api, admin, receiver)
        receiver.failures_left = 2
        alert = await api.press(await api.resident())
        for tries, shortest in ((1, 3.75), (2, 7.5)):  # 5 s and 10 s, each at most 25% shorter
            delivery, tried_at = await eventually(
                partial(_delivery_after_tries, api.runtime, tries), what=f"try {tries}"
            )
            waited = (delivery.next_attempt_at - tried_at).total_seconds()
            assert waited >= shortest - 0.1, f"try {tries + 1} due {waited:.1f} s after try {tries}"
            await _due_now(api.runtime, delivery.id)  # the wait has passed
        message = await eventually(lambda: _first(receiver.of("alert.created", alert_id=alert["id"])))

        deliveries = (await api.get(admin, f"/webhooks/{subscription['id']}/deliveries")).json()
        [delivery] = deliveries
        assert (delivery["status"], delivery["attempts"], delivery["message_id"]) == ("delivered", 3, message.id)
        assert [t["status_code"] for t in delivery["tries"]] == [503, 503, 204]
        assert [t["ok"] for t in delivery["tries"]] == [False, False, True]
        assert "try again later" in delivery["tries"][0]["error"]


async def test_a_receiver_that_keeps_failing_is_disabled_and_shown_until_enabled(db: Runtime) -> None:
    quick = {"webhook_disable_after_failures": 3, "webhook_disable_after_hours": 0}
    async with siaga_and_receiver(db, **quick) as (api, receiver, admin):
        subscription = await subscribe(api, admin, receiver)
        receiver.refusing = True
        for _ in range(3):
            assert (await api.post(admin, f"/webhooks/{subscription['id']}/test")).status_code == 202

        async def disabled() -> dict[str, Any] | None:
            [listed] = (await api.get(admin, "/webhooks")).json()
            return listed if not listed["enabled"] else None

        shown = await eventually(disabled, what="the subscription disabled")
        assert "HTTP 500" in shown["disabled_reason"]
        assert shown["consecutive_failures"] >= 3
        assert shown["pending"] == 3, "what waited was dropped"
        records = (await api.get(admin, "/audit", action="webhook.disable")).json()
        assert [(r["actor_kind"], r["target_id"]) for r in records] == [("system", str(subscription["id"]))]
        refused = await api.post(admin, f"/webhooks/{subscription['id']}/test")
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "webhook.disabled")

        receiver.refusing = False
        enabled = await api.http.patch(
            f"/api/v1/webhooks/{subscription['id']}", json={"enabled": True}, headers=admin.headers
        )
        assert enabled.status_code == 200, enabled.text
        assert (enabled.json()["enabled"], enabled.json()["consecutive_failures"]) == (True, 0)
        await eventually(lambda: _enough(receiver.of("webhook.test"), 3), what="what waited, sent")
        actions = [r["action"] for r in (await api.get(admin, "/audit", action="webhook.enable")).json()]
        assert actions == ["webhook.enable"]


async def test_after_a_rotation_both_secrets_verify_during_the_grace_period(db: Runtime) -> None:
    async with siaga_and_receiver(db) as (api, receiver, admin):
        subscription = await subscribe(api, admin, receiver, events=["alert.created"])
        old = receiver.secrets[0]
        rotated = await api.post(admin, f"/webhooks/{subscription['id']}/rotate", {"grace_hours": 2})
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new.startswith("whsec_")
        assert new != old
        receiver.secrets = [old, new]
        alert = await api.press(await api.resident())
        message = await eventually(lambda: _first(receiver.of("alert.created", alert_id=alert["id"])))
        assert message.verified_by == [0, 1], "each secret alone must verify"
        assert len(message.signatures) == 2

        ended = await api.post(admin, f"/webhooks/{subscription['id']}/rotate", {"grace_hours": 0})
        receiver.secrets = [old, new, ended.json()["secret"]]
        alert = await api.press(await api.resident())
        message = await eventually(lambda: _first(receiver.of("alert.created", alert_id=alert["id"])))
        assert (message.verified_by, len(message.signatures)) == ([2], 1), "a retired secret still signs"

        test = await api.post(admin, f"/webhooks/{subscription['id']}/test")
        assert test.status_code == 202, test.text
        await eventually(lambda: _first(receiver.of("webhook.test")), what="the test event")
        actions = {r["action"] for r in (await api.get(admin, "/audit", action="webhook.", limit=50)).json()}
        assert {"webhook.create", "webhook.rotate", "webhook.test"} <= actions


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://localhost/hook",
        "http://0.0.0.0/hook",
        "http://192.168.1.10/hook",
    ],
)
async def test_an_internal_address_is_refused_recorded_and_nothing_is_kept(api: Api, db: Runtime, url: str) -> None:
    admin = await api.staff(Role.ADMIN)
    answer = await api.post(admin, "/webhooks", {"name": "Intranet", "url": url, "events": ["alert.created"]})
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "webhook.unsafe_address"), answer.text
    assert await _count(db, WebhookSubscription) == 0
    refused = await _count(
        db, AuditRecord, AuditRecord.action == "webhook.url_refused", AuditRecord.outcome == "refused"
    )
    assert refused == 1


async def test_siaga_itself_is_refused_even_where_local_addresses_are_allowed(db: Runtime) -> None:
    async with served_with(db, webhook_allowed_networks=LOCAL) as api:
        admin = await api.staff(Role.ADMIN)
        own = f"http://127.0.0.1:{api.runtime.settings.port}/api/v1/alerts"
        answer = await api.post(admin, "/webhooks", {"name": "Loop", "url": own, "events": ["alert.created"]})
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, "webhook.unsafe_address")
        assert "itself" in answer.json()["error"]["message"]
        refused = await api.post(
            admin, "/webhooks", {"name": "FTP", "url": "ftp://example.org/", "events": ["alert.created"]}
        )
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "webhook.bad_url")
        assert await _count(db, WebhookSubscription) == 0


async def test_a_change_that_rolls_back_leaves_no_delivery(db: Runtime) -> None:
    async with siaga_and_receiver(db) as (api, receiver, admin):
        await subscribe(api, admin, receiver)
        alert = await api.press(await api.resident())
        await eventually(lambda: _first(receiver.of("alert.created", alert_id=alert["id"])))
        before = await _count(db, WebhookDelivery)

        # The acknowledgement timer's escalation (an alert.escalated), in a transaction that then fails.
        with pytest.raises(Undone):
            await _escalate_then_fail(api.runtime, alert["id"], deliveries_before=before)
        # The SOS writer's batch (synchronous Core), rolled back the same way.
        occurrence = webhooks.alert_created({**_alert_row(alert["id"]), "agency_id": 1}, at=utcnow())

        def written_then_failed(connection: Any) -> None:
            assert webhooks.write(connection, [occurrence])
            raise Undone

        with pytest.raises(Undone):
            await api.runtime.core.write(written_then_failed)
        assert await _count(db, WebhookDelivery) == before, "a delivery outlived its rolled-back change"
        assert receiver.of("alert.escalated") == []


async def test_drills_are_left_out_unless_asked_for(db: Runtime) -> None:
    async with siaga_and_receiver(db) as (api, receiver, admin):
        await subscribe(api, admin, receiver, events=["alert.created"])
        drill = await subscribe(api, admin, receiver, events=["alert.created"], include_exercise=True, name="Latihan")
        trainee = await api.resident()
        async with api.runtime.unit_of_work() as session:
            await session.execute(update(Resident).where(Resident.id == uuid.UUID(trainee.id)).values(is_exercise=True))
        alert = await api.press(trainee)
        [message] = await eventually(lambda: _enough(receiver.of("alert.created", alert_id=alert["id"]), 1))
        assert message.data["exercise"] is True
        assert await _count(db, WebhookDelivery, WebhookDelivery.alert_id == alert["id"]) == 1
        async with api.runtime.read_sessions() as session:
            sent_to = await session.scalar(
                select(WebhookDelivery.subscription_id).where(WebhookDelivery.alert_id == alert["id"])
            )
        assert sent_to == drill["id"]


# Helpers ----------------------------------------------------------------------------------------------------------


async def _first(messages: list[Message]) -> Message | None:
    return messages[0] if messages else None


async def _enough(messages: list[Message], count: int) -> list[Message] | None:
    return messages if len(messages) >= count else None


async def _delivery_after_tries(runtime: Runtime, tries: int) -> tuple[WebhookDelivery, datetime] | None:
    """The newest delivery once exactly ``tries`` tries of it are recorded (and it waits for the next), with when
    the last one was made."""
    async with runtime.read_sessions() as session:
        delivery = await session.scalar(select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(1))
        if delivery is None or delivery.status != "pending":
            return None
        made = list(
            (
                await session.scalars(
                    select(WebhookAttempt.at)
                    .where(WebhookAttempt.delivery_id == delivery.id)
                    .order_by(WebhookAttempt.id)
                )
            ).all()
        )
        return (delivery, made[-1]) if len(made) == tries else None


async def _due_now(runtime: Runtime, delivery_id: int) -> None:
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(next_attempt_at=utcnow())
        )
    runtime.webhook_loop.wake()


async def _escalate_then_fail(runtime: Runtime, alert_id: str, *, deliveries_before: int) -> None:
    async with runtime.unit_of_work() as session:
        row = await session.get(Alert, uuid.UUID(alert_id))
        assert row is not None
        events = await dispatch.escalate(session, alert=row, timer=alert_domain.AckTimeout())
        assert [e.kind.value for e in events] == ["escalated"]
        await session.flush()
        assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == deliveries_before + 1
        raise Undone


def _alert_row(alert_id: str) -> dict[str, Any]:
    return {"id": alert_id, "state": "new", "category": "kriminalitas", "jurisdiction_id": None, "lat": None}


async def test_a_panic_buttons_trouble_is_told_to_its_agencys_subscription(db: Runtime) -> None:
    async with siaga_and_receiver(db) as (api, receiver, admin):
        coblong = await _agency_id(api, "POLSEK-COBLONG")
        await subscribe(api, admin, receiver, events=["device.trouble"], agency_id=coblong)
        body = {"name": "Bank Uji Dago", "lat": -6.8915, "lon": 107.6107, "agency_id": coblong}
        site = (await api.post(admin, "/devices/sites", body)).json()
        device = (await api.post(admin, "/devices", {"site_id": site["id"], "name": "bank-dago-1"})).json()
        await devices.receive(api.runtime, f"siaga/devices/{device['name']}/event", b'{"type": "low_battery"}')
        [told] = await eventually(lambda: _enough(receiver.of("device.trouble"), 1), what="the trouble")
        assert (told.data["kind"], told.data["device"]) == ("low_battery", "bank-dago-1")
        assert told.data["site"]["name"] == "Bank Uji Dago"
        assert told.data["agency"]["code"] == "POLSEK-COBLONG"


async def _agency_id(api: Api, code: str) -> int:
    async with api.runtime.read_sessions() as session:
        return (await agencies.agency_by_code(session, code)).id


async def test_a_re_routed_alert_and_a_new_priority_arrive_as_updates(db: Runtime) -> None:
    async with siaga_and_receiver(db) as (api, receiver, admin):
        await subscribe(api, admin, receiver, events=["alert.updated"])
        alert = await api.press(await api.resident())
        operator = await api.staff(Role.OPERATOR)
        changed = await api.post(operator, f"/alerts/{alert['id']}/category", {"category": "kebakaran"})
        assert changed.status_code == 200, changed.text
        [moved] = await eventually(lambda: _enough(receiver.of("alert.updated", event="category_changed"), 1))
        assert moved.data["category"] == "kebakaran"
        assert moved.data["agency"]["code"].startswith("DAMKAR"), "the payload names the agency it went to"
        raised = await api.post(operator, f"/alerts/{alert['id']}/priority", {"priority": "high", "reason": "Korban"})
        assert raised.status_code == 200, raised.text
        [urgent] = await eventually(lambda: _enough(receiver.of("alert.updated", event="priority_changed"), 1))
        assert urgent.data["priority"] == "high"
        assert "Korban" not in json.dumps(urgent.data), "the reason left Siaga"
        assert receiver.of("alert.created") == [], "an event the subscription did not ask for was sent"


@dataclass
class Trickler:
    """A receiver that answers a byte at a time: its status line at once, then a header line every 0.2 s for as
    long as the sender listens. Every read is quick, so only a limit on the whole try ends it."""

    url: str = ""
    received: list[str] = field(default_factory=list)  # the webhook-id of each request
    hung_up: int = 0  # requests the sender stopped listening to
    handlers: set[asyncio.Task[Any]] = field(default_factory=set)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
            await reader.readexactly(int(headers.get("content-length", "0")))
            self.received.append(headers.get("webhook-id", ""))
            writer.write(b"HTTP/1.1 200 OK\r\n")
            closed = asyncio.ensure_future(reader.read())  # b"" once the sender hangs up
            while not closed.done():
                writer.write(b"X-Still-Thinking: 1\r\n")
                await writer.drain()
                await asyncio.wait({closed}, timeout=0.2)
            self.hung_up += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            self.hung_up += 1
        finally:
            writer.close()
            self.handlers.discard(task)


@asynccontextmanager
async def trickling() -> AsyncIterator[Trickler]:
    receiver = Trickler()
    server = await asyncio.start_server(receiver.serve, "127.0.0.1", 0)
    receiver.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/siaga"
    try:
        yield receiver
    finally:
        server.close()
        for task in list(receiver.handlers):
            task.cancel()
        await asyncio.gather(*receiver.handlers, return_exceptions=True)
        await server.wait_closed()


async def _tries(runtime: Runtime) -> list[WebhookAttempt]:
    async with runtime.read_sessions() as session:
        return list((await session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id))).all())


async def _only_delivery(runtime: Runtime) -> WebhookDelivery:
    async with runtime.read_sessions() as session:
        [delivery] = (await session.scalars(select(WebhookDelivery))).all()
        return delivery


async def test_a_receiver_answering_a_byte_at_a_time_is_cut_off_and_sent_the_delivery_once(db: Runtime) -> None:
    async with (
        trickling() as receiver,
        served_with(db, webhook_allowed_networks=LOCAL, webhook_timeout_seconds=1) as api,
    ):
        admin = await api.staff(Role.ADMIN)
        body = {"name": "Lambat", "url": receiver.url, "events": ["alert.created"]}
        assert (await api.post(admin, "/webhooks", body)).status_code == 201
        await api.press(await api.resident())

        [tried] = await eventually(lambda: _tries(api.runtime), what="the try recorded")
        assert not tried.ok
        assert tried.error == "no complete answer within 1 s"
        delivery = await _only_delivery(api.runtime)
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert receiver.received == [delivery.message_id], "the delivery was sent again within its lease"
        await eventually(lambda: _truthy(receiver.hung_up == 1), what="the sender to hang up")


async def test_a_try_that_outlived_its_lease_is_not_recorded_over_the_new_holder(
    db: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="siaga.webhooks")
    async with (
        trickling() as receiver,
        served_with(db, webhook_allowed_networks=LOCAL, webhook_timeout_seconds=1) as api,
    ):
        admin = await api.staff(Role.ADMIN)
        body = {"name": "Lambat", "url": receiver.url, "events": ["alert.created"]}
        assert (await api.post(admin, "/webhooks", body)).status_code == 201
        await api.press(await api.resident())
        await eventually(lambda: _truthy(receiver.received), what="the request in flight")

        # While it is in flight, another process claims the delivery (as it would once the lease ran out).
        later = utcnow() + timedelta(hours=1)
        async with api.runtime.unit_of_work() as session:
            await session.execute(
                update(WebhookDelivery).values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=later)
            )

        await eventually(
            lambda: _truthy(any("not recorded" in r.getMessage() for r in caplog.records)), what="the try to end"
        )
        assert await _tries(api.runtime) == []
        delivery = await _only_delivery(api.runtime)
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 2, "")
        assert delivery.next_attempt_at.replace(tzinfo=later.tzinfo) == later, "the new holder's lease was moved"


async def _truthy(value: object) -> bool:
    return bool(value)
