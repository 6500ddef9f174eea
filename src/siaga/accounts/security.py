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
# (passwords and recovery codes) take turns in one worker thread of their own that runs ``LOGIN_NICE`` steps below
# the process's CPU priority (on Linux, where priority is per thread and the threads argon2 starts inherit it): a
# flood of wrong passwords then gets only the CPU that the SOS presses and everything else leave over, instead of
# four threads competing with the event loop as equals (a resident's SOS p95 went from 15 ms to 655 ms during a flood
# of 200 logins a second; ``python -m benchmarks.loginflood``). A staff member's own login is as quick as before on
# a machine with CPU to spare. Everything else (residents' PINs, a cancel perhaps under duress, and setting secrets)
# takes turns in the other slot, at the process's priority: a resident's PIN never queues behind the flood. How many
# logins may wait at all is ``deps.login_slot``'s bound.
LOGIN_NICE = 10


def _lower_priority() -> None:
    if sys.platform != "linux":  # elsewhere os.nice would lower the whole process
        return
    try:
        os.nice(LOGIN_NICE)
    except OSError:  # a sandbox that forbids it: logins are still checked, at the process's priority
        logging.getLogger(__name__).warning("staff logins' password checks run at the server's own CPU priority")


_STAFF_LOGINS = ThreadPoolExecutor(1, thread_name_prefix="argon2-staff-logins", initializer=_lower_priority)
_OTHERS = threading.BoundedSemaphore(1)


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
    Waiting its turn holds no worker thread: a flood of logins never keeps a resident's PIN check from a thread."""
    return await asyncio.wrap_future(_STAFF_LOGINS.submit(_verify, stored_hash, value))


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
