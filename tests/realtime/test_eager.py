"""A coroutine stepped in its caller is done there when it never waits, and one that waits goes
on in a task as if that task had awaited it from the start."""

from __future__ import annotations

import asyncio

import pytest

from realtime import eager


class Door:
    """A coroutine that waits for a door to open, counting what it did on each side of it."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.before = 0
        self.after = 0
        self.cleaned = 0

    async def go_through(self, fail: bool = False) -> None:
        self.before += 1
        try:
            await self.open.wait()
            if fail:
                raise ValueError("on the far side")
            self.after += 1
        finally:
            self.cleaned += 1


async def test_a_coroutine_that_never_waits_is_done_in_the_caller() -> None:
    door = Door()
    door.open.set()
    assert eager.start(door.go_through()) is None
    assert (door.before, door.after, door.cleaned) == (1, 1, 1)


async def test_a_coroutine_that_waits_goes_on_in_a_task_from_where_it_stopped() -> None:
    door = Door()
    waiting = eager.start(door.go_through())
    assert waiting is not None
    assert (door.before, door.after) == (1, 0)
    task = asyncio.create_task(eager.finish(waiting))
    await asyncio.sleep(0)
    assert not task.done()
    door.open.set()
    await task
    assert (door.before, door.after, door.cleaned) == (1, 1, 1)


async def test_what_a_resumed_coroutine_raises_is_raised_by_finish() -> None:
    door = Door()
    waiting = eager.start(door.go_through(fail=True))
    assert waiting is not None
    door.open.set()
    with pytest.raises(ValueError, match="far side"):
        await eager.finish(waiting)
    assert door.cleaned == 1


async def test_cancelling_the_task_cancels_what_the_coroutine_waits_on() -> None:
    door = Door()
    waiting = eager.start(door.go_through())
    assert waiting is not None
    task = asyncio.create_task(eager.finish(waiting))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (door.after, door.cleaned) == (0, 1)
    assert waiting.on.cancelled()


async def test_a_coroutine_may_wait_many_times_and_on_a_bare_yield() -> None:
    steps: list[int] = []

    async def several() -> None:
        for n in range(3):
            await asyncio.sleep(0)  # a bare yield
            await asyncio.sleep(0.001)  # a future
            steps.append(n)

    waiting = eager.start(several())
    assert waiting is not None
    await eager.finish(waiting)
    assert steps == [0, 1, 2]
