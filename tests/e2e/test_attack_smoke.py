"""The attack run of issue 14 (``python -m benchmarks.attack``), at tiny sizes on SQLite, against a real ``siaga
serve``: every finding it replays must still fail to get through. It keeps the run from rotting as the API moves,
and fails if a closed hole opens again. How fast things happen is the full run's to report, not this test's."""

from __future__ import annotations

import os

import pytest
from benchmarks import attack


def test_every_attack_of_the_hardening_issue_still_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("BENCH_")]:
        monkeypatch.delenv(name)  # every item, at the smoke sizes
    monkeypatch.setenv("BENCH_QUICK", "1")
    findings = attack.measure("sqlite", attack.Scale.from_env())
    assert [f.item for f in findings] == [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11]
    failed = {f.item: f.after for f in findings if not f.held}
    assert not failed, failed
