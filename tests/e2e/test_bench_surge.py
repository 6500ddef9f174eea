"""The surge scenario in miniature against a real ``siaga serve``: presses onto a database already holding open
alerts, with consoles connected and officers on duty, every press stored and every console told of every one; the
figures the report sets side by side are all measured."""

from __future__ import annotations

import pytest
from benchmarks import surge
from benchmarks.run import Config


def test_a_tiny_surge_stores_every_press_and_tells_every_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_QUICK", "1")
    monkeypatch.setenv("BENCH_CONSOLE_PROCS", "1")  # two consoles need no second process to hold them
    # A real run waits for the machine to fall quiet before measuring; a test machine running the suite never does.
    monkeypatch.setattr(surge, "wait_for_quiet", lambda: (0.0, 0.0))
    config = surge.SurgeConfig(
        base=Config.from_env(),
        open_alerts=20,
        presses=12,
        seconds=1.0,
        consoles=2,
        officers=2,
        rest_s=0.2,
        backlog_limit_s=120.0,
    )
    result = surge.one_run("sqlite", config, open_alerts=config.open_alerts, run_tag=0x5A6E)

    assert result["consoles_connected"] == 2
    assert result["press"]["ok"] == result["press"]["scheduled"] == 12, result["press"]["statuses"]
    assert result["deliveries_expected"] == 24
    assert result["deliveries_missing"] == 0
    assert result["backlog_s"] < config.backlog_limit_s, "the offers already due were worked off"
    for figure in ("cpu_at_rest_before", "cpu_at_rest_after", "cpu_per_press_ms", "peak_memory_mb"):
        assert isinstance(result[figure], float), figure
    table = surge.markdown({"sqlite": {"empty": result, "surge": result}}, config)
    assert "| press to console p99 (ms) |" in table
    assert "1.00x" in table
