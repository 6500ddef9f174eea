"""The console's alert detail says whether the partner centre an alert was handed over to has it, live: "gagal,
dicoba lagi" while the 112 centre (a second Siaga, on its own port and database) is down, then "diterima HH:MM" once
it is up and has acknowledged it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, screenshot
from tests.browser.test_console import COBLONG, DEADLINE_MS, open_console, row
from tests.conftest import Api
from tests.e2e.test_handover import second_siaga, serving
from tests.servers import free_port


async def test_the_console_shows_the_partner_retrying_then_acknowledging_a_handover(site: Site, tmp_path: Path) -> None:
    b_port = free_port()
    runtime_b = await second_siaga(tmp_path, b_port, public_url=f"http://127.0.0.1:{b_port}")
    try:
        admin = await site.api.staff(Role.ADMIN)
        made = await site.api.post(
            admin,
            "/partners",
            {
                "name": "kota-112",
                "label": "Bandung Siaga 112",
                "url": f"http://127.0.0.1:{b_port}/api/v1/partners/eido",
            },
        )
        assert made.status_code == 201, made.text
        secrets = made.json()
        operator = await site.api.staff(Role.OPERATOR, name="Operator Sari")
        alert = await site.api.press(await site.api.resident(name="Siti Rahma"), lat=COBLONG[0], lon=COBLONG[1])
        console = await open_console(site, operator)
        page = console.page
        await row(page, alert["id"]).click()
        handed = await site.api.post(operator, f"/alerts/{alert['id']}/handover", {"partner": "kota-112"})
        assert handed.status_code == 201, handed.text

        shown = page.get_by_test_id("handover")
        await expect(shown).to_have_text("Diserahkan ke Bandung Siaga 112: gagal, dicoba lagi", timeout=DEADLINE_MS)
        async with serving(runtime_b, b_port) as b_url, httpx.AsyncClient(base_url=b_url) as http:
            b = Api(http=http, runtime=runtime_b)
            b_admin = await b.staff(Role.ADMIN)
            known = await b.post(
                b_admin,
                "/partners",
                {
                    "name": "siaga-a",
                    "url": f"{site.url}/api/v1/partners/eido",
                    "incoming_secret": secrets["outgoing_secret"],
                    "outgoing_secret": secrets["incoming_secret"],
                },
            )
            assert known.status_code == 201, known.text
            await expect(shown).to_have_text(
                re.compile(r"^Diserahkan ke Bandung Siaga 112: diterima \d\d[.:]\d\d$"), timeout=DEADLINE_MS
            )
            await expect(shown).to_have_attribute("data-status", "acknowledged")
            await expect(page.locator('.timeline [data-kind="handover"]').first).to_contain_text(
                "Serah terima ke mitra"
            )
            await screenshot(page, "console-handover-acknowledged")
    finally:
        await runtime_b.close()
    assert not console.errors, console.errors
    await console.close()
