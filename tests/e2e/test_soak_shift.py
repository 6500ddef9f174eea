"""A shift, played (issue 12): the living city of `make demo` runs, time-scaled, against a real `siaga serve` process,
with simulated officers and operators working drills. Real residents press SOS among the drills, a real officer
answers from a phone on a bad network (every action sent again under its key), and the command centre's consoles
follow everything over real WebSockets. The shift lasts until its work is done (the presses made among the drills,
each on every console), then ends as `make demo` ends it (Ctrl-C: the exercise is closed). The last two presses come
as the drills close: one in Coblong, which the real officer (the only unit left on duty) is then sure to be offered,
and one without a fix, which nobody takes, so its timer escalates it. Afterwards the invariants of issue 12 are
checked from what the consoles received and from the API:

- every real press reached the top of every console that can see it (the console's own attention model, run in
  Node on the console's picture at the moment the press arrived: nothing above it but real alerts nobody had taken);
- no alert was escalated by a timer while an officer had it;
- no unit was assigned while off duty (the unit board, sampled throughout; an off-duty unit cannot be dispatched);
- no resident screen claimed a step the timeline does not show (each answer of the resident's status API, checked
  against the timeline read right after it);
- every officer action made offline was applied exactly once (each sent again with its Idempotency-Key).

Nothing here judges how fast anything happened."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import websockets

from siaga.demo.seed import DEMO_PASSWORD
from siaga.notify.sms import DevSMS
from tests.e2e.test_simulate import seed_demo_city

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
ATTENTION = REPO / "src" / "siaga" / "web" / "static" / "console" / "attention.js"
SIAGA = [sys.executable, "-m", "siaga"]
API = "/api/v1"
DEADLINE = 120.0  # generous: a guard against hanging on a busy machine, never a judgement of speed

TIME_SCALE = 40  # simulated seconds per real second: people's delays, drives and dwells go by 40 times faster
REAL_PRESSES = 6
AFTER_THE_DRILLS = 2  # the last presses: one in Coblong for the real officer, one without a fix for the timer
DRILLS_BETWEEN_PRESSES = 1  # a real press goes in after this many more drill alerts reached the command centre
COBLONG = (-6.8915, 107.6107)  # Polsek Coblong: the real officer patrols here
SUKAJADI = (-6.8860, 107.5900)  # another Polsek: its presses are not Coblong's
RESPONDING = {"assigned", "en_route", "on_scene"}
TIMER_REASONS = {"not_acknowledged", "no_officer"}  # escalations "nobody has taken it", by T1 and T2


WORKERS: list[asyncio.Future[None]] = []  # the shift's people, working in the background


def workers_alive() -> None:
    """A worker that failed fails the test at once, with its own error (not a timeout long after)."""
    for worker in WORKERS:
        if worker.done() and not worker.cancelled() and worker.exception() is not None:
            raise AssertionError("a worker of the shift failed") from worker.exception()


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while True:
        workers_alive()
        found = await probe()
        if found:
            return found
        assert loop.time() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def city(tmp_path: Path) -> Any:
    """`siaga serve` on a seeded demo database, as `make demo` runs it: drill units may answer real presses, and the
    timers are short enough to fire within the shift (T1 as short as the server allows)."""
    port = _free_port()
    env = {
        **os.environ,
        "SIAGA_DEV_MODE": "1",
        "SIAGA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'siaga.db'}",
        "SIAGA_PORT": str(port),
        "SIAGA_EXERCISE_UNITS_ANSWER_REAL_ALERTS": "1",
        "SIAGA_ACK_TIMEOUT_SECONDS": "5",
        "SIAGA_DISPATCH_TIMEOUT_SECONDS": "20",
    }
    seed_demo_city(env["SIAGA_DATABASE_URL"])  # as `siaga demo --no-serve` seeds it
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen([*SIAGA, "serve", "--no-upgrade"], env=env, cwd=REPO, stdout=log, stderr=log)
    try:
        yield f"http://127.0.0.1:{port}", env, tmp_path, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()


# The people --------------------------------------------------------------------------------------------------------


@dataclass
class ConsoleWatch:
    """One console's stream, kept as the console keeps it: the open alerts by id, and a copy of that picture at the
    moment each real press arrived."""

    name: str
    token: str
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrivals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    drills_created: int = 0
    open: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self, message: dict[str, Any], real: set[str]) -> None:
        kind = message.get("type")
        if kind == "batch":
            for inner in message["messages"]:
                self.take(inner, real)
        elif kind in ("snapshot", "snapshot_page"):
            for alert in message.get("alerts", []):
                self.alerts[str(alert["id"])] = alert
            self.open.set()
        elif kind == "alert_event":
            alert, event = message["alert"], message["event"]
            alert_id = str(alert["id"])
            if alert["state"] in ("resolved", "cancelled"):
                self.alerts.pop(alert_id, None)
            else:
                self.alerts[alert_id] = alert
            if event["kind"] == "created":
                if alert.get("is_exercise"):
                    self.drills_created += 1
                elif alert_id in real and alert_id not in self.arrivals:
                    self.arrivals[alert_id] = [dict(a) for a in self.alerts.values()]


async def follow(url: str, watch: ConsoleWatch, real: set[str]) -> None:
    """The console's WebSocket, read until the shift is over (the task is cancelled then)."""
    address = url.replace("http://", "ws://") + f"{API}/stream/console?token={watch.token}"
    async with websockets.connect(address, max_size=None) as stream:
        async for raw in stream:
            watch.take(json.loads(raw), real)


@dataclass
class Shift:
    url: str
    http: httpx.AsyncClient
    sms: DevSMS
    tokens: dict[str, str] = field(default_factory=dict)
    real: set[str] = field(default_factory=set)
    coblong_presses: set[str] = field(default_factory=set)
    residents: dict[str, str] = field(default_factory=dict)  # alert id -> the resident's token
    claims_checked: int = 0
    board_samples: int = 0
    violations: list[str] = field(default_factory=list)
    offline_keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (alert id, event kind)
    officer_answers: list[int] = field(default_factory=list)
    offers_worked: int = 0  # offers the real officer took and worked to the end

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def login(self, username: str) -> None:
        answer = await self.http.post(f"{API}/auth/login", json={"username": username, "password": DEMO_PASSWORD})
        assert answer.status_code == 200, answer.text
        self.tokens[username] = answer.json()["access_token"]

    async def get(self, who: str, path: str, **params: Any) -> Any:
        answer = await self.http.get(f"{API}{path}", headers=self.auth(who), params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def resident(self, number: int) -> str:
        phone = f"0813{77_000_000 + number:08d}"
        asked = await self.http.post(f"{API}/residents/code", json={"phone": phone})
        assert asked.status_code == 202, asked.text
        e164 = asked.json()["phone"]
        code = self.sms.read(to=e164)[-1]["body"].split(": ", 1)[1][:6]
        verified = await self.http.post(f"{API}/residents/verify", json={"phone": phone, "code": code})
        assert verified.status_code == 200, verified.text
        token: str = verified.json()["access_token"]
        named = await self.http.patch(
            f"{API}/residents/me", json={"name": f"Warga Nyata {number}"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert named.status_code == 200, named.text
        return token

    async def press(self, token: str, where: tuple[float, float] | None) -> str:
        """Press SOS as the resident's phone does, the id made first (the consoles may hear of it before the answer
        comes back)."""
        location = {"lat": where[0], "lon": where[1], "accuracy_m": 12} if where else None
        body = {"id": str(uuid.uuid4()), "category": "kriminalitas", "location": location}
        self.real.add(str(body["id"]))
        answer = await self.http.post(f"{API}/alerts", json=body, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 201, answer.text
        self.residents[str(body["id"])] = token  # now the resident's screen follows it
        return str(body["id"])

    async def check_claims(self, alert_id: str) -> None:
        """What the resident's screen is told now, against the timeline read right after it."""
        token = self.residents[alert_id]
        answer = await self.http.get(f"{API}/alerts/{alert_id}", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        seen = answer.json()
        events = await self.get("operator1", f"/alerts/{alert_id}/timeline")
        kinds = {e["kind"] for e in events}
        callsigns = {e["data"].get("unit_name") for e in events if e["kind"] == "dispatched"}
        self.claims_checked += 1
        if seen["acknowledged"] and "acknowledged" not in kinds:
            self.violations.append(f"{alert_id}: 'Diterima operator' with no acknowledgement on the timeline")
        step = {"dispatched": "dispatched", "en_route": "en_route", "on_scene": "on_scene", "resolved": "resolved"}
        if seen["state"] in step and step[seen["state"]] not in kinds:
            self.violations.append(f"{alert_id}: the resident is told {seen['state']}, the timeline has {kinds}")
        if seen["unit_callsign"] is not None and seen["unit_callsign"] not in callsigns:
            self.violations.append(f"{alert_id}: the resident is told {seen['unit_callsign']} is coming: {events}")

    async def sample_board(self) -> None:
        for unit in await self.get("operator1", "/units/board"):
            if unit["state"] in RESPONDING and unit["duty_mode"] is None:
                self.violations.append(f"unit {unit['callsign']} is {unit['state']} with nobody on duty")
        self.board_samples += 1

    async def offline_action(self, path: str, alert_id: str, kind: str, body: dict[str, Any] | None = None) -> int:
        """An action from a phone on a bad network: its first answer is lost, so the outbox sends it again (twice,
        one copy racing the other) under the same key, dated when the officer tapped it."""
        key = f"soak-{uuid.uuid4()}"
        self.offline_keys[key] = (alert_id, kind)
        headers = {**self.auth("officer1"), "Idempotency-Key": key, "Action-Age-Ms": "1500"}

        async def send() -> int:
            answer = await self.http.post(f"{API}{path}", json=body or {}, headers=headers)
            return answer.status_code

        statuses = [await send(), *await asyncio.gather(send(), send())]
        self.officer_answers += statuses
        return statuses[0]


async def officer_on_a_bad_network(shift: Shift, stop: asyncio.Event) -> None:
    """Bripka Asep (COBLONG-1), on patrol near ITB: works to the end what an operator sends him, and takes what is
    offered to him and works that to the end too."""

    async def work(alert_id: str) -> None:
        for step, kind in (("en-route", "en_route"), ("on-scene", "on_scene")):
            await shift.offline_action(f"/alerts/{alert_id}/{step}", alert_id, kind)
        body = {"outcome": "genuine", "report": "Ditangani di tempat"}
        await shift.offline_action(f"/alerts/{alert_id}/resolve", alert_id, "resolved", body)

    while not stop.is_set():
        # An operator may send his unit (the nearest one) before any offer reaches his phone.
        duty = await shift.get("officer1", "/officers/me/duty")
        if duty["alert_id"] is not None and duty["unit"]["state"] in RESPONDING:
            await work(str(duty["alert_id"]))
        for offer in await shift.get("officer1", "/offers"):
            alert_id = str(offer["alert_id"])
            accepted = await shift.offline_action(f"/offers/{offer['id']}/accept", alert_id, "dispatched")
            if accepted != 200:
                continue  # another unit took it first
            await work(alert_id)
            shift.offers_worked += 1
        # Phones poll their offers between stream messages; this one looks every second.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


async def watch_residents_and_units(shift: Shift, stop: asyncio.Event) -> None:
    while not stop.is_set():
        for alert_id in list(shift.residents):
            await shift.check_claims(alert_id)
        await shift.sample_board()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


@contextlib.asynccontextmanager
async def running(*coroutines: Awaitable[None]) -> AsyncIterator[None]:
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    WORKERS[:] = tasks
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result


@contextlib.contextmanager
def logs_on_failure(*logs: Path) -> Any:
    """A failure says what the simulator and the server were doing."""
    try:
        yield
    except AssertionError as failure:
        tails = "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for log in logs if log.exists())
        raise AssertionError(f"{failure}\n{tails}") from failure


def top_of_queue_failures(cases: list[dict[str, Any]]) -> list[str]:
    """Each case's press, placed by the console's own attention model: anything above it must be a real alert that
    nobody had taken (a duress, or a real press waiting longer)."""
    script = f"""
import {{ queueOrder, taken }} from {json.dumps(ATTENTION.as_uri())};
import {{ readFileSync }} from "node:fs";
const cases = JSON.parse(readFileSync(0, "utf8"));
const failures = [];
for (const c of cases) {{
  const order = queueOrder(c.alerts);
  const at = order.findIndex((a) => String(a.id) === c.press);
  const above = order.slice(0, at).filter((a) => a.is_exercise || taken(a));
  if (at < 0 || above.length) failures.push(`${{c.console}}: ${{c.press}} at row ${{at}} under ${{above.length}}`);
}}
console.log(JSON.stringify(failures));
"""
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script], input=json.dumps(cases), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    failures: list[str] = json.loads(done.stdout)
    return failures


async def work_the_shift(
    shift: Shift,
    consoles: list[ConsoleWatch],
    simulator: asyncio.subprocess.Process,
    residents: list[str],
    patrol: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    tmp_path: Path,
) -> None:
    """The shift itself: the people at work while the living city runs, real presses made among the drills; then
    the end of the exercise, and the last presses as the drills close."""
    url, http = shift.url, shift.http
    async with running(
        *(follow(url, c, shift.real) for c in consoles),
        patrol(),
        officer_on_a_bad_network(shift, stop),
        watch_residents_and_units(shift, stop),
    ):
        for console in consoles:
            await asyncio.wait_for(console.open.wait(), DEADLINE)
        rng = random.Random(12)
        among_the_drills = REAL_PRESSES - AFTER_THE_DRILLS
        for number, token in enumerate(residents[:among_the_drills]):
            # Among the drills: after a few more of them reached the command centre.
            drills = consoles[0].drills_created

            async def more_drills(since: int = drills) -> bool:
                assert simulator.returncode is None, (tmp_path / "simulate.log").read_text()
                return consoles[0].drills_created >= since + DRILLS_BETWEEN_PRESSES

            await eventually(more_drills, f"more drill alerts than {drills} ({number} real presses made)")
            # Coblong, where the real officer is, and another Polsek.
            where = COBLONG if number % 2 == 0 else SUKAJADI
            alert_id = await press_and_route(shift, token, jitter(rng, where))
            if number == 1:
                # The command centre tries to send a unit nobody is on duty in: refused, nothing changes.
                units = await shift.get("operator1", "/units")
                idle = next(u["id"] for u in units if u["callsign"] == "SUKAJADI-1")
                sent = await http.post(
                    f"{API}/alerts/{alert_id}/dispatch", json={"unit_id": idle}, headers=shift.auth("operator1")
                )
                assert (sent.status_code, sent.json()["error"]["code"]) == (409, "unit.off_duty"), sent.text
        await eventually(lambda: every_press_arrived(shift, consoles), "every real press on every console that sees it")

        async def board_watched() -> bool:
            return shift.board_samples > 5

        await eventually(board_watched, "the unit board sampled through the shift")

        # The end of the shift, as `make demo` ends it: Ctrl-C, and the simulator closes its exercise.
        simulator.send_signal(signal.SIGINT)

        async def finished() -> bool:
            return simulator.returncode is not None

        await eventually(finished, "the end of the shift")
        assert simulator.returncode == 0, (tmp_path / "simulate.log").read_text()

        # As the drills close: a press in Coblong, where the real officer is now the only unit on duty, and one
        # phone without a fix, which goes to the top command centre where no unit is offered it and nobody takes
        # it, so T1 escalates it to its supervisors.
        await press_and_route(shift, residents[-2], jitter(rng, COBLONG))
        unlocated = await press_and_route(shift, residents[-1], None)
        await eventually(lambda: every_press_arrived(shift, consoles), "the last presses on every console")

        async def officer_worked_one() -> bool:
            return shift.offers_worked > 0

        await eventually(officer_worked_one, "the real officer taking an offer and working it to the end")

        async def escalated_by_its_timer() -> bool:
            events = await shift.get("operator1", f"/alerts/{unlocated}/timeline")
            return any(e["kind"] == "escalated" and e["actor_kind"] == "system" for e in events)

        await eventually(escalated_by_its_timer, "T1 escalating the press nobody took")
        stop.set()


def jitter(rng: random.Random, where: tuple[float, float]) -> tuple[float, float]:
    return where[0] + rng.uniform(-0.001, 0.001), where[1] + rng.uniform(-0.001, 0.001)


async def press_and_route(shift: Shift, token: str, where: tuple[float, float] | None) -> str:
    """A real press. The Polsek's console sees the presses routed to it (and any escalated to it; not counted)."""
    alert_id = await shift.press(token, where)
    if (await shift.get("operator1", f"/alerts/{alert_id}"))["agency_code"] == "POLSEK-COBLONG":
        shift.coblong_presses.add(alert_id)
    return alert_id


async def every_press_arrived(shift: Shift, consoles: list[ConsoleWatch]) -> bool:
    for console in consoles:
        sees = shift.real if console.name != "operator.coblong" else shift.coblong_presses
        if not sees <= set(console.arrivals):
            return False
    return True


async def test_a_shift_with_drills_and_real_presses_keeps_every_promise(city: Any, tmp_path: Path) -> None:
    url, env, folder, server = city
    async with httpx.AsyncClient(base_url=url, timeout=DEADLINE) as http:

        async def healthy() -> bool:
            assert server.poll() is None, (folder / "server.log").read_text()
            with contextlib.suppress(httpx.TransportError):
                return (await http.get("/healthz")).status_code == 200
            return False

        await eventually(healthy, "the server")
        shift = Shift(url=url, http=http, sms=DevSMS(folder / "dev-sms.jsonl"))
        for username in ("operator1", "operator2", "operator.coblong", "officer1"):
            await shift.login(username)
        consoles = [ConsoleWatch(name, shift.tokens[name]) for name in ("operator1", "operator2", "operator.coblong")]
        residents = [await shift.resident(n) for n in range(REAL_PRESSES)]
        put = await http.put(f"{API}/officers/me/duty", json={"mode": "patrol"}, headers=shift.auth("officer1"))
        assert put.status_code == 200, put.text
        stop = asyncio.Event()

        async def patrol() -> None:
            where = {"lat": COBLONG[0] + 0.002, "lon": COBLONG[1], "accuracy_m": 8}
            while not stop.is_set():
                sent = await http.post(f"{API}/officers/me/location", json=where, headers=shift.auth("officer1"))
                assert sent.status_code == 202, sent.text
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=2.0)

        report = tmp_path / "simulation.json"
        simulation_log = (tmp_path / "simulate.log").open("w")
        simulator = await asyncio.create_subprocess_exec(
            *[
                *SIAGA,
                "simulate",
                *("--url", url, "--officers", "12", "--residents", "20", "--press-rate", "90"),
                *("--accidental-share", "0.2", "--prank-share", "0.1", "--operators", "auto"),
                *("--time-scale", str(TIME_SCALE)),
                *("--seed", "12", "--answer-real-alerts", "--report", str(report)),
            ],
            env={**env, "SIAGA_SIMULATE_PASSWORD": DEMO_PASSWORD},
            cwd=REPO,
            stdout=simulation_log,
            stderr=subprocess.STDOUT,
        )
        try:
            with logs_on_failure(tmp_path / "simulate.log", folder / "server.log"):
                await work_the_shift(shift, consoles, simulator, residents, patrol, stop, tmp_path)
        finally:
            if simulator.returncode is None:
                simulator.kill()
                await simulator.wait()
            simulation_log.close()
            stop.set()

        # 1. Every real press reached the top of every console that can see it.
        cases = [
            {"console": c.name, "press": press, "alerts": picture}
            for c in consoles
            for press, picture in c.arrivals.items()
        ]
        assert shift.coblong_presses, "no real press was routed to Polsek Coblong"
        assert len(cases) == 2 * REAL_PRESSES + len(shift.coblong_presses)  # two command-centre consoles, one Polsek
        assert top_of_queue_failures(cases) == []

        # 2. No alert was escalated by a timer while an officer had it; 3. no unit assigned while off duty.
        listed = await shift.get("operator1", "/alerts", limit=500)
        escalations = 0
        for alert in listed:
            holder = None
            for event in await shift.get("operator1", f"/alerts/{alert['id']}/timeline"):
                if event["kind"] == "dispatched":
                    holder = event["data"].get("unit_id")
                elif event["kind"] in ("handed_back", "resolved", "cancelled"):
                    holder = None
                elif event["kind"] == "escalated" and event["actor_kind"] == "system":
                    escalations += 1
                    if event["data"].get("reason") in TIMER_REASONS and holder is not None:
                        shift.violations.append(f"{alert['id']} escalated while unit {holder} had it: {event}")
        await shift.sample_board()
        assert escalations > 0, "the shift never escalated anything: the check above proved nothing"
        assert shift.board_samples > 5

        # 4. No resident screen claimed a step the timeline does not show.
        for alert_id in shift.residents:
            await shift.check_claims(alert_id)
        assert shift.claims_checked > REAL_PRESSES

        # 5. Every officer action made offline was applied exactly once.
        assert shift.offline_keys, "the real officer was never offered a real press"
        for key, (alert_id, kind) in shift.offline_keys.items():
            events = await shift.get("operator1", f"/alerts/{alert_id}/timeline")
            applied = [e for e in events if e["data"].get("action_id") == key]
            if applied and [e["kind"] for e in applied].count(kind) != 1:
                shift.violations.append(f"action {key} ({kind}) applied {len(applied)} times: {applied}")
        accepted = [
            key
            for key, (alert_id, kind) in shift.offline_keys.items()
            if kind == "dispatched"
            and any(
                e["data"].get("action_id") == key for e in await shift.get("operator1", f"/alerts/{alert_id}/timeline")
            )
        ]
        assert accepted, "no offer the officer accepted was applied"
        assert 500 not in shift.officer_answers

        assert shift.violations == []
        counts = json.loads(report.read_text())
        assert counts["server_errors"] == 0, counts
