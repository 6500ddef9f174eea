"""The staff web apps' session cookie (issue 14, item 2), over HTTP and WebSocket on SQLite and PostgreSQL: a login
that names its app gets an HttpOnly, SameSite=Strict cookie and no token in the answer; requests use the cookie only
when they name the app and come from Siaga's own origin; the live stream takes it the same way; a logout clears it.
API clients keep bearer tokens."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from siaga.accounts.domain import Role
from tests.conftest import PASSWORD
from tests.e2e.test_streams import DEADLINE, Live, live

__all__ = ["live"]  # the fixture, used by name below

EVIL = "http://evil.test"


async def test_a_web_apps_cookie_works_only_from_its_own_pages(live: Live) -> None:
    api = live.api
    operator = await api.staff(Role.OPERATOR)  # logged in once with a bearer token, as API clients are
    own = str(api.http.base_url).rstrip("/")
    login = {"username": operator.extra["username"], "password": PASSWORD}
    answer = await api.http.post("/api/v1/auth/login", json=login, headers={"X-Siaga-Session": "console"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"] == ""  # the page's scripts never see the token
    set_cookie = answer.headers["set-cookie"]
    assert set_cookie.startswith("siaga_session_console=")
    assert "HttpOnly" in set_cookie
    assert "SameSite=strict" in set_cookie
    token = answer.cookies["siaga_session_console"]
    api.http.cookies.clear()  # each request below says what it sends
    cookie = {"Cookie": f"siaga_session_console={token}"}

    async def me(**headers: str) -> int:
        return (await api.http.get("/api/v1/auth/me", headers={**cookie, **headers})).status_code

    assert await me(**{"X-Siaga-Session": "console", "Origin": own}) == 200
    assert await me(**{"X-Siaga-Session": "console"}) == 200  # a same-origin GET sends no Origin
    assert await me() == 401  # a request that does not name the app does not use its cookie (a cross-site form)
    assert await me(**{"X-Siaga-Session": "admin"}) == 401  # another app's cookie is another session
    refused = await api.http.post(
        "/api/v1/auth/logout", headers={**cookie, "X-Siaga-Session": "console", "Origin": EVIL}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "auth.csrf"

    # The live stream: from Siaga's own page the cookie opens it; from another site's page it is not taken (4401).
    ws = f"{live.ws}/console?session=console"
    async with websockets.connect(ws, additional_headers={**cookie, "Origin": own}, open_timeout=DEADLINE) as socket:
        assert json.loads(await asyncio.wait_for(socket.recv(), timeout=DEADLINE))["type"] == "hello"
    with pytest.raises(websockets.exceptions.ConnectionClosed) as caught:
        async with websockets.connect(ws, additional_headers={**cookie, "Origin": EVIL}, open_timeout=DEADLINE) as s:
            await asyncio.wait_for(s.recv(), timeout=DEADLINE)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 4401

    # Logging out from the page ends the session and clears the cookie.
    out = await api.http.post("/api/v1/auth/logout", headers={**cookie, "X-Siaga-Session": "console", "Origin": own})
    assert out.status_code == 204
    assert 'siaga_session_console=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert await me(**{"X-Siaga-Session": "console"}) == 401
    assert (await api.get(operator, "/auth/me")).status_code == 200  # the API client's bearer session is its own
