"""A console on a slow link gets the API's long answers gzip-compressed when it says it accepts gzip, and exactly the
same answer, plain, when it does not; short answers and refusals are sent as they are."""

from __future__ import annotations

import gzip
import json

import httpx

from siaga.accounts.domain import Role
from tests.conftest import Api, Person

# Five places in Bandung, the operator's city: five residents' alerts on the operator's list.
PLACES = [(-6.8915, 107.6107), (-6.8850, 107.5900), (-6.9050, 107.5900), (-6.9050, 107.6200), (-6.9150, 107.6100)]


async def _raw(api: Api, who: Person, path: str, encoding: str) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent on the wire (httpx would otherwise decompress it)."""
    headers = {**who.headers, "Accept-Encoding": encoding}
    async with api.http.stream("GET", f"/api/v1{path}", headers=headers) as response:
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


async def test_a_long_alert_list_is_sent_gzipped_when_asked_and_plain_when_not(api: Api) -> None:
    operator = await api.staff(Role.OPERATOR)
    for lat, lon in PLACES:
        await api.press(await api.resident(), lat=lat, lon=lon)

    zipped, wire = await _raw(api, operator, "/alerts", "gzip, deflate, br")
    plain, body = await _raw(api, operator, "/alerts", "identity")

    assert zipped.status_code == plain.status_code == 200, body
    assert len(json.loads(body)) == len(PLACES)
    assert zipped.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(wire)) == json.loads(body)
    assert len(wire) < len(body) / 2, (len(wire), len(body))
    assert int(zipped.headers["content-length"]) == len(wire)
    assert "content-encoding" not in plain.headers
    for answer in (zipped, plain):  # a shared cache must not hand the gzip copy to a client that cannot read it
        assert "Accept-Encoding" in answer.headers["vary"]


async def test_short_answers_and_refusals_are_sent_as_they_are(api: Api) -> None:
    resident = await api.resident()
    me, body = await _raw(api, resident, "/residents/me", "gzip")
    assert me.status_code == 200, body
    assert "content-encoding" not in me.headers
    assert json.loads(body)["id"] == resident.id

    refused = await api.http.post("/api/v1/alerts", json={"id": "x"}, headers={"Accept-Encoding": "gzip"})
    assert refused.status_code == 401
    assert "content-encoding" not in refused.headers
    assert refused.json()["error"]["code"] == "auth.required"
