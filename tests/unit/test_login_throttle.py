"""The process's memory of logins (``LoginThrottle``): one login step under way per address, the logins refused
meanwhile counted against the address, and an address over its limit refused only until its window ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siaga.accounts.sessions import LOGIN_ATTEMPTS_PER_CLIENT, LOGIN_WINDOW, LoginThrottle

T0 = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


def _code(throttle: LoginThrottle, address: str, *, at: datetime = T0, places_left: bool = True) -> str | None:
    refused = throttle.enter(address, now=at, places_left=places_left)
    return refused.code if refused is not None else None


def test_an_address_waits_for_its_own_login_and_is_over_its_limit_for_one_window_only() -> None:
    throttle = LoginThrottle()
    assert _code(throttle, "203.0.113.1") is None  # under way
    meanwhile = [_code(throttle, "203.0.113.1") for _ in range(LOGIN_ATTEMPTS_PER_CLIENT + 1)]
    assert meanwhile == ["auth.busy"] * (LOGIN_ATTEMPTS_PER_CLIENT + 1)  # the last one past the limit
    assert _code(throttle, "198.51.100.1") is None  # another address has its own turn
    throttle.leave("203.0.113.1")
    assert _code(throttle, "203.0.113.1") == "auth.throttled"
    assert _code(throttle, "203.0.113.1", at=T0 + LOGIN_WINDOW - timedelta(seconds=1)) == "auth.throttled"
    assert _code(throttle, "203.0.113.1", at=T0 + LOGIN_WINDOW) is None  # a new window
    assert throttle.drain() == {
        "busy+client:203.0.113.1": LOGIN_ATTEMPTS_PER_CLIENT + 1,
        "client:203.0.113.1": 2,
    }


def test_logins_one_after_another_and_logins_refused_for_want_of_places_do_not_count_against_an_address() -> None:
    """The database counts the guesses (and forgets the right passwords): a command centre behind one address whose
    staff log in one after another, or who meet a server whose places are all taken, is not refused for it."""
    throttle = LoginThrottle()
    for _ in range(LOGIN_ATTEMPTS_PER_CLIENT * 2):
        assert _code(throttle, "203.0.113.2", places_left=False) == "auth.busy"
        assert _code(throttle, "203.0.113.2") is None
        throttle.leave("203.0.113.2")
    assert throttle.drain() == {"busy:203.0.113.2": LOGIN_ATTEMPTS_PER_CLIENT * 2}
    assert throttle.drain() == {}
