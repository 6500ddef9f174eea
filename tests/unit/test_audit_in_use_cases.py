"""Audit lives in the use cases, not at the HTTP edge: a router builds who acts (``audit.actor.ActorContext``) and
calls the use case, which records its change itself (``audit.service.record_for``). So a change is audited the same
way whichever door it comes in by (the API, the ``siaga`` command, Siaga's own timers), and a new door cannot
forget it. Refused requests are the edge's own business (``audit.service.record_denial``) and stay there.

A record still written at the edge would be listed below with its reason; the list must match the code exactly,
so it can only shrink (it is empty)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
AUDIT_SERVICE = "siaga.audit.service"
RECORDING = {"record", "record_for"}

# (router module, endpoint function) -> why that endpoint still records at the edge. None does any more: opening a
# stream is recorded by realtime.streams.watch, staff reading residents by alerts.residents, a partner's update by
# partners.service.take_update, a wrong registration code by accounts.register_with_code.
RECORDED_AT_THE_EDGE: dict[tuple[str, str], str] = {}


def router_modules() -> dict[str, Path]:
    """Every door in: each package's HTTP ``router`` module, the staff login's (``accounts.login``), the inbound
    adapters (``inbound``: a partner's EIDO) and the SMS channel with its handlers (``siaga.sms``)."""
    paths = [
        *sorted(SRC.glob("siaga/*/router.py")),
        SRC / "siaga" / "accounts" / "login.py",
        *sorted(SRC.glob("siaga/*/inbound.py")),
        *sorted(p for p in SRC.glob("siaga/sms/*.py") if p.name not in {"router.py", "inbound.py"}),
    ]
    return {".".join(p.relative_to(SRC).with_suffix("").parts): p for p in paths}


def audit_calls(source: str) -> set[str]:
    """The functions of ``source`` that write an audit record themselves (``audit.record(...)``,
    ``audit.record_for(...)``, however the audit service or those functions were imported)."""
    tree = ast.parse(source)
    modules: set[str] = set()  # names bound to siaga.audit.service
    functions: set[str] = set()  # names bound to its record or record_for
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "siaga.audit":
            modules |= {a.asname or a.name for a in node.names if a.name == "service"}
        elif isinstance(node, ast.ImportFrom) and node.module == AUDIT_SERVICE:
            functions |= {a.asname or a.name for a in node.names if a.name in RECORDING}
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == AUDIT_SERVICE and a.asname}
    found: set[str] = set()
    for top in ast.walk(tree):
        if not isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(top):
            if not isinstance(node, ast.Call):
                continue
            call = node.func
            if isinstance(call, ast.Name) and call.id in functions:
                found.add(top.name)
            elif isinstance(call, ast.Attribute) and call.attr in RECORDING:
                owner = call.value
                named = isinstance(owner, ast.Name) and owner.id in modules
                if named or ast.unparse(owner) == AUDIT_SERVICE:
                    found.add(top.name)
    return found


def test_the_check_finds_a_router_that_records() -> None:
    assert audit_calls("from siaga.audit import service as audit\nasync def f():\n    await audit.record(s)\n") == {"f"}
    assert audit_calls("from siaga.audit import service as a\nasync def g():\n    await a.record_for(s, by)\n") == {"g"}
    assert audit_calls("from siaga.audit.service import record_for as r\nasync def h():\n    await r(s, by)\n") == {"h"}
    assert audit_calls("import siaga.audit.service\nasync def i():\n    await siaga.audit.service.record(s)\n") == {"i"}
    # Refusals are recorded at the edge, and building who acts is the router's part.
    assert not audit_calls(
        "from siaga.audit import service as audit\nasync def j():\n    await audit.record_denial(s)\n"
    )
    assert not audit_calls("async def k():\n    by = ActorContext.signed_in(p, ip)\n")


def test_routers_leave_audit_records_to_the_use_cases() -> None:
    modules = router_modules()
    doors = {"siaga.alerts.router", "siaga.accounts.login", "siaga.partners.inbound", "siaga.sms.register"}
    assert doors <= set(modules)
    recording = {
        (module, function) for module, path in modules.items() for function in audit_calls(path.read_text("utf-8"))
    }
    unexplained = sorted(recording - set(RECORDED_AT_THE_EDGE))
    assert not unexplained, f"these routers write audit records: move them into their use case (take by): {unexplained}"
    gone = sorted(set(RECORDED_AT_THE_EDGE) - recording)
    assert not gone, f"these no longer record at the edge: remove them from RECORDED_AT_THE_EDGE: {gone}"
