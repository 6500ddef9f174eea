"""Refused requests leave a trace: every 403, and every 404 that hides another resident's or another agency's alert,
is an ``outcome=denied`` audit record saying who asked, what and why it was refused (never what was refused), and a
flood of refusals leaves a bounded number of records that still count every one of them."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from siaga.accounts.domain import Role
from siaga.audit.service import DENIED_RECORDS_PER_MINUTE
from tests.conftest import Api, Person

API = "/api/v1"


async def denied(api: Api, reader: Person, actor_id: str) -> list[dict[str, Any]]:
    """What ``reader`` finds in the audit API under outcome=denied for one actor."""
    answer = await api.get(reader, "/audit", outcome="denied", actor_id=actor_id, limit=1000)
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()
    assert all(r["outcome"] == "denied" for r in records), records
    return records


def refused_requests(records: list[dict[str, Any]]) -> int:
    """How many refused requests the records stand for: one each, and a summary its count."""
    return sum(r["detail"]["requests"] if r["action"] == "access.denied.more" else 1 for r in records)


async def test_a_resident_reading_another_residents_alert_leaves_a_denied_record(api: Api) -> None:
    owner = await api.resident(name="Siti Pemilik")
    intruder = await api.resident(name="Budi Penyusup")
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    alert = await api.press(owner)

    answer = await api.get(intruder, f"/alerts/{alert['id']}")
    ghost = await api.get(intruder, f"/alerts/{uuid.uuid4()}")
    assert answer.status_code == ghost.status_code == 404
    assert answer.json() == ghost.json(), "the refusal answers unlike a missing id"

    [record] = await denied(api, supervisor, intruder.id)  # the missing id is not a refusal: one record
    assert record["action"] == "access.denied"
    assert record["actor_kind"] == "resident"
    assert (record["target_type"], record["target_id"]) == ("alert", alert["id"])
    assert record["detail"]["method"] == "GET"
    assert record["detail"]["path"] == f"{API}/alerts/{alert['id']}"
    assert record["detail"]["code"] == "alert.not_found"
    assert "scope" in record["detail"]["reason"]
    written = json.dumps(record)
    assert "Siti" not in written, "the record names the resident whose alert was refused"
    assert "6.891" not in written, "the record holds the refused alert's position"


async def test_an_operator_reading_another_agencys_alert_leaves_a_denied_record(api: Api) -> None:
    resident = await api.resident(name="Siti Rahma")
    operator = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")  # the alert is in Coblong
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    alert = await api.press(resident)

    for path in (f"/alerts/{alert['id']}", f"/alerts/{alert['id']}/trail"):
        assert (await api.get(operator, path)).status_code == 404

    records = await denied(api, supervisor, f"staff:{operator.id}")
    assert sorted(r["detail"]["path"] for r in records) == [
        f"{API}/alerts/{alert['id']}",
        f"{API}/alerts/{alert['id']}/trail",
    ]
    assert {(r["actor_kind"], r["target_id"], r["detail"]["code"]) for r in records} == {
        ("operator", alert["id"], "alert.not_found")
    }
    assert "Siti" not in json.dumps(records)


async def test_an_officer_using_a_staff_endpoint_leaves_a_denied_record(api: Api) -> None:
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG")
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")

    answer = await api.get(officer, "/residents", q="0812")
    assert answer.status_code == 403, answer.text

    [record] = await denied(api, supervisor, f"staff:{officer.id}")
    assert record["actor_kind"] == "officer"
    assert record["detail"]["method"] == "GET"
    assert record["detail"]["path"] == f"{API}/residents"  # the search itself is not kept
    assert record["detail"]["code"] == "auth.role"
    assert "0812" not in json.dumps(record)


async def test_a_burst_of_refused_requests_leaves_a_bounded_number_of_records_that_count_them_all(api: Api) -> None:
    officer = await api.staff(Role.OFFICER, "POLSEK-COBLONG")
    supervisor = await api.staff(Role.SUPERVISOR, "BDG-CC")
    burst = 500

    answers = await asyncio.gather(*(api.http.get(f"{API}/audit", headers=officer.headers) for _ in range(burst)))
    assert {a.status_code for a in answers} == {403}

    records = await denied(api, supervisor, f"staff:{officer.id}")
    # Each minute: the first refusals one record each, the rest one summary; the burst may straddle two minutes.
    assert len(records) <= 2 * (DENIED_RECORDS_PER_MINUTE + 1), [r["action"] for r in records]
    assert refused_requests(records) == burst
    summaries = [r for r in records if r["action"] == "access.denied.more"]
    assert summaries, "no record counts the refusals beyond the limit"
    assert all(r["detail"]["path"] == f"{API}/audit" for r in summaries)

    # Another caller's refusals are counted on their own: the flood did not use up their records.
    other = await api.staff(Role.OFFICER, "POLSEK-COBLONG")
    assert (await api.get(other, "/audit")).status_code == 403
    assert [r["action"] for r in await denied(api, supervisor, f"staff:{other.id}")] == ["access.denied"]
