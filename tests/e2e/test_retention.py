"""Retention and a resident's deletion: what must go goes, and what must stay stays (on SQLite and PostgreSQL).

Everything is made through the public API. Only the clock is moved afterwards, with direct SQL updates (never
through the app), as in the reports tests: an alert "closed 40 days ago" is one closed now whose times were moved.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, update

from siaga import runtime as runtime_module
from siaga.accounts.domain import Role
from siaga.accounts.models import AuthSession, EmergencyContact, LoginAttempts, OneTimeCode, Resident
from siaga.agencies import service as agencies
from siaga.alerts.models import Alert, AlertEvent, AlertLocation
from siaga.audit.models import AuditRecord, DenialWindow
from siaga.db import utcnow
from siaga.devices import service as devices
from siaga.devices.models import DeviceMessage, Trouble, TroubleEvent
from siaga.notify.models import ContactConsent, OutboundMessage
from siaga.ops import retention
from siaga.responders.models import PositionRecord
from siaga.runtime import Runtime
from tests.conftest import Api, Person, eventually, make_settings
from tests.e2e.test_reports import COBLONG, Response, handled, report, set_clock, wib

NIK = "3273024506900001"  # Coblong, Bandung


async def _count(api: Api, model: Any, *where: Any) -> int:
    async with api.runtime.read_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _trail(api: Api, resident: Person, alert_id: str) -> None:
    points = [{"lat": COBLONG[0] + i / 10_000, "lon": COBLONG[1], "accuracy_m": 8.0} for i in range(3)]
    answer = await api.post(resident, f"/alerts/{alert_id}/locations", {"points": points, "battery": 55})
    assert answer.status_code == 200, answer.text


async def _on_duty(api: Api, officer: Person) -> Person:
    answer = await api.http.put("/api/v1/officers/me/duty", json={"mode": "patrol"}, headers=officer.headers)
    assert answer.status_code == 200, answer.text
    return officer


async def _closed_alert(api: Api, resident: Person, operator: Person, officer: Person, *, days_ago: float) -> str:
    """An alert with the resident's words and a trail, handled to the end, closed ``days_ago``."""
    alert = await api.press(resident, description="Rumah saya di Jl. Dago 12, tolong")
    await _trail(api, resident, alert["id"])
    replied = await api.post(resident, f"/alerts/{alert['id']}/replies", {"text": "Pintu belakang, lantai 2"})
    assert replied.status_code == 200, replied.text
    for step, body in (("acknowledge", {}), ("dispatch", {"unit_id": officer.unit_id})):
        answer = await api.post(operator, f"/alerts/{alert['id']}/{step}", body)
        assert answer.status_code == 200, answer.text
    for step in ("en-route", "on-scene"):
        assert (await api.post(officer, f"/alerts/{alert['id']}/{step}")).status_code == 200
    resolved = await api.post(officer, f"/alerts/{alert['id']}/resolve", {"outcome": "genuine", "report": "aman"})
    assert resolved.status_code == 200, resolved.text
    closed = utcnow() - timedelta(days=days_ago)
    await set_clock(api, Alert, Alert.id == uuid.UUID(alert["id"]), closed_at=closed, created_at=closed)
    return str(alert["id"])


async def _position(api: Api, officer: Person, *, hours_ago: float, alert_id: str | None = None) -> None:
    """An officer's position as the officer app records it (written here with its age already set)."""
    async with api.runtime.unit_of_work() as session:
        session.add(
            PositionRecord(
                unit_id=officer.unit_id,
                staff_id=int(officer.id),
                alert_id=uuid.UUID(alert_id) if alert_id else None,
                lat=COBLONG[0],
                lon=COBLONG[1],
                recorded_at=utcnow() - timedelta(hours=hours_ago),
            )
        )


def test_audit_records_are_kept_at_least_a_year() -> None:
    with pytest.raises(ValidationError, match="audit records are kept at least a year"):
        make_settings("sqlite+aiosqlite:///:memory:", retention_audit_days=100)
    assert make_settings("sqlite+aiosqlite:///:memory:", retention_audit_days=365).retention_audit_days == 365


async def test_the_purge_removes_what_is_past_its_period_and_keeps_the_rest(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR)
    officer = await _on_duty(api, await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-9"))
    resident = await api.resident(name="Rina Wulandari")
    ancient = await _closed_alert(api, resident, operator, officer, days_ago=400)  # past every period
    last_month = await _closed_alert(api, resident, operator, officer, days_ago=40)  # trail gone, details kept
    last_week = await _closed_alert(api, resident, operator, officer, days_ago=7)  # all kept
    active = await api.press(resident)
    await _trail(api, resident, active["id"])
    await _position(api, officer, hours_ago=48)  # off any alert, past 24 hours
    await _position(api, officer, hours_ago=1)
    await _position(api, officer, hours_ago=24 * 41, alert_id=last_month)  # on an alert whose trail goes
    await _position(api, officer, hours_ago=24 * 8, alert_id=last_week)
    now = utcnow()
    async with api.runtime.unit_of_work() as session:
        session.add_all(
            [
                AuditRecord(actor_kind="system", actor_id="x", action="old.thing", at=now - timedelta(days=800)),
                AuditRecord(actor_kind="system", actor_id="x", action="recent.thing", at=now - timedelta(days=400)),
                DenialWindow(actor_key="ip:10.0.0.9", window_start=now - timedelta(hours=2), count=3),
                LoginAttempts(key="user:old", window_start=now - timedelta(days=1), count=2),
                LoginAttempts(key="user:now", window_start=now, count=1),
                OutboundMessage(
                    channel="sms", recipient="+6281200000001", body="Kode Siaga: 123456", purpose="otp",
                    adapter="dev", status="sent", created_at=now - timedelta(days=45),
                ),
                OutboundMessage(
                    channel="sms", recipient="+6281200000002", body="Kode Siaga: 654321", purpose="otp",
                    adapter="dev", status="sent", created_at=now - timedelta(days=2),
                ),
            ]
        )  # fmt: skip
    # The resident's registration session ended long ago (a new phone): its device details are past 90 days.
    old_session = await api.resident(name="Dewi")
    await set_clock(
        api,
        AuthSession,
        AuthSession.resident_id == uuid.UUID(old_session.id),
        revoked_at=now - timedelta(days=100),
    )
    await set_clock(api, OneTimeCode, OneTimeCode.phone == old_session.phone, created_at=now - timedelta(days=100))

    async def trail_points(alert_id: str) -> int:
        return await _count(api, AlertLocation, AlertLocation.alert_id == uuid.UUID(alert_id))

    before = {a: await trail_points(a) for a in (ancient, last_month, last_week, active["id"])}
    assert all(before.values())

    # A dry run counts and changes nothing.
    preview = await retention.preview(
        api.runtime.sessions, periods=retention.Periods.from_settings(api.runtime.settings)
    )
    assert preview[retention.Kind.RESIDENT_TRAILS] >= before[ancient] + before[last_month]
    assert preview[retention.Kind.AUDIT_RECORDS] >= 1
    assert {a: await trail_points(a) for a in before} == before
    assert await _count(api, AuditRecord, AuditRecord.action == retention.PURGE_ACTION) == 0

    counts = await api.runtime.purge()

    # Gone: trails of alerts closed over 30 days ago, and the officers' positions with them; positions off any
    # alert past 24 hours; the alert closed over a year ago keeps no words or exact place; audit records past two
    # years; old SMS words and numbers; old sessions' device details and codes; ended counting windows.
    assert await trail_points(ancient) == await trail_points(last_month) == 0
    assert await trail_points(last_week) == before[last_week]
    assert await trail_points(active["id"]) == before[active["id"]]
    async with api.runtime.read_sessions() as session:
        positions = (await session.execute(select(PositionRecord.alert_id, PositionRecord.recorded_at))).all()
        assert sorted(str(p.alert_id) for p in positions) == sorted(["None", last_week])
        old = await session.get(Alert, uuid.UUID(ancient))
        recent = await session.get(Alert, uuid.UUID(last_month))
        assert old is not None
        assert recent is not None
        assert (old.description, old.accuracy_m, old.battery) == ("", None, None)
        assert old.details_removed_at is not None
        assert (round(old.lat, 2), round(old.lon, 2)) == (old.lat, old.lon)
        # What the reports count stays.
        assert (old.category, old.state, old.outcome, old.jurisdiction_id) == (
            recent.category,
            "resolved",
            "genuine",
            recent.jurisdiction_id,
        )
        assert recent.description == "Rumah saya di Jl. Dago 12, tolong"
        assert recent.details_removed_at is None
        # The resident's words in the chat go with the rest of their words.
        chat = select(AlertEvent.alert_id, AlertEvent.data).where(AlertEvent.kind == "resident_replied")
        replies = dict((await session.execute(chat)).all())
        assert replies[old.id]["text"] == ""
        assert replies[recent.id]["text"] == "Pintu belakang, lantai 2"
        actions = set((await session.scalars(select(AuditRecord.action))).all())
        assert "old.thing" not in actions
        assert "recent.thing" in actions
        bodies = dict((await session.execute(select(OutboundMessage.body, OutboundMessage.recipient))).all())
        assert "Kode Siaga: 123456" not in bodies
        assert bodies["Kode Siaga: 654321"] == "+6281200000002"
        ended = await session.scalar(select(AuthSession).where(AuthSession.resident_id == uuid.UUID(old_session.id)))
        assert ended is not None
        assert (ended.client_ip, ended.user_agent) == ("", "")
        assert await session.scalar(select(func.count()).where(OneTimeCode.phone == old_session.phone)) == 0
        logins = set((await session.scalars(select(LoginAttempts.key))).all())
        assert "user:old" not in logins
        assert "user:now" in logins
        assert await session.scalar(select(func.count()).select_from(DenialWindow)) == 0

    # Audited, with the count per kind.
    records = await _audit(api, retention.PURGE_ACTION)
    assert len(records) == 1
    assert records[0].detail["counts"] == counts
    assert counts[retention.Kind.ALERT_DETAILS] == 1
    assert counts[retention.Kind.AUDIT_RECORDS] == 1

    # Nothing left to purge: nothing removed, and no empty record.
    again = await api.runtime.purge()
    assert not any(again.values())
    assert len(await _audit(api, retention.PURGE_ACTION)) == 1


async def _audit(api: Api, action: str) -> list[AuditRecord]:
    async with api.runtime.read_sessions() as session:
        query = select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id)
        return list((await session.scalars(query)).all())  # oldest first: [-1] is the latest


async def test_a_resident_deletes_their_account_and_their_alerts_still_count(api: Api) -> None:
    admin = await api.staff(Role.ADMIN)
    operator = await api.staff(Role.OPERATOR)
    officer = await _on_duty(api, await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-7"))
    siti = await api.resident(name="Siti Nurhaliza")
    profile = {
        "nik": NIK,
        "address": "Jl. Dago 12",
        "medical_notes": "asma",
        "emergency_contacts": [{"name": "Ibu", "phone": "081299990001", "relation": "ibu"}],
    }
    answer = await api.http.patch("/api/v1/residents/me", json=profile, headers=siti.headers)
    assert answer.status_code == 200, answer.text
    quick = Response(10, 20, 30, 40)
    first = await handled(api, siti, wib(8, 12), quick, "genuine", operator=operator, officer=officer)
    second = await handled(api, siti, wib(9, 12), quick, "prank", operator=operator, officer=officer)
    await _trail_after(api, second)
    alerts_before = (await report(api, admin, "alerts"))["rows"]
    kecamatan_before = (await report(api, admin, "kecamatan"))["rows"]
    assert sum(r["alerts"] for r in alerts_before) == 2

    # An alert still active cannot be deleted away.
    active = await api.press(siti)
    refused = await api.http.delete("/api/v1/residents/me", headers=siti.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "resident.active_alert"
    assert await _count(api, Resident, Resident.id == uuid.UUID(siti.id), Resident.deleted_at.is_(None)) == 1
    cancelled = await api.post(siti, f"/alerts/{active['id']}/cancel", {"pin": "1234"})
    assert cancelled.status_code == 200, cancelled.text

    deleted = await api.http.delete("/api/v1/residents/me", headers=siti.headers)
    assert deleted.status_code == 204, deleted.text

    # Gone: the session, the profile, the contacts, the words, the trail, the SMS, the name on the timeline.
    assert (await api.http.get("/api/v1/residents/me", headers=siti.headers)).status_code == 401
    resident_id = uuid.UUID(siti.id)
    async with api.runtime.read_sessions() as session:
        row = await session.get(Resident, resident_id)
        assert row is not None
        assert row.deleted_at is not None
        assert (row.name, row.nik, row.address, row.medical_notes, row.cancel_pin_hash) == (None,) * 5
        assert siti.phone not in row.phone
        assert await session.scalar(select(func.count()).where(EmergencyContact.resident_id == resident_id)) == 0
        assert await session.scalar(select(func.count()).where(ContactConsent.resident_id == resident_id)) == 0
        assert await session.scalar(select(func.count()).where(AuthSession.resident_id == resident_id)) == 0
        alerts = (await session.scalars(select(Alert).where(Alert.resident_id == resident_id))).all()
        assert len(alerts) == 3
        assert all(a.details_removed_at is not None for a in alerts)
        assert {a.description for a in alerts} == {""}
        ids = [a.id for a in alerts]
        assert await session.scalar(select(func.count()).where(AlertLocation.alert_id.in_(ids))) == 0
        names = (await session.scalars(select(AlertEvent.actor_name).where(AlertEvent.alert_id.in_(ids)))).all()
        assert "Siti Nurhaliza" not in names
        texts = (await session.execute(select(OutboundMessage.recipient, OutboundMessage.body))).all()
        assert not [
            t for t in texts if siti.phone in t.recipient or "Siti" in t.body or "+6281299990001" in t.recipient
        ]
        audit_names = (await session.scalars(select(AuditRecord.actor_name))).all()
        assert "Siti Nurhaliza" not in audit_names
        outcomes = sorted((a.outcome or "", a.category) for a in alerts)
        assert outcomes == [("", "kriminalitas"), ("genuine", "kriminalitas"), ("prank", "kriminalitas")]
    [record] = await _audit(api, "resident.delete")
    assert record.target_id == siti.id
    assert record.detail["alerts_kept_anonymised"] == 3

    # Stays: the reports count the same alerts in the same kecamatan.
    assert (await report(api, admin, "alerts"))["rows"] == alerts_before
    assert (await report(api, admin, "kecamatan"))["rows"] == kecamatan_before
    assert {first, second} <= {str(i) for i in ids}

    # The number is free again: registering with it starts a new, empty account.
    again = await api.http.post("/api/v1/residents/code", json={"phone": siti.phone})
    assert again.status_code == 202, again.text
    verified = await api.http.post(
        "/api/v1/residents/verify", json={"phone": siti.phone, "code": api.last_code(siti.phone)}
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["resident_id"] != siti.id


async def _trail_after(api: Api, alert_id: str) -> None:
    """A trail point on a closed alert, as one sent just before it closed."""
    async with api.runtime.unit_of_work() as session:
        session.add(AlertLocation(alert_id=uuid.UUID(alert_id), lat=COBLONG[0], lon=COBLONG[1], recorded_at=utcnow()))


async def test_staff_delete_an_account_on_request_from_the_command_line(api: Api) -> None:
    """``siaga resident delete``: the same deletion, for a resident who asked in person; refused on an active alert."""
    from typer.testing import CliRunner

    from siaga.cli import app

    resident = await api.resident(name="Budi Santoso")
    active = await api.press(resident)
    env = {"SIAGA_DEV_MODE": "1", "SIAGA_DATABASE_URL": api.runtime.settings.database_url}
    runner = CliRunner()
    refused = await _invoke(runner, app, ["resident", "delete", resident.phone], env)
    assert refused.exit_code == 1, refused.output
    assert "resident.active_alert" in refused.output, refused.output
    cancelled = await api.post(resident, f"/alerts/{active['id']}/cancel", {"pin": "1234"})
    assert cancelled.status_code == 200, cancelled.text
    done = await _invoke(runner, app, ["resident", "delete", resident.phone], env)
    assert done.exit_code == 0, done.output
    assert "1 alert(s) kept anonymised" in done.output
    async with api.runtime.read_sessions() as session:
        row = await session.get(Resident, uuid.UUID(resident.id))
        assert row is not None
        assert row.deleted_at is not None
        assert row.name is None
    [record] = await _audit(api, "resident.delete")
    assert record.actor_id == "cli"
    assert record.detail["by"] == "staff on request"


async def _invoke(runner: Any, app: Any, args: list[str], env: dict[str, str]) -> Any:
    import asyncio

    return await asyncio.to_thread(runner.invoke, app, args, env=env)


async def test_a_partner_centre_keeps_its_copy_and_siaga_forgets_the_callers_details_with_the_alerts(
    api: Api,
) -> None:
    """An alert handed over to a 112 centre: once the alert's details are past their period, the EIDO Siaga kept of
    the handover loses the caller's name and number with them; one still waiting for its partner keeps them."""
    from siaga.audit.actor import ActorContext
    from siaga.partners import delivery
    from siaga.partners import service as partners
    from siaga.partners.models import Handover
    from siaga.partners.schemas import PartnerCreate

    operator = await api.staff(Role.OPERATOR)
    officer = await _on_duty(api, await api.staff(Role.OFFICER, "POLSEK-COBLONG", unit_callsign="COBLONG-9"))
    resident = await api.resident(name="Rina Wulandari")
    delivered = await _closed_alert(api, resident, operator, officer, days_ago=400)
    waiting = await _closed_alert(api, resident, operator, officer, days_ago=400)
    copy = {"personComponent": [{"ncPersonComponent": {"PersonName": {"PersonFullName": "Rina Wulandari"}}}]}
    async with api.runtime.unit_of_work() as session:
        partner = await partners.create_partner(
            session,
            settings=api.runtime.settings,
            body=PartnerCreate(name="bandung-112", url="http://127.0.0.1:9/eido"),
            by=ActorContext.command_line("test"),
        )
        for alert_id, status in ((delivered, "acknowledged"), (waiting, "pending")):
            session.add(
                Handover(
                    alert_id=uuid.UUID(alert_id), partner_id=partner.id, message_id=f"msg_{alert_id}", eido=copy,
                    status=status, requested_by="Operator", attempts=1,
                )
            )  # fmt: skip

    async with api.runtime.unit_of_work() as session:
        await retention.purge(session, periods=retention.Periods.from_settings(api.runtime.settings))

    async with api.runtime.read_sessions() as session:
        kept = {row.alert_id: row.eido for row in await session.execute(select(Handover.alert_id, Handover.eido))}
    assert kept[uuid.UUID(delivered)] == {}
    assert kept[uuid.UUID(waiting)] == copy

    # The one still waiting is delivered at last: settled, it loses its copy as the others did.
    async with api.runtime.unit_of_work() as session:
        handover_id = await session.scalar(select(Handover.id).where(Handover.alert_id == uuid.UUID(waiting)))
        assert handover_id is not None
        lease = utcnow()  # claimed, as the sender claims a handover before its try
        await session.execute(update(Handover).where(Handover.id == handover_id).values(next_attempt_at=lease))
        await delivery._record(session, handover_id, lease, 202, {}, "", settings=api.runtime.settings)
    async with api.runtime.read_sessions() as session:
        late = await session.scalar(select(Handover).where(Handover.alert_id == uuid.UUID(waiting)))
    assert late is not None
    assert (late.status, late.eido) == ("acknowledged", {})


async def test_siaga_purge_counts_with_dry_run_and_removes_without(api: Api) -> None:
    from typer.testing import CliRunner

    from siaga.cli import app

    async with api.runtime.unit_of_work() as session:
        session.add(
            AuditRecord(actor_kind="system", actor_id="x", action="old.thing", at=utcnow() - timedelta(days=800))
        )
    env = {"SIAGA_DEV_MODE": "1", "SIAGA_DATABASE_URL": api.runtime.settings.database_url}
    runner = CliRunner()
    counted = await _invoke(runner, app, ["purge", "--dry-run"], env)
    assert counted.exit_code == 0, counted.output
    assert "would remove (dry run):" in counted.output
    assert "audit_records      1" in counted.output
    assert await _count(api, AuditRecord, AuditRecord.action == "old.thing") == 1

    done = await _invoke(runner, app, ["purge"], env)
    assert done.exit_code == 0, done.output
    assert "audit_records      1" in done.output
    assert await _count(api, AuditRecord, AuditRecord.action == "old.thing") == 0
    [record] = await _audit(api, retention.PURGE_ACTION)
    assert record.actor_id == "cli"
    assert record.detail["counts"][retention.Kind.AUDIT_RECORDS] == 1


async def test_every_server_purges_on_its_own_soon_after_it_starts(
    db: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not an hour (the interval) after it starts: a server restarted more often than that would never purge."""
    monkeypatch.setattr(runtime_module, "FIRST_PURGE_S", 0.2)
    async with db.unit_of_work() as session:
        session.add(
            AuditRecord(actor_kind="system", actor_id="x", action="old.thing", at=utcnow() - timedelta(days=800))
        )
    server = Runtime.build(make_settings(db.settings.database_url))
    assert server.settings.retention_purge_interval_seconds == 3600
    await server.start()
    try:

        async def purged() -> bool:
            async with db.read_sessions() as session:
                old = await session.scalar(select(func.count()).where(AuditRecord.action == "old.thing"))
                records = await session.scalar(select(func.count()).where(AuditRecord.action == "retention.purge"))
            return old == 0 and records == 1

        await eventually(purged, what="the server's own purge")
    finally:
        await server.stop()
        await server.close()


async def test_panic_buttons_messages_and_cleared_troubles_go_after_their_period(api: Api) -> None:
    """Every payload a device sent is logged, and a cleared trouble keeps its timeline: past
    SIAGA_RETENTION_DEVICE_MESSAGES_DAYS both go (audited, counted as device_messages), while recent messages, open
    troubles and the alerts the messages raised stay."""
    admin = await api.staff(Role.ADMIN)
    async with api.runtime.read_sessions() as session:
        polsek = await agencies.agency_by_code(session, "POLSEK-COBLONG")
    body = {"name": "Toko Uji", "lat": COBLONG[0], "lon": COBLONG[1], "agency_id": polsek.id}
    site = await api.post(admin, "/devices/sites", body)
    assert site.status_code == 201, site.text
    button = await api.post(admin, "/devices", {"site_id": site.json()["id"], "name": f"btn-{uuid.uuid4().hex[:8]}"})
    assert button.status_code == 201, button.text
    device_id = uuid.UUID(button.json()["id"])
    topic = f"siaga/devices/{button.json()['name']}/event"
    for event_id, kind in [
        ("old-panic", "panic"),
        ("old-test", "test"),
        ("tamper", "tamper"),
        ("closed", "tamper_restored"),
    ]:
        await devices.receive(api.runtime, topic, json.dumps({"id": event_id, "type": kind}).encode())
    await devices.receive(api.runtime, topic, b"\xff not a payload")  # refused, and logged
    long_ago = utcnow() - timedelta(days=api.runtime.settings.retention_device_messages_days + 1)
    async with api.runtime.unit_of_work() as session:
        await session.execute(
            update(DeviceMessage).where(DeviceMessage.device_id == device_id).values(received_at=long_ago)
        )
        await session.execute(
            update(Trouble).where(Trouble.cleared_at.is_not(None)).values(opened_at=long_ago, cleared_at=long_ago)
        )
    await devices.receive(api.runtime, topic, json.dumps({"id": "battery", "type": "low_battery"}).encode())
    await devices.receive(api.runtime, topic, json.dumps({"id": "new-test", "type": "test"}).encode())
    await set_clock(api, Trouble, Trouble.cleared_at.is_(None), opened_at=long_ago)
    async with api.runtime.read_sessions() as session:
        alert_id = await session.scalar(select(DeviceMessage.alert_id).where(DeviceMessage.event_id == "old-panic"))
        tamper = await session.scalar(select(Trouble.id).where(Trouble.kind == "tamper"))
    assert alert_id is not None
    assert tamper is not None

    counts = await api.runtime.purge()

    async with api.runtime.read_sessions() as session:
        kept = set((await session.scalars(select(DeviceMessage.event_id))).all())
        assert kept == {"battery", "new-test"}
        troubles = (await session.execute(select(Trouble.kind, Trouble.cleared_at))).all()
        assert troubles == [("low_battery", None)]  # open, however old
        assert await session.scalar(select(func.count()).where(TroubleEvent.trouble_id == tamper)) == 0
        assert await session.get(Alert, alert_id) is not None
    assert counts[retention.Kind.DEVICE_MESSAGES] == 5 + 1 + 2  # five messages; the trouble, opened and cleared
    records = await _audit(api, retention.PURGE_ACTION)
    assert records[-1].detail["counts"][retention.Kind.DEVICE_MESSAGES] == 8
    assert (await api.runtime.purge())[retention.Kind.DEVICE_MESSAGES] == 0
