"""Every SMS about an alert on the console's timeline (issue 16), in a real browser: the SOS texted in and the reply
sent, the number masked as the console shows numbers; the provider's receipt updates the reply's row, and a failure
shows on that row and as a loud row of its own."""

from __future__ import annotations

from playwright.async_api import expect
from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.accounts.identity import mask_phone
from siaga.accounts.models import Resident
from siaga.alerts.models import Alert
from siaga.notify.models import OutboundMessage
from siaga.sms import inbound, receipts
from tests.browser.conftest import ARTIFACTS, Site, screenshot
from tests.browser.test_console import DEADLINE_MS, eventually, open_console, row
from tests.residents import made_residents


async def test_the_console_shows_an_alert_s_sms_and_what_became_of_them(site: Site) -> None:
    runtime = site.api.runtime
    operator = await site.api.staff(Role.OPERATOR)
    console = await open_console(site, operator)
    page = console.page
    [person] = await made_residents(site.api, 1)

    handled = await inbound.receive(
        runtime, gateway="dev", gateway_id="console-sms-1", sender=person.phone, text="TOLONG di pasar Cicadas"
    )
    assert handled is not None
    assert handled.handler == "keyword.sos_keyword"
    async with runtime.read_sessions() as session:
        resident_id = await session.scalar(select(Resident.id).where(Resident.phone == person.phone))
        alert_id = str(await session.scalar(select(Alert.id).where(Alert.resident_id == resident_id)))

    async def reply_sent() -> bool:
        async with runtime.read_sessions() as session:
            status = await session.scalar(select(OutboundMessage.status).where(OutboundMessage.alert_id == alert_id))
        return status == "sent"

    await eventually(reply_sent, "the confirmation to be handed to the gateway")
    await row(page, alert_id).click()
    masked = mask_phone(person.phone)
    sms = page.locator('.timeline [data-kind="sms"]')
    came = sms.filter(has_text=f"masuk dari {masked}")
    went = sms.filter(has_text=f"keluar ke {masked}")
    await expect(came).to_contain_text("SOS · diterima", timeout=DEADLINE_MS)
    await expect(went).to_contain_text("balasan otomatis · diserahkan ke gateway", timeout=DEADLINE_MS)
    await expect(page.locator(".timeline")).not_to_contain_text(person.phone)  # only ever masked

    # The provider's receipt says it failed: the reply's own row says so (still one row per message), and a loud
    # row of its own flags the failure. (A failure after a delivery is ignored: tests/e2e/test_channel_bad_input.py.)
    async with runtime.read_sessions() as session:
        provider_id = await session.scalar(
            select(OutboundMessage.provider_id).where(OutboundMessage.alert_id == alert_id)
        )
    assert provider_id
    assert await receipts.delivery_report(
        runtime, adapter="dev", provider_id=provider_id, delivered=False, error="absent subscriber"
    )
    await expect(went).to_contain_text("gagal, dicoba lagi · absent subscriber", timeout=DEADLINE_MS)
    failed = page.locator('.timeline [data-kind="delivery_failed"]')
    await expect(failed).to_contain_text(f"sms {masked}, percobaan 1: absent subscriber")
    await expect(sms).to_have_count(2)
    timeline = page.locator(".panel-block", has=page.locator("#timeline-title"))
    await timeline.scroll_into_view_if_needed()
    await screenshot(page, "console-sms-timeline")
    await timeline.screenshot(path=str(ARTIFACTS / "console-sms-timeline-rows.png"))
    await console.close()
