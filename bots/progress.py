"""Live progress on the terminal while bots play, with `rich`; when the output is not a
terminal (CI, a log file), the same figures as one plain line every `LOG_EVERY_S` seconds.
The same figures, once a second, make the report's timeline."""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from bots.worker import Progress

LOG_EVERY_S = 10.0


class Board:
    """The latest progress of every bot process, merged; a timeline point per tick."""

    def __init__(self, planned: int) -> None:
        self.planned = planned
        self.latest: dict[int, Progress] = {}
        self.started = time.monotonic()
        self.frames_then = 0
        self.then = self.started
        self.timeline: list[dict[str, Any]] = []
        console = Console(file=sys.stdout)
        self.live = Live(self.render(), console=console, auto_refresh=False)
        self.shown = console.is_terminal
        self.logged = self.started

    def __enter__(self) -> Board:
        if self.shown:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.shown:
            self.live.stop()

    def update(self, progress: Progress) -> None:
        self.latest[progress.worker] = progress
        now = time.monotonic()
        if now - self.then >= 1.0:
            self.tick(now)

    def tick(self, now: float) -> None:
        frames = sum(p.frames for p in self.latest.values())
        self.timeline.append(
            {
                "t": round(now - self.started, 2),
                "events_per_s": round((frames - self.frames_then) / (now - self.then), 1),
                "sockets": sum(p.sockets for p in self.latest.values()),
                "ack_p99_ms": _worst(p.ack_p99_ms for p in self.latest.values()),
                "first_narration_p99_ms": _worst(
                    p.first_narration_p99_ms for p in self.latest.values()
                ),
            }
        )
        self.frames_then, self.then = frames, now
        if self.shown:
            self.live.update(self.render(), refresh=True)
        elif now - self.logged >= LOG_EVERY_S:
            self.logged = now
            line = ", ".join(map(": ".join, self.rows()))
            print(f"[{now - self.started:5.0f} s] {line}", flush=True)

    def render(self) -> Table:
        table = Table(title="maratang bots", show_header=False)
        for name, value in self.rows():
            table.add_row(name, value)
        return table

    def rows(self) -> list[tuple[str, str]]:
        point = self.timeline[-1] if self.timeline else {}
        values = self.latest.values()
        rows = {
            "tables playing": f"{sum(p.playing for p in values)} (of {self.planned} slots)",
            "sockets": str(point.get("sockets", 0)),
            "events/s": str(point.get("events_per_s", 0)),
            "ack p99 so far": _ms(point.get("ack_p99_ms")),
            "first narration p99 so far": _ms(point.get("first_narration_p99_ms")),
            "resumes": str(sum(p.resumes for p in values)),
            "errors": str(sum(p.errors for p in values)),
        }
        return list(rows.items())


def _worst(values: Any) -> float | None:
    known = [v for v in values if v is not None]
    return round(max(known), 2) if known else None


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} ms"
