"""Text from outside (an imported kecamatan name, a resident's description) is shown as text, never run as a page's
code; and every page carries a Content-Security-Policy that would stop such code anyway, without breaking the apps.

An imported name of ``<img src=x onerror=...>`` used to run script in the operator's console when the mouse passed
over the map, where it could read the session token."""

from __future__ import annotations

from playwright.async_api import Page, expect
from shapely.geometry import Point, shape

from siaga.accounts.domain import Role
from tests.browser.conftest import Site
from tests.browser.test_console import eventually, open_console
from tests.conftest import PASSWORD

HOSTILE = '<img src=x onerror="window.__pwned = (window.__pwned || 0) + 1">'
COUNT_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => window.__violations.push(event.violatedDirective));
"""


async def _import_hostile_kecamatan(site: Site) -> None:
    """The kecamatan under the maps' centre imported again (by its code, as an update) with markup for a name."""
    admin = await site.api.staff(Role.ADMIN)
    config = (await site.api.http.get("/api/v1/config/web")).json()
    centre = Point(config["map_center"][1], config["map_center"][0])
    collection = (await site.api.get(admin, "/jurisdictions.geojson")).json()
    under = next(f for f in collection["features"] if shape(f["geometry"]).contains(centre))
    feature = {
        "type": "Feature",
        "properties": {"kode": under["properties"]["code"], "nama": HOSTILE},
        "geometry": under["geometry"],
    }
    answer = await site.api.post(admin, "/jurisdictions/import", {"type": "FeatureCollection", "features": [feature]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["updated"] == [under["properties"]["code"]], answer.text


async def _nothing_ran(page: Page) -> None:
    assert await page.evaluate("window.__pwned") is None, "the imported name ran as script"
    assert await page.locator(".leaflet-tooltip img").count() == 0, "the imported name became markup"


async def test_an_imported_kecamatan_name_shows_as_text_on_the_consoles_map(site: Site) -> None:
    await _import_hostile_kecamatan(site)
    operator = await site.api.staff(Role.OPERATOR)
    console = await open_console(site, operator)
    page = console.page
    area = page.locator(".leaflet-container").first
    await expect(area).to_be_visible()
    box = await area.bounding_box()
    assert box is not None
    tooltip = page.locator(".leaflet-tooltip")

    async def hovered() -> bool:
        # The map may still be loading its kecamatan: move the mouse until a tooltip shows what lies beneath.
        await page.mouse.move(box["x"] + box["width"] / 2 + 3, box["y"] + box["height"] / 2 + 3)
        await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        return await tooltip.count() > 0

    await eventually(hovered, "a tooltip over the map")
    await expect(tooltip.first).to_have_text(HOSTILE)
    await _nothing_ran(page)
    await console.close()


async def test_an_imported_kecamatan_name_shows_as_text_on_the_reports_map(site: Site) -> None:
    await _import_hostile_kecamatan(site)
    supervisor = await site.api.staff(Role.SUPERVISOR, "BDG-CC")
    page = await (await site.context()).new_page()
    await page.goto("/reports")
    await page.fill("#reports-username", supervisor.extra["username"])
    await page.fill("#reports-password", PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    shapes = page.locator("path.leaflet-interactive")
    await expect(shapes.first).to_be_attached()
    tooltip = page.locator(".leaflet-tooltip")
    shown: list[str] = []
    for index in range(await shapes.count()):  # the renamed kecamatan is one of them
        await shapes.nth(index).hover(force=True)
        shown.extend(await tooltip.all_inner_texts())
    assert f"{HOSTILE}: 0" in shown, shown  # its name, as text, and its figure
    await _nothing_ran(page)
    await page.context.close()


async def test_a_hostile_description_and_name_show_as_text_in_the_console(site: Site) -> None:
    api = site.api
    resident = await api.resident(name=HOSTILE)
    await api.press(resident, description=HOSTILE)
    operator = await api.staff(Role.OPERATOR)
    console = await open_console(site, operator)
    await expect(console.page.get_by_text(HOSTILE).first).to_be_visible()
    await _nothing_ran(console.page)
    await console.close()


async def test_every_page_carries_a_strict_policy_that_none_of_them_breaks(site: Site) -> None:
    for path in ("/", "/console", "/app", "/officer", "/admin", "/reports"):
        answer = await site.api.http.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "default-src 'self'"):
            assert directive in policy, (path, policy)
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0], policy
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        context = await site.context()
        await context.add_init_script(COUNT_VIOLATIONS)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        await page.goto(path)
        if path != "/":
            await expect(page.locator("#app input, #app button").first).to_be_visible()  # the app started
        assert await page.evaluate("window.__violations") == [], path
        assert errors == [], (path, errors)
        await context.close()
    # Inline script is refused: what an injected handler would be.
    context = await site.context()
    await context.add_init_script(COUNT_VIOLATIONS)
    page = await context.new_page()
    await page.goto("/console")
    await page.evaluate(
        """() => { const img = document.createElement("img"); img.setAttribute("onerror", "window.__pwned = 1");
                   img.src = "/nothing-" + Math.random(); document.body.append(img); }"""
    )
    await eventually(lambda: page.evaluate("window.__violations.length > 0"), "the policy to refuse an inline handler")
    assert await page.evaluate("window.__pwned") is None
    await context.close()
