"""The vLLM simulator's knobs (`maratang llm-sim` flags, `PUT /sim/config`) and its counters."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from llm.sim_wire import Fault

FAULTS: tuple[str, ...] = get_args(Fault)
SchedulingPolicy = Literal["fcfs", "priority"]
POLICIES: tuple[str, ...] = get_args(SchedulingPolicy)
RECENT = 256
"""Requests `Stats.recent` remembers (the newest to start)."""
DEFAULT_MODEL = "kakaocorp/kanana-1.5-8b-instruct-2505"


@dataclass(frozen=True, slots=True)
class SimConfig:
    model: str = DEFAULT_MODEL
    """The served model name (requests naming another get vLLM's 404)."""
    ttft: float = 0.15
    """Seconds before the first token."""
    tps: float = 40.0
    """Tokens per second per stream."""
    jitter: float = 0.2
    """Each token's delay varies by up to this fraction."""
    output_tokens: int = 120
    """Tokens in an answer (before `max_tokens` cuts it)."""
    stream_interval: int = 1
    """Tokens per chunk, as vLLM's `--stream-interval`."""
    max_num_seqs: int = 256
    """Requests generating at once; more wait in the queue."""
    max_num_queued_reqs: int = 0
    """Running plus waiting requests above which new ones get 503 (0: unbounded)."""
    scheduling_policy: SchedulingPolicy = "fcfs"
    """vLLM's `--scheduling-policy`: the queue beyond `max_num_seqs` is served by arrival
    (`fcfs`, which refuses a non-zero request `priority`) or by (priority, arrival)."""
    keep_alive: float = 0.0
    """Seconds of silence after which a `: keep-alive` comment is sent (0: never)."""
    fault: Fault = "none"
    fault_rate: float = 1.0
    """Share of requests the fault hits."""
    fault_after: int = 5
    """Tokens sent before a mid-stream fault (`error`, `hang`, `drop`, `trickle`)."""
    trickle_seconds: float = 2.0
    """Seconds between tokens once a `trickle` fault begins."""
    split_bytes: int = 0
    """Each event goes out in HTTP chunks of at most this many bytes, cut anywhere (inside a
    UTF-8 character too), as a proxy between the hub and vLLM may re-chunk it (0: whole)."""
    stamp_tokens: bool = False
    """Benchmarks: every token's text is the wall-clock microsecond it was sent, `<µs>`."""
    api_key: str = ""
    seed: int = 0
    say: str = ""
    """Tests of the hub's checks: this text is said part-way through every narration."""
    say_after: int = 12
    """Tokens told before `say`."""
    skip_bowl: int = 0
    """Tests of the hub's checks: a tasting leaves out this bowl (1: the best; 0: none)."""
    guard_model: str = "kakaocorp/kanana-safeguard-8b"
    """The served guard model: requests naming it get a verdict (`llm.sim_guard`)."""
    guard_flags: str = ""
    """Comma-separated words: text to judge containing one is unsafe (`<UNSAFE-S2>`)."""

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"fault must be one of {', '.join(FAULTS)}")
        if self.scheduling_policy not in POLICIES:
            raise ValueError(f"scheduling_policy must be one of {', '.join(POLICIES)}")
        if self.tps <= 0 or self.stream_interval < 1 or self.max_num_seqs < 1:
            raise ValueError("tps must be above 0, stream_interval and max_num_seqs at least 1")
        if self.split_bytes < 0:
            raise ValueError("split_bytes must be 0 (whole events) or more")
        if not 0 <= self.fault_rate <= 1 or not 0 <= self.jitter < 1:
            raise ValueError("fault_rate must be within 0..1 and jitter within 0..1 (excluded)")


@dataclass
class Stats:
    running: int = 0
    waiting: int = 0
    max_running: int = 0
    requests: int = 0
    completed: int = 0
    aborted: int = 0
    refused: int = 0
    prompt_tokens: int = 0
    generation_tokens: int = 0
    finished: dict[str, int] = field(default_factory=dict)
    started: int = 0
    """Requests that began generating."""
    recent: list[dict[str, Any]] = field(default_factory=list)
    """The newest `RECENT` of them, oldest first: `id`, `priority`, `max_tokens` and
    `started` (its place in the order they began)."""

    def began(self, rid: str, priority: int, max_tokens: int) -> None:
        self.started += 1
        entry = {"id": rid, "priority": priority, "max_tokens": max_tokens}
        self.recent.append({**entry, "started": self.started})
        del self.recent[:-RECENT]

    def public(self) -> dict[str, Any]:
        return asdict(self)
