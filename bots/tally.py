"""What the bots measured, kept as plain samples and counts that merge across bots, tables
and processes (a `Tally` pickles, so a bot process hands its tallies to the parent)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TIMINGS = (
    "connect_ms",
    "welcome_ms",
    "ack_ms",
    "first_tasting_ms",
    "first_entrance_ms",
    "frame_gap_ms",
    "resume_ms",
)
"""The latencies every profile reports, in milliseconds."""
RESUMES = ("replayed", "sync", "failed")
SOURCES = ("llm", "fallback", "mixed")


@dataclass
class Tally:
    """One bot's (or a merge of many bots') samples and counts."""

    timings: dict[str, list[float]] = field(default_factory=lambda: {n: [] for n in TIMINGS})
    resumes: Counter[str] = field(default_factory=Counter)
    closes: Counter[int] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    mismatched: int = 0
    """Narrations whose deltas did not add up to their `narration.end` text."""
    errors: int = 0
    """Refused commands and sockets that failed to open."""
    frames: int = 0

    def time(self, name: str, ms: float) -> None:
        self.timings[name].append(ms)

    def merge(self, other: Tally) -> None:
        for name in TIMINGS:
            self.timings[name].extend(other.timings[name])
        self.resumes.update(other.resumes)
        self.closes.update(other.closes)
        self.sources.update(other.sources)
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.reordered += other.reordered
        self.mismatched += other.mismatched
        self.errors += other.errors
        self.frames += other.frames

    def first_narration(self) -> list[float]:
        return self.timings["first_tasting_ms"] + self.timings["first_entrance_ms"]

    def resume_success(self) -> float:
        tried = sum(self.resumes[n] for n in RESUMES)
        return 1.0 if tried == 0 else 1 - self.resumes["failed"] / tried

    def to_json(self) -> dict[str, Any]:
        report: dict[str, Any] = {name: summary(self.timings[name]) for name in TIMINGS}
        report["resumes"] = {name: self.resumes[name] for name in RESUMES}
        report["closes"] = {str(code): n for code, n in sorted(self.closes.items())}
        report["lost"] = self.lost
        report["duplicated"] = self.duplicated
        report["reordered"] = self.reordered
        report["sources"] = {name: self.sources[name] for name in SOURCES}
        report["narration_mismatches"] = self.mismatched
        report["errors"] = self.errors
        report["frames"] = self.frames
        return report


def merged(tallies: list[Tally]) -> Tally:
    whole = Tally()
    for tally in tallies:
        whole.merge(tally)
    return whole


def percentile(samples: list[float], q: float) -> float | None:
    """The nearest-rank percentile `q` (0–100) of `samples`; None when there are none."""
    return _nearest(sorted(samples), q)


def _nearest(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def summary(samples: list[float]) -> dict[str, float | int | None]:
    ordered = sorted(samples)
    return {
        "p50": _round(_nearest(ordered, 50)),
        "p95": _round(_nearest(ordered, 95)),
        "p99": _round(_nearest(ordered, 99)),
        "max": _round(ordered[-1]) if ordered else None,
        "count": len(ordered),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
