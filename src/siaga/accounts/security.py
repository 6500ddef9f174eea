"""Hashing of passwords, PINs, one-time codes and session tokens, and the staff password policy."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import re
import secrets
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from siaga.errors import Invalid

_hasher = PasswordHasher()
# Each argon2 computation takes its memory cost (64 MiB by default) and a tenth of a second or more of CPU, spread over
# as many threads as the hash's parallelism (4 by default), which libargon2 starts for each check. Staff logins
# (passwords and recovery codes) take turns in one worker thread of their own, scheduled as idle work (Linux's
# SCHED_IDLE, inherited by the threads argon2 starts): it runs on a core only when nothing else wants it, and a
# thread that wakes takes the core at once. A lower nice value was not enough: it orders threads only within one
# scheduling group (on Linux, a login session), and the database server, where a resident's press spends much of its
# time, is in another. With the same fifty wrong passwords checked during a flood of 200 logins a second, residents'
# SOS p99 went to 100-300 ms niced and stayed at about 20-26 ms as idle work (``python -m benchmarks.loginflood``, 2
# cores, SQLite and PostgreSQL). On a machine busy for long, a staff member's login waits longer than it did niced:
# SOS presses come first; with CPU to spare it is as quick as before. Everything else (residents' PINs, a cancel
# perhaps under duress, and setting secrets) takes turns in the other slot, at the process's priority: a resident's
# PIN never queues behind a flood. How many logins may wait at all, in all and from one address, is
# ``deps.login_slot``'s bound.
LOGIN_NICE = 19  # where idle scheduling is not available


def _lower_priority() -> None:
    if sys.platform != "linux":  # elsewhere os.nice would lower the whole process
        return
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # this thread only, on Linux
        return
    except OSError:
        pass
    try:
        os.nice(LOGIN_NICE)
    except OSError:  # a sandbox that forbids it: logins are still checked, at the process's priority
        logging.getLogger(__name__).warning("staff logins' password checks run at the server's own CPU priority")


_STAFF_LOGINS = ThreadPoolExecutor(1, thread_name_prefix="argon2-staff-logins", initializer=_lower_priority)
_OTHERS = threading.BoundedSemaphore(1)
_NOT_A_PASSWORD: list[str] = []  # the hash an unknown account's login is checked against, made once when first needed


def hash_secret(value: str) -> str:
    """An argon2id hash of a password or PIN."""
    with _OTHERS:
        return _hasher.hash(value)


def verify_secret(stored_hash: str | None, value: str) -> bool:
    """Whether ``value`` matches ``stored_hash`` (False for no hash). Blocking: call it from a worker thread in a
    server."""
    with _OTHERS:
        return _verify(stored_hash, value)


async def verify_staff_login(stored_hash: str | None, value: str) -> bool:
    """``verify_secret`` for a step of a staff login (a password or a recovery code), in the staff logins' thread.
    Waiting its turn holds no worker thread: a flood of logins never keeps a resident's PIN check from a thread.
    No hash (no such account): False, after checking ``value`` against a hash of nothing in particular, so that an
    unknown account takes as long as a wrong password."""
    return await asyncio.wrap_future(_STAFF_LOGINS.submit(_verify_login, stored_hash, value))


def _verify_login(stored_hash: str | None, value: str) -> bool:
    if stored_hash:
        return _verify(stored_hash, value)
    if not _NOT_A_PASSWORD:  # only ever in the staff logins' one thread
        _NOT_A_PASSWORD.append(_hasher.hash(secrets.token_urlsafe(16)))
    _verify(_NOT_A_PASSWORD[0], value)
    return False


def _verify(stored_hash: str | None, value: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, value)
    except (VerificationError, InvalidHashError):
        return False


def new_code() -> str:
    """A uniformly random 6-digit one-time code."""
    return f"{secrets.randbelow(1_000_000):06d}"


def hash_code(secret_key: str, phone: str, code: str) -> str:
    """Keyed hash of a one-time code: a leaked table cannot be brute-forced without the server's key."""
    return hmac.new(secret_key.encode(), f"otp:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def codes_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def new_token() -> str:
    """An opaque bearer token (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are random and long, so a plain SHA-256 is enough to keep them useless if the table leaks."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_valid_pin(pin: str) -> bool:
    return pin.isdigit() and 4 <= len(pin) <= 8


MIN_PASSWORD_LENGTH = 10
# zxcvbn's scale: 3 is "safely unguessable" (about 10^8 guesses or more), which a slow hash makes out of reach offline.
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses longer input (its matching grows fast with length); a password whose first 72 characters are
# strong is strong.
_ESTIMATED_LENGTH = 72
# zxcvbn keeps the user inputs of a check in a module-level dictionary: checks take turns.
_ESTIMATE = threading.Lock()


def check_staff_password(password: str, *, user_inputs: Iterable[str] = ()) -> None:
    """The policy for a new staff password (an account created or a password set, by the API or ``siaga user``):
    10 characters or more, and not guessable by zxcvbn's estimate (common passwords, words, names, keyboard
    patterns, repeats, sequences, dates, and the account's own ``user_inputs`` such as its username and name).
    Raises a 422 saying why. Slow (tens of milliseconds): call it from a worker thread in a server."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
            code="staff.password_short",
            details={"field": "password"},
        )
    inputs = ["siaga"]
    for value in user_inputs:  # "budi.santoso", "Budi Santoso": whole, run together, and word by word
        words = re.split(r"[\s._-]+", value.strip())
        inputs += [value, "".join(words), *words]
    with _ESTIMATE:
        estimate = zxcvbn(password[:_ESTIMATED_LENGTH], user_inputs=inputs)
    if estimate["score"] < MIN_PASSWORD_SCORE:
        why = estimate["feedback"]["warning"] or "it is made of common words or patterns"
        raise Invalid(
            f"the password is too easy to guess ({why.rstrip('.')}); use a longer phrase of uncommon words",
            code="staff.password_weak",
            details={"field": "password", "score": estimate["score"], "min_score": MIN_PASSWORD_SCORE},
        )
