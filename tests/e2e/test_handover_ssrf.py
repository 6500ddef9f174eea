"""Where a handover may go, what operators read of a partner's answer, and that a slow partner gets it once.

A partner's URL passes the webhooks' checks when it is saved and again before every try: cloud metadata, this
server, loopback and private addresses are refused (422, ``partners.unsafe_address``) unless
SIAGA_PARTNER_ALLOWED_NETWORKS opens them, and a try refused is recorded as failed without any connection. The
partner's own words stay out of ``last_error``. A partner trickling its answer cannot hold a try past its lease (so a
second process never sends it again meanwhile), and a try that ends after another process took the handover over is
not recorded. Partners here are real HTTP servers on local ports; the two "processes" are two senders on one database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from siaga.accounts.domain import Role
from siaga.alerts.models import AlertEvent
from siaga.config import Settings
from siaga.db import utcnow
from siaga.partners.delivery import Deliveries
from siaga.partners.models import Handover, HandoverAttempt
from siaga.runtime import Runtime
from tests.conftest import Api, eventually, make_settings, served_with
from tests.e2e.test_handover_choices import Receiver, receiving
from tests.servers import in_process

INTERNAL = (
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://localhost:8000/api/v1/partners/eido",  # this server
    "https://10.1.2.3/eido",  # the command centre's own network, not opened
    "https://[::ffff:127.0.0.1]:9/eido",  # loopback in IPv6 clothing
)


async def handed_over(api: Api, url: str) -> Handover:
    """A partner at ``url`` and an alert handed over to it, the test's own senders alone sending it (the command
    centre's loop is stopped)."""
    await api.runtime.partner_loop.stop()
    admin = await api.staff(Role.ADMIN)
    made = await api.post(admin, "/partners", {"name": "kota-112", "label": "Bandung Siaga 112", "url": url})
    assert made.status_code == 201, made.text
    operator = await api.staff(Role.OPERATOR)
    alert = await api.press(await api.resident())
    handed = await api.post(operator, f"/alerts/{alert['id']}/handover", {"partner": "kota-112"})
    assert handed.status_code == 201, handed.text
    return await handover(api.runtime)


async def handover(runtime: Runtime) -> Handover:
    async with runtime.read_sessions() as session:
        found = await session.scalar(select(Handover))
    assert found is not None
    return found


@pytest.mark.parametrize("opened", ["127.0.0.1/32", "::1", "169.254.0.0/16", "0.0.0.0/0"])
def test_a_deployment_cannot_open_its_own_services_to_handovers(opened: str) -> None:
    production = {"secret_key": "k" * 40, "sms_adapter": "http", "sms_http_url": "https://sms.example.org"}
    with pytest.raises(ValueError, match="SIAGA_PARTNER_ALLOWED_NETWORKS"):
        Settings(**production, partner_allowed_networks=opened)
    assert Settings(**production, partner_allowed_networks="10.30.0.0/16").partner_allowed_networks
    assert Settings(dev_mode=True, partner_allowed_networks=opened).partner_allowed_networks == opened


async def test_a_partner_at_an_internal_address_is_refused_when_saved(api: Api, db: Runtime) -> None:
    admin = await api.staff(Role.ADMIN)
    allowed = await api.post(admin, "/partners", {"name": "lokal", "url": "https://127.0.0.1:9/eido"})
    assert allowed.status_code == 201, allowed.text  # opened on purpose (the tests' SIAGA_PARTNER_ALLOWED_NETWORKS)
    async with served_with(db, partner_allowed_networks="") as closed:
        admin = await closed.staff(Role.ADMIN)
        for url in (*INTERNAL, "https://127.0.0.1:9/eido"):
            refused = await closed.post(admin, "/partners", {"name": "kota-112", "url": url})
            assert refused.status_code == 422, (url, refused.text)
            assert refused.json()["error"]["code"] == "partners.unsafe_address", url
        changed = await closed.http.patch("/api/v1/partners/lokal", json={"url": INTERNAL[0]}, headers=admin.headers)
        assert changed.status_code == 422, changed.text
        assert changed.json()["error"]["code"] == "partners.unsafe_address"
        listed = await closed.get(admin, "/partners")
    assert [(p["name"], p["url"]) for p in listed.json()] == [("lokal", "https://127.0.0.1:9/eido")]


async def test_a_try_to_an_address_no_longer_allowed_is_refused_without_connecting(api: Api, db: Runtime) -> None:
    async with receiving(Receiver(answers=[201])) as receiver:
        sent = await handed_over(api, receiver.url)
        closed = Deliveries(db.unit_of_work, make_settings(db.settings.database_url, partner_allowed_networks=""))
        opened = Deliveries(db.unit_of_work, db.settings)
        try:
            assert await closed.round() == 0
            refused = await handover(db)
            assert receiver.hits == 0
            assert (refused.status, refused.attempts) == ("pending", 1)
            assert refused.last_error.startswith("refused: ")
            assert "127.0.0.1" in refused.last_error
            # Opened on purpose again: the next try goes through.
            async with db.unit_of_work() as session:
                await session.execute(update(Handover).values(next_attempt_at=utcnow()))
            assert await opened.round() == 1
        finally:
            await closed.close()
            await opened.close()
    assert receiver.hits == 1
    assert (await handover(db)).message_id == sent.message_id


async def test_a_proxy_named_in_the_environment_is_not_used(
    api: Api, db: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy would connect for Siaga, past the address check: the try goes straight to the address checked."""
    async with receiving(Receiver(answers=[201])) as receiver, receiving(Receiver(answers=[200])) as proxy:
        await handed_over(api, receiver.url)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.url.removesuffix("/eido"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        sender = Deliveries(db.unit_of_work, db.settings)
        try:
            assert await sender.round() == 1
        finally:
            await sender.close()
    assert (receiver.hits, proxy.hits) == (1, 0)


async def test_operators_read_the_partners_status_never_its_words(api: Api, db: Runtime) -> None:
    answers: list[Response] = [
        JSONResponse(
            {"error": {"code": "centre.busy", "message": "call Budi on +628111222333, db-7.internal is down"}},
            status_code=503,
        ),
        PlainTextResponse("Traceback: password=hunter2 at /srv/centre\x1b[31m", status_code=500),
        JSONResponse({"error": {"code": "<script>alert(1)</script>"}}, status_code=418),
    ]

    async def refuse(request: Request) -> Response:
        await request.body()
        return answers.pop(0)

    async with in_process(Starlette(routes=[Route("/eido", refuse, methods=["POST"])])) as url:
        await handed_over(api, f"{url}/eido")
        sender = Deliveries(db.unit_of_work, db.settings)
        errors = []
        try:
            for _ in range(3):
                async with db.unit_of_work() as session:
                    await session.execute(update(Handover).values(next_attempt_at=utcnow()))
                assert await sender.round() == 0
                errors.append((await handover(db)).last_error)
        finally:
            await sender.close()
    assert errors == [
        "HTTP 503 Service Unavailable (centre.busy)",
        "HTTP 500 Internal Server Error",
        "HTTP 418 I'm a Teapot",
    ]


async def test_a_partner_trickling_its_answer_gets_the_handover_once(api: Api, db: Runtime) -> None:
    """Its answer never ends, one byte at a time (each in time for a read): the try is cut off inside its lease,
    and the second sender, trying all along, never sends it meanwhile."""
    ids: list[str] = []

    async def trickle(request: Request) -> StreamingResponse:
        await request.body()
        ids.append(request.headers["webhook-id"])

        async def slowly() -> AsyncIterator[bytes]:
            for _ in range(200):
                yield b" "
                await asyncio.sleep(0.1)

        return StreamingResponse(slowly(), status_code=201, media_type="application/json")

    settings = make_settings(db.settings.database_url, partner_retry_seconds=3600)
    lease = timedelta(seconds=2)
    first, second = (
        Deliveries(db.unit_of_work, settings, lease=lease),
        Deliveries(db.unit_of_work, settings, lease=lease),
    )
    try:
        async with in_process(Starlette(routes=[Route("/eido", trickle, methods=["POST"])])) as url:
            sent = await handed_over(api, f"{url}/eido")
            trying = asyncio.create_task(first.round())
            while not trying.done():
                await second.round()
                await asyncio.sleep(0.1)
            assert await trying == 0
    finally:
        await first.close()
        await second.close()
    assert ids == [sent.message_id]
    cut = await handover(db)
    assert (cut.status, cut.attempts) == ("pending", 1)
    assert cut.last_error == "no answer within 1 s"


async def test_a_try_ending_after_another_process_took_the_handover_over_is_not_recorded(api: Api, db: Runtime) -> None:
    """The first sender stalls past its lease (its lease run out, as after a long pause of the process): the second
    one sends the handover again (the same webhook-id: the partner applies it once), and only its try counts."""
    receiver = Receiver(answers=[201])
    receiver.gate.clear()
    first, second = Deliveries(db.unit_of_work, db.settings), Deliveries(db.unit_of_work, db.settings)
    try:
        async with receiving(receiver):
            sent = await handed_over(api, receiver.url)
            stalled = asyncio.create_task(first.round())
            await eventually(lambda: _at_least(receiver, 1), what="the first try at the partner")
            async with db.unit_of_work() as session:
                await session.execute(update(Handover).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            taking_over = asyncio.create_task(second.round())
            await eventually(lambda: _at_least(receiver, 2), what="the second try at the partner")
            receiver.gate.set()
            outcomes = sorted([await stalled, await taking_over])
    finally:
        await first.close()
        await second.close()
    assert outcomes == [0, 1]
    done = await handover(db)
    assert (done.message_id, done.status, done.attempts) == (sent.message_id, "acknowledged", 1)
    async with db.read_sessions() as session:
        tries = await session.scalar(select(func.count()).select_from(HandoverAttempt))
        told = (
            await session.scalars(select(AlertEvent.data).where(AlertEvent.kind == "handover").order_by(AlertEvent.id))
        ).all()
    assert tries == 1
    assert [event["status"] for event in told] == ["requested", "acknowledged"]


async def _at_least(receiver: Receiver, hits: int) -> Any:
    return receiver.hits >= hits
