"""One table of bots playing one whole game: the host creates it, the others join by code,
the host starts, everyone plays every round, reads the finale and leaves."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bots.player import Bot
from bots.profiles import Profile
from bots.seating import Game, Seating
from bots.tally import Tally

SLACK_S = 60
"""Time a game may take beyond its rounds' deadlines (narrations, resumes) before the table
is given up for failed."""


@dataclass
class TableResult:
    finished: bool
    seats: list[tuple[str, Tally]]
    """Each bot's profile name and tally."""
    error: str = ""


async def play_table(
    game: Game, profiles: list[Profile], name: str, seed: int, present: set[Bot]
) -> TableResult:
    """Play one game; its bots are in `present` while they play (for live progress)."""
    seating = Seating(len(profiles))
    bots = [
        Bot(game, profile, seating, f"{name}-{i}", seed * 1000 + i)
        for i, profile in enumerate(profiles)
    ]
    present.update(bots)
    error = ""
    limit = game.rounds * (game.seconds + SLACK_S) + SLACK_S
    try:
        async with asyncio.timeout(limit):
            async with asyncio.TaskGroup() as group:
                for i, bot in enumerate(bots):
                    group.create_task(bot.play(host=i == 0))
    except* (Exception, TimeoutError) as failures:  # every failure is the table's failure
        error = "; ".join(sorted({_reason(e, limit) for e in failures.exceptions}))
    present.difference_update(bots)
    return TableResult(not error, [(bot.profile.name, bot.tally) for bot in bots], error)


def _reason(exc: BaseException, limit: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"the game did not end within {limit:g} s"
    return f"{type(exc).__name__}: {exc}"
