"""What the console offers an operator who hands an alert over, and handing one over again after Siaga gave up.

GET /api/v1/alerts/{id}/handover/choices lists exactly the partners POST /handover accepts for that alert (enabled,
allowed the alert's agency), with whether the caller goes with it and never an address or secret. A handover whose
partner kept refusing it until Siaga gave up is tried again when the operator asks: a new handover of the incident as
it is now, which the timeline and the audit log say retries the one given up; the partner (a real HTTP receiver on a
local port that checks the signature) gets it, and the administrator's list says how the newest handover went."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from siaga.accounts.domain import Role
from siaga.audit.models import AuditRecord
from siaga.runtime import Runtime
from tests.conftest import Api, eventually, served_with
from tests.servers import in_process


@dataclass
class Receiver:
    """A partner centre's EIDO endpoint: answers each POST with the next of ``answers`` (the last one again once they
    run out), holding its answer while ``gate`` is closed; keeps the messages whose signature ``secret`` verifies."""

    answers: list[int]
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    secret: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    hits: int = 0  # requests that reached it, signed or not

    def __post_init__(self) -> None:
        self.gate.set()

    async def eido(self, request: Request) -> JSONResponse:
        self.hits += 1
        body = await request.body()
        await self.gate.wait()
        status = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if self.secret:
            self.received.append(Webhook(self.secret).verify(body, dict(request.headers)))
        return JSONResponse({"incident_id": f"112-{len(self.received)}"}, status_code=status)


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    """``receiver`` on a free port of 127.0.0.1 for the block (its ``url`` set)."""
    app = Starlette(routes=[Route("/eido", receiver.eido, methods=["POST"])])
    async with in_process(app) as url:
        receiver.url = f"{url}/eido"
        yield receiver


async def partner(api: Api, admin: Any, name: str, **fields: Any) -> dict[str, Any]:
    made = await api.post(admin, "/partners", {"name": name, "url": "https://127.0.0.1:9/eido", **fields})
    assert made.status_code == 201, made.text
    created: dict[str, Any] = made.json()
    return created


async def test_the_console_is_offered_exactly_the_partners_the_alert_may_be_handed_over_to(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    await partner(api, admin, "kota-112", label="Bandung Siaga 112")
    await partner(api, admin, "damkar-pusat", label="Damkar Pusat", agencies=["POLSEK-COBLONG"], share_caller=False)
    await partner(api, admin, "hanya-cc", label="Hanya CC", agencies=["BDG-CC"])
    await partner(api, admin, "lama-112", label="Lama 112")
    off = await api.http.patch("/api/v1/partners/lama-112", json={"enabled": False}, headers=admin.headers)
    assert off.status_code == 200, off.text
    alert = await api.press(await api.resident())  # in Coblong: Polsek Coblong's

    operator = await api.staff(Role.OPERATOR)
    offered = await api.get(operator, f"/alerts/{alert['id']}/handover/choices")
    assert offered.status_code == 200, offered.text
    assert offered.json() == [
        {"name": "kota-112", "label": "Bandung Siaga 112", "share_caller": True},
        {"name": "damkar-pusat", "label": "Damkar Pusat", "share_caller": False},
    ]
    assert "127.0.0.1" not in offered.text
    assert "whsec_" not in offered.text
    supervisor = await api.staff(Role.SUPERVISOR)
    assert (await api.get(supervisor, f"/alerts/{alert['id']}/handover/choices")).json() == offered.json()

    # What is offered is what handing over accepts: the others are refused, each saying why.
    answers = {}
    for name in ("kota-112", "damkar-pusat", "hanya-cc", "lama-112"):
        handed = await api.post(operator, f"/alerts/{alert['id']}/handover", {"partner": name})
        answers[name] = (handed.status_code, handed.json().get("error", {}).get("code"))
    assert answers == {
        "kota-112": (201, None),
        "damkar-pusat": (201, None),
        "hanya-cc": (403, "partners.agency_not_allowed"),
        "lama-112": (409, "partners.disabled"),
    }

    # Someone who may not see the alert learns nothing of it, nor of the partners.
    sukajadi = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
    hidden = await api.get(sukajadi, f"/alerts/{alert['id']}/handover/choices")
    assert hidden.status_code == 404
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG")
    assert (await api.get(officer, f"/alerts/{alert['id']}/handover/choices")).status_code == 403


async def test_a_handover_siaga_gave_up_on_is_tried_again_when_the_operator_asks(db: Runtime) -> None:
    # Siaga gives up at the first refusal here (a real one waits SIAGA_PARTNER_GIVE_UP_HOURS, a day).
    async with (
        served_with(db, partner_give_up_hours=1e-6) as api,
        receiving(Receiver(answers=[503, 201])) as receiver,
    ):
        admin = await api.staff(Role.ADMIN)
        made = await partner(api, admin, "kota-112", label="Bandung Siaga 112", url=receiver.url)
        receiver.secret = made["outgoing_secret"]
        operator = await api.staff(Role.OPERATOR, name="Operator Sari")
        alert = await api.press(await api.resident(name="Siti Rahma"))
        first = await api.post(operator, f"/alerts/{alert['id']}/handover", {"partner": "kota-112"})
        assert first.status_code == 201, first.text

        async def handovers() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (await api.get(operator, f"/alerts/{alert['id']}/handovers")).json()
            return found

        async def given_up() -> bool:
            return [h["status"] for h in await handovers()] == ["failed"]

        await eventually(given_up, what="Siaga to give the handover up")
        listed = (await api.get(admin, "/partners")).json()
        assert [(p["name"], p["last_handover_status"]) for p in listed] == [("kota-112", "failed")]

        again = await api.post(operator, f"/alerts/{alert['id']}/handover", {"partner": "kota-112"})
        assert again.status_code == 201, again.text
        assert again.json()["status"] == "pending"
        assert again.json()["id"] != first.json()["id"]

        async def delivered() -> bool:
            return [h["status"] for h in await handovers()] == ["acknowledged", "failed"]

        await eventually(delivered, what="the partner to acknowledge the handover tried again")
        assert len(receiver.received) == 2  # both signed with the partner's secret, the second one taken
        assert receiver.received[1]["$id"] == receiver.received[0]["$id"]  # the same incident, sent again
        listed = (await api.get(admin, "/partners")).json()
        assert listed[0]["last_handover_status"] == "acknowledged"

        timeline = (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
        events = [e["data"] for e in timeline if e["kind"] == "handover"]
        assert [e["status"] for e in events] == ["requested", "failed", "requested", "acknowledged"]
        assert events[2]["retry_of"] == first.json()["id"]
        assert "retry_of" not in events[0]

    async with db.read_sessions() as session:
        audited = (
            await session.scalars(
                select(AuditRecord).where(AuditRecord.action == "alert.handover").order_by(AuditRecord.id)
            )
        ).all()
    assert [(r.actor_name, r.detail.get("retry_of")) for r in audited] == [
        ("Operator Sari", None),
        ("Operator Sari", first.json()["id"]),
    ]
