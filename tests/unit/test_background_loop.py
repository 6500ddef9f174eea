"""The background loop: wakes that come faster than a loop's ``woken_gap`` are served by one round."""

from __future__ import annotations

import asyncio

from siaga.background import Loop
from tests.conftest import eventually


async def test_wakes_within_the_gap_are_served_by_one_round_and_an_urgent_wake_ends_the_wait() -> None:
    wakes = 0
    served: list[int] = []  # how many wakes had come when each round ran

    async def work() -> None:
        served.append(wakes)

    loop = Loop("test", work, interval=3600, woken_gap=3600)
    loop.start()
    try:
        for _ in range(20):  # a surge: a wake for every batch of presses
            wakes += 1
            loop.wake()
            await asyncio.sleep(0.01)
        assert served == [], "a wake within the gap waits for it"
        wakes += 1
        loop.wake(at_once=True)  # work left over: no waiting

        async def ran() -> bool:
            return served == [21]

        await eventually(ran, what="one round for all the wakes")
    finally:
        await loop.stop()


async def test_stop_ends_the_wait_for_the_gap() -> None:
    rounds = 0

    async def work() -> None:
        nonlocal rounds
        rounds += 1

    loop = Loop("test", work, interval=3600, woken_gap=3600)
    loop.start()
    loop.wake()
    await asyncio.sleep(0)
    await asyncio.wait_for(loop.stop(grace=3600), timeout=60)  # not an hour: stopping does not wait out the gap
    assert rounds == 0
