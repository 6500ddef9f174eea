"""The heap keeper: long-lived objects leave the cycle collector's generations, and cycles among them are still
collected at the reclaim."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from siaga.heap import HeapKeeper


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture(autouse=True)
def _unfrozen() -> object:
    yield None
    gc.unfreeze()


async def test_a_running_keeper_freezes_what_lives_and_stop_gives_it_back() -> None:
    keeper = HeapKeeper(freeze_every_s=0.05, reclaim_every_s=3600)
    keeper.start()
    try:
        assert gc.get_freeze_count() > 0
        held = [_Node() for _ in range(1000)]  # made after the start: frozen at the next round
        frozen_before = gc.get_freeze_count()
        await asyncio.sleep(0.3)
        assert gc.get_freeze_count() >= frozen_before + len(held)
    finally:
        await keeper.stop()
    assert gc.get_freeze_count() == 0


async def test_a_cycle_frozen_is_kept_until_the_reclaim_and_then_freed() -> None:
    keeper = HeapKeeper(freeze_every_s=0.05, reclaim_every_s=3600)
    keeper.start()
    try:
        garbage = _cycle()
        gc.freeze()  # as a round of the keeper would
        gc.collect()
        assert garbage() is not None, "a frozen cycle is out of the collector's reach"
        freed, _ = keeper.reclaim()
        assert garbage() is None
        assert freed >= 2
        assert gc.get_freeze_count() > 0, "what lives is frozen again after the reclaim"
    finally:
        await keeper.stop()


async def test_the_reclaim_comes_round_by_itself() -> None:
    keeper = HeapKeeper(freeze_every_s=0.05, reclaim_every_s=0.2)
    keeper.start()
    try:
        garbage = _cycle()
        gc.freeze()
        for _ in range(40):
            if garbage() is None:
                break
            await asyncio.sleep(0.05)
        assert garbage() is None
    finally:
        await keeper.stop()


async def test_a_keeper_set_to_zero_leaves_the_collector_alone() -> None:
    keeper = HeapKeeper(freeze_every_s=0, reclaim_every_s=3600)
    keeper.start()
    assert not keeper.running
    assert gc.get_freeze_count() == 0
    await keeper.stop()
