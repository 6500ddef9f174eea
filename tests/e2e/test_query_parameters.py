"""Every parameter in every URL of the API, whatever it holds, gets an answer and never a 500: dates in year 1 or
9999 and odd offsets, ids past 64 bits, negative numbers, markup, NUL bytes and half emoji. A value that cannot be
used is a 422 naming the parameter.

The endpoints and their parameters' types come from the OpenAPI document, so a new endpoint is covered when it is
added. Each is called by an administrator (who may call the most) on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siaga.accounts.domain import Role
from siaga.app import create_app
from tests.conftest import Api, Person, make_settings
from tests.e2e.test_free_text import HOSTILE

SPEC = create_app(make_settings("sqlite+aiosqlite:///:memory:")).openapi()
INT64 = 2**63

INTEGERS = st.one_of(
    st.sampled_from([-INT64 - 1, -INT64, -1, 0, 1, INT64 - 1, INT64, 2**80]), st.integers(-(2**70), 2**70)
)
OFFSETS = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))
MOMENTS = st.one_of(
    st.builds(lambda moment, zone: moment.replace(tzinfo=zone).isoformat(), st.datetimes(), OFFSETS),
    st.datetimes().map(lambda moment: moment.isoformat()),  # without a zone
    st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat().replace("+00:00", "Z")),
    HOSTILE,
)
DAYS = st.one_of(st.dates().map(lambda day: day.isoformat()), HOSTILE)


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation whose URL takes parameters (those with a body are sent none)."""
    found = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if operation.get("parameters") and "requestBody" not in operation:
                found.append((method.upper(), path))
    return found


def _values(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "anyOf" in schema:
        return st.one_of(*(_values(s) for s in schema["anyOf"] if s.get("type") != "null"))
    kind, form = schema.get("type"), schema.get("format")
    if kind == "integer":
        return INTEGERS
    if kind == "number":
        return st.one_of(st.floats(), INTEGERS, HOSTILE)
    if kind == "boolean":
        return st.one_of(st.booleans(), HOSTILE)
    if kind == "array":
        return st.lists(_values(schema.get("items", {})), max_size=3)
    if form == "date-time":
        return MOMENTS
    if form == "date":
        return DAYS
    if form == "uuid":
        return st.one_of(st.uuids().map(str), HOSTILE)
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), HOSTILE)
    if "$ref" in schema:
        enum = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]].get("enum")
        return st.one_of(st.sampled_from(enum), HOSTILE) if enum else HOSTILE
    return HOSTILE


def _escaped(value: Any) -> str:
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    return quote(text, safe="", errors="surrogatepass")  # a lone surrogate goes as its (invalid) UTF-8 bytes


@pytest.fixture
async def admin(api: Api) -> Person:
    return await api.staff(Role.ADMIN)


@pytest.mark.parametrize(("method", "path"), _operations())
@given(data=st.data())
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_no_url_parameter_makes_the_server_fail(
    api: Api, admin: Person, method: str, path: str, data: st.DataObject
) -> None:
    url, query = path, []
    for parameter in SPEC["paths"][path][method.lower()]["parameters"]:
        value = data.draw(_values(parameter["schema"]), label=parameter["name"])
        if parameter["in"] == "path":
            url = url.replace("{" + parameter["name"] + "}", _escaped(value) or str(uuid.uuid4()))
        elif parameter["in"] == "query" and data.draw(st.booleans(), label=f"send {parameter['name']}"):
            for item in value if isinstance(value, list) else [value]:
                query.append(f"{quote(parameter['name'])}={_escaped(item)}")
    answer = await api.http.request(method, f"/api/v1{url[len('/api/v1') :]}?{'&'.join(query)}", headers=admin.headers)
    assert answer.status_code < 500, f"{method} {answer.request.url}: {answer.status_code} {answer.text}"
    if answer.status_code == 422:
        assert answer.json()["error"]["details"]["problems"], answer.text
