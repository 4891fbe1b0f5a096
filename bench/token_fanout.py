"""Narration fan-out, measured the way users compare servers: one frame per token, rooms of 4
players, Maratang against a plain Starlette loop in the same run.

    .venv/bin/python -m bench.token_fanout [--quick] [--servers baseline,memory,redis]
        [--rooms 50] [--ramp 12,25,50,...,1600] [--refine 1] [--seconds 10] [--warmup 3]
        [--idle 1000] [--budget 600] [--client lean|ws] [--redis URL] [--json FILE]

Servers, each alone on CPU 0 in one process: `baseline` is `bench/baseline.py` (a dict of
sets, one publisher task per room sending each frame to its sockets in turn, on a fixed
schedule); `memory` and `redis` are `maratang serve` on the memory engine and on the Redis
engine (keys under a throwaway prefix, deleted after), with coalescing off
(`MARATANG_COALESCE_MS=0`) and the fallback narrator at `--tps` tokens/s, so every token is
one `narration.delta` frame to each player. Maratang's rooms play real games (sign-in,
`hello`, create and join by code; bowls submitted so that each round closes as its entrance
ends, so narrations follow one another back to back). The baseline publishes `--tps` frames/s
per room of the same size (about 78 bytes). Every server is started fresh for every step.

The load generator is one Node process pinned to CPU 1 (`bench/loadgen/`, installed with
`npm ci` on first run) that decodes every frame. In each room one player, the watcher, is
read as soon as data arrives: it gives the latencies and sends the pings. With the lean
client (the default) the other three sockets are read every 100 ms, one system call for
several frames, which makes the generator's cost per frame well below the server's; their
frames count for delivery and loss. `--client ws` reads every socket through the `ws`
package as data arrives (the reference client, dearer per frame). The generator's share of
its core is printed with every step; above 70 % a step says it measures the generator.

Per step (a number of rooms, narrations started spread over a second, a warm-up, then a
window of `--seconds`), over the window:
- delivered/s: session events received by all sockets (token frames, and for Maratang the
  game's other events, a few %);
- share: tokens received / tokens offered (sockets x tps x window);
- lost: gaps and duplicates per socket by `seq`, re-syncs, sockets closed by the server;
- latency (the same definition for both servers): token i of a narration is due at
  t0 + i / tps; its raw lateness is its arrival at a watcher minus i / tps, and the smallest
  raw lateness of the narration in the room is subtracted (t0 is not known to the client).
  A token's latency is how much later than the best-served token of its narration it
  arrived: every queue in the server (narrator wake-ups, commits, fan-out, socket writes)
  shows in it, a delay common to a whole narration does not. The baseline also stamps each
  frame with its due time; that true latency is printed beside it as a cross-check;
- RTT: each watcher sends a `ping` every 250 ms and times the `pong`, which waits behind
  the fan-out in the server's loop and in the socket's send queue;
- CPU: the server's user + system time per delivered frame, and as a share of its core;
  and each core's busy share with anything (other work on the machine shows there).

Figures: (1) CPU µs per delivered frame at `--rooms`; (2) the most delivered/s at a
sustainable step (p99 latency < 50 ms, share >= 95 %, nothing lost, no refusal that
retrying does not cure), stepping `--ramp` up until the first step that fails (a failing
step is measured once more, and only failing twice ends the search), then
`--refine` bisections between the last good step and it; (3) idle KiB per seated player: the
server's RSS growth from 10 % to 100 % of `--idle` seated, idle players, per player; (4) ping
RTT p99 at 80 % of (2)'s rooms. Each as a ratio to the baseline of the same run, against the
targets. `--quick` takes 3 s windows, steps of 12, 50, 200, 800 rooms, no bisection and 400
idle players: under two minutes, to see that it works, not to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from bench.procs import (
    LOOPBACK_EXEMPT,
    core_times,
    cpu_seconds,
    free_port,
    pinned,
    redis_cpu_seconds,
    remove_keys,
    rss_kib,
    stop,
    wait_for_port,
)
from bench.token_report import Mark, Run, Step, report

ROOT = Path(__file__).resolve().parents[1]
LOADGEN = ROOT / "bench" / "loadgen"
BASELINE_NARRATION = 100
"""Frames per baseline narration (Maratang's fallback narrations are 60 to 150 tokens)."""
SERVER_CPU, GENERATOR_CPU = 0, 1
SEARCH_SHARE = 0.65
"""Share of `--budget` the searches for the most sustainable load may take, all servers."""


def ensure_loadgen() -> None:
    """`npm ci` into bench/loadgen/node_modules when it is missing or older than the lock."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        sys.exit("token_fanout needs Node 20 and npm on the PATH (the load generator)")
    installed = LOADGEN / "node_modules" / ".package-lock.json"
    lock = LOADGEN / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    print("installing the load generator (npm ci in bench/loadgen)", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=LOADGEN, check=True
    )


class Server:
    """One server under test, alone on CPU 0."""

    def __init__(self, kind: str, args: argparse.Namespace) -> None:
        self.kind = kind
        self.redis = args.redis
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.prefix = f"bench:{secrets.token_hex(4)}:" if kind == "redis" else None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MARATANG_", "BENCH_"))}
        self.process = subprocess.Popen(
            self.command(args),
            cwd=ROOT,
            env={**env, **self.settings(args)},
            stdout=subprocess.DEVNULL,
            preexec_fn=pinned(SERVER_CPU),
        )
        wait_for_port(self.process, self.port, f"the {kind} server", 30)

    def command(self, args: argparse.Namespace) -> list[str]:
        if self.kind == "baseline":
            return [
                *(sys.executable, "-m", "uvicorn", "bench.baseline:app", "--port", str(self.port)),
                *("--ws", "websockets-sansio", "--ws-per-message-deflate", "false"),
                *("--log-level", "warning"),
            ]
        return [sys.executable, "-m", "realtime.cli", "serve", "--port", str(self.port)]

    def settings(self, args: argparse.Namespace) -> dict[str, str]:
        if self.kind == "baseline":
            return {"BENCH_RATE": str(args.tps), "BENCH_NARRATION": str(BASELINE_NARRATION)}
        env = {
            "MARATANG_COALESCE_MS": "0",
            "MARATANG_FALLBACK_TPS": str(args.tps),
            "MARATANG_LOG_LEVEL": "warning",
            "MARATANG_LIMIT_EXEMPT": LOOPBACK_EXEMPT,
        }
        if self.prefix is not None:
            env |= {"MARATANG_ENGINE": self.redis, "MARATANG_REDIS_PREFIX": self.prefix}
        return env

    def mark(self) -> Mark:
        return Mark(
            time.monotonic(),
            cpu_seconds(self.process.pid),
            redis_cpu_seconds(self.redis) if self.prefix is not None else None,
            core_times((SERVER_CPU, GENERATOR_CPU)),
        )

    def close(self) -> None:
        if not stop(self.process, 30):
            print(f"  ({self.kind} did not stop within 30 s of SIGTERM: killed)", flush=True)
        if self.prefix is not None:
            remove_keys(self.redis, self.prefix)


class Generator:
    """The Node load generator on CPU 1, killed if it overruns `deadline` seconds."""

    def __init__(self, config: dict[str, Any], deadline: float) -> None:
        self.process = subprocess.Popen(
            ["node", "loadgen.mjs", json.dumps(config)],
            cwd=LOADGEN,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=pinned(GENERATOR_CPU),
        )
        self.timer = threading.Timer(deadline, self.process.kill)
        self.timer.start()

    def lines(self) -> Iterator[str]:
        out: IO[str] | None = self.process.stdout
        assert out is not None
        yield from out

    def tell(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()

    def close(self) -> bool:
        """Wait for it to end; False if it was killed for overrunning."""
        self.process.wait()
        self.timer.cancel()
        return self.process.returncode >= 0


def generator_config(args: argparse.Namespace, server: Server, rooms: int) -> dict[str, Any]:
    return {
        "kind": "baseline" if server.kind == "baseline" else "maratang",
        "url": server.url,
        "rooms": rooms,
        "players": args.players,
        "tps": args.tps,
        "warmup": args.warmup,
        "seconds": args.seconds,
        "pingMs": 250,
        "spreadMs": 1000,
        "mode": "load",
        "firstRooms": 0,
        "concurrency": 32,
        "client": args.client,
        "lazyMs": 100,
    }


def measure(kind: str, rooms: int, args: argparse.Namespace) -> Step:
    """One step: a fresh server, `rooms` rooms narrating, one window."""
    began = time.monotonic()
    server = Server(kind, args)
    step = Step(kind, rooms)
    try:
        deadline = 60 + rooms * args.players * 0.02 + args.warmup + args.seconds
        load = Generator(generator_config(args, server, rooms), deadline)
        marks: dict[str, Mark] = {}
        for line in load.lines():
            if line.startswith("WINDOW"):
                marks[line.split()[1]] = server.mark()
            elif line.startswith("RESULT "):
                step.load = json.loads(line[7:])
            elif line.startswith("FAILED "):
                step.failure = line[7:].strip()
        if not load.close() and step.failure is None:
            step.failure = f"the generator overran its {deadline:.0f} s"
    finally:
        server.close()
    if "START" in marks and "END" in marks:
        step.account(marks["START"], marks["END"])
    elif step.failure is None:
        step.failure = "the generator ended before its window"
    step.wall_s = time.monotonic() - began
    return step


def idle_memory(kind: str, args: argparse.Namespace) -> float | None:
    """KiB of server RSS per idle, seated player, from 10 % to 100 % of `--idle` seated."""
    rooms = max(2, args.idle // args.players)
    first = max(1, rooms // 10)
    server = Server(kind, args)
    try:
        config = generator_config(args, server, rooms) | {"mode": "idle", "firstRooms": first}
        seats = Generator(config, 120 + rooms * args.players * 0.02)
        readings = []
        for line in seats.lines():
            if line.startswith("SEATED"):
                time.sleep(1)
                readings.append((int(line.split()[1]), rss_kib(server.process.pid)))
                seats.tell()
            elif line.startswith("FAILED"):
                print(f"  idle {kind}: {line.strip()}", flush=True)
        seats.close()
    finally:
        server.close()
    if len(readings) != 2:
        return None
    (players_a, rss_a), (players_b, rss_b) = readings
    return (rss_b - rss_a) / (players_b - players_a)


def sustained(kind: str, rooms: int, args: argparse.Namespace, run: Run) -> bool:
    """Whether `rooms` is sustainable. A step that is not is measured once more, every
    server alike, and counts as sustainable only if the second try is: one stall of the
    machine (a 2-core virtual one) does not decide the search, and a real limit fails
    twice. Both tries are printed and kept."""
    step = run.step(kind, rooms) or run.add(measure(kind, rooms, args))
    if step.sustainable:
        return True
    print(f"  {kind}: {rooms} rooms not sustainable; measuring it once more", flush=True)
    return run.add(measure(kind, rooms, args)).sustainable


def search(kind: str, args: argparse.Namespace, run: Run, share: float) -> None:
    """Step the rooms up until the first step that is not sustainable (twice), then bisect;
    stop stepping once this server has used its `share` of the run's time budget."""
    began = time.monotonic()
    good, bad = 0, 0
    for rooms in args.ramp:
        if time.monotonic() - began > share * args.budget:
            print(f"  {kind}: out of its share of --budget, the search stops here", flush=True)
            break
        if not sustained(kind, rooms, args, run):
            bad = rooms
            break
        good = rooms
    for _ in range(args.refine if bad else 0):
        rooms = (good + bad) // 2
        if rooms <= good or bad - rooms < max(1, good // 10):
            break
        if sustained(kind, rooms, args, run):
            good = rooms
        else:
            bad = rooms
    run.best_rooms[kind] = good
    run.ramp_capped[kind] = bad == 0


def main() -> None:
    args = options()
    ensure_loadgen()
    run = Run(args.players, args.tps, args.seconds, args.rooms, args.idle)
    began = time.monotonic()
    run.announce = True
    for kind in args.servers:  # about two thirds of the budget for the searches
        search(kind, args, run, SEARCH_SHARE / len(args.servers))
    for kind in args.servers:  # the fixed load, unless the search measured it
        if run.step(kind, args.rooms) is None:
            run.add(measure(kind, args.rooms, args))
    for kind in [k for k in args.servers if run.best_rooms[k]]:
        rooms = max(1, round(0.8 * run.best_rooms[kind]))
        run.at_80[kind] = run.step(kind, rooms) or run.add(measure(kind, rooms, args))
    if args.idle:
        for kind in args.servers:
            run.idle_kib[kind] = idle_memory(kind, args)
            print(
                f"  idle {kind:8} {run.idle_kib[kind] or float('nan'):6.1f} KiB/player", flush=True
            )
    run.wall_s = time.monotonic() - began
    report(run)
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(run), indent=1))


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--servers", default="baseline,memory,redis")
    parser.add_argument("--quick", action="store_true", help="short windows, fewer steps (< 2 min)")
    parser.add_argument("--rooms", type=int, default=50, help="rooms of the fixed-load step")
    parser.add_argument("--ramp", help="rooms per step of the search (default 12,25,...,1600)")
    parser.add_argument("--refine", type=int, help="bisections after the first failing step")
    parser.add_argument("--players", type=int, default=4)
    parser.add_argument("--tps", type=float, default=30)
    parser.add_argument("--seconds", type=float, help="measured window per step (10; quick 3)")
    parser.add_argument("--warmup", type=float, help="seconds before the window (3; quick 1)")
    parser.add_argument("--idle", type=int, help="idle players seated (1000; quick 400)")
    parser.add_argument(
        "--budget", type=float, help="seconds the whole run aims to take (600; quick 110)"
    )
    parser.add_argument(
        "--redis", default=os.environ.get("MARATANG_TEST_REDIS", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--client",
        choices=["lean", "ws"],
        default="lean",
        help="the generator's WebSocket client: lean (default) or the `ws` package",
    )
    parser.add_argument("--json", help="write every step's figures to this file")
    args = parser.parse_args()
    quick = args.quick
    args.servers = args.servers.split(",")
    ramp = args.ramp or ("12,50,200,800" if quick else "12,25,50,100,200,400,800,1600")
    args.ramp = [int(n) for n in ramp.split(",")]
    args.refine = (0 if quick else 1) if args.refine is None else args.refine
    args.seconds = args.seconds or (3.0 if quick else 10.0)
    args.warmup = args.warmup or (1.0 if quick else 3.0)
    args.idle = (400 if quick else 1000) if args.idle is None else args.idle
    args.budget = args.budget or (110.0 if quick else 600.0)
    return args


if __name__ == "__main__":
    main()
