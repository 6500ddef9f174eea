"""The chat between the command centre and a resident, in two browsers: the command centre's word reaches the phone,
the resident answers it (typed without signal, sent once the phone is back online, written once), the console
shows the answer at once (in the banner as a resident's reply, on the alert's timeline as from the resident), and
the operator answers that resident from the alert's panel."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.async_api import expect
from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.alerts.models import Alert, AlertEvent
from tests.browser.conftest import Site, eventually, screenshot
from tests.browser.test_console import open_console, row
from tests.browser.test_resident import alerts_of, headline, open_app, press_now, signed_in_phone

DEADLINE_MS = 30_000
REPLY = "Saya bersembunyi di kamar mandi lantai 2"
ANSWER = "Tetap di kamar mandi, petugas segera tiba"


async def replies(site: Site, alert_id: str) -> list[str]:
    async with site.api.runtime.read_sessions() as session:
        rows = await session.scalars(
            select(AlertEvent.data).where(
                AlertEvent.alert_id == uuid.UUID(alert_id), AlertEvent.kind == "resident_replied"
            )
        )
        return [str(data["text"]) for data in rows.all()]


async def test_a_resident_answers_the_command_centre_offline_and_the_console_shows_it_once(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    resident = await site.api.resident(name="Sari Warga")
    console = await open_console(site, operator)
    desk = console.page

    context = await signed_in_phone(site, resident)
    phone = await open_app(context)
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    await press_now(phone)
    await expect(headline(phone)).to_have_text("Diterima server", timeout=DEADLINE_MS)

    async def pressed() -> list[dict[str, Any]]:
        return await alerts_of(site, operator, resident)

    [alert] = await eventually(pressed, what="the press to reach the server")
    alert_id = alert["id"]
    queued = row(desk, alert_id)
    await expect(queued).to_be_visible(timeout=DEADLINE_MS)
    await queued.click()
    await desk.click('[data-action="acknowledge"]')
    await expect(queued).to_have_attribute("data-state", "acknowledged", timeout=DEADLINE_MS)

    # The command centre writes to the residents of the kecamatan; the phone shows it in its chat.
    async with site.api.runtime.read_sessions() as session:
        area = await session.scalar(select(Alert.jurisdiction_id).where(Alert.id == uuid.UUID(alert_id)))
    sent = await site.api.post(operator, "/areas/message", {"jurisdiction_id": area, "text": "Di mana posisi Anda?"})
    assert sent.status_code == 200, sent.text
    chat = phone.locator("[data-chat]")
    await expect(chat.locator('[data-sender="centre"]')).to_contain_text("Di mana posisi Anda?", timeout=DEADLINE_MS)
    await expect(chat).to_contain_text("Pesan dari pusat komando")

    # The resident answers without signal: the reply waits on the phone, and nothing reaches the server.
    await context.set_offline(True)
    await phone.get_by_label("Balas ke pusat komando").fill(REPLY)
    await phone.click('[data-action="send-reply"]')
    waiting = chat.locator("[data-reply-waiting]")
    await expect(waiting).to_contain_text(REPLY, timeout=DEADLINE_MS)
    await expect(waiting).to_contain_text("Menunggu sinyal", timeout=DEADLINE_MS)
    assert await replies(site, alert_id) == []

    # Back online, the outbox sends it: it joins the chat as the resident's own, and the console shows it.
    await context.set_offline(False)
    mine = chat.locator('[data-sender="resident"]')
    await expect(mine).to_contain_text(REPLY, timeout=DEADLINE_MS)
    await expect(mine).to_contain_text("Anda")
    await expect(waiting).to_have_count(0, timeout=DEADLINE_MS)
    await screenshot(phone, "resident-chat")

    banner = desk.locator('[data-attention="reply"]')
    await expect(banner).to_contain_text("Balasan warga", timeout=DEADLINE_MS)
    await expect(banner).to_contain_text(REPLY)
    await banner.locator(".attention-open").click()
    said = desk.locator(f'.panel[data-alert-id="{alert_id}"] .timeline [data-kind="resident_replied"]')
    await expect(said).to_contain_text("Pesan dari warga", timeout=DEADLINE_MS)
    await expect(said).to_contain_text(REPLY)
    await screenshot(desk, "console-resident-reply")
    await banner.locator(".attention-seen").click()
    await expect(banner).to_have_count(0)

    # The operator answers this resident from the alert's panel; the phone shows it after the reply.
    await desk.click('[data-action="message"]')
    await desk.fill("#message-text", ANSWER)
    await desk.locator('[data-form="message"] button[type="submit"]').click()
    await expect(desk.locator(".timeline [data-kind='resident_messaged']").first).to_contain_text(ANSWER)
    lines = chat.locator(".chat-line")
    await expect(lines).to_have_count(3, timeout=DEADLINE_MS)
    await expect(lines.nth(2)).to_have_attribute("data-sender", "centre")
    await expect(lines.nth(2)).to_contain_text(ANSWER)

    assert await replies(site, alert_id) == [REPLY]  # sent again after lost signal, written once
    await context.close()
    await console.close()
    assert errors == []
