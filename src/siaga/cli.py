"""The ``siaga`` command: serve, demo, database migrations, imports, accounts, and the development SMS outbox."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from siaga.config import Settings
from siaga.errors import SiagaError

if TYPE_CHECKING:
    import uvicorn
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from siaga.accounts.domain import Role
    from siaga.accounts.models import Staff
    from siaga.audit.actor import ActorContext

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Siaga: SOS panic button and dispatch.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
app.add_typer(db_app, name="db")
user_app = typer.Typer(no_args_is_help=True, help="Staff accounts.")
app.add_typer(user_app, name="user")
agency_app = typer.Typer(no_args_is_help=True, help="Agencies.")
app.add_typer(agency_app, name="agency")

T = TypeVar("T")


DEV_MODE_BANNER = (
    "\n!!! DEVELOPMENT MODE (SIAGA_DEV_MODE=1): development secret key allowed, SMS only recorded, API description "
    "served. Never run a real command centre like this. !!!\n"
)


def load_settings() -> Settings:
    """Settings from the environment, or a clear message and exit code 2."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'settings'}: {error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        typer.secho(f"configuration error: {problems}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc


def _command_line() -> ActorContext:
    """The actor of every change made here: the command line at the server, named by its operating-system user."""
    from siaga.audit.actor import ActorContext

    return ActorContext.command_line()


def _run(work: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    settings = load_settings()
    try:
        return asyncio.run(work(settings))
    except SiagaError as exc:
        typer.secho(f"error ({exc.code}): {exc.message}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc


@contextlib.asynccontextmanager
async def _database(settings: Settings, *, read_only: bool = False) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the database for one administrative command. Not the server's whole runtime: importing it (the
    event feed, the hub, the SOS writer) cost every command about a second before it did anything."""
    from siaga.db import create_engine, read_session_factory, session_factory

    engine = create_engine(settings.database_url, hide_parameters=not settings.dev_mode)
    try:
        yield read_session_factory(engine) if read_only else session_factory(engine)
    finally:
        await engine.dispose()


@contextlib.contextmanager
def _database_reachable(settings: Settings) -> Iterator[None]:
    """A database that cannot be reached (down, wrong address, wrong credentials) is one clear line and exit code 2,
    not a traceback."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    try:
        yield
    except (OSError, OperationalError, InterfaceError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        typer.secho(
            f"cannot reach the database at {_display_url(settings.database_url)}: {reason}",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(2) from exc


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from siaga import migrate

    settings = load_settings()
    with _database_reachable(settings):
        migrate.upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}: {_display_url(settings.database_url)}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default SIAGA_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SIAGA_PORT)")] = None,
    upgrade: Annotated[
        bool | None,
        typer.Option(
            "--upgrade/--no-upgrade",
            help="Apply migrations first (default: in development mode only; a deployment runs `siaga db upgrade` "
            "once per release)",
        ),
    ] = None,
) -> None:
    """Serve the API and the web apps. Outside development mode the database must already be migrated."""
    settings = load_settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    if upgrade is not False:  # with --no-upgrade nothing is migrated nor checked: the migration tooling stays unloaded
        _upgrade_or_check(settings, upgrade=upgrade)
    _serve(settings)


def _upgrade_or_check(settings: Settings, *, upgrade: bool | None) -> None:
    """Migrate (asked, or by default in development mode), or refuse to serve a database that is behind."""
    from siaga import migrate

    with _database_reachable(settings):
        if settings.dev_mode if upgrade is None else upgrade:
            migrate.upgrade(settings.database_url)
        elif upgrade is None and (problem := migrate.behind(settings.database_url)):
            typer.secho(f"{problem}: run `siaga db upgrade` first", err=True, fg=typer.colors.RED)
            raise typer.Exit(2)


def _serve(settings: Settings, *, server_class: type[uvicorn.Server] | None = None) -> None:
    import uvicorn

    from siaga import logs
    from siaga.app import create_app

    logs.configure(settings.log_level, json_lines=settings.log_json)
    if settings.dev_mode:
        typer.secho(DEV_MODE_BANNER, err=True, fg=typer.colors.RED, bold=True)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    server = (server_class or uvicorn.Server)(config)
    server.run()
    if not server.started:
        raise typer.Exit(3)  # uvicorn's code for a server that could not start (e.g. the port is taken)


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after seeding")] = True,
    simulate_city: Annotated[
        bool, typer.Option("--simulate/--no-simulate", help="Bring the city to life with the simulator (an exercise)")
    ] = True,
    operators: Annotated[
        str, typer.Option(help="manual: the operators' work is yours; auto: simulated operators do it too")
    ] = "manual",
    officers: Annotated[int, typer.Option(min=1, max=2000, help="Simulated officers on duty")] = 200,
    press_rate: Annotated[float, typer.Option(min=0.01, help="Simulated SOS presses per minute, city-wide")] = 4.0,
) -> None:
    """Development only: migrate a local database, seed Bandung and the demo accounts, print them, serve, and let
    simulated officers and residents live in the city (``siaga simulate`` as a separate process)."""
    from siaga import migrate

    if operators not in {"manual", "auto"}:
        raise typer.BadParameter("--operators is manual or auto")
    settings = load_settings()
    if not settings.dev_mode:
        typer.secho("siaga demo seeds known passwords: set SIAGA_DEV_MODE=1", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    if simulate_city:
        # The simulated officers are the demo city's only police: they also answer the SOS the person watching presses.
        settings = settings.model_copy(update={"exercise_units_answer_real_alerts": True})
    migrate.upgrade(settings.database_url)

    async def seed(settings: Settings) -> None:
        from siaga.demo.seed import DEMO_PASSWORD, seed_bandung
        from siaga.notify.sms import dev_sms_path
        from siaga.runtime import Runtime

        runtime = Runtime.build(settings)
        try:
            async with runtime.unit_of_work() as session:
                accounts = await seed_bandung(session, with_accounts=True, direct_offers=True)
        finally:
            await runtime.close()
        base = settings.base_url
        typer.echo("")
        typer.secho("Siaga demo: Kota Bandung (30 kecamatan, 28 Polsek, Damkar in 3 sectors, PSC 119, BPBD)", bold=True)
        typer.echo(f"  Console       {base}/console   (operator1)")
        typer.echo(f"  Resident app  {base}/app       (register with any 08xx number; code: siaga sms)")
        typer.echo(f"  Officer app   {base}/officer   (officer1)")
        typer.echo(f"  Admin         {base}/admin     (admin)")
        typer.echo(f"  Reports       {base}/reports   (supervisor; the living city is under 'exercise' data)")
        typer.echo(f"  API docs      {base}/docs")
        typer.echo(f"  Health        {base}/healthz")
        typer.echo(f"  Database      {_display_url(settings.database_url)}")
        typer.echo(f"  SMS outbox    siaga sms   (or {dev_sms_path(settings)})")
        typer.echo(f"  Staff accounts (password for all: {DEMO_PASSWORD})")
        if not settings.requires_second_factor:
            typer.echo("  (no second factor in development mode; SIAGA_STAFF_SECOND_FACTOR=required asks admin and")
            typer.echo("   supervisor to enrol one at their first login, as a deployment does)")
        for account in accounts:
            unit = f"  unit {account.unit_callsign}" if account.unit_callsign else ""
            typer.echo(f"    {account.username:<18} {account.role.value:<11} {account.agency_code}{unit}")
        if serve_after and simulate_city:
            typer.echo(
                f"  Living city   {officers} simulated officers and residents pressing SOS (about {press_rate:g} a "
                f"minute), operators {operators}; all of it an exercise (--no-simulate to turn off)"
            )
        typer.echo("")

    asyncio.run(seed(settings))
    if not serve_after:
        return
    if not simulate_city:
        _serve(settings)
        return
    from siaga.demo.seed import DEMO_PASSWORD
    from siaga.simulate.launch import SimulatorProcess, server_with

    local = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host  # noqa: S104 - a comparison
    simulator = SimulatorProcess(
        url=f"http://{local}:{settings.port}",
        password=DEMO_PASSWORD,
        args=[
            "--username",
            "admin",
            "--officers",
            str(officers),
            "--press-rate",
            str(press_rate),
            "--operators",
            operators,
            # Nothing in the demo is real: simulated staff also answer the SOS the person watching presses.
            "--answer-real-alerts",
            # A demo killed without Ctrl-C leaves its exercise officers on duty: end them first.
            "--end-leftovers",
        ],
    )
    simulator.start_when_ready()
    # Hundreds of phones make dozens of requests a second: keep the terminal for the city's summary and for problems.
    for noisy in ("siaga.http", "uvicorn.error", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        _serve(settings, server_class=server_with(simulator))
    finally:
        simulator.stop()


@app.command()
def simulate(
    url: Annotated[str, typer.Option(help="Siaga's base URL")] = "http://127.0.0.1:8000",
    username: Annotated[str, typer.Option(help="An administrator (drills need one)")] = "admin",
    officers: Annotated[int, typer.Option(min=1, max=2000, help="Exercise officers on duty")] = 200,
    residents: Annotated[
        int | None, typer.Option(min=1, help="Exercise residents (default: enough for the rate)")
    ] = None,
    press_rate: Annotated[float, typer.Option(min=0.01, help="SOS presses per minute, city-wide")] = 4.0,
    operators: Annotated[str, typer.Option(help="manual: left to the people watching; auto: simulated too")] = "manual",
    duration: Annotated[float | None, typer.Option(min=1, help="Seconds to run (default: until Ctrl-C)")] = None,
    seed: Annotated[int | None, typer.Option(help="Same seed, same plan: fleet, presses, places")] = None,
    accidental_share: Annotated[float, typer.Option(min=0, max=1, help="Share of accidental presses")] = 0.25,
    prank_share: Annotated[float, typer.Option(min=0, max=1, help="Share of prank presses")] = 0.10,
    time_scale: Annotated[float, typer.Option(min=0.1, max=100, help="Simulated seconds per real second")] = 1.0,
    answer_real_alerts: Annotated[
        bool, typer.Option(help="Let simulated staff answer alerts that are not exercises (the demo only)")
    ] = False,
    end_leftovers: Annotated[bool, typer.Option(help="End any exercise still running before starting")] = False,
    report: Annotated[Path | None, typer.Option(dir_okay=False, help="Write the final counts here as JSON")] = None,
    mass_event: Annotated[
        str | None, typer.Option(help="A disaster in this kecamatan (code or name): many residents there press SOS")
    ] = None,
    mass_presses: Annotated[int, typer.Option(min=1, max=20_000, help="Residents pressing in the mass event")] = 300,
    mass_seconds: Annotated[float, typer.Option(min=1, help="Seconds over which they press")] = 60.0,
    mass_after: Annotated[float, typer.Option(min=0, help="Seconds into the simulation the mass event starts")] = 30.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every API call that failed")] = False,
) -> None:
    """Bring the city to life, or run a drill on a real deployment: exercise officers on duty, moving, answering
    offers; exercise residents pressing SOS. Everything it raises is marked as an exercise and kept out of real
    reports. The password is read from SIAGA_SIMULATE_PASSWORD or asked for. Ctrl-C ends the exercise.
    --mass-event KECAMATAN adds a surge: --mass-presses residents there press within --mass-seconds."""
    from siaga.simulate.run import SimulationConfig, configure_logging, run
    from siaga.simulate.scenario import MassEvent, Shares

    if operators not in {"manual", "auto"}:
        raise typer.BadParameter("--operators is manual or auto")
    try:
        shares = Shares(accidental=accidental_share, prank=prank_share)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    password = os.environ.get("SIAGA_SIMULATE_PASSWORD") or (
        getpass.getpass(f"Password for {username}: ") if sys.stdin.isatty() else ""
    )
    if not password:
        typer.secho("set SIAGA_SIMULATE_PASSWORD (or run in a terminal to be asked)", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    configure_logging(verbose)
    config = SimulationConfig(
        url=url,
        username=username,
        password=password,
        officers=officers,
        residents=residents,
        press_rate=press_rate,
        operators=operators,
        duration=duration,
        seed=seed,
        time_scale=time_scale,
        shares=shares,
        answer_real_alerts=answer_real_alerts,
        end_leftovers=end_leftovers,
        report_path=report,
        mass_event=MassEvent(mass_event, mass_presses, mass_seconds, mass_after) if mass_event else None,
    )
    stats = run(config, echo=lambda line: typer.echo(line))
    if stats.counts["fatal"]:
        raise typer.Exit(1)


@app.command("import-geojson")
def import_geojson(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="GeoJSON FeatureCollections")],
    agency_table: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="CSV: jurisdiction_code,agency_code,is_primary"),
    ] = None,
    code_property: str = "kode",
    name_property: str = "nama",
) -> None:
    """Import kecamatan polygons (by code: existing ones are updated), and optionally the kecamatan -> agency table."""
    from siaga.agencies import service as agencies
    from siaga.agencies.geo import GeoJSONError, parse_feature_collection
    from siaga.db import transaction

    parsed = []
    for path in files:
        try:
            parsed.append(
                (
                    path,
                    parse_feature_collection(
                        path.read_bytes(), code_property=code_property, name_property=name_property
                    ),
                )
            )
        except GeoJSONError as exc:
            typer.secho(f"{path}: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(1) from exc

    by = _command_line()

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions, transaction(sessions) as session:
            for path, features in parsed:
                summary = await agencies.import_features(session, features=features, source=path.name, by=by)
                typer.echo(f"{path}: {len(summary.created)} created, {len(summary.updated)} updated")
            if agency_table is not None:
                rows = await agencies.import_agency_table(session, text=agency_table.read_text(encoding="utf-8"), by=by)
                typer.echo(f"{agency_table}: {rows} kecamatan -> agency row(s)")

    _run(work)


@agency_app.command("add")
def agency_add(
    code: str,
    name: Annotated[str, typer.Option()],
    kind: Annotated[
        str, typer.Option(help="command_centre, polda, polres, polsek, damkar, psc119, bpbd or call_centre")
    ],
    parent: Annotated[str | None, typer.Option(help="Parent agency code")] = None,
) -> None:
    """Create an agency."""
    from siaga.agencies import service as agencies
    from siaga.agencies.models import AgencyKind
    from siaga.db import transaction

    try:
        agency_kind = AgencyKind(kind)
    except ValueError as exc:
        raise typer.BadParameter(f"kind must be one of {[k.value for k in AgencyKind]}") from exc

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions, transaction(sessions) as session:
            agency = await agencies.create_agency(
                session, code=code, name=name, kind=agency_kind, parent_code=parent, by=_command_line()
            )
            typer.echo(f"agency {agency.code} created (id {agency.id})")

    _run(work)


def _new_password(*user_inputs: str) -> str:
    """A new staff password from SIAGA_NEW_PASSWORD, or asked for in a terminal; exit 2 if the password policy
    refuses it (too short, or easy to guess, e.g. from the account's ``user_inputs``: username, name)."""
    from siaga.accounts import security

    password = os.environ.get("SIAGA_NEW_PASSWORD") or (
        getpass.getpass("Password (10+ characters, hard to guess): ") if sys.stdin.isatty() else ""
    )
    try:
        security.check_staff_password(password, user_inputs=user_inputs)
    except SiagaError as exc:
        typer.secho(f"error ({exc.code}): {exc.message} (SIAGA_NEW_PASSWORD)", err=True, fg="red")
        raise typer.Exit(2) from exc
    return password


def _role(value: str) -> Role:
    from siaga.accounts.domain import Role

    try:
        return Role(value)
    except ValueError as exc:
        raise typer.BadParameter(f"role must be one of {[r.value for r in Role]}") from exc


LANGUAGE_HELP = "id or en: the language of Siaga's SMS to them (an officer's offers by SMS)"


def _language(value: str) -> str:
    if value not in ("id", "en"):
        raise typer.BadParameter("language must be id (Bahasa Indonesia) or en (English)")
    return value


def _on_staff(username: str, change: Callable[[AsyncSession, Staff], Coroutine[Any, Any, str]]) -> None:
    """Run ``change(session, staff)`` on one account in one transaction and print its line (the change audits itself
    as the command line's, with the operating-system user)."""
    from siaga.accounts import staff as staffing
    from siaga.db import transaction

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions, transaction(sessions) as session:
            staff = await staffing.staff_by_username(session, username)
            typer.echo(await change(session, staff))

    _run(work)


@user_app.command("add")
def user_add(
    username: str,
    name: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="operator, officer, supervisor or admin")],
    agency: Annotated[str, typer.Option(help="Agency code")],
    unit: Annotated[str | None, typer.Option(help="Unit callsign (officers); created if missing")] = None,
    phone: Annotated[str | None, typer.Option(help="Their mobile number (an officer gets offers by SMS on it)")] = None,
    language: Annotated[str, typer.Option(help=LANGUAGE_HELP)] = "id",
) -> None:
    """Create a staff account (audited). The password is read from SIAGA_NEW_PASSWORD or asked for."""
    from siaga.accounts import service as accounts
    from siaga.agencies import service as agencies
    from siaga.db import transaction

    staff_role = _role(role)
    language = _language(language)
    password = _new_password(username, name)

    async def work(settings: Settings) -> None:
        number = accounts.normalize_phone(settings, phone) if phone else None
        async with _database(settings) as sessions, transaction(sessions) as session:
            owner = await agencies.agency_by_code(session, agency)
            unit_id = await _unit_id(session, owner.id, unit) if unit else None
            staff = await accounts.create_staff(
                session,
                username=username,
                name=name,
                role=staff_role,
                agency_id=owner.id,
                password=password,
                unit_id=unit_id,
                phone=number,
                language=language,
                by=_command_line(),
            )
            typer.echo(f"{staff.role} {staff.username} created (id {staff.id}) in {owner.code}")

    _run(work)


async def _unit_id(session: AsyncSession, agency_id: int, callsign: str) -> int:
    """The unit with this callsign, created (a patrol car of the agency) if there is none."""
    from sqlalchemy import select

    from siaga.responders import service as responders
    from siaga.responders.models import Unit

    row = await session.scalar(select(Unit).where(Unit.callsign == callsign))
    if row is None:
        row = await responders.create_unit(
            session, agency_id=agency_id, callsign=callsign, kind="patrol_car", by=_command_line()
        )
    return row.id


@user_app.command("list")
def user_list(
    search: Annotated[str | None, typer.Option(help="Part of a username, name or phone number")] = None,
    role: Annotated[str | None, typer.Option(help="operator, officer, supervisor or admin")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="Only active or deactivated")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Staff accounts, a page at a time."""
    from siaga.accounts import staff as staffing

    staff_role = _role(role) if role else None

    async def work(settings: Settings) -> None:
        async with _database(settings, read_only=True) as sessions, sessions() as session:
            page = await staffing.find_staff(
                session, agencies=None, q=search, role=staff_role, active=active, limit=limit, offset=offset
            )
        for staff in page.staff:
            state = "" if staff.active else "  (deactivated)"
            typer.echo(f"{staff.id:>6}  {staff.username:<24} {staff.role:<11} {staff.name}{state}")
        shown = f"{offset + 1}-{offset + len(page.staff)}" if page.staff else "none"
        typer.echo(f"{shown} of {page.total}")

    _run(work)


@user_app.command("edit")
def user_edit(
    username: str,
    name: Annotated[str | None, typer.Option()] = None,
    role: Annotated[str | None, typer.Option(help="operator, officer, supervisor or admin")] = None,
    agency: Annotated[str | None, typer.Option(help="Agency code")] = None,
    unit: Annotated[str | None, typer.Option(help="Unit callsign; created if missing")] = None,
    no_unit: Annotated[bool, typer.Option("--no-unit", help="Take a non-officer out of their unit")] = False,
    phone: Annotated[str | None, typer.Option()] = None,
    language: Annotated[str | None, typer.Option(help=LANGUAGE_HELP)] = None,
) -> None:
    """Change a staff account (audited). A new role, agency or unit ends its sessions."""
    from siaga.accounts import service as accounts
    from siaga.accounts import staff as staffing
    from siaga.agencies import service as agencies

    staff_role = _role(role) if role else None

    async def change(session: AsyncSession, staff: Staff) -> str:
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if staff_role is not None:
            changes["role"] = staff_role
        if agency is not None:
            changes["agency_id"] = (await agencies.agency_by_code(session, agency)).id
        if unit is not None:
            changes["unit_id"] = await _unit_id(session, changes.get("agency_id", staff.agency_id), unit)
        elif no_unit:
            changes["unit_id"] = None
        if phone is not None:
            changes["phone"] = accounts.normalize_phone(load_settings(), phone) if phone else None
        if language is not None:
            changes["language"] = _language(language)
        await staffing.update_staff(session, staff=staff, changes=changes, by=_command_line())
        return f"{staff.role} {staff.username} updated: {staff.name}, agency {staff.agency_id}, unit {staff.unit_id}"

    _on_staff(username, change)


@user_app.command("deactivate")
def user_deactivate(username: str) -> None:
    """Deactivate a staff account (audited): it cannot sign in, and its sessions and open streams end at once. An
    officer on duty goes off duty, handing back an alert nobody else of their unit can answer."""
    from siaga.dispatch import deactivation

    async def change(session: AsyncSession, staff: Staff) -> str:
        handed = await deactivation.deactivate(session, settings=load_settings(), staff=staff, by=_command_line())
        return f"{staff.username} deactivated" + (f"; handed back {len(handed)} alert(s)" if handed else "")

    _on_staff(username, change)


@user_app.command("activate")
def user_activate(username: str) -> None:
    """Reactivate a deactivated staff account (audited)."""
    from siaga.accounts import staff as staffing

    async def change(session: AsyncSession, staff: Staff) -> str:
        await staffing.set_active(session, staff=staff, active=True, by=_command_line())
        return f"{staff.username} activated"

    _on_staff(username, change)


@user_app.command("password")
def user_password(username: str) -> None:
    """Set a new password (audited; the account's sessions end). Read from SIAGA_NEW_PASSWORD or asked for."""
    from siaga.accounts import staff as staffing

    password = _new_password(username)

    async def change(session: AsyncSession, staff: Staff) -> str:
        await staffing.reset_password(session, staff=staff, password=password, by=_command_line())
        return f"new password set for {staff.username}"

    _on_staff(username, change)


@user_app.command("reset-factor")
def user_reset_factor(username: str) -> None:
    """Remove a staff member's second factor and recovery codes, for a lost phone (audited; their sessions end). At
    their next login they enrol again (administrators and supervisors must)."""
    from siaga.accounts import totp

    async def change(session: AsyncSession, staff: Staff) -> str:
        ended = await totp.reset_factor(session, staff=staff, by=_command_line())
        return f"second factor reset for {staff.username}; {ended} session(s) ended"

    _on_staff(username, change)


@user_app.command("seal-factors")
def user_seal_factors() -> None:
    """Encrypt every staff second-factor secret still stored in plaintext (from before Siaga encrypted them) now,
    rather than at each account's next login, and check that the configured key (SIAGA_TOTP_KEY, or unset
    SIAGA_SECRET_KEY) opens every encrypted one. Audited. Exits 1 if any cannot be opened."""
    from siaga.accounts import totp
    from siaga.db import transaction

    async def work(settings: Settings) -> totp.SealReport:
        async with _database(settings) as sessions, transaction(sessions) as session:
            return await totp.seal_all(session, settings=settings, by=_command_line())

    report = _run(work)
    typer.echo(f"{report.sealed} secret(s) encrypted now, {report.already} already encrypted and readable")
    if report.unreadable:
        typer.secho(
            f"error: the configured key cannot open the second factor of {', '.join(report.unreadable)}: set the key "
            "they were stored with again, or reset their factor (siaga user reset-factor)",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(1)


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write the backup (or the one to check)")],
    verify: Annotated[bool, typer.Option("--verify", help="Only check an existing backup: whole and readable")] = False,
) -> None:
    """Back up the database while Siaga runs (SQLite's online backup, or pg_dump), and verify the copy."""
    from siaga.ops import backup as backups

    settings = load_settings()
    try:
        checked = (
            backups.verify(file, progress=typer.echo)
            if verify
            else backups.backup(settings.database_url, file, progress=typer.echo)
        )
    except backups.BackupError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    typer.echo(f"{file}: a good {checked.kind} backup, schema {checked.schema_version}: {checked.summary}")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A backup made by `siaga backup`")],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a database that already holds data")] = False,
) -> None:
    """Restore the database from a backup, verified first. Stop every `siaga serve` using the database first."""
    from siaga.ops import backup as backups

    settings = load_settings()
    try:
        checked = backups.restore(settings.database_url, file, overwrite=overwrite, progress=typer.echo)
    except backups.BackupError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    typer.echo(f"restored {file} ({checked.summary}) into {_display_url(settings.database_url)}")
    typer.echo("next: `siaga db upgrade` if this release is newer than the backup, then start Siaga")


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be removed; remove nothing")] = False,
) -> None:
    """Remove what is past its retention period now (audited), as every server does every hour."""
    from siaga.db import transaction
    from siaga.ops import retention

    async def work(settings: Settings) -> dict[str, int]:
        periods = retention.Periods.from_settings(settings)
        async with _database(settings) as sessions:
            if dry_run:
                return await retention.preview(sessions, periods=periods)
            async with transaction(sessions) as session:
                return await retention.purge(session, periods=periods, by=_command_line())

    counts = _run(work)
    typer.echo("would remove (dry run):" if dry_run else "removed:")
    for line in retention.describe(counts):
        typer.echo(f"  {line}")


resident_app = typer.Typer(no_args_is_help=True, help="Residents' accounts.")
app.add_typer(resident_app, name="resident")


@resident_app.command("delete")
def resident_delete(phone: Annotated[str, typer.Argument(help="The resident's phone number")]) -> None:
    """Delete a resident's account at their request (audited): their personal data goes, their alerts stay
    anonymised in the statistics. Refused while they have an active alert."""
    from sqlalchemy import select

    from siaga.accounts import residents
    from siaga.accounts.models import Resident
    from siaga.db import transaction
    from siaga.errors import NotFound
    from siaga.ops import erasure

    async def work(settings: Settings) -> None:
        number = residents.normalize_phone(settings, phone)
        async with _database(settings) as sessions:
            async with transaction(sessions) as session:
                resident = await session.scalar(select(Resident).where(Resident.phone == number))
                if resident is None:
                    raise NotFound(f"no resident with the number {number}", code="resident.not_found")
                deleted = await erasure.delete_account(session, resident=resident, by=_command_line())
            typer.echo(f"deleted; {deleted.alerts_kept_anonymised} alert(s) kept anonymised for the reports")

    _run(work)


@app.command()
def sms(
    to: Annotated[str | None, typer.Option(help="Only messages to this number (E.164)")] = None,
    last: Annotated[int, typer.Option(help="How many of the newest to show")] = 10,
    code: Annotated[bool, typer.Option("--code", help="Print only the newest one-time code (with --to)")] = False,
) -> None:
    """Show messages recorded by the development SMS adapter (codes for registration)."""
    import re

    from siaga.notify.sms import DevSMS, dev_sms_path

    settings = load_settings()
    rows = DevSMS(dev_sms_path(settings)).read(to=to)
    if code:
        codes = [m.group(1) for row in rows if (m := re.search(r"\b(\d{6})\b", row["body"]))]
        if not codes:
            typer.secho(f"no code recorded for {to or 'any number'}", err=True, fg=typer.colors.RED)
            raise typer.Exit(1)
        typer.echo(codes[-1])
        return
    if not rows:
        typer.echo("no messages recorded yet")
    for row in rows[-last:]:
        typer.echo(f"{row['at']}  {row['to']}  {row['body']}")


@app.command("sms-receive")
def sms_receive(
    text: Annotated[str, typer.Argument(help="The message, e.g. 'TOLONG di pasar'")],
    sender: Annotated[str, typer.Option("--from", help="The sender's number, e.g. +6281234567890")],
) -> None:
    """Make an SMS arrive at Gammu's dummy phone (SIAGA_SMS_GAMMU_CONFIG with model = dummy), as if a phone had sent
    it: gammu-smsd moves it to its inbox and Siaga handles it. For trying the SMS channel without a GSM modem."""
    from siaga.sms.gammu import deliver_to_dummy_phone

    settings = load_settings()
    try:
        path = deliver_to_dummy_phone(settings.sms_gammu_config, sender=sender, text=text)
    except (OSError, ValueError) as exc:
        typer.secho(str(exc), err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    typer.echo(f"delivered to the dummy phone: {path}")


@app.command()
def watch(
    stream: Annotated[str, typer.Argument(help="console, officer or resident")],
    token: Annotated[str, typer.Option(envvar="SIAGA_TOKEN", help="A session token (or SIAGA_TOKEN)")],
    url: Annotated[str, typer.Option(help="Siaga's base URL")] = "http://127.0.0.1:8000",
    cursor: Annotated[int | None, typer.Option(help="Resume after this event id")] = None,
    heartbeats: Annotated[bool, typer.Option(help="Show heartbeats too")] = False,
) -> None:
    """Print a live stream, one JSON message per line (Ctrl-C to stop). Reconnects with its cursor if dropped."""
    import json

    import websockets

    from siaga.realtime.schemas import unbatch

    if stream not in {"console", "officer", "resident"}:
        raise typer.BadParameter("the stream is console, officer or resident")

    async def follow() -> None:
        last = cursor
        while True:
            query = f"token={token}" + (f"&cursor={last}" if last is not None else "")
            address = url.replace("http", "ws", 1).rstrip("/") + f"/api/v1/stream/{stream}?{query}"
            try:
                async with websockets.connect(address) as connection:
                    async for raw in connection:
                        for message in unbatch(json.loads(raw)):
                            if message.get("type") in {"alert_event", "alert_status"}:
                                last = message["cursor"]
                            if heartbeats or message.get("type") != "heartbeat":
                                typer.echo(json.dumps(message, ensure_ascii=False))
            except websockets.exceptions.InvalidStatus as exc:
                typer.secho(f"refused: {exc}", err=True, fg=typer.colors.RED)
                raise typer.Exit(1) from exc
            except (OSError, websockets.exceptions.ConnectionClosed) as exc:
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                if code in {4401, 4403}:
                    typer.secho(f"refused: {exc}", err=True, fg=typer.colors.RED)
                    raise typer.Exit(1) from exc
                typer.secho(f"disconnected ({exc}); reconnecting from cursor {last}", err=True)
                await asyncio.sleep(1.0)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(follow())


def _display_url(url: str) -> str:
    """The URL without a password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


tracker_app = typer.Typer(no_args_is_help=True, help="GPS trackers and Traccar Client phones (OsmAnd, at /osmand).")
app.add_typer(tracker_app, name="tracker")


@tracker_app.command("add")
def tracker_add(
    device_id: Annotated[str, typer.Argument(help="The identifier the tracker sends (id=, deviceid=)")],
    resident: Annotated[str | None, typer.Option(help="The resident's phone: alarm=sos raises their SOS")] = None,
    unit: Annotated[str | None, typer.Option(help="The unit's callsign: its positions move the unit")] = None,
    label: Annotated[str, typer.Option(help="A name to know it by")] = "",
) -> None:
    """Register a tracker for a resident or a unit (audited)."""
    from siaga.db import transaction
    from siaga.trackers import service as trackers
    from siaga.trackers.schemas import TrackerCreate

    try:
        body = TrackerCreate(device_id=device_id, label=label, resident_phone=resident, unit_callsign=unit)
    except ValidationError as exc:
        raise typer.BadParameter(exc.errors()[0]["msg"], param_hint="DEVICE_ID") from exc

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions, transaction(sessions) as session:
            tracker = await trackers.add(
                session,
                settings=settings,
                device_id=body.device_id,
                label=body.label,
                resident_phone=body.resident_phone,
                unit_callsign=body.unit_callsign,
                by=_command_line(),
            )
        holder = f"unit {tracker.unit_callsign}" if tracker.unit_callsign else f"resident {tracker.resident_phone}"
        typer.echo(f"tracker {tracker.device_id} registered for {holder} (id {tracker.id})")

    _run(work)


@tracker_app.command("list")
def tracker_list() -> None:
    """Every tracker: id, device id, holder, enabled (audited: it names residents)."""
    from siaga.db import transaction
    from siaga.trackers import service as trackers

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions, transaction(sessions) as session:
            found = await trackers.listing(session, by=_command_line())
        for t in found:
            holder = f"unit {t.unit_callsign}" if t.unit_callsign else f"resident {t.resident_phone}"
            state = "enabled" if t.enabled else "disabled"
            typer.echo(f"{t.id}\t{t.device_id}\t{holder}\t{state}\t{t.label}")

    _run(work)


devices_app = typer.Typer(no_args_is_help=True, help="Fixed panic buttons over MQTT: sites, devices, broker files.")
app.add_typer(devices_app, name="devices")


def _contact(value: str) -> dict[str, str]:
    name, _, rest = value.partition(":")
    phone, _, role = rest.partition(":")
    if not name.strip() or not phone.strip():
        raise typer.BadParameter("a contact is NAME:PHONE or NAME:PHONE:ROLE")
    return {"name": name.strip(), "phone": phone.strip(), "role": role.strip()}


@devices_app.command("site-add")
def devices_site_add(
    name: str,
    agency: Annotated[str, typer.Option(help="The agency whose console gets its alerts and troubles (code)")],
    lat: Annotated[float, typer.Option(help="Latitude of the site")],
    lon: Annotated[float, typer.Option(help="Longitude of the site")],
    address: Annotated[str, typer.Option(help="Street address")] = "",
    floor_notes: Annotated[str, typer.Option(help="Where in the building; how to get in")] = "",
    contact: Annotated[list[str] | None, typer.Option(help="A person to call, NAME:PHONE[:ROLE] (repeatable)")] = None,
) -> None:
    """Register a site with panic buttons (audited)."""
    from siaga.agencies import service as agencies
    from siaga.db import transaction
    from siaga.devices import service as devices

    people = [_contact(c) for c in contact or []]

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions, transaction(sessions) as session:
            owner = await agencies.agency_by_code(session, agency)
            site = await devices.create_site(
                session,
                _command_line(),
                name=name,
                address=address,
                lat=lat,
                lon=lon,
                floor_notes=floor_notes,
                agency_id=owner.id,
                contacts=people,
            )
            typer.echo(f"site {site.id} created: {site.name} ({owner.code})")

    _run(work)


@devices_app.command("add")
def devices_add(
    name: Annotated[str, typer.Argument(help="Its broker username and its name in topics (letters, digits, . _ -)")],
    site: Annotated[int, typer.Option(help="The site's id (from site-add)")],
    protocol: Annotated[str, typer.Option(help="siaga, zigbee2mqtt, shelly (Gen1) or shelly2 (Gen2)")] = "siaga",
    label: Annotated[str, typer.Option(help="Where it hangs (e.g. 'teller 2')")] = "",
    heartbeat: Annotated[int, typer.Option(help="Seconds it may stay silent before it is offline")] = 300,
) -> None:
    """Register a panic button at a site (audited) and print its broker password, this once."""
    from siaga.db import transaction
    from siaga.devices import domain
    from siaga.devices import service as devices

    try:
        speaks = domain.Protocol(protocol)
    except ValueError as exc:
        raise typer.BadParameter("protocol must be siaga, zigbee2mqtt, shelly or shelly2") from exc
    if heartbeat < 5:
        raise typer.BadParameter("the heartbeat interval is at least 5 seconds")

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions, transaction(sessions) as session:
            device, password = await devices.add_device(
                session,
                _command_line(),
                site_id=site,
                name=name,
                protocol=speaks,
                label=label,
                heartbeat_interval_s=heartbeat,
            )
        typer.echo(f"device {device.name} added; it publishes on {', '.join(domain.topics(speaks, device.name)[0])}")
        typer.echo(f"password (shown once): {password}")
        typer.echo("then: siaga devices mosquitto-config --out <the broker's folder>, and reload the broker")

    _run(work)


@devices_app.command("list")
def devices_list() -> None:
    """Every device: its site, whether it is enabled, when it was last heard."""
    from siaga.devices import service as devices

    async def work(settings: Settings) -> None:
        async with _database(settings, read_only=True) as sessions, sessions() as session:
            for device, site in await devices.list_devices(session, None):
                seen = device.last_seen_at.isoformat(timespec="seconds") if device.last_seen_at else "never"
                state = "enabled" if device.enabled else "disabled"
                typer.echo(f"{device.name}  {device.protocol}  {state}  site {site.id} {site.name}  last heard {seen}")

    _run(work)


@devices_app.command("mosquitto-config")
def devices_mosquitto_config(
    out: Annotated[Path | None, typer.Option(help="Write passwd and acl into this folder instead of printing")] = None,
) -> None:
    """Mosquitto's password and ACL files for every enabled device (and Siaga's own login from SIAGA_MQTT_URL),
    and the command that makes the broker read them again."""
    from siaga.devices import service as devices
    from siaga.devices.bridge import BrokerAddress

    async def work(settings: Settings) -> None:
        url = settings.mqtt_url.get_secret_value()
        address = BrokerAddress.parse(url) if url else None
        async with _database(settings, read_only=True) as sessions, sessions() as session:
            files = await devices.broker_files(
                session,
                bridge_user=address.username if address else None,
                bridge_password=address.password if address else None,
            )
        if out is None:
            typer.echo(f"# password_file\n{files.password_file}\n# acl_file\n{files.acl_file}")
        else:
            out.mkdir(parents=True, exist_ok=True)
            passwd = out / "passwd"
            passwd.write_text(files.password_file)
            passwd.chmod(0o600)
            (out / "acl").write_text(files.acl_file)
            typer.echo(f"wrote {passwd} and {out / 'acl'}")
            typer.echo(f"mosquitto.conf: password_file {passwd.resolve()}, acl_file {(out / 'acl').resolve()}")
        typer.echo(f"reload the broker: {files.reload_command}")

    _run(work)


apikey_app = typer.Typer(no_args_is_help=True, help="Integrators' API keys (service accounts of an agency).")
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("add")
def apikey_add(
    name: Annotated[str, typer.Argument(help="Whose system it is, e.g. 'Gateway Bank BJB Dago'")],
    agency: Annotated[str, typer.Option(help="The agency's code: the key works as an operator of it would")],
    scope: Annotated[list[str], typer.Option(help="alerts:read, alerts:raise or eido:receive; repeat for more")],
    requests_per_minute: Annotated[int, typer.Option(min=1, help="The key's own rate (more get 429)")] = 600,
) -> None:
    """Make an API key (audited). The key alone is printed on standard output, this once: Siaga keeps its hash."""
    from siaga.accounts import apikeys
    from siaga.agencies import service as agencies
    from siaga.db import transaction

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions, transaction(sessions) as session:
            owner = await agencies.agency_by_code(session, agency)
            made = await apikeys.create(
                session,
                by=_command_line(),
                name=name,
                agency_id=owner.id,
                scopes=scope,
                requests_per_minute=requests_per_minute,
            )
        scopes = ", ".join(made.row.scopes)
        typer.echo(f"API key {made.row.id} for {made.row.name} ({agency}: {scopes}); it is not shown again:", err=True)
        typer.echo(made.key)

    _run(work)


@apikey_app.command("list")
def apikey_list() -> None:
    """Every API key: id, how it starts, agency, scopes, rate, state, last use (never the key itself)."""
    from siaga.accounts import apikeys

    async def work(settings: Settings) -> None:
        async with _database(settings, read_only=True) as sessions, sessions() as session:
            keys = await apikeys.listing(session)
        for key in keys:
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            typer.echo(
                f"{key.id}\t{apikeys.PREFIX}{key.public_id}_...\tagency {key.agency_id}\t{','.join(key.scopes)}\t"
                f"{key.requests_per_minute}/min\t{state}\tlast used {used}\t{key.name}"
            )

    _run(work)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (siaga apikey list)")]) -> None:
    """Revoke an API key (audited). Running servers refuse it within seconds (at once when revoked in the admin app)."""
    from siaga.accounts import apikeys
    from siaga.db import transaction

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions, transaction(sessions) as session:
            key = await apikeys.revoke(session, by=_command_line(), key_id=key_id)
        typer.echo(f"API key {key.id} ({key.name}) revoked")

    _run(work)


webhook_app = typer.Typer(no_args_is_help=True, help="Integrators' signed webhooks (Standard Webhooks).")
app.add_typer(webhook_app, name="webhook")


@webhook_app.command("add")
def webhook_add(
    name: Annotated[str, typer.Argument(help="Whose receiver it is, e.g. 'Pusat 112 Bandung'")],
    url: Annotated[str, typer.Option(help="The receiver's URL (https:// outside development mode)")],
    event: Annotated[
        list[str], typer.Option(help="alert.created, alert.state_changed, alert.escalated or device.trouble; repeat")
    ],
    include_exercise: Annotated[bool, typer.Option(help="Drills' alerts too")] = False,
) -> None:
    """Send these events to this URL, signed (audited). The signing secret alone is printed on standard output,
    this once."""
    from siaga.db import units_of_work
    from siaga.webhooks import addresses, service
    from siaga.webhooks.domain import EventType

    try:
        events = [EventType(e) for e in event]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--event") from exc

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions:
            made, secret = await service.create(
                units_of_work(sessions),
                settings,
                _command_line(),
                name=name,
                url=url,
                events=events,
                include_exercise=include_exercise,
                guard=addresses.Guard.of(settings),
            )
        typer.echo(f"webhook {made.id} ({made.name}) to {made.url}; its signing secret is not shown again:", err=True)
        typer.echo(secret)

    _run(work)


@webhook_app.command("list")
def webhook_list() -> None:
    """Every webhook subscription: id, state, events, deliveries waiting, URL (never the secret)."""
    from siaga.webhooks import service

    async def work(settings: Settings) -> None:
        async with _database(settings, read_only=True) as sessions, sessions() as session:
            found = await service.listed(session)
        for hook, waiting in found:
            state = "enabled" if hook.enabled else f"disabled: {hook.disabled_reason or 'by a person'}"
            typer.echo(f"{hook.id}\t{','.join(hook.events)}\t{waiting} waiting\t{hook.url}\t{hook.name}\t{state}")

    _run(work)


@webhook_app.command("rotate")
def webhook_rotate(
    webhook_id: Annotated[int, typer.Argument(help="The subscription's id (siaga webhook list)")],
    grace_hours: Annotated[float | None, typer.Option(min=0, help="How long the old secret still signs")] = None,
) -> None:
    """A new signing secret (audited), printed this once; the old one signs too during the grace period."""
    from siaga.db import transaction
    from siaga.webhooks import service

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions, transaction(sessions) as session:
            _, secret = await service.rotate(session, settings, _command_line(), webhook_id, grace_hours=grace_hours)
        typer.echo(f"webhook {webhook_id}: a new signing secret, not shown again:", err=True)
        typer.echo(secret)

    _run(work)


@webhook_app.command("enable")
def webhook_enable(webhook_id: Annotated[int, typer.Argument(help="The subscription's id")]) -> None:
    """Enable a subscription again (after Siaga disabled it as failing): what waited is sent at once."""
    from siaga.db import units_of_work
    from siaga.webhooks import addresses, service

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions:
            await service.change(
                units_of_work(sessions),
                settings,
                _command_line(),
                webhook_id,
                service.Changes(enabled=True),
                guard=addresses.Guard.of(settings),
            )
        typer.echo(f"webhook {webhook_id} enabled")

    _run(work)


@webhook_app.command("listen")
def webhook_listen(
    secret: Annotated[list[str], typer.Option(envvar="SIAGA_WEBHOOK_SECRET", help="The subscription's whsec_ secret")],
    port: Annotated[int, typer.Option(help="The port to receive on")] = 9100,
    host: Annotated[str, typer.Option(help="The address to receive on")] = "127.0.0.1",
    count: Annotated[int, typer.Option(min=0, help="Stop after this many verified messages (0: never)")] = 0,
) -> None:
    """A receiver to try webhooks with: each message whose signature verifies is printed as a JSON line."""
    from siaga.webhooks import receiver

    receiver.serve(
        secret,
        host=host,
        port=port,
        count=count,
        said=lambda line: typer.echo(line),
        refused=lambda why: typer.echo(why, err=True),
    )


partner_app = typer.Typer(no_args_is_help=True, help="Partner centres (a city's 112 centre): EIDO handovers.")
app.add_typer(partner_app, name="partner")


@partner_app.command("add")
def partner_add(
    name: Annotated[str, typer.Argument(help="A short name: bandung-112")],
    url: Annotated[str, typer.Option(help="Its EIDO endpoint, e.g. https://112.example/api/v1/partners/eido")],
    label: Annotated[str, typer.Option(help="What the console shows: Bandung Siaga 112")] = "",
    agency: Annotated[list[str] | None, typer.Option(help="An agency whose alerts may go to it (repeat)")] = None,
    caller: Annotated[bool, typer.Option(help="Send the caller's name and number with a handover")] = True,
    outgoing_secret: Annotated[str | None, typer.Option(help="The secret it gave you to sign with (whsec_...)")] = None,
    incoming_secret: Annotated[str | None, typer.Option(help="The secret it signs with (whsec_...)")] = None,
) -> None:
    """Register a partner centre (audited). A secret not given is made here; both are printed this once."""
    from siaga.db import transaction
    from siaga.partners import service as partners
    from siaga.partners.schemas import PartnerCreate

    try:
        body = PartnerCreate(
            name=name,
            label=label,
            url=url,
            agencies=agency or [],
            share_caller=caller,
            outgoing_secret=outgoing_secret,
            incoming_secret=incoming_secret,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise typer.BadParameter(error["msg"], param_hint=".".join(map(str, error["loc"]))) from exc

    async def work(settings: Settings) -> None:
        async with _database(settings) as sessions, transaction(sessions) as session:
            made = await partners.create_partner(session, settings=settings, body=body, by=_command_line())
        typer.echo(f"partner {made.name} ({made.label}) added: {made.url}")
        typer.echo(f"outgoing secret (the partner verifies what Siaga sends with it): {made.outgoing_secret}")
        typer.echo(f"incoming secret (the partner signs what it sends Siaga with it): {made.incoming_secret}")
        typer.echo("They are not shown again.")

    _run(work)


@partner_app.command("list")
def partner_list() -> None:
    """Every partner centre: name, label, URL, agencies, whether the caller goes with a handover, on or off."""
    from siaga.partners import service as partners

    async def work(settings: Settings) -> None:
        async with _database(settings, read_only=True) as sessions, sessions() as session:
            found = await partners.list_partners(session)
        for p in found:
            state = "enabled" if p.enabled else "disabled"
            caller = "caller shared" if p.share_caller else "caller withheld"
            agencies = ",".join(p.agencies) or "any agency"
            typer.echo(f"{p.name}\t{p.label}\t{p.url}\t{agencies}\t{caller}\t{state}")

    _run(work)


def main() -> None:
    app()
