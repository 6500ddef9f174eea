"""The console snapshots' short-lived cache (realtime/snapshots.py): one make for the consoles asking together, for a
short time only, a bounded number of entries, a failure not kept, pages read as they are made, and the messages the
schema describes."""

from __future__ import annotations

import asyncio

import pytest

from siaga.realtime.schemas import SNAPSHOT_PAGE
from siaga.realtime.snapshots import Make, SharedSnapshot, SnapshotPages


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def counting(made: list[int], alerts: int = 1) -> Make:
    async def make(shared: SharedSnapshot) -> None:
        made.append(1)
        shared.counted(alerts)
        shared.add(f'{{"n":{len(made)}}}')

    return make


async def test_consoles_asking_together_share_one_make_for_a_short_time_only() -> None:
    clock = Clock()
    pages = SnapshotPages(share_seconds=1.0, clock=clock)
    made: list[int] = []
    together = [pages.get(("all",), 7, counting(made)) for _ in range(5)]
    assert all(shared is together[0] for shared in together)
    assert [await shared.page(0) for shared in together] == ['{"n":1}'] * 5
    assert len(made) == 1
    assert await pages.get(("all",), 8, counting(made)).page(0) == '{"n":2}', "another cursor, another picture"
    clock.now += 1.5
    assert await pages.get(("all",), 7, counting(made)).page(0) == '{"n":3}', "too old to share"
    assert pages.made == 3


async def test_the_cache_is_bounded_and_a_failed_make_is_tried_again() -> None:
    pages = SnapshotPages(scopes_max=2, clock=Clock())
    for cursor in range(5):
        await pages.get(("all",), cursor, counting([])).page(0)
    assert len(pages) == 2

    async def broken(shared: SharedSnapshot) -> None:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        await pages.get(("all",), 9, broken).count()
    assert await pages.get(("all",), 9, counting([], alerts=3)).count() == 3


async def test_pages_go_out_as_they_are_made_as_the_schema_describes() -> None:
    gate = asyncio.Event()

    async def make(shared: SharedSnapshot) -> None:
        shared.counted(SNAPSHOT_PAGE + 2)
        shared.add('{"a":1}')
        await gate.wait()
        shared.add('{"a":2},{"a":3}')

    shared = SnapshotPages(clock=Clock()).get(("all",), 3, make)
    assert (await shared.count(), shared.page_count, shared.more) == (SNAPSHOT_PAGE + 2, 2, True)
    assert await shared.page(0) == '{"a":1}', "the first page is there before the second is made"
    gate.set()
    assert await shared.page(1) == '{"type":"snapshot_page","cursor":3,"more":false,"alerts":[{"a":2},{"a":3}]}'
    empty = '{"type":"snapshot","cursor":3,"open_alerts":1002,"more":true,"alerts":[],"units":[]}'
    message = shared.first_message(empty, await shared.page(0))
    assert message == '{"type":"snapshot","cursor":3,"open_alerts":1002,"more":true,"alerts":[{"a":1}],"units":[]}'
    assert shared.first_message(empty, await shared.page(0)) is message
