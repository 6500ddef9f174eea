"""Escalation pushes from the console (issue 12): a supervisor turns on notifications in the console, the browser's
subscription reaches the server for that supervisor, and a tapped notification (/console#alert=<id>) opens that
alert. The browser's push service cannot be reached from here, so the page's Push API is a stand-in that hands out
a subscription with real keys; the rest is the real console against a real server."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import expect
from pydantic import SecretStr
from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.notify.models import PushSubscriptionRecord
from siaga.notify.push import generate_vapid_keys
from tests.browser.conftest import Site
from tests.browser.test_console import DEADLINE_MS, Console
from tests.conftest import PASSWORD
from tests.integration.test_dispatch import browser_keys

ENDPOINT = "https://push.example/send/console-supervisor"

PUSH_API = """
((subscription) => {
  const registration = {
    pushManager: {
      getSubscription: async () => null,
      subscribe: async () => ({ ...subscription, toJSON: () => subscription }),
    },
  };
  Object.defineProperty(navigator, "serviceWorker", {
    configurable: true,
    value: {
      register: async () => registration,
      ready: Promise.resolve(registration),
      addEventListener() {},
      removeEventListener() {},
    },
  });
  window.PushManager = window.PushManager || function PushManager() {};
  let permission = "default";
  Object.defineProperty(Notification, "permission", { configurable: true, get: () => permission });
  Notification.requestPermission = async () => (permission = "granted");
})(%s);
"""


async def test_a_supervisor_turns_on_escalation_pushes_in_the_console_and_a_tapped_one_opens_its_alert(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = site.api.runtime
    private, _ = generate_vapid_keys()
    monkeypatch.setattr(
        runtime, "settings", runtime.settings.model_copy(update={"vapid_private_key": SecretStr(private)})
    )
    supervisor = await site.api.staff(Role.SUPERVISOR, name="Supervisor Rina")
    context = await site.context()
    await context.add_init_script(PUSH_API % json.dumps({"endpoint": ENDPOINT, "keys": browser_keys()}))
    page = await context.new_page()
    console = Console(page)
    page.on("pageerror", lambda error: console.errors.append(f"{error}\n{error.stack}"))
    page.on("console", lambda message: console.errors.append(message.text) if message.type == "error" else None)
    await page.goto("/console")
    await page.fill("#login-username", supervisor.extra["username"])
    await page.fill("#login-password", PASSWORD)
    await page.click(".login-submit")
    await expect(page.locator('[data-stream="open"]')).to_be_visible(timeout=DEADLINE_MS)

    await page.click('[data-action="enable-push"]')
    await expect(page.locator('[data-push="on"]')).to_be_visible(timeout=DEADLINE_MS)
    async with runtime.read_sessions() as session:
        record = await session.scalar(select(PushSubscriptionRecord).where(PushSubscriptionRecord.endpoint == ENDPOINT))
    assert record is not None
    assert record.staff_id == int(supervisor.id)

    alert = await site.api.press(await site.api.resident(name="Budi Santoso"), location=None)
    await page.goto(f"/console#alert={alert['id']}")
    await expect(page.locator(f'aside.panel[data-alert-id="{alert["id"]}"]')).to_be_visible(timeout=DEADLINE_MS)
    await console.close()
