"""An operator downloads the alert in the console's detail as CAP 1.2 and as EIDO, with the console's own session:
the CAP file is valid against the OASIS schema and names nobody until the operator ticks "Sertakan data pribadi",
and the EIDO file is valid against NENA's schema."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import xmlschema
from playwright.async_api import Page, expect
from sqlalchemy import select

from siaga.accounts.domain import Role
from siaga.audit.models import AuditRecord
from tests.browser.conftest import Site
from tests.browser.test_console import COBLONG, DEADLINE_MS, open_console, row
from tests.conftest import CAP_SCHEMA
from tests.unit.test_eido import assert_valid_eido


async def _downloaded(page: Page, button: str) -> tuple[str, str]:
    """Click the panel's download button and return the file's suggested name and text."""
    async with page.expect_download(timeout=DEADLINE_MS) as waiting:
        await page.locator(f'[data-action="{button}"]').click()
    download = await waiting.value
    assert await download.failure() is None
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    return download.suggested_filename, text


async def _cap_exports(site: Site, alert_id: str) -> list[AuditRecord]:
    async with site.api.runtime.read_sessions() as session:
        found = await session.scalars(
            select(AuditRecord).where(AuditRecord.action == "alert.read_cap", AuditRecord.target_id == alert_id)
        )
        return list(found.all())


async def test_an_operator_downloads_the_alert_as_cap_and_eido(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, name="Operator Ekspor")
    resident = await site.api.resident(name="Siti Rahma Ekspor")
    alert: dict[str, Any] = await site.api.press(resident, lat=COBLONG[0], lon=COBLONG[1], description="Tolong")
    console = await open_console(site, operator)
    page = console.page
    await row(page, alert["id"]).click()
    exports = page.locator("section.exports")
    await expect(exports.get_by_role("button", name="Unduh CAP")).to_be_visible(timeout=DEADLINE_MS)
    schema = xmlschema.XMLSchema(str(CAP_SCHEMA))

    name, cap = await _downloaded(page, "download-cap")
    assert name == f"siaga-{alert['id']}.cap.xml"
    schema.validate(cap)
    assert alert["id"] in cap
    assert "Siti Rahma Ekspor" not in cap
    assert resident.phone not in cap

    await exports.get_by_label("Sertakan data pribadi penelepon di CAP").check()
    _, personal = await _downloaded(page, "download-cap")
    schema.validate(personal)
    assert "Siti Rahma Ekspor" in personal

    name, eido = await _downloaded(page, "download-eido")
    assert name == f"siaga-{alert['id']}.eido.json"
    document = json.loads(eido)
    assert_valid_eido(document)
    assert document["incidentComponent"]["internalIncidentId"] == alert["id"]

    records = await _cap_exports(site, alert["id"])
    assert sorted(r.detail["personal"] for r in records) == [False, True]
    assert {r.actor_name for r in records} == {"Operator Ekspor"}
    assert console.errors == []
