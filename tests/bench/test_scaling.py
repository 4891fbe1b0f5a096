"""`bench/scaling.py` in a tiny configuration: it starts its own Redis servers, runs the
baseline and one and two hubs on a Redis Cluster, and prints every figure it promises, with
every event delivered, each hub's sockets included. Behaviour, not timings."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.support.server import ROOT

TABLES, PLAYERS = 2, 3


def test_the_scaling_benchmark_measures_every_run_and_says_what_limited_it(
    tmp_path: Path,
) -> None:
    figures = tmp_path / "figures.json"
    tiny = ("--hubs", "1,2", "--tables", str(TABLES), "--players", str(PLAYERS))
    window = ("--seconds", "2", "--warmup", "1")
    done = subprocess.run(
        [sys.executable, "-m", "bench.scaling", *tiny, *window, "--json", str(figures)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"This machine has \d+ cores", out)
    assert "2 hubs, Redis Cluster: 2 of 2 tables seated and playing" in out  # progress
    assert re.search(r"2 hubs, Redis Cluster: +[\d.]+ s of 2: [\d,]+ events/s", out)

    runs = json.loads(figures.read_text())
    assert [(run["label"], run["hubs"]) for run in runs] == [
        ("baseline: 1 hub, single Redis", 1),
        ("1 hub, Redis Cluster", 1),
        ("2 hubs, Redis Cluster", 2),
    ]
    for run in runs:
        assert f"| {run['label']} | " in out  # a row of the figures table
        assert (run["share"], run["gaps"], run["duplicates"]) == (1.0, 0, 0)
        assert run["events_per_s"] > 0
        assert len(run["hub_us_per_event_each"]) == len(run["delivered"]) == run["hubs"]
        assert all(count > 0 for count in run["delivered"])  # every hub's sockets got events
        assert run["redis_ops_per_table_s"] > 0
        assert run["commands"]["spublish"] > 0  # the doorbells of the commits
        assert "info" not in run["commands"]  # the benchmark's own reads are left out
        assert run["limited_by"]
        assert f"{run['label']}: " in out
        assert "limited by " + run["limited_by"] in out
    assert "players per hub core" in out
    assert "tables per Redis master" in out
