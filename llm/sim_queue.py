"""The simulator's turns to generate: at most `max_num_seqs` requests at once, the rest in a
queue served as vLLM serves its waiting queue under `--scheduling-policy` (a deque by
arrival under `fcfs`, a heap of (priority, arrival) under `priority`)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from llm.sim_config import SimConfig, Stats
from llm.sim_wire import Job


@dataclass(order=True)
class _Queued:
    """A request waiting for its turn; the queue lets the smallest in first."""

    priority: int
    """Its `priority` under the priority policy, 0 for every request under `fcfs`."""
    arrival: int
    turn: asyncio.Future[None] = field(compare=False)
    """Done when the request is let in (cancelled when it goes away first)."""


class Turns:
    """Counts in `stats.running` and `stats.waiting`; one event loop."""

    def __init__(self, stats: Stats, config: Callable[[], SimConfig]) -> None:
        self._stats = stats
        self._config = config
        self._queue: list[_Queued] = []
        self._arrivals = itertools.count()

    async def wait(self, job: Job) -> None:
        """Return once `job` may generate, counted in `running`: at once while fewer than
        `max_num_seqs` run and none waits, else when `serve` lets it in."""
        config, stats = self._config(), self._stats
        if stats.running < config.max_num_seqs and not self._queue:
            stats.running += 1
            return
        by_priority = config.scheduling_policy == "priority"
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queued = _Queued(job.priority if by_priority else 0, next(self._arrivals), turn)
        heapq.heappush(self._queue, queued)
        stats.waiting += 1
        try:
            await turn
        except asyncio.CancelledError:
            self._leave(queued)
            raise

    def ended(self) -> None:
        """A running request ended: its place goes to the next."""
        self._stats.running -= 1
        self.serve()

    def serve(self) -> None:
        """Let queued requests in, in the queue's order, while fewer than `max_num_seqs` run
        (also when the cap was raised)."""
        stats, cap = self._stats, self._config().max_num_seqs
        while self._queue and stats.running < cap:
            queued = heapq.heappop(self._queue)
            if queued.turn.done():  # cancelled: it is leaving the queue on its own
                continue
            stats.waiting -= 1
            stats.running += 1
            queued.turn.set_result(None)

    def _leave(self, queued: _Queued) -> None:
        """A queued request went away: out of the queue, or, let in meanwhile, out of the
        running ones."""
        if queued.turn.done() and not queued.turn.cancelled():
            self.ended()
            return
        self._stats.waiting -= 1
        if queued in self._queue:
            self._queue.remove(queued)
            heapq.heapify(self._queue)
        self.serve()  # those queued behind it while it was leaving may go in now
