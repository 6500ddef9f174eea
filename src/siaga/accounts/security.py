"""Hashing of passwords, PINs, one-time codes and session tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Each argon2 computation takes its memory cost (64 MiB by default) for its duration. Logins and PIN checks run in
# worker threads, so a burst of them would add 64 MiB each to the server at once; two at a time keep a 2-core server's
# CPU busy and its memory bounded. Callers wait their turn.
_ARGON2_SLOTS = threading.BoundedSemaphore(2)


def hash_secret(value: str) -> str:
    """An argon2id hash of a password or PIN."""
    with _ARGON2_SLOTS:
        return _hasher.hash(value)


def verify_secret(stored_hash: str | None, value: str) -> bool:
    """Whether ``value`` matches ``stored_hash`` (False for no hash)."""
    if not stored_hash:
        return False
    try:
        with _ARGON2_SLOTS:
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
