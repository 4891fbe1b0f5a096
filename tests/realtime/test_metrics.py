"""`GET /metrics` of a real `maratang serve`: prometheus-client's parser reads it, it has the
names, types and help of the metrics every dashboard and alert relies on, and its values
follow what clients do; with several workers, their values are summed, and a worker killed
and replaced takes its sockets with it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from protocol.codec import JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL
from realtime.multiprocess import MULTIPROC, multiprocess_directory
from tests.realtime.conftest import (
    FAST,
    FAST_ENV,
    both_workers_hold_sockets,
    leave_one_by_one,
    open_table,
    play_game,
)
from tests.support.client import Client
from tests.support.layers import imports
from tests.support.metrics import scrape, total, until_scraped, until_total
from tests.support.redis import REDIS_URL
from tests.support.server import ROOT, Server, running_server, sockets_held

SPEC = {
    "maratang_sockets_open": "gauge",
    "maratang_hellos": "counter",
    "maratang_closes": "counter",
    "maratang_frames_sent": "counter",
    "maratang_sent_bytes": "counter",
    "maratang_send_queue_bytes": "histogram",
    "maratang_slow_consumer_closes": "counter",
    "maratang_tables": "gauge",
    "maratang_commands": "counter",
    "maratang_command_duration_seconds": "histogram",
    "maratang_engine_call_duration_seconds": "histogram",
    "maratang_engine_unavailable": "counter",
    "maratang_engine_unreplicated": "counter",
    "maratang_narrations": "counter",
    "maratang_narration_fallbacks": "counter",
    "maratang_llm_time_to_first_token_seconds": "histogram",
    "maratang_llm_time_per_output_token_seconds": "histogram",
    "maratang_llm_stalls": "counter",
    "maratang_llm_requests_in_flight": "gauge",
    "maratang_llm_narrations_waiting": "gauge",
    "maratang_narrations_shortened": "counter",
    "maratang_narration_checks_failed": "counter",
    "maratang_narration_guard_unanswered": "counter",
    "maratang_narration_placeholders_dropped": "counter",
    "maratang_llm_breaker_open": "gauge",
    "maratang_records_pending": "gauge",
    "maratang_records_written": "counter",
    "maratang_records_dropped": "counter",
    "maratang_records_retries": "counter",
    "maratang_restores": "counter",
}
"""Every metric the server serves, by family name (a counter's without `_total`)."""
CODEC = {JSON_SUBPROTOCOL: "json", MSGPACK_SUBPROTOCOL: "msgpack"}
DIRECTORY = re.compile(r"metrics: summed over the workers through (\S+)")


def frames_received(clients: list[Client], codec: str) -> int:
    return sum(len(c.received) for c in clients if CODEC[c.socket.subprotocol or ""] == codec)


async def test_metrics_have_the_names_types_and_help_of_the_spec(server: Server) -> None:
    found = await scrape(server.base_url)
    assert {name: found[name].type for name in SPEC} == SPEC
    assert all(found[name].documentation for name in SPEC)
    assert total(found, "maratang_tables") == 0  # the census, taken by this scrape
    assert {s.labels["phase"] for s in found["maratang_tables"].samples} == {
        "lobby",
        "picking",
        "tasting",
        "over",
        "closed",
    }
    assert not [name for name in found if name.startswith("maratang_") and name not in SPEC]


async def test_the_metrics_follow_a_game(server: Server) -> None:
    table = await open_table(server, ["민지", "Alex", "Sora"], rounds=1)  # json, msgpack, json
    refused = await table.seats[1].client.request("game.start")
    assert refused["code"] == "not_host"
    told = await play_game(table, rounds=1)
    clients = [seat.client for seat in table.seats]
    found = await until_scraped(
        server.base_url,
        lambda f: (
            total(f, "maratang_frames_sent_total", codec="json") == frames_received(clients, "json")
        ),
    )
    assert total(found, "maratang_sockets_open", codec="json") == 2
    assert total(found, "maratang_sockets_open", codec="msgpack") == 1
    assert total(found, "maratang_hellos_total", outcome="new") == 3
    commands = {
        (s.labels["type"], s.labels["outcome"]): s.value
        for s in found["maratang_commands"].samples
        if s.name == "maratang_commands_total"
    }
    assert commands == {
        ("session.create", "ok"): 1,
        ("session.join", "ok"): 2,
        ("game.start", "not_host"): 1,
        ("game.start", "ok"): 1,
        ("bowl.submit", "ok"): 3,
    }
    assert total(found, "maratang_command_duration_seconds_count", type="bowl.submit") == 3
    assert total(found, "maratang_narrations_total", source="fallback") == len(told)
    assert total(found, "maratang_narrations_total") == len(told)
    assert total(found, "maratang_tables", phase="over") == 1
    assert total(found, "maratang_engine_call_duration_seconds_count", operation="commit") > 0
    assert total(found, "maratang_send_queue_bytes_count") >= 3  # each socket, each second

    await leave_one_by_one(table)
    found = await until_total(server.base_url, "maratang_sockets_open", 0)
    for codec in ("json", "msgpack"):
        sent = total(found, "maratang_frames_sent_total", codec=codec)
        assert sent == frames_received(clients, codec)
    assert total(found, "maratang_closes_total", code="1000") == 3
    assert total(found, "maratang_sent_bytes_total") > total(found, "maratang_frames_sent_total")


async def test_hellos_count_what_they_became() -> None:
    env = {**FAST_ENV, "MARATANG_HISTORY": "10"}
    with running_server(*FAST, env=env) as server:
        table = await open_table(server, ["민지", "Alex"], rounds=1)
        await play_game(table, rounds=1)  # far more than 10 events
        alex = table.seats[1]
        seen = alex.client.events(table.session)[-1]["seq"]
        await alex.client.drop()
        await table.host.wait_for(lambda m: m["t"] == "player.away")
        back = await Client.hello(server.ws_url, alex.token, resume=(table.session, seen))
        await back.wait_for(lambda m: m["t"] == "player.back")
        behind = await Client.hello(server.ws_url, alex.token, resume=(table.session, 1))
        await behind.wait_for(lambda m: m["t"] == "sync")  # the log no longer holds seq 2
        stranger = await Client.open(server.ws_url)
        await stranger.send({"t": "hello", "token": "forged"})
        assert (await stranger.closed)[0] == 4401
        found = await until_total(server.base_url, "maratang_hellos_total", 5)
    assert [m["t"] for m in back.received[1:]] == ["player.away", "player.back"]  # no sync
    hellos = {s.labels["outcome"]: s.value for s in found["maratang_hellos"].samples}
    assert hellos == {"new": 2, "resumed": 1, "sync": 1, "refused": 1}
    assert total(found, "maratang_closes_total", code="4401") == 1
    assert total(found, "maratang_closes_total", code="other") == 1  # dropped: no close frame


async def test_workers_are_summed_and_their_directory_goes_with_the_server(prefix: str) -> None:
    env = {**FAST_ENV, "MARATANG_REDIS_PREFIX": prefix}
    flags = ("--engine", REDIS_URL, "--workers", "2", *FAST)
    with running_server(*flags, env=env) as server:
        shared = Path(DIRECTORY.findall("".join(server.output))[0])
        clients = await both_workers_hold_sockets(server)
        found = await until_total(server.base_url, "maratang_sockets_open", len(clients))
        assert total(found, "maratang_hellos_total", outcome="new") == len(clients)
        assert written_by(shared) == set(server.workers())
        await kill_the_busiest_worker(server, clients)
        gone = [c for c in clients if c.closed.done()]
        left = len(clients) - len(gone)
        found = await until_total(server.base_url, "maratang_sockets_open", left)
        assert total(found, "maratang_hellos_total", outcome="new") == len(clients)  # kept
    assert written_by(shared) is None


def written_by(directory: Path) -> set[int] | None:
    """The pids whose metrics files are in `directory` (None once it is gone)."""
    if not directory.is_dir():
        return None
    return {int(path.stem.rpartition("_")[2]) for path in directory.glob("*.db")}


async def kill_the_busiest_worker(server: Server, clients: list[Client]) -> None:
    """SIGKILL the worker holding the most sockets; returns once uvicorn replaced it and its
    clients saw their sockets go."""
    first = server.workers()
    busiest = max(first, key=lambda pid: sockets_held(pid, server.port))
    held = sockets_held(busiest, server.port)
    os.kill(busiest, signal.SIGKILL)
    await until(lambda: len(server.workers()) == len(first) + 1)
    await until(lambda: sum(c.closed.done() for c in clients) == held)


async def until(condition: Callable[[], bool], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


def test_a_directory_given_is_emptied_at_start_up_and_at_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROC, str(tmp_path))
    (tmp_path / "counter_1.db").write_bytes(b"a run before")
    with multiprocess_directory(workers=1) as shared:
        assert shared == tmp_path
        assert written_by(tmp_path) == set()
        (tmp_path / "counter_2.db").write_bytes(b"this run")
    assert written_by(tmp_path) == set()
    assert os.environ[MULTIPROC] == str(tmp_path)


def test_several_workers_get_a_directory_of_their_own_for_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MULTIPROC, raising=False)
    with multiprocess_directory(workers=1) as none:
        assert none is None
        assert MULTIPROC not in os.environ
    with multiprocess_directory(workers=2) as shared:
        assert shared is not None
        assert os.environ[MULTIPROC] == str(shared)
        assert written_by(shared) == set()
    assert written_by(shared) is None
    assert MULTIPROC not in os.environ


def test_a_run_removes_the_directories_of_runs_that_were_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MULTIPROC, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ended = subprocess.Popen(["true"])  # a process that has ended: no run of its is alive
    ended.wait()
    killed = tmp_path / f"maratang-metrics-{ended.pid}-abc"
    running = tmp_path / f"maratang-metrics-{os.getpid()}-def"
    for path in (killed, running):
        path.mkdir()
        (path / "counter_1.db").write_bytes(b"a run's figures")
    with multiprocess_directory(workers=2) as shared:
        assert shared is not None
        assert shared.name.startswith(f"maratang-metrics-{os.getpid()}-")
        assert not killed.exists()
        assert running.exists()  # its owner still runs


@pytest.mark.parametrize("folder", ["storage", "llm"])
def test_storage_and_the_narrator_report_without_importing_the_server(folder: str) -> None:
    server = [(path.name, name) for path, name in imports(ROOT / folder) if name == "realtime"]
    assert server == []
