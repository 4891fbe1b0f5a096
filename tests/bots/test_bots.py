"""`maratang bots` against a real `maratang serve`: the report says exactly what was played."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.redis import REDIS_URL, delete_prefix, throwaway_prefix
from tests.support.server import CHECKOUT_PROGRAM, ROOT, Server, running_server

FAST = ("--fallback-tps", "400")
SERVER_ENV = {"MARATANG_COALESCE_MS": "20", "MARATANG_LIMIT_EXEMPT": "127.0.0.1"}
GAME = ("--players", "3", "--rounds", "2", "--seconds", "15", "--think", "0.6")
LENIENT = tuple(
    flag
    for name in ("ack_p99_ms", "first_narration_p99_ms", "frame_gap_p99_ms")
    for flag in ("--slo", f"{name}=60000")
)
"""For the tests of what the report counts: latency limits are a deployment's to set, not a
test machine's to meet."""
NARRATIONS = 2 * 2 + 1
"""An entrance and a tasting a round, and the finale."""
EXIT_BREACHED = 3


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server(*FAST, env=SERVER_ENV) as running:
        yield running


def run_bots(server: Server, report: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`maratang bots` run to the end (with lenient latency limits unless `flags` set them)."""
    extra = [*LENIENT, *flags]
    done = subprocess.run(
        [*CHECKOUT_PROGRAM, "bots", "--url", server.base_url, "--report", str(report), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    print(done.stdout, done.stderr)
    return done


def bots(server: Server, report: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    """Run `maratang bots` to the end; its exit code and its JSON report."""
    done = run_bots(server, report, *flags)
    return done.returncode, json.loads((report / "report.json").read_text())


def closes(report: dict[str, Any], code: str) -> int:
    return sum(profile["closes"].get(code, 0) for profile in report["profiles"].values())


def test_a_mixed_run_in_two_processes_reports_every_table_and_no_loss(
    server: Server, tmp_path: Path
) -> None:
    code, report = bots(
        server,
        tmp_path,
        "--tables",
        "4",
        *GAME,
        "--profile",
        "mobile=2,desktop=1",
        "--procs",
        "2",
        "--server-pid",
        str(server.process.pid),
    )
    assert code == 0, report["errors"]
    assert report["tables"] == {"planned": 4, "finished": 4, "failed": 0}
    assert report["goodput"] == 1.0
    assert closes(report, "1000") == 4 * 3  # every bot of both processes left by itself
    for profile in report["profiles"].values():
        assert (profile["lost"], profile["duplicated"], profile["reordered"]) == (0, 0, 0)
        assert profile["narration_mismatches"] == 0
    desktop, mobile = report["profiles"]["desktop"], report["profiles"]["mobile"]
    assert sum(desktop["sources"].values()) == 4 * NARRATIONS
    assert desktop["resumes"] == {"replayed": 0, "sync": 0, "failed": 0}
    assert sum(mobile["resumes"].values()) > 0
    assert mobile["resumes"]["failed"] == 0
    assert mobile["resume_ms"]["count"] == sum(mobile["resumes"].values())
    assert desktop["ack_ms"]["count"] >= 4 * (1 + 2)  # a join or create, and a bowl a round
    assert report["cost"]["server_us_per_frame"] is not None
    assert report["cost"]["frames"] == sum(p["frames"] for p in report["profiles"].values())
    assert (tmp_path / "report.md").read_text().startswith("# Maratang load test")


def test_a_breached_slo_gives_its_exit_code(server: Server, tmp_path: Path) -> None:
    code, report = bots(server, tmp_path, "--tables", "1", *GAME, "--slo", "ack_p99_ms=0")
    assert code == EXIT_BREACHED
    assert report["exit_code"] == EXIT_BREACHED
    assert report["slos"]["ack_p99_ms"]["held"] is False
    assert report["slos"]["lost"]["held"] is True
    assert report["tables"]["finished"] == 1
    assert report["goodput"] == 0.0
    assert "| ack_p99_ms | 0 |" in (tmp_path / "report.md").read_text()


def test_a_sweep_writes_a_report_a_load_and_names_the_knee(server: Server, tmp_path: Path) -> None:
    loads = ("--sweep", "tables=1,2", "--players", "2", "--rounds", "1", "--think", "0.5")
    done = run_bots(server, tmp_path, *loads)
    assert done.returncode == 0, done.stdout + done.stderr
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    assert [load["tables"] for load in sweep["loads"]] == [1, 2]
    assert sweep["knee"] == 2
    for load in sweep["loads"]:
        report = json.loads(Path(load["report"]).read_text())
        assert report["tables"]["finished"] == load["tables"]


def test_bad_arguments_exit_with_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CHECKOUT_PROGRAM, "bots", "--url", "http://127.0.0.1:9", "--players", "9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "--players 9" in done.stderr


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    value = throwaway_prefix()
    yield value
    await delete_prefix(value)


def test_bots_play_on_redis_with_two_workers(prefix: str, tmp_path: Path) -> None:
    env = {**SERVER_ENV, "MARATANG_REDIS_PREFIX": prefix, "MARATANG_SECRET": secrets.token_hex(32)}
    flags = ("--engine", REDIS_URL, "--workers", "2", *FAST)
    with running_server(*flags, env=env) as cluster:
        code, report = bots(
            cluster,
            tmp_path,
            "--tables",
            "3",
            *GAME,
            "--profile",
            "mobile=1,webgl=1",
            "--codec",
            "json",
        )
    assert code == 0, report["errors"]
    assert report["tables"] == {"planned": 3, "finished": 3, "failed": 0}
    assert closes(report, "1000") == 3 * 3
    for profile in report["profiles"].values():
        assert (profile["lost"], profile["duplicated"], profile["reordered"]) == (0, 0, 0)
    assert sum(report["profiles"]["mobile"]["resumes"].values()) > 0
