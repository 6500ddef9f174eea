"""SOS from a feature phone through a real GSM gateway: Gammu SMSD (Debian's gammu-smsd on Gammu's dummy phone) and
Siaga served on a real port. A resident texts ``TOLONG di pasar`` to the modem: the console's WebSocket shows the
alert (channel sms, no position, in the resident's NIK kecamatan, the words as its description) and the modem sends
the confirmation. A number with no account is raised too, flagged; the same message delivered twice is one alert;
a message that is nothing Siaga knows gets the help reply, and every message is recorded."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from siaga.accounts.domain import Role
from siaga.accounts.identity import mask_phone
from siaga.accounts.models import Resident
from siaga.alerts.models import Alert, AlertEvent
from siaga.app import create_app
from siaga.notify.sms import GammuSMS
from siaga.runtime import Runtime
from siaga.sms.models import InboundMessage
from tests.conftest import Api, eventually, make_settings
from tests.e2e.test_streams import Live, stream
from tests.gammu import Modem, modem
from tests.residents import made_residents
from tests.servers import in_process, serve_env, siaga

__all__ = ["modem"]  # the fixture, used by name
COBLONG_NIK = "3273021507900001"  # a NIK registered in Coblong (32.73.02)
WAIT = 30.0  # generous: the daemon reads its dummy phone every second, Siaga its inbox every second


@dataclass
class Gateway:
    live: Live
    modem: Modem

    @property
    def runtime(self) -> Runtime:
        return self.live.api.runtime


@pytest.fixture
async def gateway(db: Runtime, modem: Modem) -> AsyncIterator[Gateway]:
    """Siaga with SIAGA_SMS_ADAPTER=gammu on the test database, served on a real port, reading the modem's inbox."""
    settings = make_settings(
        db.settings.database_url,
        sms_adapter="gammu",
        sms_gammu_config=str(modem.config),
        sms_gammu_interval_seconds=0.5,
    )
    runtime = Runtime.build(settings)
    try:
        async with in_process(create_app(settings, runtime=runtime)) as url, httpx.AsyncClient(base_url=url) as http:
            live = Live(api=Api(http=http, runtime=runtime), ws=url.replace("http://", "ws://") + "/api/v1/stream")
            yield Gateway(live=live, modem=modem)
    finally:
        await runtime.close()


async def _resident(api: Api, *, name: str, nik: str | None) -> str:
    [person] = await made_residents(api, 1)
    async with api.runtime.unit_of_work() as session:
        await session.execute(
            update(Resident)
            .where(Resident.phone == person.phone)
            .values(name=name, nik=nik, nik_kecamatan=nik[:6] if nik else None)
        )
    return person.phone


async def _records(runtime: Runtime, sender: str) -> list[InboundMessage]:
    async with runtime.read_sessions() as session:
        return list(
            (
                await session.scalars(
                    select(InboundMessage).where(InboundMessage.sender == sender).order_by(InboundMessage.id)
                )
            ).all()
        )


async def test_a_registered_feature_phone_texts_tolong_and_the_console_sees_it(gateway: Gateway) -> None:
    api = gateway.live.api
    phone = await _resident(api, name="Ujang", nik=COBLONG_NIK)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")

    async with stream(gateway.live, "console", operator) as console:
        gateway.modem.deliver(phone, "TOLONG di pasar")
        created = await asyncio.wait_for(
            console.until(lambda m: m["type"] == "alert_event" and m["event"]["kind"] == "created"), timeout=WAIT
        )

    alert = created["alert"]
    assert alert["channel"] == "sms"
    assert alert["resident_name"] == "Ujang"
    detail = (await api.get(operator, f"/alerts/{alert['id']}")).json()
    assert (detail["jurisdiction_code"], detail["placement"]) == ("32.73.02", "kecamatan")  # her NIK's kecamatan
    assert detail["description"] == "di pasar"
    assert detail["resident"]["phone"] == phone  # the console's call-back button calls this number
    async with gateway.runtime.read_sessions() as session:
        reasons = await session.scalars(
            select(AlertEvent.data["reason"].as_string()).where(
                AlertEvent.alert_id == uuid.UUID(alert["id"]), AlertEvent.kind == "flagged"
            )
        )
        assert sorted(reasons) == ["no_location"]

    # The modem sends the confirmation, in the resident's language.
    sent = await eventually(lambda: _sent(gateway.modem, phone), within=WAIT, what="the confirmation SMS")
    assert "SOS Anda diterima pusat komando" in sent
    [record] = await _records(gateway.runtime, phone)
    assert (record.handler, record.text, record.gateway) == ("keyword.sos_keyword", "TOLONG di pasar", "gammu")
    assert not list(gateway.modem.inbox.iterdir())  # read, recorded, and only then removed


async def test_the_sos_sms_and_its_confirmation_are_on_the_alert_s_timeline(gateway: Gateway) -> None:
    """Through the real modem: the message that came in and the confirmation that went out are both on the alert's
    timeline, each with its direction and state and the number masked as the console shows numbers."""
    api = gateway.live.api
    phone = await _resident(api, name="Ujang", nik=COBLONG_NIK)
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    gateway.modem.deliver(phone, "TOLONG di jembatan")
    sent = await eventually(lambda: _sent(gateway.modem, phone), within=WAIT, what="the confirmation SMS")
    assert "SOS Anda diterima pusat komando" in sent
    async with gateway.runtime.read_sessions() as session:
        resident_id = await session.scalar(select(Resident.id).where(Resident.phone == phone))
        alert_id = await session.scalar(select(Alert.id).where(Alert.resident_id == resident_id))

    async def both() -> list[dict[str, object]] | None:
        answer = await api.get(operator, f"/alerts/{alert_id}/timeline")
        sms = [e["data"] for e in answer.json() if e["kind"] == "sms"]
        return sms if len(sms) == 2 else None

    came, went = await eventually(both, within=WAIT, what="both SMS on the timeline")
    masked = mask_phone(phone)
    assert (came["direction"], came["number"], came["purpose"], came["status"]) == ("in", masked, "sos", "received")
    assert (went["direction"], went["number"], went["purpose"], went["status"]) == ("out", masked, "sms_reply", "sent")
    [record] = await _records(gateway.runtime, phone)
    assert came["message"] == f"in:{record.id}"
    assert went["message"] == f"out:{record.reply_message_id}"


async def test_a_number_without_an_account_is_raised_flagged_never_dropped(gateway: Gateway) -> None:
    api = gateway.live.api
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    stranger = "+6281399887766"

    async with stream(gateway.live, "console", supervisor) as console:
        gateway.modem.deliver(stranger, "sos")
        created = await asyncio.wait_for(
            console.until(lambda m: m["type"] == "alert_event" and m["event"]["kind"] == "created"), timeout=WAIT
        )

    alert_id = uuid.UUID(created["alert"]["id"])
    assert created["alert"]["channel"] == "sms"
    async with gateway.runtime.read_sessions() as session:
        resident = await session.scalar(select(Resident).where(Resident.phone == stranger))
        assert resident is not None
        assert resident.name is None  # a bare account for the number, so that the SOS has a caller
        alert = await session.get(Alert, alert_id)
        assert alert is not None
        assert alert.resident_id == resident.id
        reasons = await session.scalars(
            select(AlertEvent.data["reason"].as_string()).where(
                AlertEvent.alert_id == alert.id, AlertEvent.kind == "flagged"
            )
        )
        assert sorted(reasons) == ["no_location", "unregistered_number"]
    assert "SOS Anda diterima" in await eventually(lambda: _sent(gateway.modem, stranger), within=WAIT, what="reply")


async def test_the_same_message_delivered_twice_is_one_alert(gateway: Gateway) -> None:
    api = gateway.live.api
    phone = await _resident(api, name="Siti", nik=COBLONG_NIK)
    sent_at = datetime.now(UTC) - timedelta(seconds=30)

    gateway.modem.deliver(phone, "DARURAT kebakaran gang mawar", sent_at=sent_at)
    gateway.modem.deliver(phone, "DARURAT kebakaran gang mawar", sent_at=sent_at)  # the network's duplicate

    # Both copies leave the dummy phone for the inbox, Siaga reads both, and then goes round its inbox twice more:
    # whatever the second copy could have done, it has done.
    await eventually(lambda: _phone_empty(gateway.modem), within=WAIT, what="the dummy phone delivering both")
    await eventually(lambda: _inbox_empty(gateway.modem), within=WAIT, what="Siaga reading both")
    await _rounds(gateway.runtime, 2)
    [record] = await _records(gateway.runtime, phone)
    async with gateway.runtime.read_sessions() as session:
        resident_id = await session.scalar(select(Resident.id).where(Resident.phone == phone))
        alerts = await session.scalar(select(func.count()).select_from(Alert).where(Alert.resident_id == resident_id))
    assert alerts == 1
    assert record.handler == "keyword.sos_keyword"


async def test_an_empty_or_unknown_message_gets_the_help_reply_and_is_recorded(gateway: Gateway) -> None:
    api = gateway.live.api
    phone = await _resident(api, name="Budi", nik=None)

    gateway.modem.deliver(phone, "")
    gateway.modem.deliver(phone, "halo apa kabar", sent_at=datetime.now(UTC) + timedelta(seconds=1))

    async def two_handled() -> list[InboundMessage] | None:
        records = await _records(gateway.runtime, phone)
        return records if len(records) == 2 and all(r.handled_at for r in records) else None

    records = await eventually(two_handled, within=WAIT, what="both messages handled")
    assert sorted(r.text for r in records) == ["", "halo apa kabar"]
    assert {r.handler for r in records} == {"help"}
    replies = await eventually(lambda: _sent(gateway.modem, phone, parts=2), within=WAIT, what="two help replies")
    assert replies.count("kirim SOS atau TOLONG") == 2
    async with gateway.runtime.read_sessions() as session:
        resident_id = await session.scalar(select(Resident.id).where(Resident.phone == phone))
        assert not await session.scalar(select(func.count()).select_from(Alert).where(Alert.resident_id == resident_id))


async def _sent(modem: Modem, number: str, *, parts: int = 1) -> str | None:
    found = sorted(modem.sent.glob(f"OUT*_{number}_*.txt"))
    return modem.sent_to(number) if len(found) >= parts else None


async def _phone_empty(modem: Modem) -> bool:
    return not list((modem.phone / "sms" / "1").iterdir())


async def _inbox_empty(modem: Modem) -> bool:
    return not list(modem.inbox.iterdir())


async def _rounds(runtime: Runtime, count: int) -> None:
    """Wait until the inbox loop has finished ``count`` more rounds."""
    loop = runtime.sms_inbox
    assert loop is not None
    for _ in range(count):
        before = loop.finished_at

        async def finished(before: float = before) -> bool:
            return loop.finished_at > before

        await eventually(finished, within=WAIT, what="a round of the inbox loop")


async def test_siaga_sms_receive_makes_a_message_arrive_at_the_dummy_phone(gateway: Gateway, tmp_path: Path) -> None:
    """The README's way to try the channel without a modem: ``siaga sms-receive`` writes the message to the dummy
    phone, and it is raised like any other."""
    stranger = "+6281399881122"
    env = serve_env(gateway.runtime.settings.database_url, SIAGA_SMS_GAMMU_CONFIG=str(gateway.modem.config))

    done = await asyncio.to_thread(siaga, "sms-receive", "--from", stranger, "DARURAT banjir", env=env, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "delivered to the dummy phone" in done.stdout

    async def raised() -> list[Alert] | None:
        async with gateway.runtime.read_sessions() as session:
            found = await session.scalars(
                select(Alert).join(Resident, Resident.id == Alert.resident_id).where(Resident.phone == stranger)
            )
            return list(found.all()) or None

    [alert] = await eventually(raised, within=WAIT, what="the alert of the message made up")
    assert (alert.channel, alert.description) == ("sms", "banjir")


async def test_siaga_sends_through_gammu_with_a_configuration_named_relative_to_where_it_runs(
    modem: Modem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the README's dummy-phone walk-through names it (SIAGA_SMS_GAMMU_CONFIG=gammu/smsdrc), with text that
    needs UCS-2 and more than one part."""
    monkeypatch.chdir(modem.folder.parent)
    sender = GammuSMS(config=Path(modem.folder.name) / "smsdrc")
    text = "SIAGA: petugas menuju lokasi Anda — tetap di tempat aman. " * 3

    provider_id = await sender.send(to="+6281355554444", body=text)

    assert provider_id.startswith("OUT")
    sent = await eventually(lambda: _sent(modem, "+6281355554444", parts=3), within=WAIT, what="all parts sent")
    assert sent == text
