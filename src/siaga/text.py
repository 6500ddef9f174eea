"""Text as phones, files and other systems send it, made storable on every database.

A phone may send a NUL byte (PostgreSQL cannot store one in text), half of an emoji cut by string slicing (a lone
surrogate, which no UTF-8 encoder accepts), or other control characters. None of these may cost a resident their
SOS or a 500: every piece of text that enters Siaga is passed through :func:`clean_text`, once, where it enters (the
request models of ``siaga.schemas``, the URL middleware in ``siaga.app``, file imports)."""

from __future__ import annotations

import re
from typing import Any

# C0 controls (but tab, newline and carriage return) and DEL: never meaningful in a name, a note or a report.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a Python string a surrogate is always alone: a valid pair was already joined into one character by the decoder.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def clean_text(value: str) -> str:
    """``value`` without control characters (tab and line breaks stay) and with each lone surrogate replaced by
    U+FFFD, the replacement character: what is left can be stored, logged and sent as UTF-8 anywhere."""
    if value.isascii():
        return _CONTROL.sub("", value) if not value.isprintable() else value
    return _LONE_SURROGATE.sub(REPLACEMENT, _CONTROL.sub("", value))


def cleaned(data: Any) -> Any:
    """``data`` (decoded JSON: objects, arrays, strings, numbers) with every string and object key cleaned."""
    if isinstance(data, str):
        return clean_text(data)
    if isinstance(data, dict):
        return {clean_text(k) if isinstance(k, str) else k: cleaned(v) for k, v in data.items()}
    if isinstance(data, list):
        return [cleaned(item) for item in data]
    return data
