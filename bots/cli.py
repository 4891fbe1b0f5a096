"""`maratang bots`: the command line of the load-test bots.

Exit codes, as k6 thresholds give them, for CI and release scripts to gate on:
0 every SLO held; 1 the run could not be made (server unreachable, a bot process died);
2 bad arguments (or `--plots` without matplotlib); 3 an SLO breached or a table failed to
finish its game.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bots import plots
from bots import report as reports
from bots.plots import knee, sweep_points
from bots.profiles import parse_mix
from bots.run import Options, RunFailed, run, with_tables
from bots.slo import parse as parse_slos


def add_parser(commands: Any) -> None:
    """Add `bots` to a command line's subcommands."""
    bots = commands.add_parser(
        "bots",
        help="load-test a server with bots that play real games, and judge its SLOs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bots.add_argument("--url", required=True, help="the server: https://host or http://H:P")
    bots.add_argument("--tables", type=int, default=10, help="tables played at once")
    bots.add_argument("--players", type=int, default=4, help="players a table (1-6)")
    bots.add_argument("--rounds", type=int, default=3, help="rounds a game (1-10)")
    bots.add_argument("--seconds", type=int, default=45, help="seconds a round (15-120)")
    bots.add_argument(
        "--think",
        type=float,
        metavar="S",
        help="longest a bot takes to pick a bowl (default: 80%% of --seconds)",
    )
    bots.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="keep starting games until S seconds have passed (default: one game a table)",
    )
    bots.add_argument(
        "--ramp",
        type=float,
        default=0.0,
        metavar="S",
        help="spread the tables' starts over S seconds",
    )
    bots.add_argument(
        "--profile",
        default="desktop",
        help="desktop, mobile, webgl, or a mix such as desktop=0.5,mobile=0.3,webgl=0.2",
    )
    bots.add_argument("--codec", choices=["msgpack", "json"], default="msgpack")
    bots.add_argument("--procs", type=int, default=1, help="bot processes (one a core)")
    bots.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="where to write the report (default ./bots-report/<timestamp>)",
    )
    bots.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an SLO's limit: ack_p99_ms, first_narration_p99_ms, frame_gap_p99_ms, lost, "
        "resume_success",
    )
    bots.add_argument("--insecure", action="store_true", help="accept a self-signed certificate")
    bots.add_argument(
        "--server-pid",
        type=int,
        metavar="PID",
        help="the local server's process, to measure its CPU a frame",
    )
    bots.add_argument("--seed", type=int, default=1, help="seed of the bots' choices")
    bots.add_argument("--plots", action="store_true", help="draw charts (maratang[plots])")
    bots.add_argument(
        "--sweep",
        metavar="tables=N,N,...",
        help="run once for each number of tables and find the knee",
    )


def options_from(args: argparse.Namespace) -> Options:
    """The run's options; ValueError names a bad argument."""
    _within("--players", args.players, 1, 6)
    _within("--rounds", args.rounds, 1, 10)
    _within("--seconds", args.seconds, 15, 120)
    _within("--tables", args.tables, 1, 100_000)
    _within("--procs", args.procs, 1, 1024)
    if not args.url.startswith(("http://", "https://")):
        raise ValueError("--url: use http://HOST:PORT or https://HOST")
    think = 0.8 * args.seconds if args.think is None else args.think
    if think <= 0 or think > args.seconds:
        raise ValueError("--think: above 0 and at most --seconds")
    flags = {
        key: getattr(args, key)
        for key in (
            "url",
            "tables",
            "players",
            "rounds",
            "seconds",
            "duration",
            "ramp",
            "profile",
            "codec",
            "procs",
            "insecure",
            "seed",
        )
    }
    return Options(
        url=args.url.rstrip("/"),
        tables=args.tables,
        players=args.players,
        rounds=args.rounds,
        seconds=args.seconds,
        think_s=think,
        duration_s=args.duration,
        ramp_s=args.ramp,
        mix=parse_mix(args.profile),
        codec=args.codec,
        procs=args.procs,
        slos=parse_slos(args.slo),
        insecure=args.insecure,
        server_pid=args.server_pid,
        seed=args.seed,
        flags={**flags, "think": think, "slo": args.slo},
    )


def _within(flag: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{flag} {value}: between {low} and {high}")


def sweep_loads(text: str) -> list[int]:
    name, _, values = text.partition("=")
    try:
        loads = [int(v) for v in values.split(",") if v.strip()]
    except ValueError:
        loads = []
    if name != "tables" or not loads or min(loads) < 1:
        raise ValueError(f"--sweep {text!r}: use tables=N,N,...")
    return loads


def run_bots(args: argparse.Namespace) -> int:
    """`maratang bots`: run, write the report, print its summary; the exit code says how
    it went (see the module's docstring)."""
    try:
        options = options_from(args)
        loads = sweep_loads(args.sweep) if args.sweep else None
    except ValueError as exc:
        print(f"maratang bots: {exc}", file=sys.stderr)
        return reports.EXIT_USAGE
    if args.plots and importlib.util.find_spec("matplotlib") is None:
        print("maratang bots: --plots needs matplotlib: install maratang[plots]", file=sys.stderr)
        return reports.EXIT_USAGE
    folder = args.report or Path("bots-report") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        if loads is None:
            return one_run(options, folder, args.plots)
        return sweep(options, loads, folder, args.plots)
    except RunFailed as exc:
        print(f"maratang bots: {exc}", file=sys.stderr)
        return reports.EXIT_ERROR


def one_run(options: Options, folder: Path, charts: bool) -> int:
    report = run(options)
    reports.write(report, folder)
    print(reports.summary(report))
    print(f"report: {folder / 'report.md'}")
    if charts:
        plots.plot_run(report, folder)
    exit_code: int = report["exit_code"]
    return exit_code


def sweep(options: Options, loads: list[int], folder: Path, charts: bool) -> int:
    """One run a load; `sweep.json` names the knee: the last load at which every SLO held."""
    rows, done = [], []
    for tables in loads:
        report = run(with_tables(options, tables))
        where = folder / f"tables-{tables}"
        reports.write(report, where)
        print(f"{tables} tables: " + reports.summary(report))
        held = report["exit_code"] == reports.EXIT_HELD
        rows.append({"tables": tables, "report": str(where / "report.json"), "held": held})
        done.append(report)
    at_knee = knee(sweep_points(done))
    result = {"loads": rows, "knee": at_knee}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sweep.json").write_text(json.dumps(result, indent=1))
    print(f"knee: {result['knee']} tables; sweep: {folder / 'sweep.json'}")
    if charts:
        plots.plot_sweep(done, folder, at_knee)
    return reports.EXIT_HELD if all(row["held"] for row in rows) else reports.EXIT_BREACHED
