"""The console snapshots' short-lived cache (realtime/snapshots.py): one make for the consoles asking together, for a
short time only, a bounded number of entries, a failure not kept, and a console that goes away stopping no one else."""

from __future__ import annotations

import asyncio

import pytest

from siaga.realtime.snapshots import SharedSnapshot, SnapshotPages, serialise


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def picture(n: int) -> SharedSnapshot:
    return SharedSnapshot(open_alerts=n, first_page="", next_pages=[])


async def test_consoles_asking_together_share_one_make_for_a_short_time_only() -> None:
    clock = Clock()
    pages = SnapshotPages(share_seconds=1.0, clock=clock)
    gate = asyncio.Event()
    made: list[int] = []

    async def make() -> SharedSnapshot:
        made.append(1)
        await gate.wait()
        return picture(len(made))

    waiting = [asyncio.create_task(pages.get(("all",), 7, make)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    answers = await asyncio.gather(*waiting)
    assert len(made) == 1
    assert all(answer is answers[0] for answer in answers)
    assert (await pages.get(("all",), 8, make)).open_alerts == 2, "another cursor, another picture"
    clock.now += 1.5
    assert (await pages.get(("all",), 7, make)).open_alerts == 3, "too old to share"


async def test_the_cache_is_bounded_and_a_failed_make_is_tried_again() -> None:
    pages = SnapshotPages(scopes_max=2, clock=Clock())
    for cursor in range(5):
        await pages.get(("all",), cursor, lambda: _made(1))
    assert len(pages) == 2

    async def broken() -> SharedSnapshot:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        await pages.get(("all",), 9, broken)
    assert (await pages.get(("all",), 9, lambda: _made(4))).open_alerts == 4


async def test_a_console_that_goes_away_while_waiting_stops_no_other() -> None:
    pages = SnapshotPages(clock=Clock())
    gate = asyncio.Event()

    async def make() -> SharedSnapshot:
        await gate.wait()
        return picture(1)

    leaving = asyncio.create_task(pages.get(("all",), 1, make))
    staying = asyncio.create_task(pages.get(("all",), 1, make))
    await asyncio.sleep(0)
    leaving.cancel()
    gate.set()
    assert (await staying).open_alerts == 1


async def test_pages_are_the_schema_messages() -> None:
    shared = await serialise(3, [['{"a":1}'], ['{"a":2}', '{"a":3}']], open_alerts=3)
    assert shared.first_page == '{"a":1}'
    assert shared.next_pages == ['{"type":"snapshot_page","cursor":3,"more":false,"alerts":[{"a":2},{"a":3}]}']
    empty = '{"type":"snapshot","cursor":3,"open_alerts":3,"more":true,"alerts":[],"units":[]}'
    message = shared.first_message(empty)
    assert message == '{"type":"snapshot","cursor":3,"open_alerts":3,"more":true,"alerts":[{"a":1}],"units":[]}'
    assert shared.first_message(empty) is message


async def _made(n: int) -> SharedSnapshot:
    return picture(n)
