"""Runs `maratang serve` (or `maratang llm-sim`) as a real process on a free port, for
end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"Uvicorn running on http://([\d.]+):(\d+)")
WORKER = re.compile(r"Started server process \[(\d+)\]")
CHECKOUT_PROGRAM = (sys.executable, "-m", "realtime.cli")
"""`maratang` as run from this checkout, by the interpreter running the tests."""


HEALTH = {"serve": "/healthz", "llm-sim": "/health"}


@dataclass
class Server:
    process: subprocess.Popen[str]
    host: str
    port: int
    output: list[str] = field(default_factory=list)
    health: str = "/healthz"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def rss(self) -> int:
        """The server process's resident memory, in bytes (one worker: the process itself)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kib) * 1024

    def said(self, text: str) -> bool:
        """Whether the server's output so far contains `text`."""
        return text in "".join(self.output)

    async def until_said(self, text: str, timeout: float = 10.0) -> None:
        """Until the server's output contains `text` (a thread reads it as it comes)."""
        async with asyncio.timeout(timeout):
            while True:
                if self.said(text):
                    return
                await asyncio.sleep(0.02)

    def workers(self) -> list[int]:
        """The pids of every worker started so far, replacements included, in order."""
        return [int(pid) for pid in WORKER.findall("".join(self.output))]


def sockets_held(pid: int, port: int) -> int:
    """How many established connections to `port` the process `pid` holds (from /proc)."""
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                established.add(fields[9])
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            held += target.startswith("socket:[") and target[8:-1] in established
    return held


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the server and its workers; SIGKILL to whatever is left after 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # a worker that outlived its parent


def _wait_until_healthy(server: Server, deadline: float) -> None:
    """The port is bound before its workers accept: ask until one answers."""
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(server.base_url + server.health, timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError("server never became healthy:\n" + "".join(server.output))
        time.sleep(0.05)  # polling a process we do not control; bounded by the deadline


@contextmanager
def running_server(
    *flags: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 20,
    command: str = "serve",
    program: Sequence[str] | None = None,
    cwd: Path | None = None,
) -> Iterator[Server]:
    """A `maratang serve` process (or another `command`), stopped (SIGTERM, then SIGKILL)
    when the block ends. `program` runs `maratang` (default: the checkout's, by this
    interpreter), in `cwd` (default: the checkout)."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        [*(CHECKOUT_PROGRAM if program is None else program), command, "--port", "0", *flags],
        cwd=ROOT if cwd is None else cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its workers share its process group, stopped together
    )
    output: list[str] = []
    ready = threading.Event()
    found: list[tuple[str, int]] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = READY.search(line)
            if match and not found:
                found.append((match.group(1), int(match.group(2))))
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    try:
        if not ready.wait(timeout) or not found:
            raise RuntimeError("server did not start:\n" + "".join(output))
        server = Server(process, found[0][0], found[0][1], output, HEALTH[command])
        _wait_until_healthy(server, deadline)
        yield server
    finally:  # also when it never started or never became healthy: no server outlives a test
        _stop(process)
        reader.join(10)
        assert process.stdout is not None
        process.stdout.close()
        print("--- server output ---\n" + "".join(output))  # shown by pytest on failure


@contextmanager
def running_sim(*flags: str, timeout: float = 20) -> Iterator[Server]:
    """A `maratang llm-sim` process (the vLLM stand-in)."""
    with running_server(*flags, timeout=timeout, command="llm-sim") as sim:
        yield sim
