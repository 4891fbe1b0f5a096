"""What a run cost in CPU: the bots' own (this process and its bot processes) and, when it
runs on this machine, the server's, each per frame the bots received."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def bots_cpu_s() -> float:
    """CPU seconds of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def server_cpu_s(pid: int) -> float:
    """CPU seconds of process `pid` and its descendants (a server's workers) so far."""
    return sum(_cpu_s(member) for member in _tree(pid))


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat:
                parents[int(entry.name)] = int(stat[1])
    members, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        members += children
        frontier = children
    return members


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state first); [] if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text[text.rindex(")") + 2 :].split()


def _cpu_s(pid: int) -> float:
    stat = _stat(pid)
    return (int(stat[11]) + int(stat[12])) / TICKS if stat else 0.0


@dataclass
class Meter:
    """CPU counters at the start of a run, to take the run's share at its end."""

    server_pid: int | None
    bots_start: float = 0.0
    server_start: float = 0.0

    def start(self) -> None:
        self.bots_start = bots_cpu_s()
        if self.server_pid is not None:
            self.server_start = server_cpu_s(self.server_pid)

    def finish(self, frames: int, duration_s: float, procs: int) -> dict[str, object]:
        bots = bots_cpu_s() - self.bots_start
        server = (
            None if self.server_pid is None else server_cpu_s(self.server_pid) - self.server_start
        )
        per_frame = 1e6 / frames if frames else 0.0
        return {
            "bots_cpu_s": round(bots, 3),
            "frames": frames,
            "bot_us_per_frame": round(bots * per_frame, 2),
            "server_us_per_frame": None if server is None else round(server * per_frame, 2),
            "limited_by": limited_by(bots / max(duration_s * procs, 1e-9), server is not None),
        }


BUSY = 0.8
"""A share of its CPU above which a side is taken to be what limited the run."""


def limited_by(bots_busy: float, server_measured: bool) -> str:
    """`bots` when the bot processes were near their cores' limit (the figures then say more
    about the bots than the server), else `server`."""
    if bots_busy >= BUSY:
        return "bots"
    if not server_measured:
        return "server (not measured: give --server-pid)"
    return "server"
