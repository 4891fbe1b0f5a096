"""Running a coroutine in its caller until it first has to wait, and in a task only from there.

Code that must not block (the hub's fan-out) can run a coroutine only in a task, and a task
costs an object and a turn of the event loop before it even starts. A send to a socket with
room never waits: `start` steps such a coroutine by hand, in the caller, and it is done before
`start` returns. Only one that does wait (the socket pushes back) is handed on: `finish` runs
it to its end in whatever task awaits `finish`, resuming it where it stopped, so nothing it did
before waiting is done twice. (Python 3.12's eager tasks do the same, with a task object made
for every call; this server runs on 3.11 too.)

Only asyncio coroutines qualify: what they yield when they wait is an asyncio future (or
nothing, for a bare `sleep(0)`), which the awaiting task waits on in their place. A future
yielded by `await` is flagged as such (`_asyncio_future_blocking`, asyncio's protocol between
futures and tasks); the task that takes it clears the flag, as `asyncio.Task` does, or
awaiting it again would fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from typing import Any, cast

Step = Coroutine[Any, Any, None]


class Waiting:
    """A coroutine that `start` left waiting, and what it waits on."""

    __slots__ = ("coroutine", "on")

    def __init__(self, coroutine: Step, on: Any) -> None:
        self.coroutine = coroutine
        self.on = on


def start(coroutine: Step) -> Waiting | None:
    """Run `coroutine` here until it ends (None) or first waits (hand that to `finish`). What
    it raises before it waits is raised here."""
    try:
        on = coroutine.send(None)
    except StopIteration:
        return None
    return Waiting(coroutine, on)


async def finish(waiting: Waiting) -> None:
    """Run a coroutine that `start` left waiting to its end, in the task awaiting this, as if
    that task had awaited it from the start: what it waits on wakes it, what it raises is raised
    here, and cancelling the task cancels what it waits on and is thrown into it."""
    coroutine, on = waiting.coroutine, waiting.on
    try:
        while True:
            try:
                await _taken(on)
            except BaseException as exc:  # a cancellation too: the coroutine must see it
                on = coroutine.throw(exc)
            else:
                on = coroutine.send(None)
    except StopIteration:
        return
    finally:
        coroutine.close()  # a no-op once it ended; otherwise it stops where it waits


def _taken(on: Any) -> Awaitable[Any]:
    """What a stepped coroutine waits on, to be awaited in its place, taken as a task takes
    it."""
    if on is None:
        return asyncio.sleep(0)
    on._asyncio_future_blocking = False
    return cast(Awaitable[Any], on)
