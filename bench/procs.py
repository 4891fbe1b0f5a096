"""What the benchmarks do with processes: pin them to a core, wait for their port, read their
CPU time and memory from `/proc`, stop them, and clean up the Redis keys a run made."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
LOOPBACK_EXEMPT = "127.0.0.1,::1"
"""`MARATANG_LIMIT_EXEMPT` for a benchmark: every simulated player comes from loopback, so
the per-address limits (sign-ins, sockets, handshakes) would otherwise stop the load."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def core_times(cores: tuple[int, ...]) -> tuple[tuple[int, int, int], ...]:
    """(busy, interrupts, total) jiffies of each core so far, whatever ran on it; interrupts
    (hard and soft: on loopback, much of the network's work) are part of busy."""
    times = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            ticks = [int(v) for v in values[:8]]  # guest time is already in user time
            times[int(name[3:])] = (
                sum(ticks) - ticks[3] - ticks[4],
                ticks[5] + ticks[6],
                sum(ticks),
            )
    return tuple(times.get(core, (0, 0, 0)) for core in cores)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pinned(cpu: int) -> Callable[[], None]:
    """A `preexec_fn` that pins the child to one core (modulo the cores there are)."""
    cores = os.cpu_count() or 1
    return lambda: os.sched_setaffinity(0, {cpu % cores})


def wait_for_port(process: subprocess.Popen[bytes], port: int, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], seconds: float = 30) -> bool:
    """SIGTERM, then SIGKILL after `seconds`; True if it stopped by itself."""
    if process.poll() is not None:
        return True
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(seconds)
        return True
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False


def redis_cli(url: str, *arguments: str) -> str:
    return subprocess.run(
        ["redis-cli", "-u", url, *arguments], check=False, capture_output=True, text=True
    ).stdout


def remove_keys(url: str, prefix: str) -> int:
    """Delete every key under `prefix` (a throwaway prefix of one run); how many there were."""
    keys = redis_cli(url, "--scan", "--pattern", prefix + "*").split()
    for i in range(0, len(keys), 500):
        redis_cli(url, "del", *keys[i : i + 500])
    return len(keys)


def redis_cpu_seconds(url: str) -> float | None:
    """CPU time the Redis server has used (every client's work, not only ours)."""
    fields = dict(
        line.split(":", 1) for line in redis_cli(url, "info", "cpu").splitlines() if ":" in line
    )
    try:
        return float(fields["used_cpu_user"]) + float(fields["used_cpu_sys"])
    except (KeyError, ValueError):
        return None
