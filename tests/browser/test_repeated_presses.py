"""A resident pressing again and again is one card on the console, marked with how many times they pressed at least
(the count reaches the consoles at 2, 5, 10, 20, ... presses: a thousand presses are a handful of messages)."""

from __future__ import annotations

from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_console import open_console
from tests.conftest import sos_body


async def test_a_resident_pressing_again_is_one_card_marked_with_the_count(site: Site) -> None:
    api = site.api
    resident = await api.resident(name="Warga Panik")
    operator = await api.staff(Role.OPERATOR)
    console = await open_console(site, operator)
    first = await api.press(resident)
    card = console.page.locator(f'.queue-row[data-alert-id="{first["id"]}"]')
    await expect(card).to_be_visible()
    for presses in range(2, 6):
        answer = await api.http.post("/api/v1/alerts", json=sos_body(), headers=resident.headers)
        assert answer.status_code == 200, answer.text
        if presses == 2:
            await expect(card).to_contain_text("DITEKAN BERULANG (2+)")
    await expect(card).to_contain_text("DITEKAN BERULANG (5+)")
    await expect(console.page.locator(".queue-row", has_text="Warga Panik")).to_have_count(1)
    await console.close()
