"""Every error code the API can answer has a sentence in Bahasa Indonesia and in English in the apps' catalogues.

The codes are collected from the source, so a new ``raise Conflict(..., code="x.y")`` without a translation fails
here: the code of every raise of a SiagaError (or of the alert domain's TransitionError), every error class's
``default_code``, the codes app.py's handlers answer with, and the codes the browser's api.js makes up itself.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path

import pytest

from siaga.alerts.models import OfferState

SRC = Path(__file__).resolve().parents[2] / "src" / "siaga"
I18N = SRC / "web" / "static" / "i18n"

# Codes built from a value at run time, by the prefix of their f-string: every value they can take.
DYNAMIC = {"offer.": [f"offer.{state.value}" for state in OfferState if state is not OfferState.PENDING]}


@cache
def _nodes() -> dict[Path, list[ast.AST]]:
    """Every node of every source module, parsed and walked once for the whole file: each scan below looks at every
    node for something else, and the source does not change while the tests run."""
    return {path: list(ast.walk(ast.parse(path.read_text(encoding="utf-8")))) for path in sorted(SRC.rglob("*.py"))}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


@cache
def transition_classes() -> frozenset[str]:
    """The alert domain's TransitionError and its kinds: they take the code as their first argument."""
    return _derived({"TransitionError"})


@cache
def error_classes() -> frozenset[str]:
    """SiagaError, TransitionError and every class that derives from them, anywhere in the source."""
    return _derived({"SiagaError", "TransitionError", "StreamError"})


def _derived(roots: set[str]) -> frozenset[str]:
    known = set(roots)
    classes = [node for nodes in _nodes().values() for node in nodes if isinstance(node, ast.ClassDef)]
    grew = True
    while grew:
        grew = False
        for node in classes:
            if node.name not in known and any(_name(base) in known for base in node.bases):
                known.add(node.name)
                grew = True
    return frozenset(known)


def _code_of(node: ast.expr | None, where: str) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        prefix = node.values[0].value if isinstance(node.values[0], ast.Constant) else ""
        assert prefix in DYNAMIC, f"{where}: a code built at run time ({prefix!r}...) needs its values in DYNAMIC"
        return DYNAMIC[str(prefix)]
    return []  # passed on from another error (code=exc.code): that one's raise is collected where it is made


@cache
def server_codes() -> frozenset[str]:
    classes = error_classes()
    codes: set[str] = set()
    for path, nodes in _nodes().items():
        relative = path.relative_to(SRC)
        for node in nodes:
            if not isinstance(node, ast.Call | ast.ClassDef):
                continue
            where = f"{relative}:{node.lineno}"
            if isinstance(node, ast.Call) and _name(node.func) in classes:
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        codes.update(_code_of(keyword.value, where))
                if _name(node.func) in transition_classes() and node.args:
                    codes.update(_code_of(node.args[0], where))
            if isinstance(node, ast.ClassDef) and node.name in classes:
                for statement in node.body:
                    if isinstance(statement, ast.AnnAssign | ast.Assign) and "default_code" in ast.unparse(statement):
                        codes.update(_code_of(statement.value, where))
                    if isinstance(statement, ast.FunctionDef) and statement.name == "__init__":
                        for call in ast.walk(statement):
                            if isinstance(call, ast.Call) and _name(call.func) == "__init__" and call.args:
                                codes.update(_code_of(call.args[0], where))
    for node in _nodes()[SRC / "app.py"]:
        if isinstance(node, ast.Call) and _name(node.func) == "error_json" and len(node.args) > 1:
            codes.update(_code_of(node.args[1], "app.py"))
        if isinstance(node, ast.Dict) and all(
            isinstance(k, ast.Constant) and k.value in {404, 405, 413} for k in node.keys
        ):
            codes.update(str(v.value) for v in node.values if isinstance(v, ast.Constant))
    return frozenset(codes)


def browser_codes() -> set[str]:
    """The codes js/api.js gives failures that never got an answer from the server."""
    text = (SRC / "web" / "static" / "js" / "api.js").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if "new ApiError(0," in line]
    return {code for line in lines for code in re.findall(r'"([a-z_]+)"', line)}


def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((I18N / f"common.{lang}.json").read_text(encoding="utf-8"))
    return data


def test_the_scan_finds_the_codes_a_person_meets() -> None:
    codes = server_codes()
    # One of each way a code is written: a keyword, the domain's first argument, a default, a handler, an f-string.
    assert {"staff.username_taken", "alert.already_acknowledged", "alert.actor_not_allowed", "auth.required"} <= codes
    assert {
        "request.invalid",
        "request.malformed_json",
        "not_found",
        "method_not_allowed",
        "request.too_large",
    } <= codes
    assert {"internal_error", "offer.taken", "rate_limited", "alert.id_reused", "nik.format"} <= codes
    assert "auth.session_ended" in codes  # a stream's error frame
    assert {"network", "aborted", "bad_response"} <= browser_codes()


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_error_code_has_a_sentence_in_the_catalogue(lang: str) -> None:
    sentences = catalogue(lang)
    missing = sorted(code for code in server_codes() | browser_codes() if f"common.error.{code}" not in sentences)
    assert missing == [], f"common.{lang}.json lacks common.error.<code> for: {missing}"


def test_an_app_words_its_own_way_only_codes_that_exist() -> None:
    # <app>.error.<code> overrides the common sentence in one app (js/errors.js): a stale code would never show.
    codes = server_codes() | browser_codes()
    stale = []
    for path in sorted(I18N.glob("*.id.json")):
        for key in json.loads(path.read_text(encoding="utf-8")):
            if ".error." in key and not key.startswith("common.") and key.split(".error.", 1)[1] not in codes:
                stale.append(f"{path.name}: {key}")
    assert stale == []


PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def test_every_raise_sends_the_details_its_sentence_needs() -> None:
    # "Sudah diterima oleh {holder}." is only as good as the raise that puts `holder` into details.
    sentences = catalogue("id")
    classes = error_classes()
    short = []
    for path, nodes in _nodes().items():
        for node in nodes:
            if not (isinstance(node, ast.Call) and _name(node.func) in classes):
                continue
            code_node = next((k.value for k in node.keywords if k.arg == "code"), None)
            if code_node is None and _name(node.func) in transition_classes() and node.args:
                code_node = node.args[0]
            codes = _code_of(code_node, str(path)) if code_node is not None else []
            details = next((k.value for k in node.keywords if k.arg == "details"), None)
            sent = (
                {k.value for k in details.keys if isinstance(k, ast.Constant)}
                if isinstance(details, ast.Dict)
                else set()
            )
            if _name(node.func) == "TooManyRequests":
                sent.add("retry_after")
            for code in codes:
                needed = set(PLACEHOLDER.findall(sentences.get(f"common.error.{code}", "")))
                if not needed <= sent:
                    short.append(f"{path.relative_to(SRC)}:{node.lineno} {code} lacks {sorted(needed - sent)}")
    assert short == [], f"sentences whose placeholders the raise does not send: {short}"
