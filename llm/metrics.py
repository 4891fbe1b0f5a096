"""The narration metrics of one process, kept in one place and rendered in the Prometheus
text format for the server's metrics endpoint."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
RATE_BUCKETS = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0)


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    sum: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        self.sum += value
        self.count += 1
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1

    def render(self, name: str, labels: str = "") -> list[str]:
        """Exposition lines; `labels` (`a="x",b="y"`) go on every one."""
        each = f"{{{labels}}}" if labels else ""
        bounds = (*(f"{b:g}" for b in self.buckets), "+Inf")
        pairs = zip(bounds, (*self.counts, self.count), strict=True)
        prefix = f"{labels}," if labels else ""
        lines = [f'{name}_bucket{{{prefix}le="{b}"}} {n}' for b, n in pairs]
        return [*lines, f"{name}_sum{each} {self.sum:.6f}", f"{name}_count{each} {self.count}"]


@dataclass
class NarrationMetrics:
    ttft: Histogram = field(default_factory=lambda: Histogram(TTFT_BUCKETS))
    """Seconds from a model request to its first text."""
    tokens_per_second: Histogram = field(default_factory=lambda: Histogram(RATE_BUCKETS))
    """Decode speed of each finished model stream (tokens after the first, per second)."""
    narrations: Counter[str] = field(default_factory=Counter)
    """Narrations told, by `source` (`llm`, `fallback`, `mixed`)."""
    fallbacks: Counter[str] = field(default_factory=Counter)
    """Narrations (or their rest) handed to the fallback, by reason."""
    stalls: int = 0
    """Model streams stopped because text stopped coming (the stall budget ran out)."""
    in_flight: int = 0
    """Model requests streaming now."""
    waiting: int = 0
    """Narrations waiting for a model slot."""

    def render(self) -> str:
        lines = [
            *_help("maratang_llm_time_to_first_token_seconds", "histogram", "model TTFT"),
            *self.ttft.render("maratang_llm_time_to_first_token_seconds"),
            *_help("maratang_llm_tokens_per_second", "histogram", "decode speed per stream"),
            *self.tokens_per_second.render("maratang_llm_tokens_per_second"),
            *_help("maratang_narrations_total", "counter", "narrations told, by source"),
            *_labelled("maratang_narrations_total", "source", self.narrations),
            *_help("maratang_llm_fallbacks_total", "counter", "handovers to the fallback"),
            *_labelled("maratang_llm_fallbacks_total", "reason", self.fallbacks),
            *_help("maratang_llm_stalls_total", "counter", "model streams that stalled"),
            f"maratang_llm_stalls_total {self.stalls}",
            *_help("maratang_llm_requests_in_flight", "gauge", "model requests streaming"),
            f"maratang_llm_requests_in_flight {self.in_flight}",
            *_help("maratang_llm_narrations_waiting", "gauge", "narrations waiting for a slot"),
            f"maratang_llm_narrations_waiting {self.waiting}",
        ]
        return "\n".join(lines) + "\n"


def _help(name: str, kind: str, text: str) -> list[str]:
    return [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]


def _labelled(name: str, label: str, counts: Counter[str]) -> list[str]:
    return [f'{name}{{{label}="{key}"}} {n}' for key, n in sorted(counts.items())]
