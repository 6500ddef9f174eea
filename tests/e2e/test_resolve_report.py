"""Resolving an alert needs a short report of what happened (issue 12), against a running server: a blank,
whitespace-only or two-character report is a 422 alert.report_required that leaves the alert open, a mass close
with too short a note is refused in full, and an officer who resolves by SMS with "4 <code>" alone is not refused:
the report says it was resolved by SMS."""

from __future__ import annotations

import pytest

from siaga.accounts.domain import Role
from siaga.sms.officers import SMS_REPORT
from tests.conftest import Api
from tests.e2e.test_officer_sms import (
    COBLONG,
    Live,
    alert_state,
    live,
    offer_code,
    one_on_duty,
    reply,
)

__all__ = ["live"]  # the fixture, used by name


@pytest.mark.parametrize("report", [None, "", "   \n ", "ok"], ids=["missing", "empty", "whitespace", "too-short"])
async def test_a_resolve_without_a_report_is_refused_and_the_alert_stays_open(api: Api, report: str | None) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    alert = await api.press(await api.resident())
    assert (await api.post(operator, f"/alerts/{alert['id']}/acknowledge")).status_code == 200
    body = {"outcome": "false_alarm"} | ({} if report is None else {"report": report})
    refused = await api.post(operator, f"/alerts/{alert['id']}/resolve", body)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["details"]) == ("alert.report_required", {"field": "report", "min": 3})
    assert (await alert_state(api, operator, alert["id"]))["state"] == "acknowledged"
    timeline = (await api.get(operator, f"/alerts/{alert['id']}/timeline")).json()
    assert "resolved" not in [event["kind"] for event in timeline]

    done = await api.post(operator, f"/alerts/{alert['id']}/resolve", {**body, "report": "  Tidak sengaja, aman  "})
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["report"]) == ("resolved", "Tidak sengaja, aman")


async def test_a_mass_close_with_too_short_a_note_is_refused_in_full(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    ids = [(await api.press(await api.resident()))["id"] for _ in range(2)]
    for alert_id in ids:
        assert (await api.post(operator, f"/alerts/{alert_id}/acknowledge")).status_code == 200
    body = {"action": "close", "alert_ids": ids, "note": " ok ", "outcome": "genuine"}
    refused = await api.post(operator, "/alerts/bulk", body)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "bulk.note_required")
    assert [(await alert_state(api, operator, i))["state"] for i in ids] == ["acknowledged"] * 2
    closed = await api.post(operator, "/alerts/bulk", {**body, "note": "Satu kejadian, sudah ditangani"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["applied"] == 2


async def test_an_officer_who_resolves_by_sms_without_words_is_not_refused(live: Live) -> None:
    api = live.api
    operator, asep = await one_on_duty(live, "COBLONG-SMS-R")
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])
    code = await offer_code(api, asep)
    assert (await reply(api, asep.phone, f"1 {code}")).startswith(f"SIAGA {code}: Anda ditugaskan")
    assert (await reply(api, asep.phone, f"3 {code}")).startswith(f"SIAGA {code}: tercatat tiba di lokasi")
    assert await reply(api, asep.phone, f"4 {code}") == f"SIAGA {code}: tercatat selesai. Terima kasih"
    shown = await alert_state(api, operator, alert["id"])
    assert (shown["state"], shown["outcome"], shown["report"]) == ("resolved", "genuine", SMS_REPORT)
