"""Serve the web apps: page shells, Siaga's static files, and the small configuration the apps read at start."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from pydantic import Field

from siaga.alerts.domain import REPORT_MIN_CHARS
from siaga.deps import RuntimeDep
from siaga.schemas import ReadModel

PAGES = Path(__file__).parent / "pages"
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True, slots=True)
class AppPage:
    folder: str  # under /static: main.js and css/<folder>.css
    title: str
    installable: bool  # a PWA with a manifest


APPS = {
    "console": AppPage("console", "Siaga — Konsol", installable=False),
    "app": AppPage("resident", "Siaga — Tombol Darurat", installable=True),
    "officer": AppPage("officer", "Siaga — Petugas", installable=True),
    "admin": AppPage("admin", "Siaga — Admin", installable=False),
    "reports": AppPage("reports", "Siaga — Laporan", installable=False),
}
IMPORT_MAP = json.dumps(
    {
        "imports": {
            "preact": "/static/vendor/preact/preact.mjs",
            "preact/hooks": "/static/vendor/preact/hooks.mjs",
            "htm": "/static/vendor/htm/htm.mjs",
            "leaflet": "/static/vendor/leaflet/leaflet-src.esm.js",
        }
    },
    indent=1,
)


def shell(page: AppPage) -> str:
    """The HTML every app starts from: its styles, the import map for its libraries, and its main module."""
    manifest = (
        f'<link rel="manifest" href="/static/{page.folder}/manifest.webmanifest">\n'
        '  <meta name="theme-color" content="#1a365d">\n  '
        if page.installable
        else ""
    )
    return f"""<!doctype html>
<html lang="id">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{page.title}</title>
  {manifest}<link rel="icon" href="/static/img/siaga.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
  <link rel="stylesheet" href="/static/css/base.css">
  <link rel="stylesheet" href="/static/css/{page.folder}.css">
  <script type="importmap">{IMPORT_MAP}</script>
</head>
<body>
  <div id="app"><noscript>Siaga memerlukan JavaScript. Siaga needs JavaScript.</noscript></div>
  <script type="module" src="/static/{page.folder}/main.js"></script>
</body>
</html>
"""


router = APIRouter(include_in_schema=False)


class WebConfig(ReadModel):
    """What the apps need before anyone logs in."""

    tile_url: str
    tile_attribution: str
    # A list, not a tuple: a tuple's OpenAPI description ("items" as a list) is not a valid OpenAPI 3.1 schema.
    map_center: Annotated[list[float], Field(min_length=2, max_length=2, description="[lat, lon]")]
    map_zoom: int
    languages: list[str]
    default_language: str
    vapid_public_key: str | None
    ack_timeout_seconds: int
    dispatch_timeout_seconds: int
    surge_presses_per_minute: int
    second_factor_required: bool = Field(
        description="whether administrators and supervisors must enrol a second factor (operators and officers may)"
    )
    sms_number: str | None = Field(
        default=None, description="The number the resident app texts an SOS to when it has no data (none: not offered)"
    )
    resolve_report_min_chars: int = Field(
        description="The fewest characters of the report that resolving an alert needs (the apps check it first)"
    )


@router.get("/", response_class=HTMLResponse)
async def landing() -> FileResponse:
    return FileResponse(PAGES / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/sw.js")
async def service_worker() -> FileResponse:
    # Served from the root so it may control every app page (the scope of a service worker is its folder).
    return FileResponse(STATIC / "js" / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/{app}", response_class=HTMLResponse)
async def app_page(app: str) -> HTMLResponse:
    page = APPS.get(app)
    if page is None:
        raise HTTPException(404, f"no page {app!r}")
    return HTMLResponse(shell(page), headers={"Cache-Control": "no-cache"})


@router.get("/{app}/", response_class=HTMLResponse)
async def app_page_slash(app: str) -> RedirectResponse:
    return RedirectResponse(f"/{app}")


def web_config(runtime: RuntimeDep) -> WebConfig:
    from siaga.notify.push import application_server_key

    settings = runtime.settings
    key = settings.vapid_private_key.get_secret_value()
    return WebConfig(
        tile_url=settings.map_tile_url,
        tile_attribution=settings.map_tile_attribution,
        map_center=[settings.map_center_lat, settings.map_center_lon],
        map_zoom=settings.map_zoom,
        languages=["id", "en"],
        default_language="id",
        vapid_public_key=application_server_key(key) if key else None,
        ack_timeout_seconds=settings.ack_timeout_seconds,
        dispatch_timeout_seconds=settings.dispatch_timeout_seconds,
        surge_presses_per_minute=settings.surge_presses_per_minute,
        second_factor_required=settings.requires_second_factor,
        sms_number=settings.sms_sos_number or None,
        resolve_report_min_chars=REPORT_MIN_CHARS,
    )
