"""The group-commit writer with a fake transaction: how it settles each press when a batch cannot commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from siaga.alerts.ingest import GroupCommit, Stored


class FakeDatabase:
    """Commits fail while ``failing`` is positive; a commit of a batch (more than one press) can be made to fail."""

    def __init__(self, *, fail_batches: bool) -> None:
        self.fail_batches = fail_batches
        self.commits: list[list[str]] = []
        self.log: list[str] = []

    async def write(self, presses: Sequence[Press]) -> list[Stored | BaseException]:
        """One transaction: the batch is written, then committed (or the commit fails and nothing is kept)."""
        written: list[str] = []
        outcomes = await store(written, presses)
        if self.fail_batches and len(written) > 1:
            raise RuntimeError("disk full")
        self.commits.append(written)
        return outcomes


@dataclass(frozen=True)
class Press:
    name: str
    error: Exception | None = None


async def store(written: Any, presses: Sequence[Press]) -> list[Stored | BaseException]:
    """Writes the batch; a press with an error is refused on its own (nothing written for it)."""
    await asyncio.sleep(0)
    outcomes: list[Stored | BaseException] = []
    for press in presses:
        if press.error is not None:
            outcomes.append(press.error)
        else:
            written.append(press.name)
            outcomes.append(Stored(view=press.name, replay=False))
    return outcomes


async def _burst(writer: GroupCommit[Press], names: list[str], errors: dict[str, Exception]) -> list[Any]:
    return await asyncio.gather(*(writer.submit(Press(n, errors.get(n))) for n in names), return_exceptions=True)


async def test_presses_queued_together_share_one_commit_and_each_gets_its_own_answer() -> None:
    db = FakeDatabase(fail_batches=False)
    writer = GroupCommit(db.write)
    writer.start()
    answers = await _burst(writer, ["a", "b", "c", "d"], {"c": ValueError("bad press")})
    await writer.stop()
    assert [a.view if isinstance(a, Stored) else type(a) for a in answers] == ["a", "b", ValueError, "d"]
    assert sorted(n for commit in db.commits for n in commit) == ["a", "b", "d"]
    assert len(db.commits) < 4, "no batching happened"


async def test_a_batch_that_cannot_commit_is_stored_press_by_press() -> None:
    db = FakeDatabase(fail_batches=True)
    writer = GroupCommit(db.write)
    writer.start()
    answers = await _burst(writer, ["a", "b", "c"], {})
    await writer.stop()
    assert [a.view for a in answers] == ["a", "b", "c"]
    assert sorted(db.commits) == [["a"], ["b"], ["c"]]


async def test_without_a_running_writer_a_press_is_stored_alone() -> None:
    db = FakeDatabase(fail_batches=False)
    writer = GroupCommit(db.write)
    answer = await writer.submit(Press("alone"))
    assert answer.view == "alone"
    assert db.commits == [["alone"]]


@pytest.mark.parametrize("grace_s", [0.0, 5.0])
async def test_stopping_never_drops_a_waiting_press(grace_s: float) -> None:
    db = FakeDatabase(fail_batches=False)
    writer = GroupCommit(db.write)
    writer.start()
    waiting = [asyncio.create_task(writer.submit(Press(str(n)))) for n in range(20)]
    await asyncio.sleep(0)
    await writer.stop(grace_s=grace_s)
    answers = await asyncio.gather(*waiting)
    assert sorted(a.view for a in answers) == sorted(str(n) for n in range(20))
    assert sorted(n for commit in db.commits for n in commit) == sorted(str(n) for n in range(20))
