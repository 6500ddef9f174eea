"""What the API answers must not tell a stranger what exists, nor let them lock its owner out: whether a national ID
(NIK) is registered, whether a unit exists in an agency one cannot see, and a victim's code requests and guesses."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import httpx

from siaga.accounts.domain import Role
from siaga.runtime import Runtime
from tests.conftest import Api, Person
from tests.e2e.test_registration import CODE, VERIFY, _backdate, _client_at, _code_in, _codes, _sms_to
from tests.integration.test_dispatch import COBLONG, officer, unit

ME = "/api/v1/residents/me"


def a_nik() -> str:
    """A valid NIK (Coblong, born 12 March 1990) with a serial of its own."""
    return f"327301120390{random.randint(1, 9999):04d}"


async def moderation(api: Api, who: Person, resident: Person) -> list[dict[str, Any]]:
    answer = await api.get(who, f"/residents/{resident.id}/moderation")
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()
    return records


# --- a NIK someone else registered first ----------------------------------------------------------------------


async def test_a_nik_another_number_holds_is_accepted_like_any_other_and_flagged_for_a_supervisor(api: Api) -> None:
    owner, stranger, neighbour = [await api.resident(name=name) for name in ("Siti", "Orang Asing", "Tetangga")]
    nik = a_nik()
    first = await api.http.patch(ME, json={"nik": nik}, headers=stranger.headers)
    assert first.status_code == 200, first.text

    # The real owner sets it second: the same answer as a NIK nobody holds, so nothing says it was taken.
    claimed = await api.http.patch(ME, json={"nik": nik}, headers=owner.headers)
    fresh = await api.http.patch(ME, json={"nik": a_nik().replace("1203", "1303")}, headers=neighbour.headers)
    assert (claimed.status_code, fresh.status_code) == (200, 200), claimed.text
    assert set(claimed.json()) == set(fresh.json())
    assert claimed.json()["nik"] == nik
    assert (await api.get(stranger, "/residents/me")).json()["nik"] == nik

    # Both numbers can still call for help.
    for resident in (owner, stranger):
        await api.press(resident, lat=COBLONG[0], lon=COBLONG[1])

    # A supervisor sees the contest on both accounts, each naming the other number; nobody else's record changes.
    supervisor = await api.staff(Role.SUPERVISOR, "POLSEK-COBLONG")
    [on_owner] = [r for r in await moderation(api, supervisor, owner) if r["kind"] == "nik_contested"]
    [on_stranger] = [r for r in await moderation(api, supervisor, stranger) if r["kind"] == "nik_contested"]
    assert stranger.phone in on_owner["reason"]
    assert nik in on_owner["reason"]
    assert owner.phone in on_stranger["reason"]
    admin = await api.staff(Role.ADMIN)
    assert await moderation(api, admin, neighbour) == []
    listed = await api.get(supervisor, "/residents", nik_contested="true")
    assert listed.status_code == 200, listed.text
    assert {r["id"] for r in listed.json()} == {owner.id, stranger.id}
    others = await api.get(admin, "/residents", nik_contested="false")
    assert {r["id"] for r in others.json()} & {owner.id, stranger.id} == set()
    assert neighbour.id in {r["id"] for r in others.json()}

    # Setting one's own NIK again raises no new flag.
    again = await api.http.patch(ME, json={"nik": nik, "name": "Siti Aminah"}, headers=owner.headers)
    assert again.status_code == 200, again.text
    assert len([r for r in await moderation(api, admin, owner) if r["kind"] == "nik_contested"]) == 1


# --- dispatching a unit one cannot see ------------------------------------------------------------------------


async def test_dispatch_answers_the_same_for_a_unit_that_does_not_exist_and_one_in_an_agency_out_of_sight(
    api: Api,
) -> None:
    operator = await api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    outsider = await api.staff(Role.OPERATOR, "POLSEK-SUKAJADI")
    sukajadi_unit = unit(await officer(api, "SUKAJADI-7", "POLSEK-SUKAJADI"))
    coblong = await officer(api, "COBLONG-7")
    await api.on_duty(coblong)  # a unit with an officer on duty, so only sight decides the answers below
    coblong_unit = unit(coblong)
    missing_unit = 2_000_000_000
    alert = await api.press(await api.resident(), lat=COBLONG[0], lon=COBLONG[1])

    def shape(answer: httpx.Response) -> tuple[int, str, dict[str, Any]]:
        error = answer.json()["error"]
        return answer.status_code, error["code"], error["details"]

    # On an alert the operator sees: another agency's unit is "no such unit", exactly as a missing one.
    path = f"/alerts/{alert['id']}/dispatch"
    elsewhere = await api.post(operator, path, {"unit_id": sukajadi_unit})
    missing = await api.post(operator, path, {"unit_id": missing_unit})
    assert shape(elsewhere) == shape(missing) == (422, "unit.not_found", {"field": "unit_id"})
    assert elsewhere.json()["error"]["message"].replace(str(sukajadi_unit), "N") == missing.json()["error"][
        "message"
    ].replace(str(missing_unit), "N")

    # On an alert the caller cannot see: 404, whichever unit is named.
    answers = [await api.post(outsider, path, {"unit_id": u}) for u in (coblong_unit, missing_unit, sukajadi_unit)]
    assert [shape(a) for a in answers] == [(404, "alert.not_found", {})] * 3, [a.text for a in answers]

    # The operator's own unit still goes, named by its callsign.
    sent = await api.post(operator, path, {"unit_id": coblong_unit})
    assert sent.status_code == 200, sent.text
    assert sent.json()["unit_id"] == coblong_unit


# --- code requests for someone else's number ------------------------------------------------------------------


async def test_a_stranger_asking_for_codes_to_a_number_does_not_lock_its_owner_out(
    client: httpx.AsyncClient, db: Runtime
) -> None:
    victim = "+6281298765432"
    limit = db.settings.otp_per_number_per_hour
    async with _client_at(db, "203.0.113.66") as attacker:
        for _ in range(limit):
            assert (await attacker.post(CODE, json={"phone": victim})).status_code == 202
            await _backdate(db, victim, timedelta(seconds=40))  # past the 30 s cooldown, well within the hour
        refused = await attacker.post(CODE, json={"phone": victim})
        assert (refused.status_code, refused.json()["error"]["code"]) == (429, "otp.number_limit")

    # The owner, on their own phone's address, still gets a code by SMS.
    answer = await client.post(CODE, json={"phone": victim})
    assert answer.status_code == 202, answer.text
    assert len(_sms_to(db, victim)) == limit + 1
    assert [row.client_ip for row in await _codes(db, victim)][-1] != "203.0.113.66"


async def test_many_addresses_together_still_stop_at_a_ceiling_for_one_number(db: Runtime) -> None:
    victim = "+6281298765433"
    limit = db.settings.otp_per_number_per_hour
    sent = 0
    for address in range(1, 30):
        async with _client_at(db, f"198.51.100.{address}") as http:
            answer = await http.post(CODE, json={"phone": victim})
        if answer.status_code != 202:
            assert (answer.status_code, answer.json()["error"]["code"]) == (429, "otp.number_limit"), answer.text
            break
        sent += 1
        await _backdate(db, victim, timedelta(seconds=40))
    assert limit < sent < 29
    assert len(_sms_to(db, victim)) == sent


async def test_a_stranger_guessing_at_a_numbers_code_does_not_use_up_its_owners_attempts(
    client: httpx.AsyncClient, db: Runtime
) -> None:
    owner = "+6281298765434"
    assert (await client.post(CODE, json={"phone": owner})).status_code == 202
    code = _code_in(_sms_to(db, owner)[-1]["body"])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    async with _client_at(db, "203.0.113.66") as stranger:
        for _ in range(db.settings.otp_max_attempts * 4):
            answer = await stranger.post(VERIFY, json={"phone": owner, "code": wrong})
            assert answer.json()["error"]["code"] == "otp.wrong", answer.text
        # Past its share, the stranger is refused even the right code ...
        answer = await stranger.post(VERIFY, json={"phone": owner, "code": code})
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, "otp.attempts")

    # ... while the owner, on the phone that asked, still signs in with it.
    answer = await client.post(VERIFY, json={"phone": owner, "code": code})
    assert answer.status_code == 200, answer.text
