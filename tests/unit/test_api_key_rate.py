"""An API key's rate, as a token bucket per key: its requests per minute, at most that many at once, refilled
evenly; past it a wait in whole seconds; an alarm counted but never refused; and the key's form, hash and
public id."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from siaga.accounts import apikeys, security
from siaga.accounts.apikeys import ApiKeys, KeyHolder
from siaga.accounts.domain import Principal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(apikeys.time, "monotonic", clock)
    return clock


def holder(public_id: str, per_minute: int) -> KeyHolder:
    principal = Principal(session_id=0, name="Sistem", agency_id=1, api_key_id=1, scopes=frozenset({"alerts:read"}))
    return KeyHolder(public_id=public_id, principal=principal, key_hash="", requests_per_minute=per_minute)


def keys() -> ApiKeys:
    sessions: Any = None  # the rate never reads the database
    return ApiKeys(sessions)


def test_a_key_takes_its_rate_at_once_then_waits_for_the_bucket_to_refill(clock: Clock) -> None:
    memory, key = keys(), holder("a" * 16, 60)  # one a second
    assert [memory.take(key) for _ in range(60)] == [None] * 60
    assert memory.take(key) == 1
    clock.now += 0.5
    assert memory.take(key) == 1  # half a request refilled: still a second to wait, in whole seconds
    clock.now += 0.5
    assert memory.take(key) is None
    assert memory.take(key) == 1


def test_the_wait_is_the_time_to_the_next_request_at_the_keys_rate(clock: Clock) -> None:
    memory, slow = keys(), holder("b" * 16, 2)  # one every 30 seconds
    assert memory.take(slow) is None
    assert memory.take(slow) is None
    assert memory.take(slow) == 30
    clock.now += 12
    assert memory.take(slow) == 18
    clock.now += 17
    assert memory.take(slow) == 1
    clock.now += 1
    assert memory.take(slow) is None


def test_keys_do_not_share_a_bucket_and_an_alarm_is_never_refused(clock: Clock) -> None:
    memory, busy, calm = keys(), holder("c" * 16, 1), holder("d" * 16, 1)
    assert memory.take(busy) is None
    assert memory.take(busy) == 60
    assert memory.take(calm) is None  # another key's bucket is its own
    assert memory.take(busy, refuse=False) is None  # counted, not refused
    assert memory.take(busy) == 60


def test_the_last_use_is_written_at_most_once_a_minute_per_key(clock: Clock) -> None:
    memory, key = keys(), holder("e" * 16, 60)
    assert memory.use_to_record(key)
    assert not memory.use_to_record(key)
    clock.now += apikeys.USE_RECORDED_EVERY_S
    assert memory.use_to_record(key)


def test_a_key_names_itself_by_its_public_id_and_is_kept_as_its_sha256() -> None:
    public_id, key = apikeys.new_key()
    assert key.startswith(f"sk_siaga_{public_id}_")
    assert len(key.rsplit("_", 1)[1]) == 52  # 256 bits in base32
    assert apikeys.public_id_of(key) == public_id
    assert security.hash_token(key) == hashlib.sha256(key.encode()).hexdigest()  # kept as its SHA-256
    assert apikeys.public_id_of("sk_siaga_short_key") is None
    assert apikeys.public_id_of(key.upper()) is None
    assert apikeys.new_key() != apikeys.new_key()
    assert "the API key" in apikeys.refused("sk_siaga_garbage").message
    assert key not in apikeys.refused(key).message
    assert public_id in apikeys.refused(key).message
