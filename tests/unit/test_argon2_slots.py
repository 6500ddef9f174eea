"""Password hashing takes a core for a tenth of a second or more. A flood of staff logins may hold one core of the
process at most, so that the SOS presses keep the other; and a resident's PIN (a cancel, perhaps under duress) never
waits behind the flood."""

from __future__ import annotations

import threading
from collections.abc import Callable

from siaga.accounts import security

PIN_HASH = security.hash_secret("1234")
PASSWORD_HASH = security.hash_secret("kata sandi yang panjang")


def _in_thread(check: Callable[[], bool]) -> tuple[threading.Thread, list[bool]]:
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(check()), daemon=True)
    thread.start()
    return thread, result


def test_a_pin_check_goes_ahead_while_a_staff_login_holds_its_core() -> None:
    with security._STAFF_LOGINS:  # a staff login's password check in progress
        pin, answered = _in_thread(lambda: security.verify_secret(PIN_HASH, "1234"))
        pin.join(timeout=120)
        assert answered == [True], "the resident's PIN check waited for the staff login"


def test_a_second_staff_login_waits_for_the_first() -> None:
    second: threading.Thread | None = None
    answered: list[bool] = []
    with security._STAFF_LOGINS:
        second, answered = _in_thread(
            lambda: security.verify_secret(PASSWORD_HASH, "kata sandi yang panjang", staff_login=True)
        )
        second.join(timeout=0.5)  # not a timing assertion: whatever the machine, it cannot finish while held
        assert answered == []
        assert second.is_alive()
    second.join(timeout=120)
    assert answered == [True]
