"""Webhooks to an HTTPS receiver: a real local receiver serving a certificate of a test CA (the one the partner
handover tests use), which Siaga trusts through SIAGA_WEBHOOK_CA_BUNDLE. The press arrives over TLS and its
signature verifies; a Siaga that does not trust the receiver's CA sends it nothing and records why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from siaga.accounts.domain import Role
from siaga.runtime import Runtime
from tests.conftest import Api, Person, eventually, served_with
from tests.e2e.test_handover import Certificates, make_certificates
from tests.e2e.test_webhooks import LOCAL, Receiver, subscribe
from tests.servers import in_process


@asynccontextmanager
async def https_receiving(tls: Certificates) -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/hooks/siaga", receiver.handle, methods=["POST"])])
    async with in_process(app, tls=(tls.cert, tls.key)) as url:
        receiver.url = f"{url}/hooks/siaga"
        yield receiver


@asynccontextmanager
async def siaga_and_https_receiver(
    db: Runtime, tls: Certificates, **settings: Any
) -> AsyncIterator[tuple[Api, Receiver, Person]]:
    async with https_receiving(tls) as receiver, served_with(db, webhook_allowed_networks=LOCAL, **settings) as api:
        yield api, receiver, await api.staff(Role.ADMIN)


async def _deliveries(api: Api, admin: Person, subscription: dict[str, Any]) -> list[dict[str, Any]]:
    answer = await api.get(admin, f"/webhooks/{subscription['id']}/deliveries")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


async def test_a_press_reaches_an_https_receiver_signed_over_tls(db: Runtime, tmp_path: Path) -> None:
    tls = make_certificates(tmp_path)
    async with siaga_and_https_receiver(db, tls, webhook_ca_bundle=str(tls.ca)) as (api, receiver, admin):
        assert receiver.url.startswith("https://127.0.0.1:")
        subscription = await subscribe(api, admin, receiver)
        alert = await api.press(await api.resident(name="Siti Rahayu"))

        async def created() -> list[Any]:
            return receiver.of("alert.created", alert_id=alert["id"])

        [message] = await eventually(created, what="alert.created over HTTPS")
        assert message.verified_by == [0], "the signature did not verify with the subscription's secret"
        assert receiver.unverified == 0
        assert message.data["state"] == "new"

        async def delivered() -> list[dict[str, Any]]:
            return [d for d in await _deliveries(api, admin, subscription) if d["status"] == "delivered"]

        [delivery] = await eventually(delivered, what="the delivery recorded as delivered")
        assert delivery["message_id"] == message.id
        assert [(t["ok"], t["status_code"]) for t in delivery["tries"]] == [(True, 204)]


async def test_a_receiver_whose_ca_siaga_does_not_trust_gets_nothing_and_the_try_says_why(
    db: Runtime, tmp_path: Path
) -> None:
    tls = make_certificates(tmp_path)
    async with siaga_and_https_receiver(db, tls) as (api, receiver, admin):  # the system's CAs only
        subscription = await subscribe(api, admin, receiver)
        await api.press(await api.resident())

        async def tried() -> list[dict[str, Any]]:
            return [t for d in await _deliveries(api, admin, subscription) for t in d["tries"]]

        first, *_ = await eventually(tried, what="a try of the delivery")
        assert (first["ok"], first["status_code"]) == (False, None)
        assert "CERTIFICATE_VERIFY_FAILED" in first["error"], first["error"]
        assert receiver.messages == []
