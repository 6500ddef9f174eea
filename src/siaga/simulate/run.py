"""Running a simulation: log in, set up the exercise, let the city live, end the exercise cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siaga.simulate.client import Api, ApiError, Stats
from siaga.simulate.console import Console
from siaga.simulate.geometry import Area, areas_by_agency, city_area, find_kecamatan, kecamatan_areas
from siaga.simulate.officers import Officer
from siaga.simulate.residents import Residents
from siaga.simulate.scenario import (
    SERVICE_SHARE,
    SERVICE_UNITS,
    MassEvent,
    OfficerPlan,
    Pace,
    Shares,
    fleet_requests,
    plan_fleet,
    plan_service_fleet,
)
from siaga.simulate.world import World

log = logging.getLogger("siaga.simulate")

MAX_RESIDENTS_PER_CALL = 500
MAX_OFFICERS_PER_CALL = 200
SETUP_CONCURRENCY = 4


@dataclass(frozen=True)
class SimulationConfig:
    url: str
    username: str
    password: str
    officers: int = 200
    residents: int | None = None  # default: enough for the press rate
    press_rate: float = 4.0  # presses per minute, city-wide
    operators: str = "manual"  # manual: left to the person watching; auto: simulated operators too
    duration: float | None = None  # seconds; None: until Ctrl-C
    seed: int | None = None
    time_scale: float = 1.0
    shares: Shares = field(default_factory=Shares)
    position_every_s: float = 5.0
    summary_every_s: float = 10.0
    answer_real_alerts: bool = False
    end_leftovers: bool = False
    report_path: Path | None = None
    mass_event: MassEvent | None = None  # a disaster in one kecamatan, on top of the city's everyday presses

    def resident_count(self) -> int:
        if self.residents is not None:
            return self.residents
        # Each resident has at most one alert open; alerts stay open minutes: keep a generous pool.
        return max(20, min(200, round(self.press_rate * 10)))


def run(config: SimulationConfig, *, echo: Callable[[str], None] = print) -> Stats:
    """Run until the duration ends or Ctrl-C / SIGTERM, then end the exercise. Returns what happened."""
    return asyncio.run(simulate(config, echo=echo))


async def simulate(config: SimulationConfig, *, echo: Callable[[str], None] = print) -> Stats:
    stats = Stats()
    world = World(
        api=Api(config.url, stats),
        stats=stats,
        pace=Pace(config.time_scale),
        answer_real_alerts=config.answer_real_alerts,
        position_every_s=config.position_every_s,
    )
    _stop_on_signals(world.stop)
    rng = random.Random(config.seed)  # noqa: S311 - a simulation, not a secret
    started = time.monotonic()
    admin: str | None = None
    try:
        admin = await _login(world, config)
        if config.end_leftovers:
            await _close_open_alerts(world, admin, mine_only=False)
            ended = await world.api.call("POST", "/exercise/end", token=admin)
            if ended["officers"] or ended["residents"]:
                echo(f"ended a previous exercise: {ended['officers']} officers, {ended['residents']} residents")
        await _populate(world, config, admin, rng, echo, started)
        world.crew.spawn(_summaries(world, config, started, echo), name="summary")
        if config.duration is not None:
            await world.sleep(max(config.duration - (time.monotonic() - started), 0.0))
            world.stop.set()
        await world.stop.wait()
    except ApiError as exc:
        echo(f"simulate: cannot go on: {exc.message} ({exc.status} {exc.code})")
        stats.add("fatal")
    finally:
        world.stop.set()
        await world.crew.stop()
        if admin is not None:
            await world.send_unanswered()
            await _close_open_alerts(world, admin, mine_only=True)
            await _end_exercise(world, admin, echo)
        await world.api.close()
        echo(stats.line(time.monotonic() - started))
        if config.report_path is not None:
            config.report_path.write_text(json.dumps(stats.report(), indent=2), encoding="utf-8")
    return stats


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)


async def _login(world: World, config: SimulationConfig) -> str:
    session = await world.api.call(
        "POST", "/auth/login", body={"username": config.username, "password": config.password}
    )
    if session.get("role") != "admin":
        raise ApiError(403, "simulate.not_admin", f"{config.username} is not an administrator: drills need one")
    return str(session["access_token"])


async def _populate(
    world: World,
    config: SimulationConfig,
    admin: str,
    rng: random.Random,
    echo: Callable[[str], None],
    started: float,
) -> None:
    """Create the exercise's officers and residents and set them going."""
    api = world.api
    agencies = await api.call("GET", "/agencies", token=admin)
    jurisdictions = await api.call("GET", "/jurisdictions", token=admin)
    kecamatan = kecamatan_areas(await api.call("GET", "/jurisdictions.geojson", token=admin))
    if not kecamatan:
        raise ApiError(422, "simulate.no_jurisdictions", "no kecamatan are loaded: import them first")
    primary = [(j["code"], a["agency_code"]) for j in jurisdictions for a in j["agencies"] if a["is_primary"]]
    served = areas_by_agency(kecamatan, primary)
    city = city_area(kecamatan)
    # Officers belong to the agencies that serve kecamatan themselves (Polsek), or to any if none do.
    polsek = sorted((a["id"], a["code"]) for a in agencies if a["kind"] == "polsek" and a["code"] in served)
    stations = polsek or sorted((a["id"], a["code"]) for a in agencies)
    # Damkar, PSC 119 and BPBD crews wait at their stations for the fires, injuries and disasters routed to them.
    covering = {area["agency_code"] for area in await api.call("GET", "/service-areas", token=admin)}
    services = sorted(
        (a["id"], a["code"], a["kind"]) for a in agencies if a["kind"] in SERVICE_UNITS and a["code"] in covering
    )
    crews = int(config.officers * SERVICE_SHARE) if services else 0
    plans = plan_fleet(stations, config.officers - crews, rng) + plan_service_fleet(services, crews)

    struck = _struck_kecamatan(kecamatan, config.mass_event)
    residents = await _create_residents(world, admin, config.resident_count())
    echo(f"simulate: {len(residents)} exercise residents; creating {config.officers} exercise officers")
    officer_rng = random.Random(rng.getrandbits(64))  # noqa: S311
    guard = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def create(agency_id: int, kind: str, count: int) -> None:
        async with guard:
            accounts = await api.call(
                "POST", "/exercise/officers", token=admin, body={"agency_id": agency_id, "kind": kind, "count": count}
            )
        group = [p for p in plans if p.agency_id == agency_id and p.kind == kind]
        for account, plan in zip(accounts, group, strict=False):
            area = served.get(plan.agency_code, city)
            officer = Officer(world, account, plan, area, random.Random(officer_rng.getrandbits(64)))  # noqa: S311
            world.crew.spawn(officer.run(), name=f"officer {officer.callsign}")

    await asyncio.gather(*(create(a, k, n) for a, k, n in _chunks(fleet_requests(plans))), return_exceptions=True)
    console = Console(world, admin, random.Random(rng.getrandbits(64)), auto=config.operators == "auto")  # noqa: S311
    world.crew.spawn(console.run(), name="console")
    people = Residents(
        world,
        residents,
        list(kecamatan.values()),
        random.Random(rng.getrandbits(64)),  # noqa: S311
        per_minute=config.press_rate,
        shares=config.shares,
    )
    world.crew.spawn(people.run(), name="residents")
    if config.mass_event is not None and struck is not None:
        event = config.mass_event
        survivors = await _create_residents(world, admin, event.presses)
        mass_rng = random.Random(rng.getrandbits(64))  # noqa: S311
        mass = Residents(world, survivors, [struck], mass_rng, per_minute=1.0, shares=config.shares)
        world.crew.spawn(mass.mass_event(event), name="mass event")
        echo(
            f"simulate: a mass event in {struck.name} in {event.after_s:g} s: {event.presses} residents pressing SOS "
            f"within {event.seconds:g} s"
        )
    echo(
        f"simulate: the city is live: {config.officers} officers going on duty over {len(stations)} agencies, "
        f"about {config.press_rate:g} SOS presses a minute, operators {config.operators} "
        f"(set up in {time.monotonic() - started:.0f} s)"
    )


def _struck_kecamatan(kecamatan: dict[str, Area], event: MassEvent | None) -> Area | None:
    """The kecamatan of the mass event; an unknown one stops the simulation before anything is created."""
    if event is None:
        return None
    found = find_kecamatan(kecamatan, event.kecamatan)
    if found is None:
        names = ", ".join(sorted(a.name for a in kecamatan.values()))
        raise ApiError(422, "simulate.unknown_kecamatan", f"no kecamatan {event.kecamatan!r}; there are: {names}")
    return found


def _chunks(requests: Sequence[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
    out = []
    for agency_id, kind, count in requests:
        while count > 0:
            out.append((agency_id, kind, min(count, MAX_OFFICERS_PER_CALL)))
            count -= MAX_OFFICERS_PER_CALL
    return out


async def _create_residents(world: World, admin: str, count: int) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = []
    while len(made) < count:
        batch = min(MAX_RESIDENTS_PER_CALL, count - len(made))
        made.extend(await world.api.call("POST", "/exercise/residents", token=admin, body={"count": batch}))
    return made


async def _summaries(world: World, config: SimulationConfig, started: float, echo: Callable[[str], None]) -> None:
    while await world.sleep(config.summary_every_s):
        echo(world.stats.line(time.monotonic() - started))


async def _close_open_alerts(world: World, admin: str, *, mine_only: bool) -> None:
    """An exercise that is over must not leave emergencies open on the consoles: close its alerts as tests (their
    timelines stay for the drill's review). ``mine_only``: this run's alerts; otherwise every open exercise alert."""
    try:
        active = await world.api.call("GET", "/alerts", token=admin, params={"active": "true", "limit": 500})
    except ApiError:
        return
    open_ids = [
        str(a["id"]) for a in active if a.get("is_exercise") and (not mine_only or str(a["id"]) in world.presses)
    ]
    guard = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def close(alert_id: str) -> None:
        async with guard:
            with contextlib.suppress(ApiError):
                await world.api.call("POST", f"/alerts/{alert_id}/acknowledge", token=admin, quiet=(409,))
            with contextlib.suppress(ApiError):
                await world.api.call(
                    "POST",
                    f"/alerts/{alert_id}/resolve",
                    token=admin,
                    body={"outcome": "test", "report": "Latihan selesai: ditutup oleh simulator"},
                    quiet=(409,),
                )
                world.stats.add("closed_at_end")
                world.stats.open_alerts.discard(alert_id)

    await asyncio.gather(*(close(alert_id) for alert_id in open_ids))


async def _end_exercise(world: World, admin: str, echo: Callable[[str], None]) -> None:
    try:
        ended = await world.api.call("POST", "/exercise/end", token=admin)
    except ApiError as exc:
        echo(f"simulate: could not end the exercise ({exc.status} {exc.code}): run it again or POST /exercise/end")
        return
    world.stats.on_duty.clear()
    echo(
        f"simulate: exercise ended: {ended['officers']} officers off duty, "
        f"{ended['residents']} resident sessions closed"
    )


def configure_logging(verbose: bool) -> None:
    """Plain lines on stderr: the person running a drill reads them."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("simulate %(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.propagate = False


__all__ = ["Area", "OfficerPlan", "SimulationConfig", "configure_logging", "run", "simulate"]
