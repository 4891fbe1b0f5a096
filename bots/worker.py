"""A bot process: its share of the tables, on its own event loop (uvloop when installed),
reporting progress to the parent once a second and its results at the end."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, replace
from multiprocessing.queues import Queue
from typing import Any

from bots.link import tls_context
from bots.player import Bot
from bots.profiles import assign
from bots.seating import Game
from bots.table import TableResult, play_table
from bots.tally import percentile

TICK_S = 1.0


@dataclass(frozen=True)
class Plan:
    """One process's share of a run."""

    worker: int
    game: Game
    tables: list[int]
    """The numbers of this process's table slots."""
    players: int
    mix: dict[str, float]
    duration_s: float | None
    """Keep playing new games in each slot until this much time has passed; None: one game."""
    ramp_s: float
    total_tables: int
    insecure: bool
    seed: int


@dataclass
class Progress:
    worker: int
    playing: int
    sockets: int
    frames: int
    resumes: int
    errors: int
    ack_p99_ms: float | None
    first_narration_p99_ms: float | None


def work(plan: Plan, queue: Queue[tuple[str, int, Any]]) -> None:
    """The body of a bot process."""
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    results = asyncio.run(Worker(plan, queue).run())
    queue.put(("done", plan.worker, results))


class Worker:
    def __init__(self, plan: Plan, queue: Queue[tuple[str, int, Any]]) -> None:
        self.plan, self.queue = plan, queue
        tls = tls_context(plan.insecure) if plan.game.ws_url.startswith("wss") else None
        self.game = replace(plan.game, tls=tls)
        self.present: set[Bot] = set()
        self.results: list[TableResult] = []
        self.playing = 0

    async def run(self) -> list[TableResult]:
        reporter = asyncio.ensure_future(self.report())
        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            for number in self.plan.tables:
                group.create_task(self.slot(number, started))
        reporter.cancel()
        self.queue.put(("progress", self.plan.worker, self.progress()))
        return self.results

    async def slot(self, number: int, started: float) -> None:
        """One table slot: starts at its place in the ramp, plays one game (or games until
        the duration is over)."""
        plan = self.plan
        await asyncio.sleep(plan.ramp_s * number / max(1, plan.total_tables))
        rng = random.Random(plan.seed * 7919 + number)
        game_number = 0
        while True:
            self.playing += 1
            profiles = assign(plan.mix, plan.players, rng)
            name = f"t{number}g{game_number}"
            seed = plan.seed + number * 100 + game_number
            self.results.append(await play_table(self.game, profiles, name, seed, self.present))
            self.playing -= 1
            game_number += 1
            if plan.duration_s is None or time.monotonic() - started >= plan.duration_s:
                return

    async def report(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.queue.put(("progress", self.plan.worker, self.progress()))

    def progress(self) -> Progress:
        tallies = [bot.tally for bot in self.present]
        tallies += [tally for result in self.results for _, tally in result.seats]
        return Progress(
            worker=self.plan.worker,
            playing=self.playing,
            sockets=sum(bot.connected.is_set() for bot in self.present),
            frames=sum(t.frames for t in tallies),
            resumes=sum(sum(t.resumes.values()) for t in tallies),
            errors=sum(t.errors for t in tallies) + sum(not r.finished for r in self.results),
            ack_p99_ms=percentile([ms for t in tallies for ms in t.timings["ack_ms"]], 99),
            first_narration_p99_ms=percentile(
                [ms for t in tallies for ms in t.first_narration()], 99
            ),
        )
