"""Scaling benchmark: what one, two and three hub processes on a Redis Cluster deliver, and
what each part pays per delivered event, against one hub on a single Redis in the same run.

    .venv/bin/python -m bench.scaling [--hubs 1,2,3] [--tables 32] [--players 4] [--tps 30]
        [--seconds 15] [--warmup 3] [--budget 280] [--json FILE]

It starts Redis servers of its own on loopback, so that no other client's commands are in
their figures: a plain Redis for the baseline (one hub on it), then a Redis Cluster of three
masters (`LocalCluster`, the tests' own) for N hubs, each N of `--hubs` in turn. A hub is
`maratang serve --engine <url> --workers 1`, a process of its own; the hubs of a run share
one MARATANG_SECRET and one MARATANG_REDIS_PREFIX (fresh for each run). The load is the same
in every run: `--tables` tables of `--players` players, seat i of table t on hub (t + i) mod
N, so with N > 1 every table has players on several hubs and its events cross hubs through
Redis. Every table plays a real game (each player submits a bowl as a round starts, as in
`bench/fanout.py`) and the fallback narrator streams `--tps` tokens a second, coalesced as in
production; the load generator is one process of lean clients (`bench/rawws.py`). Before the
tables are seated, the hubs are watched alone for a moment (the commands they send Redis and
the CPU they take idle). After `--warmup` seconds, over a window of `--seconds`:

- delivered/s: session events the players received, a second; share and gaps: of the events
  each socket should have received, those it did, and the holes (nothing may be lost);
- hub µs/event: each hub's CPU (user + system, from /proc/PID/stat) per event its own sockets
  received, and every hub's CPU together per delivered event: as N grows, what coordinating
  through Redis costs;
- Redis µs/event: the redis-server processes' CPU per delivered event;
- Redis ops per table-second: the commands the servers executed (INFO commandstats, each
  command a script calls included, the benchmark's own INFO left out) per table per second;
- generator core: the load generator's CPU as a share of one core;
- machine busy: every core's busy time (/proc/stat), and how much of it went to processes
  that are not this run's (another program on the machine disturbs the figures);
- limited by: what set the run's ceiling: the generator (70 % of a core or more), a core of a
  hub or of a Redis server (90 %), every core of the machine (90 %), or the offered load
  itself (nothing near full: the figures are costs at this load, not a capacity).

Ratios are to the baseline. The run ends with the sizing the figures imply: players per hub
core and tables per Redis master, each planned at 70 % of a core. Time is bounded: a run
starts only if it fits in what is left of `--budget` seconds, and each has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from redis import Redis as SyncRedis

from bench.fanout import BOWL, cutoffs, share
from bench.procs import LOOPBACK_EXEMPT, core_times, cpu_seconds, free_port, stop, wait_for_port
from bench.rawws import RawSocket, connect
from tests.support.redis import PrivateRedis
from tests.support.redis_cluster import HOST, LocalCluster

ROOT = Path(__file__).resolve().parents[1]
SUBPROTOCOL = "maratang.v1.json"
ROUNDS, ROUND_SECONDS = 10, 120
"""Each table's game: long enough to outlast a run."""
ANSWER_S = 30.0
TICK_S = 5.0
"""How often the window's progress is printed."""
DRAIN_S = 1.0
"""After the window, how long what is in flight has to arrive before losses are judged."""
SEAT_S = 90.0
"""The longest seating every table may take."""
IDLE_S = 2.0
"""How long the hubs are watched with no table, for what they cost Redis and CPU idle."""
OVERHEAD_S = 15.0 + IDLE_S
"""What a run takes besides its warm-up and window: hubs started and stopped, tables seated."""
GENERATOR_BUSY = 0.7
"""A share of its core above which the generator, not the servers, is taken to be the limit."""
CORE_BUSY = 0.9
"""A share of a core (or of every core, for the machine) taken to be full."""
SHARED = 0.1
"""Share of a core that other processes may take before the run says it was disturbed."""
SHARE = 0.95
"""The share of its events every socket must get for a run to have kept up."""
PLAN = 0.7
"""The share of a core the sizing plans to use at the peak."""


# The load generator (a process of its own) ---------------------------------------------------


@dataclass
class Tally:
    """Session events the players on each hub received during the window."""

    delivered: list[int]
    counting: bool = False
    games_over: int = 0


@dataclass
class Player:
    hub: int
    tally: Tally
    sock: RawSocket | None = None
    seqs: list[int] = field(default_factory=list)
    replies: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    rid: int = 0
    host: bool = False

    def on_message(self, frame: bytes) -> None:
        message = orjson.loads(frame)
        kind = message.get("t")
        if "seq" in message and kind != "sync":
            self.seqs.append(message["seq"])
            if self.tally.counting:
                self.tally.delivered[self.hub] += 1
            if kind == "game.over" and self.host and self.tally.counting:
                self.tally.games_over += 1
            if kind == "round.started":
                bowl = {"round": message["round"], "ingredients": BOWL, "spice": 2}
                self.send({"t": "bowl.submit", **bowl})
        elif kind in ("ack", "error") and message.get("rid") in self.replies:
            self.replies.pop(message["rid"]).set_result(message)

    def send(self, message: dict[str, Any]) -> None:
        assert self.sock is not None
        self.sock.send_json(message)

    async def request(self, t: str, **fields: Any) -> dict[str, Any]:
        """Send a command and wait for its `ack`; RuntimeError when it is refused."""
        self.rid += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[self.rid] = future
        self.send({"t": t, "rid": self.rid, **fields})
        answer = await asyncio.wait_for(future, ANSWER_S)
        if answer["t"] != "ack":
            raise RuntimeError(f"{t} refused: {answer}")
        return answer


async def seat(url: str, hub: int, http: httpx.AsyncClient, name: str, tally: Tally) -> Player:
    """A guest signed in and greeted on hub `hub` (at `url`)."""
    token = (await http.post(f"{url}/api/auth/guest", json={"name": name})).json()["token"]
    player = Player(hub, tally)
    player.sock = await connect(
        url.replace("http", "ws", 1) + "/ws", player.on_message, SUBPROTOCOL
    )
    player.sock.send_json({"t": "hello", "token": token})
    return player


async def table(
    urls: list[str], number: int, players: int, http: httpx.AsyncClient, tally: Tally
) -> list[Player]:
    """Table `number`, its seat i on hub (number + i) mod N, playing: the host (on the first
    of its hubs) creates it, the others join by code, the host starts the game."""
    hubs = [(number + i) % len(urls) for i in range(players)]
    seats = [await seat(urls[h], h, http, f"t{number}p{i}", tally) for i, h in enumerate(hubs)]
    seats[0].host = True
    settings = {"rounds": ROUNDS, "seconds": ROUND_SECONDS}
    created = await seats[0].request("session.create", settings=settings)
    for player in seats[1:]:
        await player.request("session.join", code=created["code"])
    await seats[0].request("game.start")
    return seats


async def generate(args: argparse.Namespace) -> None:
    """Seat the tables, warm up, count the window; the lines the orchestrator reads."""
    urls = args.urls.split(",")
    tally = Tally([0] * len(urls))
    tables: list[list[Player]] = []
    async with httpx.AsyncClient(timeout=ANSWER_S) as http:
        for number in range(args.tables):
            tables.append(await table(urls, number, args.players, http, tally))
            print(f"SEATED {number + 1}", flush=True)
    await asyncio.sleep(args.warmup)
    print("WINDOW START", flush=True)
    started = time.perf_counter()
    tally.counting = True
    while (left := started + args.seconds - time.perf_counter()) > 0:
        await asyncio.sleep(min(TICK_S, left))
        print(f"TICK {time.perf_counter() - started:.1f} {sum(tally.delivered)}", flush=True)
    tally.counting = False
    elapsed = time.perf_counter() - started
    print("WINDOW END", flush=True)
    judged = cutoffs(tables)
    await asyncio.sleep(DRAIN_S)  # what is in flight arrives before losses are judged
    ratio, gaps, duplicates = share(tables, judged)
    result = {
        "window_s": elapsed,
        "delivered": tally.delivered,
        "share": ratio,
        "gaps": gaps,
        "duplicates": duplicates,
        "games_over": tally.games_over,
    }
    print("RESULT " + json.dumps(result), flush=True)
    for player in (p for seats in tables for p in seats):
        if player.sock is not None:
            player.sock.close()


# The orchestrator ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    """The Redis a run's hubs share: its engine URL, its server processes (every node), and the
    ports of the servers whose commands are counted (every master)."""

    name: str
    url: str
    processes: list[subprocess.Popen[bytes]]
    ports: list[int]


@contextmanager
def single_redis(directory: Path) -> Iterator[Store]:
    """A plain Redis of the run's own, without persistence (as the Cluster's nodes)."""
    server = PrivateRedis(directory, appendonly=False)
    server.start()
    try:
        assert server.process is not None
        yield Store("single Redis", server.url, [server.process], [server.port])
    finally:
        server.stop()


@contextmanager
def redis_cluster(directory: Path) -> Iterator[Store]:
    """A Redis Cluster of three masters, no replicas, of the run's own."""
    cluster = LocalCluster(directory, masters=3)
    cluster.start()
    try:
        yield Store("Redis Cluster", cluster.url, list(cluster.processes.values()), cluster.seeds)
    finally:
        cluster.stop()


@dataclass(frozen=True)
class Snapshot:
    """Counters at one moment: CPU seconds of every process, commands, the machine's jiffies."""

    hubs: list[float]
    redis: list[float]
    generator: float
    commands: Counter[str]
    machine: tuple[int, int, int]
    """Busy, interrupts and total jiffies over every core."""


class Meter:
    """Takes snapshots of one run. Its Redis connections are opened before the first one, so
    that the commands counted between two snapshots are the hubs' and their scripts' alone
    (the snapshots' own INFO is left out)."""

    def __init__(self, store: Store, hubs: list[subprocess.Popen[bytes]]) -> None:
        self.store, self.hubs = store, hubs
        self.clients = [SyncRedis(host=HOST, port=port) for port in store.ports]

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def snapshot(self, generator: int | None = None) -> Snapshot:
        commands: Counter[str] = Counter()
        for client in self.clients:
            for name, stats in client.info("commandstats").items():
                commands[name.removeprefix("cmdstat_")] += stats["calls"]
        del commands["info"]
        cores = core_times(tuple(range(os.cpu_count() or 1)))
        machine = (sum(c[0] for c in cores), sum(c[1] for c in cores), sum(c[2] for c in cores))
        return Snapshot(
            [cpu_seconds(hub.pid) for hub in self.hubs],
            [cpu_seconds(server.pid) for server in self.store.processes],
            0.0 if generator is None else cpu_seconds(generator),
            commands,
            machine,
        )


@dataclass(frozen=True)
class Idle:
    """What a run costs with no table at all: the Redis commands a second the hubs send
    (their deadline and presence sweeps), and the CPU of every hub and of every Redis server
    (the Cluster's own gossip included) as a share of a core."""

    ops_per_s: float
    hub_cores: float
    redis_cores: float


def idle(meter: Meter) -> Idle:
    before = meter.snapshot()
    time.sleep(IDLE_S)  # the measurement itself: the hubs are left alone for a while
    after = meter.snapshot()
    commands = after.commands - before.commands
    hub_cpu = sum(after.hubs) - sum(before.hubs)
    redis_cpu = sum(after.redis) - sum(before.redis)
    return Idle(sum(commands.values()) / IDLE_S, hub_cpu / IDLE_S, redis_cpu / IDLE_S)


@dataclass
class Run:
    """One run's figures over its window."""

    label: str
    hubs: int
    tables: int
    players: int
    window_s: float
    delivered: list[int]
    """Events received by the players of each hub."""
    share: float
    gaps: int
    duplicates: int
    games_over: int
    """Games that ended during the window (the load fell off at their tables)."""
    hub_cpu_s: list[float]
    redis_cpu_s: list[float]
    generator_cpu_s: float
    commands: dict[str, int]
    machine_busy: float
    """Cores' worth of busy time, whoever took it (interrupts included)."""
    interrupts: float
    """Cores' worth of interrupt time: the kernel's network work, charged to no process."""
    idle: Idle

    @classmethod
    def between(
        cls,
        label: str,
        args: argparse.Namespace,
        idle: Idle,
        before: Snapshot,
        after: Snapshot,
        result: Any,
    ) -> Run:
        window = result["window_s"]
        ticks = max(1, after.machine[2] - before.machine[2]) / (os.cpu_count() or 1)
        interrupts = (after.machine[1] - before.machine[1]) / ticks
        commands = after.commands - before.commands
        return cls(
            label=label,
            hubs=len(before.hubs),
            tables=args.tables,
            players=args.players,
            window_s=window,
            delivered=result["delivered"],
            share=result["share"],
            gaps=result["gaps"],
            duplicates=result["duplicates"],
            games_over=result["games_over"],
            hub_cpu_s=[b - a for a, b in zip(before.hubs, after.hubs, strict=True)],
            redis_cpu_s=[b - a for a, b in zip(before.redis, after.redis, strict=True)],
            generator_cpu_s=after.generator - before.generator,
            commands=dict(commands.most_common()),
            machine_busy=(after.machine[0] - before.machine[0]) / ticks,
            interrupts=interrupts,
            idle=idle,
        )

    @property
    def events(self) -> int:
        return sum(self.delivered) or 1

    @property
    def events_per_s(self) -> float:
        return sum(self.delivered) / self.window_s

    def hub_us_each(self) -> list[float]:
        """Each hub's CPU per event its own sockets received."""
        return [
            1e6 * cpu / max(1, n) for cpu, n in zip(self.hub_cpu_s, self.delivered, strict=True)
        ]

    @property
    def hubs_us(self) -> float:
        return 1e6 * sum(self.hub_cpu_s) / self.events

    @property
    def redis_us(self) -> float:
        return 1e6 * sum(self.redis_cpu_s) / self.events

    @property
    def ops_per_table_s(self) -> float:
        return sum(self.commands.values()) / self.tables / self.window_s

    @property
    def table_ops_per_table_s(self) -> float:
        """The ops a table brings, the hubs' idle sweeps taken out."""
        return self.ops_per_table_s - self.idle.ops_per_s / self.tables

    def core(self, cpu_s: float) -> float:
        """CPU seconds over the window as a share of one core."""
        return cpu_s / self.window_s

    @property
    def other_work(self) -> float:
        """Cores' worth of busy time that none of this run's processes took."""
        ours = sum(self.hub_cpu_s) + sum(self.redis_cpu_s) + self.generator_cpu_s
        return max(0.0, self.machine_busy - self.interrupts - self.core(ours))

    def limited_by(self) -> str:
        cores = os.cpu_count() or 1
        generator = self.core(self.generator_cpu_s)
        hubs = [self.core(cpu) for cpu in self.hub_cpu_s]
        redis = [self.core(cpu) for cpu in self.redis_cpu_s]
        if generator >= GENERATOR_BUSY:
            return f"the load generator ({100 * generator:.0f} % of a core)"
        if max(hubs) >= CORE_BUSY:
            return f"a hub's core ({100 * max(hubs):.0f} %)"
        if max(redis) >= CORE_BUSY:
            return f"a Redis server's core ({100 * max(redis):.0f} %)"
        busy = self.machine_busy
        if busy >= CORE_BUSY * cores:
            return (
                f"the machine: its {cores} cores {100 * busy / cores:.0f} % busy (other "
                f"processes {100 * self.other_work:.0f} % of a core)"
            )
        if self.games_over:
            return f"the games: {self.games_over} ended in the window, the load fell off"
        if self.share < SHARE or self.gaps:
            return f"delivery fell behind (share {self.share:.4f}, {self.gaps} gaps), no core full"
        busiest = max(hubs + redis)
        return (
            f"the offered load: no core full (busiest process {100 * busiest:.0f} % of a core, "
            f"the machine {100 * busy / cores:.0f} %)"
        )

    def figures(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "events_per_s": self.events_per_s,
            "hub_us_per_event_each": self.hub_us_each(),
            "hubs_us_per_event": self.hubs_us,
            "redis_us_per_event": self.redis_us,
            "redis_ops_per_table_s": self.ops_per_table_s,
            "table_ops_per_table_s": self.table_ops_per_table_s,
            "generator_core": self.core(self.generator_cpu_s),
            "other_work_cores": self.other_work,
            "limited_by": self.limited_by(),
        }


def say(line: str) -> None:
    print(line, flush=True)


@dataclass(frozen=True)
class Hub:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_hubs(count: int, store: Store, args: argparse.Namespace, logs: Path) -> list[Hub]:
    """`count` hubs on `store`, each its own process with one worker, sharing a secret and a
    key prefix; their output goes to `logs`."""
    env = {
        **os.environ,
        "MARATANG_SECRET": secrets.token_hex(32),
        "MARATANG_REDIS_PREFIX": f"bench:{secrets.token_hex(4)}:",
        "MARATANG_LOG_LEVEL": "warning",
        "MARATANG_RATE_PER_SECOND": "1000",
        "MARATANG_RATE_BURST": "1000",
        "MARATANG_LIMIT_EXEMPT": LOOPBACK_EXEMPT,
    }
    hubs = []
    for number in range(count):
        port = free_port()
        command = [sys.executable, "-m", "realtime.cli", "serve", "--port", str(port)]
        command += ["--engine", store.url, "--workers", "1", "--fallback-tps", str(args.tps)]
        with open(logs / f"hub-{number}.log", "wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        hubs.append(Hub(process, port))
    for number, hub in enumerate(hubs):
        try:
            wait_for_port(hub.process, hub.port, f"hub {number}", 30)
        except RuntimeError:
            stop_all([hub.process for hub in hubs])
            said = (logs / f"hub-{number}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"hub {number} did not start; it said:\n{said}") from None
    return hubs


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        stop(process, 30)


def run_generator(
    label: str, urls: list[str], meter: Meter, args: argparse.Namespace
) -> tuple[Snapshot, Snapshot, Any]:
    """Play the load against the hubs at `urls`, saying how it goes; the snapshots at the
    window's start and end, and the generator's result."""
    command = [sys.executable, "-m", "bench.scaling", "--generate", "--urls", ",".join(urls)]
    command += ["--tables", str(args.tables), "--players", str(args.players)]
    command += ["--seconds", str(args.seconds), "--warmup", str(args.warmup)]
    load = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(SEAT_S + args.warmup + args.seconds + 2 * DRAIN_S, load.kill)
    watchdog.start()
    marks: dict[str, Any] = {}
    try:
        assert load.stdout is not None
        for line in load.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "SEATED" and (int(rest) % 8 == 0 or int(rest) == args.tables):
                say(f"  {label}: {rest} of {args.tables} tables seated and playing")
            elif line.startswith("WINDOW START"):
                say(f"  {label}: warmed up {args.warmup:g} s; measuring {args.seconds:g} s")
                marks["before"] = meter.snapshot(load.pid)
            elif word == "TICK":
                elapsed, delivered = float(rest.split()[0]), int(rest.split()[1])
                then, before = marks.get("tick", (0.0, 0))
                rate = (delivered - before) / max(elapsed - then, 1e-9)
                say(f"  {label}: {elapsed:4.1f} s of {args.seconds:g}: {rate:,.0f} events/s")
                marks["tick"] = (elapsed, delivered)
            elif line.startswith("WINDOW END"):
                marks["after"] = meter.snapshot(load.pid)
            elif word == "RESULT":
                marks["result"] = json.loads(rest)
        load.wait()
    finally:
        watchdog.cancel()
        if load.poll() is None:
            load.kill()
            load.wait()
    if not {"before", "after", "result"} <= set(marks):
        raise RuntimeError(f"{label}: the load generator stopped early (code {load.returncode})")
    return marks["before"], marks["after"], marks["result"]


def measure(label: str, store: Store, count: int, args: argparse.Namespace, logs: Path) -> Run:
    say(f"{label}: starting {count} hub process{'es' if count > 1 else ''} on {store.name}")
    hubs = start_hubs(count, store, args, logs)
    meter = Meter(store, [hub.process for hub in hubs])
    try:
        quiet = idle(meter)
        say(
            f"  {label}: idle, the hubs send Redis {quiet.ops_per_s:,.0f} commands/s and take "
            f"{100 * quiet.hub_cores:.0f} % of a core"
        )
        before, after, result = run_generator(label, [hub.url for hub in hubs], meter, args)
    finally:
        meter.close()
        stop_all([hub.process for hub in hubs])
    run = Run.between(label, args, quiet, before, after, result)
    say(f"{label}: " + line(run))
    return run


def line(run: Run) -> str:
    each = ", ".join(f"{us:.0f}" for us in run.hub_us_each())
    return (
        f"{run.events_per_s:,.0f} events/s (share {run.share:.4f}, gaps {run.gaps}, dups "
        f"{run.duplicates}); hub µs/event each [{each}], all hubs {run.hubs_us:.1f}; Redis "
        f"{run.redis_us:.1f} µs/event, {run.ops_per_table_s:.1f} ops/table-s; generator "
        f"{100 * run.core(run.generator_cpu_s):.0f} % of a core; limited by {run.limited_by()}"
    )


def plan(args: argparse.Namespace) -> list[tuple[str, str, int]]:
    """The runs, in order: (label, store, hubs)."""
    runs = [("baseline: 1 hub, single Redis", "single", 1)]
    for count in sorted({int(n) for n in args.hubs.split(",")}):
        runs.append((f"{count} hub{'s' if count > 1 else ''}, Redis Cluster", "cluster", count))
    return runs


def orchestrate(args: argparse.Namespace) -> list[Run]:
    started = time.monotonic()
    cores = os.cpu_count() or 1
    say(
        f"This machine has {cores} cores: every hub, every Redis server and the load generator "
        f"share them (nothing is pinned). Load in every run: {args.tables} tables x "
        f"{args.players} players, narration at {args.tps:g} tokens/s (coalesced), warm-up "
        f"{args.warmup:g} s, window {args.seconds:g} s."
    )
    runs: list[Run] = []
    stores = {"single": single_redis, "cluster": redis_cluster}
    with tempfile.TemporaryDirectory(prefix="maratang-scaling-") as temporary:
        directory = Path(temporary)
        # One store at a time: an idle store's own work would count as other work.
        for kind, planned in itertools.groupby(plan(args), key=lambda run: run[1]):
            (directory / kind).mkdir()
            with stores[kind](directory / kind) as store:
                for label, _, count in planned:
                    left = args.budget - (time.monotonic() - started)
                    if left < OVERHEAD_S + args.warmup + args.seconds:
                        say(f"{label}: skipped, {left:.0f} s left of the {args.budget:g} s budget")
                        continue
                    runs.append(measure(label, store, count, args, directory))
    say(f"\nfinished in {time.monotonic() - started:.0f} s")
    report(runs, args)
    return runs


def against(run: Run, base: Run | None, figure: str) -> str:
    """A figure of `run`, with its ratio to the same figure of the baseline."""
    value: float = getattr(run, figure)
    reference: float = getattr(base, figure) if base is not None else 0.0
    return f"{value:.1f} ({value / reference:.2f}x)" if reference else f"{value:.1f}"


def report(runs: list[Run], args: argparse.Namespace) -> None:
    if not runs:
        return
    base = runs[0] if runs[0].label.startswith("baseline") else None
    cores = os.cpu_count() or 1
    say(f"\nfigures (this machine: {cores} cores; ratios to the baseline of this run)\n")
    say(
        "| run | delivered events/s | share, gaps | hub µs/event, each hub | all hubs µs/event "
        "| Redis µs/event | Redis ops/table-s | generator core | machine busy (others) "
        "| limited by |"
    )
    say("|---|---:|---|---|---:|---:|---:|---:|---:|---|")
    for run in runs:
        each = " / ".join(f"{us:.0f}" for us in run.hub_us_each())
        say(
            f"| {run.label} | {run.events_per_s:,.0f} | {run.share:.4f}, {run.gaps} | {each} "
            f"| {against(run, base, 'hubs_us')} | {against(run, base, 'redis_us')} "
            f"| {against(run, base, 'ops_per_table_s')} "
            f"| {100 * run.core(run.generator_cpu_s):.0f} % "
            f"| {100 * run.machine_busy / cores:.0f} % ({100 * run.other_work:.0f} % of a core) "
            f"| {run.limited_by()} |"
        )
    commands(runs)
    sizing(runs)
    for run in runs:
        if run.other_work > SHARED:
            say(
                f"DISTURBED: {run.label}: other processes took {100 * run.other_work:.0f} % of "
                "a core during the window"
            )
    say("\nsummary (JSON): " + json.dumps([run.figures() for run in runs]))
    if args.json:
        Path(args.json).write_text(json.dumps([run.figures() for run in runs], indent=1))


def commands(runs: list[Run]) -> None:
    """The commands that make up the ops, per table-second, in each run."""
    say("\nRedis commands per table-second (scripts' own calls included):")
    for run in runs:
        top = Counter(run.commands).most_common(6)
        listed = ", ".join(f"{name} {calls / run.tables / run.window_s:.1f}" for name, calls in top)
        say(f"  {run.label}: {listed}")


def sizing(runs: list[Run]) -> None:
    """Players per hub core and tables per Redis master at `PLAN` of a core, from each run:
    what the tables add to the idle cost, per player and per table."""
    say(
        f"\nsizing at {100 * PLAN:.0f} % of a core, every table narrating all the time "
        "(what the tables add to the idle servers' cost):"
    )
    for run in runs:
        players = run.tables * run.players
        hubs = run.core(sum(run.hub_cpu_s)) - run.idle.hub_cores
        redis = run.core(sum(run.redis_cpu_s)) - run.idle.redis_cores
        per_table = max(redis, 1e-9) / run.tables  # Redis cores a table
        say(
            f"  {run.label}: {run.events_per_s / players:.1f} events/s a player; "
            f"{PLAN * players / max(hubs, 1e-9):,.0f} players per hub core; "
            f"{run.table_ops_per_table_s:.1f} Redis ops per table-second (idle: "
            f"{run.idle.ops_per_s:,.0f} ops/s over the hubs); "
            f"{PLAN / per_table:,.0f} tables per Redis master "
            f"({PLAN / per_table * run.table_ops_per_table_s:,.0f} ops/s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hubs", default="1,2,3", help="the numbers of hubs on the Cluster")
    parser.add_argument("--tables", type=int, default=32)
    parser.add_argument("--players", type=int, default=4)
    parser.add_argument("--tps", type=float, default=30, help="the narrator's tokens a second")
    parser.add_argument("--seconds", type=float, default=15, help="the measured window")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--budget", type=float, default=280, help="seconds for every run")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        asyncio.run(generate(args))
        return
    bounds = {"tables": (1, 400), "players": (1, 6), "seconds": (1, 120), "warmup": (0, 60)}
    for name, (low, high) in bounds.items():
        if not low <= getattr(args, name) <= high:
            parser.error(f"--{name}: between {low} and {high}")
    if not all(n.strip().isdigit() and 1 <= int(n) <= 8 for n in args.hubs.split(",")):
        parser.error("--hubs: numbers of hubs from 1 to 8, such as 1,2,3")
    orchestrate(args)


if __name__ == "__main__":
    main()
