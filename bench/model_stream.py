"""Model stream benchmark: the CPU a hub pays to read vLLM's streamed answers, per reader.

    .venv/bin/python -m bench.model_stream [--streams 200] [--tps 30] [--tokens 150]
        [--warmup 2] [--seconds 8] [--readers plain,httpx,httpx-aiohttp,httpx-sse,aiohttp]

`maratang llm-sim` (vLLM's wire format, one token per chunk) runs alone on CPU 1. For each
reader in turn, a client process runs alone on CPU 0 (on uvloop, as `maratang serve` does):
`--streams` streams at once, each asking for the next answer as soon as one ends, read through
the reader (`bench/model_readers.py`) with the narrator's budgets and parsing. After
`--warmup` seconds, a window of `--seconds`:

- chunks/s: SSE events read (each token's chunk, plus the role, end, usage and `[DONE]`
  events of every answer that ended in the window);
- client µs/chunk: the client process's user + system CPU over the window
  (`resource.getrusage`) per chunk;
- of paced: the chunk rate as a share of what the simulator's pacing gives (`streams × tps`,
  less the first-token wait between answers; the simulator's timers make it run a little
  slow, so 85-95 % is normal);
- client and simulator core: each one's CPU over the window as a share of its core. A core
  above 90 % is what limits the run; below that, the pacing does;
- × httpx: the reader's µs/chunk over today's httpx reader's in the same run.

Every run stays under a minute with the defaults (five readers of about ten seconds each).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.model_readers import FloorReads, open_reader
from bench.procs import cpu_seconds, free_port, pinned, wait_for_port
from llm.chat import ModelError, Sampling, request_body
from llm.client import Budgets, StreamStats
from llm.sim_config import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[1]
READERS = "floor,plain,httpx,httpx-aiohttp,httpx-sse,aiohttp"
FRAMING = 4
"""Events of an answer besides its tokens' chunks: role, end, usage, `[DONE]`."""
BUDGETS = Budgets(connect=5.0, first_token=10.0, stall=10.0, total=120.0)
PROMPT = [{"role": "system", "content": "narrator"}, {"role": "user", "content": "go"}]
"""English, so every token is one chunk (a Korean answer adds empty held-back chunks)."""
SATURATED = 0.9
"""A core busier than this is what limits the run."""


# The client (its own process, on CPU 0) ----------------------------------------------------


@dataclass
class Tally:
    chunks: int = 0
    answers: int = 0
    failures: int = 0


def cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def system_now() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


async def client(args: argparse.Namespace) -> None:
    reader = await open_reader(args.client, args.streams + 8)
    url = f"{args.url}/v1/chat/completions"
    body = request_body(PROMPT, Sampling(DEFAULT_MODEL, args.tokens + 50, 0.7, 0.9))
    tally = Tally()

    async def one_stream() -> None:
        while True:
            try:
                async for _ in reader.stream(url, body, BUDGETS, StreamStats()):
                    tally.chunks += 1
                tally.chunks += FRAMING if args.client != "floor" else 0
                tally.answers += 1
            except ModelError as exc:
                tally.failures += 1
                print(f"failure: {exc}", file=sys.stderr, flush=True)
                await asyncio.sleep(0.1)

    tasks = [asyncio.create_task(one_stream()) for _ in range(args.streams)]
    await asyncio.sleep(args.warmup)
    began, cpu, failures = time.monotonic(), cpu_now(), tally.failures
    chunks = tally.chunks + FloorReads.count
    system = system_now()
    print("WINDOW START", flush=True)
    await asyncio.sleep(args.seconds)
    print("WINDOW END", flush=True)
    for task in tasks:  # a stream that died of anything but a ModelError is the bench's bug
        if task.done():
            task.result()
    cpu, system = cpu_now() - cpu, system_now() - system
    chunks = tally.chunks + FloorReads.count - chunks
    wall = time.monotonic() - began
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await reader.close()
    result = {
        "chunks": chunks,
        "chunks_per_s": chunks / wall,
        "us_per_chunk": 1e6 * cpu / max(chunks, 1),
        "system_us_per_chunk": 1e6 * system / max(chunks, 1),
        "client_core": cpu / wall,
        "failures": tally.failures - failures,
        "wall_s": wall,
    }
    print("RESULT " + json.dumps(result), flush=True)


# The orchestrator ------------------------------------------------------------------------------


def start_sim(args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        *(sys.executable, "-m", "realtime.cli", "llm-sim", "--port", str(port)),
        *("--tps", str(args.tps), "--output-tokens", str(args.tokens), "--ttft", "0.05"),
        *("--max-num-seqs", "100000", "--log-level", "warning"),
    ]
    process = subprocess.Popen(command, cwd=ROOT, preexec_fn=pinned(1))
    wait_for_port(process, port, "the simulator", 20)
    return process, f"http://127.0.0.1:{port}"


def measure(
    args: argparse.Namespace, name: str, sim: subprocess.Popen[bytes], url: str
) -> dict[str, Any]:
    command = [
        *(sys.executable, "-m", "bench.model_stream", "--client", name, "--url", url),
        *("--streams", str(args.streams), "--tokens", str(args.tokens)),
        *("--warmup", str(args.warmup), "--seconds", str(args.seconds), "--loop", args.loop),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, text=True, preexec_fn=pinned(0)
    )
    assert process.stdout is not None
    result: dict[str, Any] = {}
    marks: dict[str, tuple[float, float]] = {}
    for line in process.stdout:
        if line.startswith("WINDOW "):
            marks[line.split()[1]] = (time.monotonic(), cpu_seconds(sim.pid))
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])
    if process.wait() != 0 or not result:
        raise RuntimeError(f"the {name} client failed")
    (start, sim_start), (end, sim_end) = marks["START"], marks["END"]
    result["sim_core"] = (sim_end - sim_start) / (end - start)
    return result


def paced_rate(args: argparse.Namespace) -> float:
    """Chunks/s the simulator sends when nothing limits it: every stream at `tps`, less the
    first-token wait between answers."""
    answer = float(args.tokens) / args.tps + 0.05
    paced: float = args.streams * (args.tokens + FRAMING) / answer
    return paced


def limit(result: dict[str, Any]) -> str:
    """What set the chunk rate: a full core, or (neither full) the simulator's pacing."""
    if result["sim_core"] >= SATURATED:
        return "the simulator's core"
    if result["client_core"] >= SATURATED:
        return "the client's core"
    return "pacing (no core full)"


def orchestrate(args: argparse.Namespace) -> None:
    names = args.readers.split(",")
    paced = paced_rate(args)
    print(
        f"{args.streams} streams of {args.tokens} tokens at {args.tps:g} tok/s, one token per "
        f"chunk (paced: {paced:,.0f} chunks/s); client on {args.loop}; window {args.seconds:g} s",
        flush=True,
    )
    sim, url = start_sim(args)
    rows: dict[str, dict[str, Any]] = {}
    try:
        for name in names:
            try:
                rows[name] = measure(args, name, sim, url)
            except RuntimeError as exc:
                print(f"{name}: {exc} (is it installed? pip install -e '.[bench]')", flush=True)
    finally:
        sim.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            sim.wait(10)
        if sim.poll() is None:
            sim.kill()
    reference = rows.get("httpx", {}).get("us_per_chunk")
    print(
        f"\n{'reader':14} {'chunks/s':>9} {'of paced':>9} {'µs/chunk':>9} {'× httpx':>8} "
        f"{'client core':>12} {'sim core':>9} {'failures':>9}  limit"
    )
    for name, r in rows.items():
        ratio = f"{r['us_per_chunk'] / reference:.2f}" if reference else "-"
        print(
            f"{name:14} {r['chunks_per_s']:9,.0f} {100 * r['chunks_per_s'] / paced:8.0f}% "
            f"{r['us_per_chunk']:9.1f} {ratio:>8} {100 * r['client_core']:11.1f}% "
            f"{100 * r['sim_core']:8.1f}% {r['failures']:9}  {limit(r)}"
        )
    busiest = max((r["sim_core"] for r in rows.values()), default=0.0)
    verdict = "limited" if busiest >= SATURATED else "did not limit"
    print(f"\nthe simulator {verdict} the runs (its core at most {100 * busiest:.0f} % busy)")
    print("summary (JSON): " + json.dumps(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--tps", type=float, default=30)
    parser.add_argument("--tokens", type=int, default=150)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--readers", default=READERS)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client is None:
        orchestrate(args)
    elif args.loop == "uvloop":
        import uvloop

        uvloop.run(client(args))
    else:
        asyncio.run(client(args))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
