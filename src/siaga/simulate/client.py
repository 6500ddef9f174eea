"""The simulator's only way into Siaga: the public HTTP API and WebSocket streams, with every failure counted and
logged, never fatal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from siaga.realtime.schemas import unbatch

log = logging.getLogger("siaga.simulate")

API_PREFIX = "/api/v1"
# Closing codes with which a stream refuses a session for good (revoked or wrong role): do not reconnect.
REFUSED = {4401, 4403}


class ApiError(Exception):
    """An answer other than 2xx (status 0: the server could not be reached)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass
class Stats:
    """What happened, for the summary line and the final report."""

    counts: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    on_duty: set[int] = field(default_factory=set)
    open_alerts: set[str] = field(default_factory=set)

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def line(self, elapsed_s: float) -> str:
        c = self.counts
        minutes, seconds = divmod(int(elapsed_s), 60)
        errors = (
            sum(n for status, n in self.statuses.items() if status >= 400 and status != 409) + c["transport_errors"]
        )
        return (
            f"[simulate {minutes:02d}:{seconds:02d}] {len(self.on_duty)} officers on duty | "
            f"alerts: {c['raised']} raised, "
            f"{c['cancelled']} cancelled, {c['offers_accepted']} offers accepted, {c['operator_dispatched']} "
            f"dispatched by operators, {c['resolved']} resolved, {len(self.open_alerts)} open | "
            f"API errors: {errors} ({self.server_errors} server)"
        )

    def report(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_errors": self.server_errors,
            "officers_on_duty": len(self.on_duty),
            "open_alerts": sorted(self.open_alerts),
        }


class Api:
    """One shared HTTP connection pool; each call names the session token it acts with."""

    def __init__(self, base_url: str, stats: Stats, *, connections: int = 32) -> None:
        self.base_url = base_url.rstrip("/")
        self.stats = stats
        self.http = httpx.AsyncClient(
            base_url=self.base_url + API_PREFIX,
            timeout=httpx.Timeout(30.0, connect=10.0),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
        quiet: Iterable[int] = (),
    ) -> Any:
        """The decoded JSON answer. Raises ``ApiError`` after logging it (``quiet`` statuses are expected, e.g. a
        409 when someone else was faster, and are logged at debug level only)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self.http.request(method, path, json=body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            self.stats.add("transport_errors")
            log.warning("%s %s: no answer (%s)", method, path, exc.__class__.__name__)
            raise ApiError(0, "transport", str(exc) or exc.__class__.__name__) from exc
        self.stats.statuses[response.status_code] += 1
        if response.status_code < 400:
            return response.json() if response.content else None
        code, message = _error_of(response)
        level = logging.DEBUG if response.status_code in set(quiet) else logging.WARNING
        if response.status_code >= 500:
            level = logging.ERROR
        log.log(level, "%s %s -> %s %s: %s", method, path, response.status_code, code, message)
        raise ApiError(response.status_code, code, message)

    def stream_url(self, stream: str, token: str, cursor: int | None) -> str:
        base = self.base_url.replace("http", "ws", 1)
        query = f"token={token}" + (f"&cursor={cursor}" if cursor is not None else "")
        return f"{base}{API_PREFIX}/stream/{stream}?{query}"


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return "http", response.text[:200]


async def follow_stream(
    api: Api,
    stream: str,
    token: str,
    on_message: Callable[[dict[str, Any]], None],
    stop: asyncio.Event,
) -> None:
    """Follow a stream until ``stop`` is set or the session is refused, reconnecting from the last cursor (so no
    event is missed, as the apps do)."""
    cursor: int | None = None
    while not stop.is_set():
        try:
            async with websockets.connect(api.stream_url(stream, token, cursor), max_size=2**24) as connection:
                async for raw in connection:
                    for message in unbatch(json.loads(raw)):
                        if message.get("type") == "alert_event":
                            cursor = int(message["cursor"])
                        on_message(message)
        except InvalidStatus as exc:
            api.stats.add("stream_refused")
            log.warning("%s stream refused: %s", stream, exc)
            return
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code in REFUSED:
                log.info("%s stream closed by the server: %s", stream, exc.rcvd.reason)
                return
            api.stats.add("stream_reconnects")
        except OSError as exc:
            api.stats.add("stream_reconnects")
            log.debug("%s stream dropped: %s", stream, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


class Crew:
    """Background tasks that must live until the simulation stops (asyncio keeps only weak references)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self._finish: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str = "", finish: bool = False) -> asyncio.Task[Any]:
        """Run ``work`` in the background. With ``finish``, stopping waits for it instead of cancelling it (an SOS
        already sent is answered and counted, never left half-done)."""
        task = asyncio.create_task(_logged(work, name), name=name or None)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        # A task cancelled before it ran (the simulation stopping) never awaited ``work``: close it, or Python warns
        # "coroutine was never awaited" in the terminal of a drill that ended cleanly.
        task.add_done_callback(lambda _: work.close())
        if finish:
            self._finish.add(task)
            task.add_done_callback(self._finish.discard)
        return task

    async def stop(self, *, grace_s: float = 15.0) -> None:
        if self._finish:
            await asyncio.wait(list(self._finish), timeout=grace_s)
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


async def _logged(work: Awaitable[Any], name: str) -> Any:
    try:
        return await work
    except ApiError:
        # Logged where it happened; the simulation goes on.
        return None
    except Exception:
        log.exception("simulated %s failed; the simulation goes on", name or "task")
        return None
