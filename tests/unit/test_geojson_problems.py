"""Every problem an uploaded GeoJSON can have is worded in Bahasa Indonesia and in English in the apps' catalogues:
an administrator who uploads a broken kecamatan file or service area reads what is wrong in their language, and the
English sentence stays for the command line and the logs."""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest

from siaga.agencies.geo import PROBLEMS, GeoJSONError, parse_area, parse_feature_collection

SRC = Path(__file__).resolve().parents[2] / "src" / "siaga"
I18N = SRC / "web" / "static" / "i18n"
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((I18N / f"common.{lang}.json").read_text(encoding="utf-8"))
    return data


def codes_raised() -> set[str]:
    """The codes geo.py refuses with: the first argument of every _refused(...) and GeoProblem(...)."""
    tree = ast.parse((SRC / "agencies" / "geo.py").read_text(encoding="utf-8"))
    helper = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_refused")
    tree.body.remove(helper)  # it passes on the code it is given
    found: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"_refused", "GeoProblem"}
        ):
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
                elif isinstance(arg, ast.IfExp):
                    found.update(v.value for v in (arg.body, arg.orelse) if isinstance(v, ast.Constant))
                else:
                    raise AssertionError(f"line {node.lineno}: a problem's code must be written out")
    return found


def test_every_problem_raised_is_a_known_code_and_every_known_code_is_raised() -> None:
    assert codes_raised() == set(PROBLEMS)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_geojson_problem_has_a_sentence_in_both_languages(lang: str) -> None:
    sentences = catalogue(lang)
    missing = sorted(code for code in PROBLEMS if f"common.problem.{code}" not in sentences)
    assert missing == [], f"common.{lang}.json lacks common.problem.<code> for: {missing}"
    # A sentence names only what the server sends with the problem (its English sentence's parameters).
    short = []
    for code, english in PROBLEMS.items():
        sent = {name for _, name, _, _ in string.Formatter().parse(english) if name}
        needed = set(PLACEHOLDER.findall(sentences[f"common.problem.{code}"]))
        if not needed <= sent:
            short.append(f"{code}: {sorted(needed - sent)}")
    assert short == []


def test_a_refusal_carries_each_problems_code_parameters_and_english_sentence() -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"nama": "Tanpa Kode"}, "geometry": None},
            {"type": "Feature", "properties": {"kode": "2", "nama": "B"}, "geometry": {"type": "Point"}},
        ],
    }
    with pytest.raises(GeoJSONError) as info:
        parse_feature_collection(doc)
    assert [problem.as_json() for problem in info.value.problems] == [
        {
            "code": "geojson.property_missing",
            "params": {"where": "features[0]", "property": "'kode'", "names": "nama"},
            "problem": "features[0]: property 'kode' is missing (it has: nama)",
        },
        {
            "code": "geojson.geometry_type",
            "params": {"where": "features[1] (kode '2')", "type": "Point"},
            "problem": "features[1] (kode '2'): geometry is a Point, only Polygon and MultiPolygon are accepted",
        },
    ]
    # The command line prints the English sentences, as it did.
    assert str(info.value) == "; ".join(problem.text for problem in info.value.problems)
    # A service area is refused by the same problems.
    with pytest.raises(GeoJSONError) as area:
        parse_area(b"\xff\xfe")
    assert [(p.code, p.params["byte"]) for p in area.value.problems] == [("geojson.not_utf8", 0)]
