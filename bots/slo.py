"""Service-level objectives: what a run must show for its players to have been served well.

Each SLO is a limit on one figure of a tally. A run's SLOs are judged on all its tables
together; goodput judges them on each table alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bots.tally import Tally, percentile

Measure = Callable[[Tally], float | None]


@dataclass(frozen=True)
class Slo:
    name: str
    limit: float
    at_least: bool
    """True: the figure must reach the limit; False: it must stay at or below it."""

    def held(self, value: float | None) -> bool:
        """A figure with no samples holds: nothing was late."""
        if value is None:
            return True
        return value >= self.limit if self.at_least else value <= self.limit


MEASURES: dict[str, tuple[Measure, bool]] = {
    "ack_p99_ms": (lambda t: percentile(t.timings["ack_ms"], 99), False),
    "first_narration_p99_ms": (lambda t: percentile(t.first_narration(), 99), False),
    "frame_gap_p99_ms": (lambda t: percentile(t.timings["frame_gap_ms"], 99), False),
    "lost": (lambda t: t.lost + t.duplicated + t.reordered, False),
    "resume_success": (Tally.resume_success, True),
}
"""Every SLO's figure, and whether it is a floor. `lost` counts every broken `seq` promise:
events lost, repeated or out of order."""
DEFAULTS = {
    "ack_p99_ms": 250.0,
    "first_narration_p99_ms": 2000.0,
    "frame_gap_p99_ms": 500.0,
    "lost": 0.0,
    "resume_success": 0.999,
}


def parse(items: list[str]) -> list[Slo]:
    """The defaults, overridden by `NAME=VALUE` items (`resume_success>=0.999` also reads).
    Raises ValueError, naming what is wrong."""
    limits = dict(DEFAULTS)
    for item in items:
        name, sep, value = item.replace(">=", "=").replace("<=", "=").partition("=")
        if not sep or name not in MEASURES:
            raise ValueError(
                f"--slo {item!r}: use NAME=VALUE with NAME one of {', '.join(MEASURES)}"
            )
        try:
            limits[name] = float(value)
        except ValueError:
            raise ValueError(f"--slo {item!r}: {value!r} is not a number") from None
    return [Slo(name, limit, MEASURES[name][1]) for name, limit in limits.items()]


def judge(slos: list[Slo], tally: Tally) -> dict[str, dict[str, float | bool | None]]:
    """Each SLO's limit, the tally's figure and whether it held."""
    verdicts: dict[str, dict[str, float | bool | None]] = {}
    for slo in slos:
        value = MEASURES[slo.name][0](tally)
        value = None if value is None else round(value, 3)
        verdicts[slo.name] = {"limit": slo.limit, "value": value, "held": slo.held(value)}
    return verdicts


def all_held(slos: list[Slo], tally: Tally) -> bool:
    return all(slo.held(MEASURES[slo.name][0](tally)) for slo in slos)
