"""The resident app's SOS by SMS on a phone whose data fails (issue 16): a few seconds after a press the outbox could
not deliver, the status screen offers "Kirim lewat SMS", which opens the SMS composer on the command centre's number
with the signed message for that same alert; the SMS raises the alert, and the press the outbox delivers once data
is back is the same alert."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import expect

from siaga.accounts.domain import Role
from siaga.runtime import Runtime
from siaga.sms import sos_message
from tests.browser.conftest import Site, eventually, screenshot
from tests.browser.test_resident import alerts_of, headline, open_app, outbox_ids, press_now
from tests.e2e.test_sms_app_sos import text_siaga

CENTRE = "+62 811-2000-112"
# Clicking a link to sms: would hand it to the phone's SMS app: the page notes where it was sent instead.
CATCH_SMS_LINKS = """
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest('a[href^="sms:"]');
  if (!link) return;
  event.preventDefault();
  window.__smsOpened = link.href;
}, true);
"""


async def test_without_data_the_press_is_offered_by_sms_and_both_paths_make_one_alert(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime: Runtime = site.api.runtime
    monkeypatch.setattr(runtime, "settings", runtime.settings.model_copy(update={"sms_sos_number": CENTRE}))
    resident = await site.api.resident()
    operator = await site.api.staff(Role.OPERATOR)
    context = await site.phone()
    # The phone on which the resident signed in: its session and the SMS key it was given then.
    session = {"token": resident.token, "resident_id": resident.id, "phone": resident.phone}
    key = {"resident_id": resident.id, "key": resident.extra["sms_key"]}
    await context.add_init_script(
        f"localStorage.setItem('siaga.resident.session', {json.dumps(json.dumps(session))});"
        f"localStorage.setItem('siaga.resident.smskey', {json.dumps(json.dumps(key))});" + CATCH_SMS_LINKS
    )
    page = await open_app(context)
    # Online, the app learns the command centre's number (for when there is no data).
    await eventually(
        lambda: page.evaluate("localStorage.getItem('siaga.resident.smsnumber')"), what="the centre's SMS number"
    )

    await context.set_offline(True)
    await press_now(page)
    await expect(headline(page)).to_have_text("Mengirim…")
    offer = page.get_by_role("link", name="Kirim lewat SMS")
    await expect(offer).to_be_visible()  # a few seconds on, data has not delivered it
    await screenshot(page, "resident-sms-offer")
    await offer.click()

    opened = await eventually(lambda: page.evaluate("window.__smsOpened || null"), what="the SMS composer to open")
    link = urlsplit(opened)
    assert (link.scheme, link.path) == ("sms", "+628112000112")
    assert link.query.startswith("&body=")  # the form Android and iOS 8 and later both read
    [text] = parse_qs(link.query)["body"]
    [stored] = await outbox_ids(page)
    signed = sos_message.read(text)
    assert signed.sos.alert_id == uuid.UUID(stored)  # the same alert as the press the outbox keeps
    assert signed.verifies(resident.extra["sms_key"].encode("ascii"))
    assert len(text) <= sos_message.MAX_LENGTH

    # The SMS reaches the command centre first: the alert is raised from it.
    await text_siaga(runtime, resident.phone, text)
    alerts = await alerts_of(site, operator, resident)
    assert [(a["id"], a["channel"]) for a in alerts] == [(stored, "sms")]

    # Data comes back: the outbox delivers the same press, answered as the alert already stored.
    await context.set_offline(False)
    await expect(headline(page)).to_have_text("Diterima server")
    await expect(page.get_by_role("link", name="Kirim lewat SMS")).to_have_count(0)
    assert [a["id"] for a in await alerts_of(site, operator, resident)] == [stored]
    await context.close()


async def test_a_deployment_without_an_sms_number_offers_no_sms(site: Site) -> None:
    resident = await site.api.resident()
    context = await site.phone()
    session = {"token": resident.token, "resident_id": resident.id, "phone": resident.phone}
    await context.add_init_script(f"localStorage.setItem('siaga.resident.session', {json.dumps(json.dumps(session))})")
    page = await open_app(context)

    await context.set_offline(True)
    await press_now(page)
    # The fourth attempt comes about 7 s after the press (1 s, 2 s, 4 s apart): past the few seconds of the offer.
    await expect(page.get_by_text(re.compile(r"Percobaan ke-([4-9]|\d\d)"))).to_be_visible()
    await expect(page.get_by_role("link", name="Kirim lewat SMS")).to_have_count(0)
    await context.close()
