"""The heap keeper: long-lived objects leave the cycle collector's generations, and cycles among them are still
collected at the reclaim."""

from __future__ import annotations

import gc
import weakref

import pytest

from siaga.heap import HeapKeeper
from tests.conftest import eventually


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _in_the_generations(objects: list[_Node]) -> int:
    """How many of ``objects`` a collection would walk: frozen ones are in the permanent generation instead."""
    wanted = {id(o) for o in objects}
    return sum(id(o) in wanted for o in gc.get_objects())


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
        held = [_Node() for _ in range(1000)]  # made after the start: frozen at a later round
        assert _in_the_generations(held) == len(held)

        async def all_frozen() -> bool:
            return _in_the_generations(held) == 0

        await eventually(all_frozen, what="the keeper's next round to freeze what lives")
    finally:
        await keeper.stop()
    assert _in_the_generations(held) == len(held), "stop hands everything back to the collector"


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

        async def freed() -> bool:
            return garbage() is None

        await eventually(freed, what="the keeper's reclaim to free a frozen cycle")
    finally:
        await keeper.stop()


async def test_a_keeper_set_to_zero_leaves_the_collector_alone() -> None:
    held = [_Node() for _ in range(100)]
    keeper = HeapKeeper(freeze_every_s=0, reclaim_every_s=3600)
    keeper.start()
    assert not keeper.running
    assert _in_the_generations(held) == len(held), "a disabled keeper froze what lives"
    await keeper.stop()
