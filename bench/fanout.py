"""Fan-out benchmark: how many events per second one hub core delivers, at what latency and
CPU cost, with nothing lost; and how much memory an idle player costs.

    .venv/bin/python -m bench.fanout [--servers baseline,memory,redis] [--tables 50,100]
        [--players 4] [--tps 60] [--seconds 10] [--warmup 3] [--idle 1000] [--profile]

Each server runs alone on CPU 0 (one process, one worker); the load generator runs in its own
process on CPU 1. Against Maratang (`memory`, `redis` engines) every table plays a real game:
the host creates it, the others join by code, every player submits a bowl as each round
starts, and the fallback narrator streams at `--tps` tokens per second, coalesced as in
production, so the events are the real mix (mostly `narration.delta`). The `baseline` is
`bench/baseline.py`: a minimal Starlette broadcast loop at the per-table event rate the
memory engine reached. Figures, over the measured window:

- delivered/s: session events received by all sockets per second;
- share: of the events each socket should have received (per table, up to the last seq any
  of its sockets saw), the share it did receive, with gaps and duplicates counted;
- RTT p50/p99: app-level ping → pong round trips sent by each table's host every 0.25 s,
  which queue behind the events in the same socket queue: the latency a player feels;
- CPU µs/event: the server's user+system CPU time in the window per delivered event;
- idle KiB/player: the server's RSS growth per idle, seated player (`--idle`).
`--profile` samples each Maratang server with py-spy during the window and prints where its
time went (functions by own time and by time including what they call).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import msgpack
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench.procs import (
    LOOPBACK_EXEMPT,
    cpu_seconds,
    free_port,
    pinned,
    remove_keys,
    rss_kib,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[1]
BOWL = ["bok_choy", "enoki", "beef", "fish_balls"]


# The load generator (runs in its own process) ------------------------------------------------


@dataclass
class Tally:
    counting: bool = False
    delivered: int = 0
    rtts: list[float] = field(default_factory=list)


@dataclass
class Socket:
    ws: ClientConnection
    tally: Tally
    seqs: list[int] = field(default_factory=list)
    waiting: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    rid: int = 0
    host: bool = False

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(msgpack.packb(message))

    async def request(self, t: str, **fields: Any) -> dict[str, Any]:
        self.rid += 1
        future = asyncio.get_running_loop().create_future()
        self.waiting[self.rid] = future
        await self.send({"t": t, "rid": self.rid, **fields})
        return await asyncio.wait_for(future, 30)

    async def read(self) -> None:
        async for frame in self.ws:
            m = msgpack.unpackb(frame if isinstance(frame, bytes) else frame.encode())
            t = m["t"]
            if "seq" in m and t != "sync":
                self.seqs.append(m["seq"])
                if self.tally.counting:
                    self.tally.delivered += 1
                if t == "round.started":
                    await self.send(
                        {"t": "bowl.submit", "round": m["round"], "ingredients": BOWL, "spice": 2}
                    )
            elif t == "pong":
                if self.tally.counting:
                    self.tally.rtts.append(time.time() - m["ts"])
            elif t in ("ack", "error") and m.get("rid") in self.waiting:
                self.waiting.pop(m["rid"]).set_result(m)


async def open_socket(url: str, tally: Tally) -> Socket:
    ws = await connect(
        url,
        subprotocols=[Subprotocol("maratang.v1.msgpack")],
        compression=None,
        max_size=2**22,
        ping_interval=None,
    )
    sock = Socket(ws, tally)
    asyncio.get_running_loop().create_task(sock.read())
    return sock


async def maratang_table(
    base: str, http: httpx.AsyncClient, players: int, tally: Tally, start: bool
) -> list[Socket]:
    seats = []
    for n in range(players):
        answer = await http.post(f"{base}/api/auth/guest", json={"name": f"bot{n}"})
        token = answer.json()["token"]
        sock = await open_socket(base.replace("http", "ws") + "/ws", tally)
        await sock.send({"t": "hello", "token": token})
        seats.append(sock)
    seats[0].host = True
    ack = await seats[0].request("session.create", settings={"rounds": 10, "seconds": 120})
    for sock in seats[1:]:
        await sock.request("session.join", code=ack["code"])
    if start:
        await seats[0].request("game.start")
    return seats


async def baseline_room(base: str, players: int, tally: Tally) -> list[Socket]:
    room = secrets.token_hex(4)
    seats = [await open_socket(base.replace("http", "ws") + "/ws", tally) for _ in range(players)]
    for sock in seats:
        await sock.send({"t": "join", "room": room})
    await seats[0].send({"t": "start"})
    seats[0].host = True
    return seats


async def ping_hosts(seats: list[Socket]) -> None:
    hosts = [s for s in seats if s.host]
    while True:
        for sock in hosts:
            await sock.send({"t": "ping", "ts": time.time()})
        await asyncio.sleep(0.25)


class Seqs(Protocol):
    """A socket of a load generator: the `seq` of every session event it received."""

    seqs: list[int]


def cutoffs(tables: Sequence[Sequence[Seqs]]) -> list[int]:
    """Per table, the last seq any of its sockets has seen."""
    return [max((max(s.seqs) for s in seats if s.seqs), default=0) for seats in tables]


def share(tables: Sequence[Sequence[Seqs]], last_seqs: list[int]) -> tuple[float, int, int]:
    """Received / expected events up to each table's cutoff, and the gaps and duplicates
    seen, over every socket."""
    received = expected = gaps = duplicates = 0
    for seats, last in zip(tables, last_seqs, strict=True):
        for sock in seats:
            if not sock.seqs:
                continue
            unique = {seq for seq in sock.seqs if seq <= last}
            duplicates += sum(1 for seq in sock.seqs if seq <= last) - len(unique)
            first = min(unique)
            ordered = sorted(unique)
            gaps += sum(1 for a, b in itertools.pairwise(ordered) if b != a + 1)
            received += len(unique)
            expected += last - first + 1
    return (received / expected if expected else 0.0), gaps, duplicates


async def generate(args: argparse.Namespace) -> None:
    tally = Tally()
    tables: list[list[Socket]] = []
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(args.tables):
            if args.kind == "baseline":
                tables.append(await baseline_room(args.url, args.players, tally))
            else:
                tables.append(
                    await maratang_table(
                        args.url, http, args.players, tally, start=not args.seated_only
                    )
                )
    print("READY", flush=True)
    if args.seated_only:
        sys.stdin.readline()  # the orchestrator has measured memory
        return
    pinger = asyncio.create_task(ping_hosts([s for t in tables for s in t]))
    await asyncio.sleep(args.warmup)
    started = time.perf_counter()
    tally.counting = True
    print("WINDOW START", flush=True)
    await asyncio.sleep(args.seconds)
    tally.counting = False
    elapsed = time.perf_counter() - started
    print("WINDOW END", flush=True)
    pinger.cancel()
    judged = cutoffs(tables)
    await asyncio.sleep(1)  # let what is in flight arrive before judging what was lost
    ratio, gaps, duplicates = share(tables, judged)
    rtts = sorted(tally.rtts) or [float("nan")]
    result = {
        "delivered_per_s": tally.delivered / elapsed,
        "share": ratio,
        "gaps": gaps,
        "duplicates": duplicates,
        "rtt_p50_ms": 1000 * statistics.median(rtts),
        "rtt_p99_ms": 1000 * rtts[min(len(rtts) - 1, int(0.99 * len(rtts)))],
        "delivered": tally.delivered,
        "generator_cpu_s": time.process_time(),
    }
    print("RESULT " + json.dumps(result), flush=True)


# The orchestrator ----------------------------------------------------------------------------


@dataclass
class Server:
    kind: str
    process: subprocess.Popen[bytes]
    url: str
    prefix: str | None


def start_server(kind: str, args: argparse.Namespace, rate: float) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "MARATANG_LOG_LEVEL": "warning",
        "MARATANG_RATE_PER_SECOND": "1000",
        "MARATANG_RATE_BURST": "1000",
        "MARATANG_LIMIT_EXEMPT": LOOPBACK_EXEMPT,
        "BENCH_RATE": str(rate),
    }
    prefix = None
    if kind == "baseline":
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.baseline:app",
            "--port",
            str(port),
            "--ws",
            "websockets-sansio",
            "--ws-per-message-deflate",
            "false",
            "--log-level",
            "warning",
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "realtime.cli",
            "serve",
            "--port",
            str(port),
            "--fallback-tps",
            str(args.tps),
        ]
        if kind == "redis":
            prefix = f"bench:{secrets.token_hex(4)}:"
            env["MARATANG_REDIS_PREFIX"] = prefix
            command += ["--engine", args.redis]
    process = subprocess.Popen(command, cwd=ROOT, env=env, preexec_fn=pinned(0))
    wait_for_port(process, port, f"{kind} server", 20)
    return Server(kind, process, f"http://127.0.0.1:{port}", prefix)


PROFILE = Path("/tmp/maratang-fanout-profile.txt")


def sample(pid: int, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy samples the server (without pausing it) for the window."""
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "250",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(PROFILE),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def print_profile(kind: str, tables: int) -> None:
    """Functions by share of samples: own time, and time including callees."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in PROFILE.read_text().splitlines() if PROFILE.exists() else ():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    PROFILE.unlink(missing_ok=True)
    if not total:
        return
    print(f"\nwhere {kind} at {tables} tables spent its busy time ({total} samples):")
    for title, counts in (("own time", own), ("including callees", inclusive)):
        print(f"  {title}:")
        for name, samples in counts.most_common(18):
            print(f"    {100 * samples / total:5.1f} %  {name}")


def stop_server(server: Server, args: argparse.Namespace) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(60)
    except subprocess.TimeoutExpired:
        print(f"{server.kind} did not stop within 60 s of SIGTERM; killed", flush=True)
        server.process.kill()
        server.process.wait()
    if server.prefix is not None:
        remove_keys(args.redis, server.prefix)


def generator(server: Server, args: argparse.Namespace, tables: int, idle: bool) -> Any:
    command = [
        sys.executable,
        "-m",
        "bench.fanout",
        "--generate",
        "--kind",
        server.kind,
        "--url",
        server.url,
        "--tables",
        str(tables),
        "--players",
        str(args.players),
        "--seconds",
        str(args.seconds),
        "--warmup",
        str(args.warmup),
    ]
    if idle:
        command.append("--seated-only")
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
        preexec_fn=pinned(1),
    )


def measure(kind: str, args: argparse.Namespace, tables: int, rate: float) -> dict[str, Any]:
    server = start_server(kind, args, rate)
    try:
        load = generator(server, args, tables, idle=False)
        assert load.stdout is not None
        cpu_start = 0.0
        result: dict[str, Any] = {}
        sampler = None
        for line in load.stdout:
            if line.startswith("WINDOW START"):
                cpu_start = cpu_seconds(server.process.pid)
                if args.profile and kind != "baseline":
                    sampler = sample(server.process.pid, args.seconds)
            elif line.startswith("WINDOW END"):
                result["server_cpu_s"] = cpu_seconds(server.process.pid) - cpu_start
            elif line.startswith("RESULT "):
                result.update(json.loads(line[7:]))
        load.wait()
        if sampler is not None:
            sampler.wait()
            print_profile(kind, tables)
    finally:
        stop_server(server, args)
    delivered = result.get("delivered") or 1
    result["cpu_us_per_event"] = 1e6 * result.get("server_cpu_s", 0) / delivered
    result["server_core_share"] = result.get("server_cpu_s", 0) / args.seconds
    return result


def idle_memory(kind: str, args: argparse.Namespace) -> float:
    server = start_server(kind, args, rate=0)
    try:
        time.sleep(1)
        before = rss_kib(server.process.pid)
        load = generator(server, args, args.idle // args.players, idle=True)
        assert load.stdout is not None
        assert load.stdin is not None
        load.stdout.readline()  # READY
        time.sleep(1)
        after = rss_kib(server.process.pid)
        load.stdin.write("\n")
        load.stdin.flush()
        load.wait()
    finally:
        stop_server(server, args)
    players: int = args.idle // args.players * args.players
    return (after - before) / players


def orchestrate(args: argparse.Namespace) -> None:
    kinds = args.servers.split(",")
    rows = []
    per_table_rate: dict[int, float] = {}
    for tables in [int(n) for n in args.tables.split(",")]:
        for kind in sorted(kinds, key=lambda k: {"memory": 0, "baseline": 1, "redis": 2}[k]):
            rate = per_table_rate.get(tables, 25.0)
            result = measure(kind, args, tables, rate)
            if kind == "memory":
                per_table_rate[tables] = result["delivered_per_s"] / tables / args.players
            rows.append((kind, tables, result))
            print(
                f"{kind:8} tables={tables:4} delivered/s={result['delivered_per_s']:9.0f} "
                f"share={result['share']:.4f} gaps={result['gaps']} dups={result['duplicates']} "
                f"rtt p50/p99={result['rtt_p50_ms']:.1f}/{result['rtt_p99_ms']:.1f} ms "
                f"cpu={result['cpu_us_per_event']:.1f} µs/event "
                f"(server core {100 * result['server_core_share']:.0f} %)",
                flush=True,
            )
    if args.idle:
        for kind in kinds:
            print(
                f"{kind:8} idle: {idle_memory(kind, args):.1f} KiB per connected player", flush=True
            )
    print("\nsummary (JSON): " + json.dumps([{"server": k, "tables": t, **r} for k, t, r in rows]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default="baseline,memory,redis")
    parser.add_argument("--tables", default="50,100,200")
    parser.add_argument("--players", type=int, default=4)
    parser.add_argument("--tps", type=float, default=60)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument(
        "--redis", default=os.environ.get("MARATANG_TEST_REDIS", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seated-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        args.tables = int(args.tables)
        asyncio.run(generate(args))
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
