"""``siaga demo``'s living city: the simulator runs as its own ``siaga simulate`` process against the demo server,
started once the server answers and stopped before the server, so it can end its exercise cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

import httpx
import uvicorn

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0


class SimulatorProcess:
    """A ``siaga simulate`` child process. It gets its own session, so a Ctrl-C in the terminal reaches the demo
    server only; the server then stops the simulator first (which ends the exercise) and only then itself."""

    def __init__(self, *, url: str, password: str, args: Sequence[str]) -> None:
        self.url = url.rstrip("/")
        self.password = password
        self.args = list(args)
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self._lock = threading.Lock()

    def start_when_ready(self) -> None:
        threading.Thread(target=self._start_when_ready, name="simulator-start", daemon=True).start()

    def _start_when_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and not self.stopping:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        else:
            return
        command = [sys.executable, "-m", "siaga", "simulate", "--url", self.url, *self.args]
        with self._lock:
            if self.stopping:
                return
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                command, env={**os.environ, "SIAGA_SIMULATE_PASSWORD": self.password}, start_new_session=True
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Ask the simulator to end its exercise and exit; kill it if it takes too long."""
        with self._lock:
            self.stopping = True
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def server_with(simulator: SimulatorProcess) -> type[uvicorn.Server]:
    """A uvicorn server that, on Ctrl-C, lets the simulator end its exercise against it before shutting down."""

    class DemoServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if simulator.stopping:
                super().handle_exit(sig, frame)
                return
            simulator.stopping = True
            # A signal handler must return at once: the server keeps serving while the simulator winds down.
            threading.Thread(target=self._stop_after_simulator, args=(sig,), daemon=True).start()

        def _stop_after_simulator(self, sig: int) -> None:
            simulator.stop()
            super().handle_exit(sig, None)

    return DemoServer
