"""The API's routers are matched in the order ``siaga.app.ROUTERS`` gives (the busiest first). Reordering them is
safe only while no route takes a request meant for another: each route must be the first to match its own path."""

from __future__ import annotations

import re
import uuid

from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import compile_path

from siaga.app import ROUTERS

# A value for each path parameter that its convertor accepts.
_SAMPLES = {"int": "7", "uuid": str(uuid.UUID(int=7)), "path": "a/b", "str": "contoh", "float": "1.5"}
_PARAMETER = re.compile(r"{(\w+)(?::(\w+))?}")


def _sample_path(path: str) -> str:
    return _PARAMETER.sub(lambda m: _SAMPLES[m.group(2) or "str"], path)


def _routes() -> list[tuple[str, frozenset[str], re.Pattern[str]]]:
    """(path, methods, path pattern) of every route, in the order the app matches them."""
    found = []
    for router, prefix in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                methods = frozenset(route.methods)
            elif isinstance(route, APIWebSocketRoute):
                methods = frozenset({"WEBSOCKET"})
            else:
                continue
            path = prefix + route.path
            pattern, _, _ = compile_path(path)
            found.append((path, methods, pattern))
    return found


def test_every_route_is_the_first_to_match_its_own_path() -> None:
    routes = _routes()
    assert len(routes) > 100, "the routers' routes were not found"
    shadowed = []
    for index, (path, methods, _) in enumerate(routes):
        sample = _sample_path(path)
        for method in methods:
            first = next(i for i, (_, other, pattern) in enumerate(routes) if method in other and pattern.match(sample))
            if first != index:
                shadowed.append(f"{method} {path} is taken by {routes[first][0]}")
    assert not shadowed, shadowed


def test_the_sos_press_is_matched_first() -> None:
    """The route that takes every resident's SOS is the first one tried."""
    path, methods, _ = _routes()[0]
    assert (path, methods) == ("/api/v1/alerts", frozenset({"POST"}))
