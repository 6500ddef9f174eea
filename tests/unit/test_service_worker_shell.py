"""The resident app opens without signal: every module it loads is in the service worker's install-time cache.
A module left out worked only while the browser's HTTP cache happened to hold it; now that static files are always
revalidated (``Cache-Control: no-cache``), an offline start would fail on it."""

from __future__ import annotations

import json
import posixpath
import re

from siaga.web.router import IMPORT_MAP, STATIC

IMPORTS = re.compile(r"""(?:\bimport\s*\(?|\bfrom)\s*["']([^"']+)["']""")
SHELL_ENTRY = re.compile(r'"(/static/[^"]+)"')


def _modules(entry: str) -> set[str]:
    """The /static URLs of ``entry`` and every module it imports, statically or dynamically."""
    bare = json.loads(IMPORT_MAP)["imports"]
    seen: set[str] = set()
    waiting = [entry]
    while waiting:
        url = waiting.pop()
        if url in seen:
            continue
        seen.add(url)
        source = (STATIC / url.removeprefix("/static/")).read_text(encoding="utf-8")
        for specifier in IMPORTS.findall(source):
            if specifier.startswith("."):
                waiting.append(posixpath.normpath(posixpath.join(posixpath.dirname(url), specifier)))
            elif specifier.startswith("/static/"):
                waiting.append(specifier)
            elif specifier in bare:
                waiting.append(bare[specifier])
    return seen


def test_every_module_of_the_resident_app_is_cached_when_the_service_worker_installs() -> None:
    shell = set(SHELL_ENTRY.findall((STATIC / "js" / "sw.js").read_text(encoding="utf-8")))
    missing = _modules("/static/resident/main.js") - shell
    assert not missing, f"add to RESIDENT_SHELL in static/js/sw.js: {sorted(missing)}"
