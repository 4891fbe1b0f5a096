"""A run: the catalog fetched once, the tables split among bot processes, their progress
shown and their results merged into one report."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bots.cost import Meter
from bots.http import request
from bots.link import tls_context
from bots.progress import Board
from bots.report import build
from bots.seating import Game
from bots.slo import Slo
from bots.table import TableResult
from bots.worker import Plan, work
from protocol import CODECS
from protocol.codec import PROTOCOL

POLL_S = 1.0


class RunFailed(Exception):
    """The run could not be made (the server unreachable, a bot process died)."""


@dataclass(frozen=True)
class Options:
    url: str
    tables: int
    players: int
    rounds: int
    seconds: int
    think_s: float
    duration_s: float | None
    ramp_s: float
    mix: dict[str, float]
    codec: str
    procs: int
    slos: list[Slo]
    insecure: bool
    server_pid: int | None
    seed: int
    flags: dict[str, Any]
    """The command line as given, for the report."""


def ws_url(base: str) -> str:
    parts = urlsplit(base)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", "", ""))


def ingredients(options: Options) -> tuple[str, ...]:
    tls = tls_context(options.insecure) if options.url.startswith("https") else None
    try:
        catalog = asyncio.run(request(options.url, "GET", "/api/catalog", tls=tls))
    except (OSError, TimeoutError, ValueError) as exc:
        raise RunFailed(f"the catalog at {options.url} could not be read: {exc}") from None
    return tuple(item["id"] for item in catalog["ingredients"])


def plans(options: Options) -> list[Plan]:
    codec = CODECS[f"{PROTOCOL}.{options.codec}"]
    game = Game(
        options.url,
        ws_url(options.url),
        codec,
        options.rounds,
        options.seconds,
        options.think_s,
        ingredients(options),
    )
    procs = min(options.procs, options.tables)
    return [
        Plan(
            worker=worker,
            game=game,
            tables=list(range(worker, options.tables, procs)),
            players=options.players,
            mix=options.mix,
            duration_s=options.duration_s,
            ramp_s=options.ramp_s,
            total_tables=options.tables,
            insecure=options.insecure,
            seed=options.seed,
        )
        for worker in range(procs)
    ]


def run(options: Options) -> dict[str, Any]:
    """Play the run and return its report."""
    started = datetime.now(UTC)
    work_plans = plans(options)
    meter = Meter(options.server_pid)
    meter.start()
    clock = time.monotonic()
    results, board = gather(work_plans, options.tables)
    duration = time.monotonic() - clock
    frames = sum(tally.frames for result in results for _, tally in result.seats)
    run_info = {
        **options.flags,
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(duration, 2),
    }
    cost = meter.finish(frames, duration, len(work_plans))
    return build(run_info, options.slos, results, board.timeline, cost)


def gather(work_plans: list[Plan], planned: int) -> tuple[list[TableResult], Board]:
    """Run every plan in a bot process of its own and merge what they send back."""
    context = multiprocessing.get_context("fork")
    inbox: multiprocessing.Queue[tuple[str, int, Any]] = context.Queue()
    processes = [context.Process(target=work, args=(plan, inbox)) for plan in work_plans]
    for process in processes:
        process.start()
    results: dict[int, list[TableResult]] = {}
    with Board(planned) as board:
        while len(results) < len(processes):
            try:
                kind, worker, payload = inbox.get(timeout=POLL_S)
            except queue.Empty:
                _check_alive(processes, results)
                continue
            if kind == "done":
                results[worker] = payload
            else:
                board.update(payload)
        board.tick(time.monotonic())
    for process in processes:
        process.join()
    return [result for worker in sorted(results) for result in results[worker]], board


def _check_alive(processes: list[Any], results: dict[int, Any]) -> None:
    for worker, process in enumerate(processes):
        if worker not in results and process.exitcode is not None:
            raise RunFailed(f"bot process {worker} ended with code {process.exitcode}")


def with_tables(options: Options, tables: int) -> Options:
    return replace(options, tables=tables, flags={**options.flags, "tables": tables})
