"""Tokens out of reach of script (issue 14, item 2): the console keeps its session in an HttpOnly, SameSite=Strict
cookie of its own, so neither ``document.cookie`` nor localStorage holds the session token an injected script could
carry away; its live stream authenticates with that cookie; and a page of another site can neither act with it (a
cross-site form POST to log the operator out is refused) nor send it from a foreign origin."""

from __future__ import annotations

from playwright.async_api import expect

from siaga.accounts.domain import Role
from tests.browser.conftest import Site, eventually
from tests.conftest import PASSWORD

DEADLINE_MS = 30_000  # a generous wait for what the page shows; never a judgement of speed
EVIL = "http://evil.test"


async def test_the_consoles_session_token_is_out_of_reach_of_script_and_other_sites(site: Site) -> None:
    operator = await site.api.staff(Role.OPERATOR, "POLSEK-COBLONG")
    context = await site.context()
    page = await context.new_page()
    await page.goto("/console")
    await page.fill("#login-username", operator.extra["username"])
    await page.fill("#login-password", PASSWORD)
    await page.click(".login-submit")
    # The live stream connected with the cookie: the page never held a token to put in its address.
    await expect(page.locator('[data-stream="open"]')).to_be_visible(timeout=DEADLINE_MS)

    [cookie] = [c for c in await context.cookies() if c["name"] == "siaga_session_console"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    token = cookie["value"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await site.api.http.get("/api/v1/auth/me", headers=bearer)).status_code == 200  # the real session
    readable = await page.evaluate(
        "() => [document.cookie, JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })].join()"
    )
    assert token not in readable

    # A page of another site posts a form to log the operator out (the classic cross-site request): refused.
    await page.route(
        f"{EVIL}/**",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f"""<form method="post" action="{site.url}/api/v1/auth/logout"></form>
            <script>document.forms[0].submit()</script>""",
        ),
    )
    answered = []
    page.on("response", lambda response: answered.append(response) if "/auth/logout" in response.url else None)
    await page.goto(f"{EVIL}/prize")
    await page.wait_for_load_state()
    assert answered, "the cross-site form was not sent"
    assert answered[-1].status == 401
    assert (await site.api.http.get("/api/v1/auth/me", headers=bearer)).status_code == 200  # still signed in

    # Even a request that carries the cookie and names the app is refused when another site's page sends it.
    foreign = {"X-Siaga-Session": "console", "Origin": EVIL, "Cookie": f"siaga_session_console={token}"}
    refused = await site.api.http.post("/api/v1/auth/logout", headers=foreign)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "auth.csrf"
    own = {**foreign, "Origin": site.url}
    assert (await site.api.http.get("/api/v1/auth/me", headers=own)).status_code == 200

    # Logging out from the console ends the session and clears the cookie.
    await page.goto("/console")
    await expect(page.locator('[data-stream="open"]')).to_be_visible(timeout=DEADLINE_MS)
    await page.get_by_role("button", name="Keluar").click()
    await expect(page.locator("#login-username")).to_be_visible(timeout=DEADLINE_MS)

    async def signed_out() -> bool:
        ended = (await site.api.http.get("/api/v1/auth/me", headers=bearer)).status_code == 401
        return ended and not [c for c in await context.cookies() if c["name"] == "siaga_session_console"]

    await eventually(signed_out, what="the logout to end the session and clear its cookie")
    await context.close()
