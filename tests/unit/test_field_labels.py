"""A refused form names its fields by their labels in the reader's language (issue 12: "Isian tidak valid:
emergency_contacts.0.phone" inside the Indonesian UI). Every field a person fills in, in every request body the API
takes, has a label in both catalogues (`common.field.<name>`, read by js/errors.js fieldLabel)."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import siaga
from siaga.schemas import Input

I18N = Path(__file__).resolve().parents[2] / "src" / "siaga" / "web" / "static" / "i18n"
# Bodies a program writes (a phone's positions and press, a browser's push subscription, the drill simulator's
# requests): nobody types them, so a refusal of one is never read as a form's message.
WRITTEN_BY_PROGRAMS = {
    "AlertCreate",
    "PressLocation",
    "LocationIn",
    "TrailIn",
    "Where",
    "PositionIn",
    "PositionsIn",
    "PushSubscriptionIn",
    "PushKeys",
    "ExerciseOfficersCreate",
    "ExerciseResidentsCreate",
    "DispatchSettingsRead",
}


def subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


def typed_fields() -> dict[str, set[str]]:
    """Field name -> the request models that have it, over every schema module of the package."""
    for module in pkgutil.walk_packages(siaga.__path__, "siaga."):
        if module.name.endswith("schemas"):
            importlib.import_module(module.name)
    fields: dict[str, set[str]] = {}
    for model in set(subclasses(Input)):
        if model.__name__ in WRITTEN_BY_PROGRAMS:
            continue
        for name in getattr(model, "model_fields", {}):
            fields.setdefault(name, set()).add(model.__name__)
    return fields


def test_the_scan_finds_the_forms_people_fill_in() -> None:
    fields = typed_fields()
    assert {"StaffCreate", "ResidentUpdate", "EmergencyContactIn"} <= set().union(*fields.values())
    assert {"username", "phone", "emergency_contacts", "relation"} <= set(fields)


def test_every_field_a_person_fills_in_has_a_label_in_both_languages() -> None:
    for lang in ("id", "en"):
        catalogue = json.loads((I18N / f"common.{lang}.json").read_text(encoding="utf-8"))
        missing = {
            name: sorted(models) for name, models in typed_fields().items() if f"common.field.{name}" not in catalogue
        }
        assert missing == {}, f"common.{lang}.json: fields without a label (common.field.<name>): {missing}"
