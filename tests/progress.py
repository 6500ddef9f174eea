"""A line every few minutes of a long run: how many tests are done and which took longest so far.

Progress dots say nothing of time. When a run is slow, or stopped by CI's time limit, these lines in the tail of its
output show where the time went. They come from the process that prints the report (xdist's controller, or pytest
itself without -n)."""

from __future__ import annotations

import heapq
import time

import pytest

EVERY_SECONDS = 300.0
SHOWN = 5


class Progress:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.monotonic()
        self.next_line = self.started + EVERY_SECONDS
        self.done = 0
        self.seconds: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0.0) + report.duration
        if report.when == "teardown":
            self.done += 1
        now = time.monotonic()
        if now < self.next_line:
            return
        self.next_line = now + EVERY_SECONDS
        slowest = heapq.nlargest(SHOWN, self.seconds.items(), key=lambda item: item[1])
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        reporter.write_line("")
        reporter.write_line(f"[progress] {(now - self.started) / 60:.0f} min: {self.done} tests done; slowest so far:")
        for nodeid, seconds in slowest:
            reporter.write_line(f"[progress]   {seconds:7.1f} s {nodeid}")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # not an xdist worker: the process that reports
        config.pluginmanager.register(Progress(config), "siaga-progress")
