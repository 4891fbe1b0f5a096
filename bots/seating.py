"""What bots share, and the check every bot makes of the events it reads."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field

from bots.tally import Tally
from protocol import Codec


@dataclass(frozen=True)
class Game:
    """What every bot of a run shares: where to play and how."""

    base_url: str
    ws_url: str
    codec: Codec
    rounds: int
    seconds: int
    think_s: float
    ingredients: tuple[str, ...]
    tls: ssl.SSLContext | None = None
    """Made in each bot process (a TLS context does not cross processes)."""


@dataclass
class Seating:
    """What the bots of one table share: the join code, and when each round's last bowl
    was sent."""

    players: int
    code: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    last_bowl: dict[int, float] = field(default_factory=dict)
    bowls: dict[int, int] = field(default_factory=dict)

    def submitted(self, round_: int, at: float) -> None:
        self.bowls[round_] = self.bowls.get(round_, 0) + 1
        self.last_bowl[round_] = max(at, self.last_bowl.get(round_, 0.0))


class Order:
    """A player's `seq` check: each event must be the next one, with no gap, no repeat and
    nothing out of order. Counts each broken promise into a tally."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.seq = 0
        self.missing: set[int] = set()

    def restart(self, seq: int) -> None:
        """A `sync` as of `seq`: the events after it follow."""
        self.seq = seq
        self.missing.clear()

    def take(self, seq: int) -> bool:
        """Count event `seq`; whether to apply it (not a repeat, nor one already skipped)."""
        if seq == self.seq + 1:
            self.seq = seq
            return True
        if seq > self.seq + 1:
            self.tally.lost += seq - self.seq - 1
            self.missing.update(range(self.seq + 1, seq))
            self.seq = seq
            return True
        if seq in self.missing:
            self.missing.discard(seq)
            self.tally.lost -= 1
            self.tally.reordered += 1
        else:
            self.tally.duplicated += 1
        return False
