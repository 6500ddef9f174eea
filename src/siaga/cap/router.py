"""HTTP for CAP: one alert's CAP 1.2 message, and the Atom feed of the open alerts a staff member may see."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Response

from siaga.audit.actor import ActorContext
from siaga.cap import domain, feed, service
from siaga.db import utcnow
from siaga.deps import AlertReader, ClientIP, RuntimeDep
from siaga.schemas import error_responses

router = APIRouter(tags=["cap"])

# A message places a person (and may name them): never kept by a cache on the way, nor by the client's.
_HEADERS = {"Cache-Control": "private, no-store"}
FEED_PAGE = 100  # entries on a page of the feed unless the reader asks for another size


@router.get(
    "/alerts/{alert_id}/cap",
    response_class=Response,
    responses={
        200: {"content": {domain.MEDIA_TYPE: {}}, "description": "The alert as a CAP 1.2 message"},
        **error_responses(401, 403, 404, 429),
    },
)
async def alert_cap(
    alert_id: uuid.UUID,
    principal: AlertReader,
    runtime: RuntimeDep,
    ip: ClientIP,
    personal: Annotated[
        bool,
        Query(
            description="Name the caller (name, number, their words): operators, supervisors and administrators "
            "only, audited"
        ),
    ] = False,
) -> Response:
    """The alert as an OASIS CAP 1.2 message (``application/cap+xml``), for staff who may see the alert and
    integrators' API keys with the scope alerts:read (404 otherwise, as its JSON answers). Without ``personal=true``
    it names nobody. Residents get no CAP: their phone's view hides what a duress PIN set off, and CAP would show it."""
    async with runtime.unit_of_work() as session:
        by = ActorContext.signed_in(principal, ip)
        facts = await service.read_message(session, principal, alert_id, by=by, personal=personal)
    body = domain.serialise(domain.message(facts, sender=domain.sender_of(runtime.settings.base_url)))
    return Response(body, media_type=domain.MEDIA_TYPE, headers=_HEADERS)


@router.get(
    "/cap/feed.atom",
    response_class=Response,
    responses={
        200: {"content": {feed.FEED_MEDIA_TYPE: {}}, "description": "An Atom 1.0 feed of CAP messages"},
        **error_responses(401, 403, 422, 429),
    },
)
async def cap_feed(
    principal: AlertReader,
    runtime: RuntimeDep,
    ip: ClientIP,
    limit: Annotated[int, Query(ge=1, le=500, description="Entries on one page")] = FEED_PAGE,
    before: Annotated[
        str | None, Query(max_length=200, description="The next page's cursor, from the feed's next link")
    ] = None,
) -> Response:
    """The open alerts you may see (the console's queue; an API key with the scope alerts:read, those an operator of
    its agency sees), newest first, as an Atom 1.0 feed: each entry links its CAP message and holds it as its
    content. No entry names a caller. A longer queue continues on the page the ``next`` link names."""
    cursor = service.Cursor.decode(before) if before is not None else None
    async with runtime.unit_of_work() as session:
        by = ActorContext.signed_in(principal, ip)
        found, following = await service.open_alerts(session, principal, by=by, limit=limit, before=cursor)
        author = await service.agency_name(session, principal)
    base = runtime.settings.base_url
    url = f"{base}/api/v1/cap/feed.atom"
    sized = {"limit": str(limit)} if limit != FEED_PAGE else {}
    page = feed.Page(
        id=url,
        title=f"SOS yang sedang ditangani: {author}",
        author=author,
        self_url=_with_query(url, {**sized, "before": before} if before is not None else sized),
        next_url=_with_query(url, {**sized, "before": following.encode()}) if following is not None else None,
        generated_at=utcnow(),
    )
    entries = [feed.Entry(facts=f, cap_url=f"{base}/api/v1/alerts/{f.id}/cap") for f in found]
    body = feed.serialise(feed.feed(page, entries, sender=domain.sender_of(base)))
    return Response(body, media_type=feed.FEED_MEDIA_TYPE, headers=_HEADERS)


def _with_query(url: str, query: dict[str, str]) -> str:
    return f"{url}?{urlencode(query)}" if query else url
