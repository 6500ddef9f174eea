"""Every string the web apps show comes from a catalogue, in Bahasa Indonesia and in English."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "siaga" / "web" / "static"
I18N = STATIC / "i18n"
CATALOGUES = sorted({path.name.rsplit(".", 2)[0] for path in I18N.glob("*.json")})
LITERAL = re.compile(r"""\bt\(\s*(["'])([a-z0-9_.]+)\1""")
TEMPLATE = re.compile(r"""\bt\(\s*`([a-z0-9_.]+)\$\{""")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def load(name: str, lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((I18N / f"{name}.{lang}.json").read_text(encoding="utf-8"))
    return data


def scripts_of(app: str) -> list[Path]:
    folder = STATIC / ("js" if app == "common" else app)
    return sorted(folder.rglob("*.js")) if folder.exists() else []


@pytest.mark.parametrize("name", CATALOGUES)
def test_each_catalogue_has_the_same_keys_and_placeholders_in_both_languages(name: str) -> None:
    indonesian, english = load(name, "id"), load(name, "en")
    assert sorted(indonesian) == sorted(english), f"{name}: keys differ between id and en"
    for key, text in indonesian.items():
        assert text.strip(), f"{name}.id: {key} is empty"
        assert english[key].strip(), f"{name}.en: {key} is empty"
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), f"{name}: {key} placeholders"
    prefix = "common." if name == "common" else f"{name}."
    assert all(key.startswith(prefix) for key in indonesian), f"{name}: keys must start with {prefix!r}"


@pytest.mark.parametrize("app", [name for name in CATALOGUES if name != "common"] + ["common"])
def test_every_string_an_app_uses_has_a_translation(app: str) -> None:
    known = set(load("common", "id")) | (set(load(app, "id")) if app != "common" else set())
    missing = []
    for script in scripts_of(app):
        text = script.read_text(encoding="utf-8")
        for _, key in LITERAL.findall(text):
            if key not in known:
                missing.append(f"{script.name}: {key}")
        for prefix in TEMPLATE.findall(text):
            if not any(k.startswith(prefix) for k in known):
                missing.append(f"{script.name}: {prefix}*")
    assert missing == [], f"strings without a translation: {missing}"


def test_a_missing_translation_would_be_caught() -> None:
    # The scanner itself must see calls: a made-up call is found and flagged.
    assert LITERAL.findall('t("console.nonexistent.key")') == [('"', "console.nonexistent.key")]
