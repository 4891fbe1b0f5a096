"""`maratang llm-sim`: run the vLLM simulator (see `llm/sim.py`)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from typing import Any

import uvicorn

from llm.sim import create_sim_app
from llm.sim_config import FAULTS, POLICIES, SimConfig

FLAGS: dict[str, tuple[str, type, str]] = {
    "model": ("--model", str, "served model name (default: the Kanana 1.5 8B instruct id)"),
    "ttft": ("--ttft", float, "seconds to the first token (default 0.15)"),
    "tps": ("--tps", float, "tokens per second per stream (default 40)"),
    "jitter": ("--jitter", float, "fraction each token's delay varies by (default 0.2)"),
    "output_tokens": ("--output-tokens", int, "tokens per answer (default 120)"),
    "stream_interval": ("--stream-interval", int, "tokens per chunk (default 1)"),
    "max_num_seqs": ("--max-num-seqs", int, "requests generating at once (default 256)"),
    "max_num_queued_reqs": (
        "--max-num-queued-reqs",
        int,
        "running + waiting requests above which new ones get 503 (default: unbounded)",
    ),
    "scheduling_policy": (
        "--scheduling-policy",
        str,
        "fcfs (by arrival; a non-zero request priority is refused) or priority "
        "(by priority, then arrival) (default fcfs)",
    ),
    "keep_alive": (
        "--sse-keep-alive-interval",
        float,
        "seconds of silence before a ': keep-alive' comment (default 0: off)",
    ),
    "fault": ("--fault", str, f"inject a fault: {', '.join(FAULTS)} (default none)"),
    "fault_rate": ("--fault-rate", float, "share of requests the fault hits (default 1)"),
    "fault_after": ("--fault-after", int, "tokens before a mid-stream fault (default 5)"),
    "trickle_seconds": ("--trickle-seconds", float, "seconds per token in a trickle (default 2)"),
    "split_bytes": (
        "--split-bytes",
        int,
        "send each event in HTTP chunks of at most this many bytes (default 0: whole)",
    ),
    "api_key": ("--api-key", str, "require this bearer token on /v1 (default: none)"),
    "guard_model": (
        "--guard-model",
        str,
        "served guard model name (default: the Kanana Safeguard 8B id)",
    ),
    "guard_flags": (
        "--guard-flags",
        str,
        "comma-separated words the guard finds unsafe (default: none)",
    ),
    "seed": ("--seed", int, "random seed (default 0)"),
}


def add_sim_parser(commands: Any) -> None:
    sim = commands.add_parser(
        "llm-sim", help="run a vLLM-compatible simulator (development, tests, load tests)"
    )
    sim.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=8001, help="port (default 8001; 0 picks one)")
    for name, (flag, kind, text) in FLAGS.items():
        choices = {"fault": FAULTS, "scheduling_policy": POLICIES}.get(name)
        sim.add_argument(flag, dest=name, type=kind, help=text, choices=choices)
    sim.add_argument(
        "--stamp-tokens",
        action="store_true",
        default=None,
        help="benchmarks: each token is the microsecond it was sent",
    )
    sim.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def run_sim(args: argparse.Namespace) -> int:
    given = {f.name: getattr(args, f.name) for f in fields(SimConfig) if hasattr(args, f.name)}
    try:
        config = SimConfig(**{k: v for k, v in given.items() if v is not None})
    except ValueError as exc:
        print(f"maratang llm-sim: bad setting: {exc}", file=sys.stderr)
        return 2
    print(
        f"vLLM simulator: serving {config.model!r}, first token after {config.ttft:g} s, "
        f"{config.tps:g} tokens/s, fault: {config.fault}",
        flush=True,
    )
    uvicorn.run(
        create_sim_app(config),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=1,
    )
    return 0
