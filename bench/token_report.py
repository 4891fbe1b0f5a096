"""What `bench/token_fanout.py` measured, step by step, and its four figures against the
targets, each as a ratio to the plain loop measured in the same run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LATENCY_P99_MS = 50.0
SHARE = 0.95
RTT_P99_MS = 20.0
CPU_TARGET = {"memory": 1.2, "redis": 1.5}
MAX_TARGET = 0.6
IDLE_TARGET = 1.0
SATURATED = 0.9
"""A server at this share of its core or more is CPU-bound."""
SHARED = 0.1
"""Share of a core (the server's, the generator's) that other processes may take before a
step says so."""
GENERATOR_LIMIT = 0.7
"""A generator above this share of its core may be what limits a step."""


@dataclass(frozen=True)
class Mark:
    """What the clocks said at a window's edge."""

    time: float
    server_cpu: float
    redis_cpu: float | None
    cores: tuple[tuple[int, int, int], ...]
    """(busy, interrupts, total) jiffies of the server's core and the generator's core."""


@dataclass
class Step:
    kind: str
    rooms: int
    load: dict[str, Any] = field(default_factory=dict)
    """The generator's figures (see bench/loadgen/loadgen.mjs)."""
    failure: str | None = None
    window_s: float = 0.0
    server_cpu_s: float = 0.0
    redis_cpu_s: float | None = None
    cores_busy: tuple[float, ...] = ()
    """Share of the window each core (the server's, the generator's) was busy, with
    anything: what else runs on the machine shows here."""
    interrupts: tuple[float, ...] = ()
    """Share of the window each core spent in interrupts (mostly the network's work)."""
    wall_s: float = 0.0

    def account(self, start: Mark, end: Mark) -> None:
        self.window_s = end.time - start.time
        self.server_cpu_s = end.server_cpu - start.server_cpu
        if start.redis_cpu is not None and end.redis_cpu is not None:
            self.redis_cpu_s = end.redis_cpu - start.redis_cpu
        pairs = list(zip(start.cores, end.cores, strict=True))
        self.cores_busy = tuple((b1 - b0) / max(1, t1 - t0) for (b0, _, t0), (b1, _, t1) in pairs)
        self.interrupts = tuple((i1 - i0) / max(1, t1 - t0) for (_, i0, t0), (_, i1, t1) in pairs)

    def others(self, core: int) -> float:
        """Share of a core (0: the server's, 1: the generator's) that went to other
        processes (interrupts, the network's work for every process, not counted)."""
        if len(self.cores_busy) <= core:
            return 0.0
        own = self.server_core if core == 0 else self.generator_core
        return max(0.0, self.cores_busy[core] - self.interrupts[core] - own)

    @property
    def delivered_per_s(self) -> float:
        return float(self.load.get("delivered_per_s", 0.0))

    @property
    def server_core(self) -> float:
        return self.server_cpu_s / self.window_s if self.window_s else 0.0

    @property
    def generator_core(self) -> float:
        return float(self.load.get("generator_cpu", 0.0))

    @property
    def cpu_us_per_frame(self) -> float:
        return 1e6 * self.server_core / self.delivered_per_s if self.delivered_per_s else 0.0

    def latency(self, which: str = "p99") -> float:
        value = (self.load.get("lateness_ms") or {}).get(which)
        return float("inf") if value is None else float(value)

    def rtt(self, which: str = "p99") -> float:
        value = (self.load.get("rtt_ms") or {}).get(which)
        return float("inf") if value is None else float(value)

    @property
    def lost(self) -> int:
        return sum(int(self.load.get(k, 0)) for k in ("gaps", "duplicates", "resyncs", "closed"))

    def problems(self) -> list[str]:
        """Why this step is not sustainable (empty: it is)."""
        if self.failure is not None:
            return [self.failure]
        found = []
        if self.latency() >= LATENCY_P99_MS:
            found.append(f"p99 {self.latency():.0f} ms")
        if self.load.get("share", 0.0) < SHARE:
            found.append(f"share {self.load.get('share', 0.0):.3f}")
        if self.lost:
            found.append(self.loss())
        if self.load.get("errors"):
            found.append(f"{self.load['errors']} errors")
        if self.load.get("miscounted"):
            found.append(f"{self.load['miscounted']} narrations miscounted (latency unreliable)")
        return found

    @property
    def sustainable(self) -> bool:
        return not self.problems()

    def loss(self) -> str:
        keys = ("gaps", "duplicates", "resyncs", "closed")
        text = ", ".join(f"{self.load.get(k, 0)} {k}" for k in keys if self.load.get(k))
        codes = self.load.get("close_codes") or {}
        return text + (f" (close codes {codes})" if codes else "")

    def limit(self) -> str:
        if self.server_core >= SATURATED:
            return "server CPU"
        if self.others(0) >= SHARED:
            return f"CPU 0 SHARED: other work took {100 * self.others(0):.0f} % of it"
        if self.others(1) >= SHARED:
            return (
                f"CPU 1 SHARED: other work took {100 * self.others(1):.0f} % of the "
                "generator's core, its waits are in the latencies"
            )
        if self.generator_core >= GENERATOR_LIMIT:
            return "GENERATOR CPU (the step measures the generator)"
        return "neither core saturated"

    def line(self) -> str:
        if self.failure is not None and not self.load:
            return f"{self.kind:8} {self.rooms:5} rooms  FAILED: {self.failure}"
        stamped = self.load.get("stamped_ms")
        stamp = f" (stamped {stamped['p50']:.1f}/{stamped['p99']:.1f})" if stamped else ""
        redis = (
            f"  redis-server {100 * self.redis_cpu_s / self.window_s:3.0f} %"
            if (self.redis_cpu_s is not None and self.window_s)
            else ""
        )
        cores = (
            "  cores busy " + "/".join(f"{100 * b:.0f}" for b in self.cores_busy) + " % "
            "(other work " + "/".join(f"{100 * self.others(c):.0f}" for c in (0, 1)) + " %, "
            "interrupts " + "/".join(f"{100 * i:.0f}" for i in self.interrupts) + " %)"
            if self.cores_busy
            else ""
        )
        refused = self.load.get("refused") or {}
        if refused:
            cores += f"  refused (retried) {refused}"
        verdict = "ok" if self.sustainable else "NOT SUSTAINABLE: " + "; ".join(self.problems())
        return (
            f"{self.kind:8} {self.rooms:5} rooms  delivered/s {self.delivered_per_s:8,.0f}  "
            f"share {self.load.get('share', 0):.3f}  lost {self.lost}  latency p50/p99 "
            f"{self.latency('p50'):.1f}/{self.latency():.1f} ms{stamp}  RTT p50/p99 "
            f"{self.rtt('p50'):.1f}/{self.rtt():.1f} ms  CPU {self.cpu_us_per_frame:5.1f} "
            f"µs/frame  server {100 * self.server_core:3.0f} %  generator "
            f"{100 * self.generator_core:3.0f} %{redis}{cores}  [{verdict}; {self.limit()}]"
            f"  {self.wall_s:.0f} s"
        )


@dataclass
class Run:
    players: int
    tps: float
    seconds: float
    rooms: int
    idle: int
    steps: list[Step] = field(default_factory=list)
    best_rooms: dict[str, int] = field(default_factory=dict)
    ramp_capped: dict[str, bool] = field(default_factory=dict)
    at_80: dict[str, Step] = field(default_factory=dict)
    idle_kib: dict[str, float | None] = field(default_factory=dict)
    wall_s: float = 0.0
    announce: bool = False

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        if self.announce:
            print("  " + step.line(), flush=True)
        return step

    def step(self, kind: str, rooms: int) -> Step | None:
        return next((s for s in self.steps if s.kind == kind and s.rooms == rooms), None)

    def best(self, kind: str) -> Step | None:
        rooms = self.best_rooms.get(kind, 0)
        found = [s for s in self.steps if s.kind == kind and s.rooms == rooms and s.sustainable]
        return max(found, key=lambda s: s.delivered_per_s, default=None)


def ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return ""
    return f" ({value / base:.2f}x)"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(run: Run) -> None:
    kinds = list(dict.fromkeys(s.kind for s in run.steps))
    print(
        f"\n{run.players} players a room, {run.tps:g} tokens/s a room, one frame per token; "
        f"{run.seconds:g} s windows; {len(run.steps)} steps in {run.wall_s:.0f} s"
    )
    fixed = {k: run.step(k, run.rooms) for k in kinds}
    cpu = {k: s.cpu_us_per_frame if s else None for k, s in fixed.items()}
    best = {k: run.best(k) for k in kinds}
    top = {k: s.delivered_per_s if s else 0.0 for k, s in best.items()}
    rtt = {k: s.rtt() if s else None for k, s in run.at_80.items()}
    rows: list[tuple[str, Mapping[str, float | None], str]] = [
        (f"1. CPU µs per delivered frame at {run.rooms} rooms", cpu, "{:.1f}"),
        ("2. most delivered frames/s, sustainable", top, "{:,.0f}"),
        (f"3. idle KiB per seated player ({run.idle})", run.idle_kib, "{:.1f}"),
        ("4. ping RTT p99 at 80 % of (2), ms", rtt, "{:.1f}"),
    ]
    print(f"\n{'figure':48}" + "".join(f"{k:>22}" for k in kinds))
    for title, values, form in rows:
        cells = []
        for k in kinds:
            value = values.get(k)
            text = "-" if value is None else form.format(value)
            if k != "baseline" and title[0] != "4":
                text += ratio(value, values.get("baseline"))
            cells.append(f"{text:>22}")
        print(f"{title:48}" + "".join(cells))
    targets(run, kinds, cpu, top, rtt)
    limits(run, kinds, best)


def targets(
    run: Run,
    kinds: list[str],
    cpu: dict[str, float | None],
    top: dict[str, float],
    rtt: dict[str, float | None],
) -> None:
    print("\nagainst the targets (ratios to the baseline of this run):")
    base_cpu, base_top, base_idle = cpu.get("baseline"), top.get("baseline"), None
    base_idle = run.idle_kib.get("baseline")
    for k in [k for k in kinds if k != "baseline"]:
        if base_cpu and cpu.get(k) is not None:
            r = (cpu[k] or 0) / base_cpu
            print(
                f"  {k}: CPU per frame {r:.2f}x <= {CPU_TARGET[k]}x: {verdict(r <= CPU_TARGET[k])}"
            )
        if base_top:
            r = top[k] / base_top
            capped = (
                " (no baseline step failed: its max is a lower bound, this ratio an upper one)"
                if run.ramp_capped.get("baseline")
                else ""
            )
            print(
                f"  {k}: max delivered {r:.2f}x >= {MAX_TARGET}x: {verdict(r >= MAX_TARGET)}"
                + capped
            )
        kib = run.idle_kib.get(k)
        if base_idle and kib is not None:
            r = kib / base_idle
            print(f"  {k}: idle memory {r:.2f}x <= {IDLE_TARGET}x: {verdict(r <= IDLE_TARGET)}")
    for k in kinds:
        value = rtt.get(k)
        if value is not None:
            print(
                f"  {k}: ping RTT p99 {value:.1f} ms < {RTT_P99_MS:g} ms: "
                f"{verdict(value < RTT_P99_MS)}"
            )


def limits(run: Run, kinds: list[str], best: dict[str, Step | None]) -> None:
    print("\nwhat limited each server:")
    for k in kinds:
        good = best.get(k)
        first_bad = next(
            (
                s
                for s in run.steps
                if s.kind == k and not s.sustainable and s.rooms > (good.rooms if good else 0)
            ),
            None,
        )
        if run.ramp_capped.get(k):
            print(f"  {k}: every step measured was sustainable: (2) is a lower bound")
        elif first_bad is not None:
            print(
                f"  {k}: at {first_bad.rooms} rooms {'; '.join(first_bad.problems())}, with the "
                f"server at {100 * first_bad.server_core:.0f} % of its core and the generator at "
                f"{100 * first_bad.generator_core:.0f} % of its own ({first_bad.limit()})"
            )
    peak = max(run.steps, key=lambda s: s.generator_core, default=None)
    if peak is not None:
        state = (
            "well below its core: it was not the limit"
            if peak.generator_core < GENERATOR_LIMIT
            else "near its core: the steps from there on measure the generator too"
        )
        cost = peak.load.get("generator_us_per_frame") or 0.0
        print(
            f"  the generator peaked at {100 * peak.generator_core:.0f} % of its core "
            f"({peak.kind}, {peak.rooms} rooms, {peak.delivered_per_s:,.0f} frames/s, "
            f"{cost:.1f} µs per frame, {peak.load.get('client')} client), {state}"
        )
