"""Handing an alert over to another centre: two Siaga servers as partners, each on its own port and database, the
"112 centre" (B) serving HTTPS with a certificate of a test CA that Siaga A trusts through SIAGA_PARTNER_CA_BUNDLE.

A hands an alert over; B shows it in its console's list; A records B's acknowledgement (B's own alert id) and its
console's timeline says B has it. With B down at first, A keeps trying and delivers once B is up. The same incident
handed over again updates B's alert, never a second one."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from siaga import migrate
from siaga.accounts.domain import Role
from siaga.app import create_app
from siaga.demo.seed import seed_bandung
from siaga.partners.models import HandoverAttempt
from siaga.runtime import Runtime
from tests.conftest import Api, Person, eventually, make_settings
from tests.servers import free_port
from tests.unit.test_eido import assert_valid_eido


@dataclass
class Certificates:
    ca: Path
    cert: Path
    key: Path


def make_certificates(folder: Path) -> Certificates:
    """A test CA and a certificate it signed for 127.0.0.1."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Siaga test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "112 centre")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(ca=folder / "ca.pem", cert=folder / "cert.pem", key=folder / "key.pem")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@asynccontextmanager
async def serving(runtime: Runtime, port: int, tls: Certificates | None = None) -> AsyncIterator[str]:
    """Siaga on ``runtime`` served by uvicorn on ``port`` (HTTPS with ``tls``) for the block; yields its URL."""
    app = create_app(runtime.settings, runtime=runtime)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        timeout_keep_alive=300,
        ssl_certfile=str(tls.cert) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: _started(server, task), within=20, what="the server to start")
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    assert not task.done(), "the server stopped while starting"
    return server.started


@dataclass
class Centre:
    api: Api
    url: str
    admin: Person
    operator: Person


@asynccontextmanager
async def centre(runtime: Runtime, port: int, tls: Certificates | None = None) -> AsyncIterator[Centre]:
    async with (
        serving(runtime, port, tls) as url,
        httpx.AsyncClient(base_url=url, verify=ssl.create_default_context(cafile=tls.ca) if tls else True) as http,
    ):
        api = Api(http=http, runtime=runtime)
        yield Centre(api=api, url=url, admin=await api.staff(Role.ADMIN), operator=await api.staff(Role.OPERATOR))


async def second_siaga(folder: Path, port: int, **settings: Any) -> Runtime:
    """The "112 centre": another Siaga with a database of its own (SQLite, migrated, Bandung seeded)."""
    url = f"sqlite+aiosqlite:///{folder / 'centre-112.db'}"
    await migrate.upgrade_async(url)
    runtime = Runtime.build(make_settings(url, **{"public_url": f"https://127.0.0.1:{port}", **settings}))
    async with runtime.unit_of_work() as session:
        await seed_bandung(session, with_accounts=False)
    return runtime


async def pair(a: Centre, b_url: str, b_admin: tuple[Api, Person]) -> None:
    """A knows B as "kota-112", B knows A as "siaga-a", each with the secrets the other gave."""
    made = await a.api.post(
        a.admin, "/partners", {"name": "kota-112", "label": "Bandung Siaga 112", "url": f"{b_url}/api/v1/partners/eido"}
    )
    assert made.status_code == 201, made.text
    secrets = made.json()
    api, admin = b_admin
    known = await api.post(
        admin,
        "/partners",
        {
            "name": "siaga-a",
            "label": "Siaga Kota A",
            "url": f"{a.url}/api/v1/partners/eido",
            "incoming_secret": secrets["outgoing_secret"],
            "outgoing_secret": secrets["incoming_secret"],
        },
    )
    assert known.status_code == 201, known.text
    listed = await a.api.get(a.admin, "/partners")
    assert "outgoing_secret" not in listed.text  # never shown after creation


async def handovers(centre: Centre, alert_id: str) -> list[dict[str, Any]]:
    answer = await centre.api.get(centre.operator, f"/alerts/{alert_id}/handovers")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


async def acknowledged(centre: Centre, alert_id: str) -> dict[str, Any] | None:
    return next((h for h in await handovers(centre, alert_id) if h["status"] == "acknowledged"), None)


async def partner_alerts(centre: Centre) -> list[dict[str, Any]]:
    answer = await centre.api.get(centre.operator, "/alerts")
    assert answer.status_code == 200, answer.text
    return [a for a in answer.json() if a["channel"] == "partner"]


async def test_an_alert_handed_over_reaches_the_112_centre_and_its_acknowledgement_shows_on_the_console(
    db: Runtime, tmp_path: Path
) -> None:
    tls = make_certificates(tmp_path)
    a_port, b_port = free_port(), free_port()
    runtime_b = await second_siaga(tmp_path, b_port)
    runtime_a = Runtime.build(
        make_settings(db.settings.database_url, partner_ca_bundle=str(tls.ca), public_url=f"http://127.0.0.1:{a_port}")
    )
    runtime_a.sms = db.sms
    try:
        async with centre(runtime_a, a_port) as a, centre(runtime_b, b_port, tls) as b:
            await pair(a, b.url, (b.api, b.admin))
            siti = await a.api.resident(name="Siti Rahma")
            alert = await a.api.press(siti, category="kebakaran")
            noted = await a.api.post(a.operator, f"/alerts/{alert['id']}/notes", {"text": "Asap di lantai 2"})
            assert noted.status_code == 200, noted.text

            exported = await a.api.get(a.operator, f"/alerts/{alert['id']}/eido")
            assert exported.status_code == 200, exported.text
            assert_valid_eido(exported.json())

            handed = await a.api.post(a.operator, f"/alerts/{alert['id']}/handover", {"partner": "kota-112"})
            assert handed.status_code == 201, handed.text
            assert handed.json()["status"] == "pending"

            receipt = await eventually(lambda: acknowledged(a, alert["id"]), what="B's acknowledgement")
            # B shows the incident in its console's list, as its own alert, with who handed it over and the caller.
            [theirs] = await partner_alerts(b)
            assert receipt["partner_reference"] == theirs["id"]
            assert theirs["category"] == "kebakaran"
            assert theirs["jurisdiction_name"] == "Coblong"
            assert "Siaga Kota A" in theirs["description"]
            assert "Siti Rahma" in theirs["description"]
            assert "Asap di lantai 2" in theirs["description"]

            # A's console: the alert's timeline (what its detail shows, live) says B has it, and when.
            timeline = (await a.api.get(a.operator, f"/alerts/{alert['id']}/timeline")).json()
            statuses = [e["data"]["status"] for e in timeline if e["kind"] == "handover"]
            assert statuses == ["requested", "acknowledged"]
            assert [e["data"]["partner_label"] for e in timeline if e["kind"] == "handover"][-1] == "Bandung Siaga 112"

            # Handed over again: the same incident, so B updates its alert rather than raising another.
            again = await a.api.post(a.operator, f"/alerts/{alert['id']}/handover", {"partner": "kota-112"})
            assert again.status_code == 201, again.text
            await eventually(lambda: _all_acknowledged(a, alert["id"], 2), what="the second handover's acknowledgement")
            assert len(await partner_alerts(b)) == 1
            their_timeline = (await b.api.get(b.operator, f"/alerts/{theirs['id']}/timeline")).json()
            assert [e["kind"] for e in their_timeline].count("partner_updated") == 1
    finally:
        await runtime_a.close()
        await runtime_b.close()


async def _all_acknowledged(centre: Centre, alert_id: str, count: int) -> bool:
    found = await handovers(centre, alert_id)
    return len(found) == count and all(h["status"] == "acknowledged" for h in found)


async def test_a_handover_to_a_centre_that_is_down_is_tried_again_and_delivered_once_it_is_up(
    db: Runtime, tmp_path: Path
) -> None:
    tls = make_certificates(tmp_path)
    a_port, b_port = free_port(), free_port()
    runtime_b = await second_siaga(tmp_path, b_port)
    runtime_a = Runtime.build(
        make_settings(
            db.settings.database_url,
            partner_ca_bundle=str(tls.ca),
            public_url=f"http://127.0.0.1:{a_port}",
            partner_retry_seconds=0.2,
        )
    )
    runtime_a.sms = db.sms
    try:
        async with centre(runtime_a, a_port) as a:
            b_url = f"https://127.0.0.1:{b_port}"
            async with centre(runtime_b, b_port, tls) as b:
                await pair(a, b_url, (b.api, b.admin))
            # B is down now.
            alert = await a.api.press(await a.api.resident(name="Budi Santoso"))
            handed = await a.api.post(a.operator, f"/alerts/{alert['id']}/handover", {"partner": "kota-112"})
            assert handed.status_code == 201, handed.text

            async def failing() -> bool:
                found = await handovers(a, alert["id"])
                return found[0]["attempts"] >= 2 and found[0]["status"] == "pending"

            await eventually(failing, what="two failed tries while B is down")
            [waiting] = await handovers(a, alert["id"])
            assert waiting["acknowledged_at"] is None
            assert waiting["last_error"]
            timeline = (await a.api.get(a.operator, f"/alerts/{alert['id']}/timeline")).json()
            assert [e["data"]["status"] for e in timeline if e["kind"] == "handover"] == ["requested", "retrying"]

            async with centre(runtime_b, b_port, tls) as b:
                receipt = await eventually(lambda: acknowledged(a, alert["id"]), what="delivery once B is up")
                [theirs] = await partner_alerts(b)
                assert receipt["partner_reference"] == theirs["id"]
                assert "Budi Santoso" in theirs["description"]
    finally:
        await runtime_a.close()
        await runtime_b.close()
    async with db.read_sessions() as session:
        # A kept every try it made: the failed ones while B was down, then the one B acknowledged.
        tries = (
            (await session.execute(select(HandoverAttempt.status_code).order_by(HandoverAttempt.id))).scalars().all()
        )
    assert len(tries) >= 3
    assert tries[0] is None
    assert tries[-1] == 201


async def test_a_partner_not_given_the_caller_receives_neither_name_nor_number(db: Runtime, tmp_path: Path) -> None:
    tls = make_certificates(tmp_path)
    a_port, b_port = free_port(), free_port()
    runtime_b = await second_siaga(tmp_path, b_port)
    runtime_a = Runtime.build(
        make_settings(db.settings.database_url, partner_ca_bundle=str(tls.ca), public_url=f"http://127.0.0.1:{a_port}")
    )
    runtime_a.sms = db.sms
    try:
        async with centre(runtime_a, a_port) as a, centre(runtime_b, b_port, tls) as b:
            await pair(a, b.url, (b.api, b.admin))
            changed = await a.api.http.patch(
                "/api/v1/partners/kota-112", json={"share_caller": False}, headers=a.admin.headers
            )
            assert changed.status_code == 200, changed.text
            siti = await a.api.resident(name="Siti Rahasia")
            alert = await a.api.press(siti)
            await a.api.post(a.operator, f"/alerts/{alert['id']}/handover", {"partner": "kota-112"})
            await eventually(lambda: acknowledged(a, alert["id"]), what="B's acknowledgement")
            [theirs] = await partner_alerts(b)
            assert "Siti Rahasia" not in theirs["description"]
            assert siti.phone not in theirs["description"]
    finally:
        await runtime_a.close()
        await runtime_b.close()
