"""Password hashing takes a core (or four threads) for a tenth of a second or more. A flood of staff logins takes
turns in one thread of its own that yields the CPU to everything else, so that residents' SOS presses do not wait
behind it; and a resident's PIN (a cancel, perhaps under duress) never waits behind the flood."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from siaga.accounts import security

PIN_HASH = security.hash_secret("1234")
PASSWORD_HASH = security.hash_secret("kata sandi yang panjang")


def _in_thread(check: Callable[[], bool]) -> tuple[threading.Thread, list[bool]]:
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(check()), daemon=True)
    thread.start()
    return thread, result


@contextmanager
def _staff_login_in_progress() -> Iterator[None]:
    """The staff logins' thread busy, as with a password check that has not finished."""
    release = threading.Event()
    security._STAFF_LOGINS.submit(release.wait)
    try:
        yield
    finally:
        release.set()


def test_a_pin_check_goes_ahead_while_a_staff_login_holds_its_core() -> None:
    with _staff_login_in_progress():
        pin, answered = _in_thread(lambda: security.verify_secret(PIN_HASH, "1234"))
        pin.join(timeout=120)
        assert answered == [True], "the resident's PIN check waited for the staff login"


def _login_check(password: str) -> bool:
    return asyncio.run(security.verify_staff_login(PASSWORD_HASH, password))


def test_a_second_staff_login_waits_for_the_first() -> None:
    second: threading.Thread | None = None
    answered: list[bool] = []
    with _staff_login_in_progress():
        second, answered = _in_thread(lambda: _login_check("kata sandi yang panjang"))
        second.join(timeout=0.5)  # not a timing assertion: whatever the machine, it cannot finish while held
        assert answered == []
        assert second.is_alive()
    second.join(timeout=120)
    assert answered == [True]


async def test_staff_logins_waiting_their_turn_hold_no_worker_thread() -> None:
    """Logins waiting for the one before them leave the worker threads free for a resident's PIN check."""
    with _staff_login_in_progress():
        waiting = [asyncio.create_task(security.verify_staff_login(PASSWORD_HASH, "tebakan")) for _ in range(8)]
        pin = asyncio.to_thread(security.verify_secret, PIN_HASH, "1234")
        assert await asyncio.wait_for(pin, timeout=120), "the resident's PIN check waited for a worker thread"
        assert not any(task.done() for task in waiting)
    assert await asyncio.gather(*waiting) == [False] * 8


@pytest.mark.skipif(sys.platform != "linux", reason="CPU priority is per thread on Linux only")
def test_staff_logins_are_checked_only_when_nothing_else_wants_the_cpu() -> None:
    """A flood of wrong passwords once took a resident's SOS p95 from 15 ms to 655 ms: its argon2 threads competed
    with the event loop as equals; niced, they still competed with the database server, another process. Scheduled
    as idle work (inherited by the threads argon2 starts), the flood gets only the CPU nothing else wants."""
    policy = security._STAFF_LOGINS.submit(os.sched_getscheduler, 0).result()
    assert policy == os.SCHED_IDLE
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the server's own threads keep theirs
    assert _login_check("kata sandi yang panjang")
    assert not _login_check("kata sandi yang salah")


def test_an_unknown_account_is_checked_like_a_wrong_password() -> None:
    """No account: a full check against a hash of nothing, in the staff logins' thread (it was once made on the
    event loop), and never a match."""
    assert not asyncio.run(security.verify_staff_login(None, "kata sandi yang panjang"))
    assert not asyncio.run(security.verify_staff_login(None, ""))
    assert security._NOT_A_PASSWORD, "no hash was checked for the unknown account"
