"""How a kind of player's device treats its socket, and mixing kinds by ratio.

- `desktop`: a steady socket.
- `mobile`: now and then the network drops (no close frame), the app goes to the background
  (stops reading for a few seconds, then reads on), or the phone switches networks (a new
  socket and `hello {resume}` while the old one is left to die).
- `webgl`: JSON, and a browser's reconnect backoff (full jitter, as the browser client does).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum


class Disruption(Enum):
    DROP = "drop"
    PAUSE = "pause"
    SWITCH = "switch"


@dataclass(frozen=True)
class Profile:
    name: str
    json_only: bool = False
    disruptions: tuple[Disruption, ...] = ()
    """What may happen to the socket during a round (none for a steady socket)."""
    pause_s: tuple[float, float] = (2.0, 5.0)
    """How long an app stays in the background."""
    backoff_base_s: float = 0.0
    """First retry delay before jitter; 0 retries at once."""

    def disruption(self, rng: random.Random) -> Disruption | None:
        return rng.choice(self.disruptions) if self.disruptions else None

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: `random(0, min(15 s, base × 2^attempt))`."""
        return rng.uniform(0, min(15.0, self.backoff_base_s * 2**attempt))


PROFILES = {
    "desktop": Profile("desktop"),
    "mobile": Profile(
        "mobile",
        disruptions=(Disruption.DROP, Disruption.PAUSE, Disruption.SWITCH),
        backoff_base_s=0.25,
    ),
    "webgl": Profile("webgl", json_only=True, backoff_base_s=0.5),
}


def parse_mix(text: str) -> dict[str, float]:
    """`desktop`, or `desktop=0.5,mobile=0.3,webgl=0.2`: profile names and their shares
    (normalised to add up to 1). Raises ValueError, naming what is wrong."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, share = part.partition("=")
        if name not in PROFILES:
            raise ValueError(f"unknown profile {name!r} (use {', '.join(PROFILES)})")
        try:
            mix[name] = float(share) if share else 1.0
        except ValueError:
            raise ValueError(f"profile share {share!r} is not a number") from None
        if mix[name] <= 0:
            raise ValueError(f"profile {name}: the share must be above 0")
    if not mix:
        raise ValueError("no profile named")
    total = sum(mix.values())
    return {name: share / total for name, share in mix.items()}


def assign(mix: dict[str, float], count: int, rng: random.Random) -> list[Profile]:
    """`count` profiles in the mix's ratio (largest remainders), in random order."""
    exact = {name: share * count for name, share in mix.items()}
    counts = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda name: exact[name] - counts[name], reverse=True)
    for name in by_remainder[: count - sum(counts.values())]:
        counts[name] += 1
    names = [name for name in mix for _ in range(counts[name])]
    rng.shuffle(names)
    return [PROFILES[name] for name in names]
