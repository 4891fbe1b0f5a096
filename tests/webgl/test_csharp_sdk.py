"""The Unity SDK's core (`webgl/unity/Runtime`, without its Unity layer) built with Mono: its
NUnit tests, then scenarios against a real server while a proxy cuts or stalls the network.

The scenarios run in `Live.exe` (`webgl/unity/Tests/Live~`, a folder Unity does not import),
which prints one JSON object per line and, at each checkpoint, waits for `go` while the test
acts: seats a Python player, cuts, stalls or restores the proxy. The program checks what its
SDK clients saw and exits non-zero with the reason when a check fails; the test also checks
what it prints."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from tests.support.client import Client, guest
from tests.support.csharp import (
    NEWTONSOFT,
    NUNIT,
    PACKAGE,
    ROOT,
    compile_cs,
    copy_references,
    sources,
)
from tests.support.proxy import Proxy
from tests.support.server import Server, running_server

RUNTIME = PACKAGE / "Runtime"
TESTS = PACKAGE / "Tests"
NARRATION = ("--fallback-tps", "100")
"""Fast enough for a whole game in seconds, slow enough to cut a narration in the middle."""
NARRATION_ENV = {"MARATANG_COALESCE_MS": "20"}
UNWANTED = ("errors", "failures", "not-run", "inconclusive", "ignored", "skipped", "invalid")
"""NUnit's counts that must all be 0."""
LINE_LIMIT = 2**22
"""The longest line Live.exe may print (one carries a 300 KB message)."""


def core_sources() -> list[Path]:
    """The SDK's core: `Runtime/` without its Unity layer (`Runtime/Unity/`)."""
    return [path for path in sources(RUNTIME) if RUNTIME / "Unity" not in path.parents]


@dataclass(frozen=True)
class Build:
    core: Path
    tests: Path
    live: Path


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    out = tmp_path_factory.mktemp("unity")
    core = compile_cs(core_sources(), out / "Maratang.dll", [NEWTONSOFT])
    tests = compile_cs(
        sources(TESTS / "Core"), out / "Maratang.Tests.dll", [NEWTONSOFT, NUNIT, core]
    )
    live = compile_cs(sources(TESTS / "Live~"), out / "Live.exe", [NEWTONSOFT, core], target="exe")
    copy_references(out, NEWTONSOFT, NUNIT)
    return Build(core, tests, live)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server(*NARRATION, env=NARRATION_ENV) as running:
        yield running


def test_the_core_has_no_unity_engine_reference() -> None:
    core = core_sources()
    assert RUNTIME / "Generated" / "Protocol.g.cs" in core
    for path in core:
        assert "UnityEngine" not in path.read_text(encoding="utf-8"), path


def test_the_nunit_tests_pass(build: Build, tmp_path: Path) -> None:
    result = tmp_path / "TestResult.xml"
    done = subprocess.run(
        ["nunit-console", "-nologo", f"-result={result}", str(build.tests)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MARATANG_PROTOCOL_DIR": str(ROOT / "protocol")},
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    totals = ElementTree.parse(result).getroot().attrib
    assert int(totals["total"]) > vector_count(), report  # a case per vector, and the rest
    for outcome in UNWANTED:
        assert totals[outcome] == "0", f"{outcome}: {totals[outcome]}\n{report}"


def vector_count() -> int:
    """The golden vectors of either direction, and the reducer vectors."""
    vectors = ROOT / "protocol" / "vectors"
    golden = json.loads((vectors / "v1.json").read_text(encoding="utf-8"))["vectors"]
    reducer = json.loads((vectors / "reducer.json").read_text(encoding="utf-8"))["vectors"]
    return sum(v["direction"] in ("client", "server") for v in golden) + len(reducer)


class Live:
    """One run of `Live.exe <scenario>`: its lines, its checkpoints, its exit."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, build: Build, scenario: str, *urls: str) -> Live:
        process = await asyncio.create_subprocess_exec(
            "mono",
            "--debug",
            str(build.live),
            scenario,
            *urls,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=LINE_LIMIT,
        )
        return cls(process)

    async def at(self, name: str, timeout: float = 30) -> dict[str, Any]:
        """The line the program says at `name`, failing with everything it said if it fails,
        ends or is silent first."""
        assert self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while raw := await self.process.stdout.readline():
                line: dict[str, Any] = json.loads(raw)
                self.lines.append(line)
                assert line["at"] != "failed", line["error"]
                if line["at"] == name:
                    return line
        raise AssertionError(f"Live.exe ended before {name!r}: {self.lines}")

    async def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()

    async def finish(self) -> None:
        await self.at("done")
        assert await asyncio.wait_for(self.process.wait(), 10) == 0

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


@asynccontextmanager
async def live(build: Build, scenario: str, *urls: str) -> AsyncIterator[Live]:
    program = await Live.start(build, scenario, *urls)
    try:
        yield program
    finally:
        program.kill()
        await program.process.wait()


@pytest.fixture
async def proxy(server: Server) -> AsyncIterator[Proxy]:
    running = Proxy(server.host, server.port)
    await running.start()
    try:
        yield running
    finally:
        await running.close()


def through(proxy: Proxy) -> str:
    return f"ws://127.0.0.1:{proxy.port}/ws"


INGREDIENTS = ["corn_noodles", "lotus_root", "fried_tofu"]


async def test_two_sdk_players_and_a_python_player_play_a_whole_game(
    build: Build, server: Server
) -> None:
    async with live(build, "game", server.base_url) as program:
        table = await program.at("table")
        token, _ = await guest(server.base_url, "준")
        python = await Client.hello(server.ws_url, token)
        try:
            joined = await python.request("session.join", code=table["code"])
            assert joined["t"] == "ack", joined
            await program.go()
            for number in (1, 2):
                await python.wait_for(lambda m: m["t"] == "round.started", 30)
                submitted = await python.request(
                    "bowl.submit", round=number, ingredients=INGREDIENTS, spice=3
                )
                assert submitted["t"] == "ack", submitted
            over = await python.wait_for(lambda m: m["t"] == "game.over", 30)
            said = await program.at("over")
            await program.finish()
        finally:
            await python.close()
    assert said["host"] == said["guest"] == over["ranking"]
    assert said["seq"] >= over["seq"]


async def test_a_socket_cut_mid_narration_resumes_with_nothing_lost_or_repeated(
    build: Build, server: Server, proxy: Proxy
) -> None:
    async with live(build, "cut", server.base_url, through(proxy)) as program:
        await program.at("narrating")
        await proxy.cut()
        await program.go()
        await program.at("cut")
        await proxy.restore()
        await program.go()
        resumed = await program.at("resumed")
        await program.finish()
    assert resumed["seq"] > resumed["before"]


async def test_a_zombie_socket_is_found_by_the_ping_and_replaced(
    build: Build, server: Server, proxy: Proxy
) -> None:
    async with live(build, "zombie", server.base_url, through(proxy)) as program:
        await program.at("connected")
        await proxy.stall()
        await program.go()
        replaced = await program.at("replaced")
        await program.finish()
    # The ping (every 300 ms, 700 ms to answer) found it: the server alone would have closed
    # the stalled socket only after its own WebSocket ping went unanswered (20 s + 20 s).
    assert replaced["detected_ms"] < 10_000


async def test_a_forged_token_and_an_unknown_version_stop_the_client_saying_why(
    build: Build, server: Server
) -> None:
    async with live(build, "terminal", server.base_url) as program:
        stopped = await program.at("stopped")
        await program.finish()
    assert (stopped["code"], stopped["error"], stopped["status"]) == (4401, "unauthorized", 403)


async def test_a_paused_client_spends_no_attempt_and_probes_or_reconnects_at_once_on_resume(
    build: Build, server: Server, proxy: Proxy
) -> None:
    async with live(build, "pause", server.base_url, through(proxy)) as program:
        await program.at("paused")
        await proxy.cut()
        await program.go()
        held = await program.at("held")
        await proxy.restore()
        await program.go()
        resumed = await program.at("resumed")
        await program.at("paused again")
        await proxy.stall()  # the socket dies while the app is away, and nobody can tell
        await program.go()
        replaced = await program.at("replaced")
        await program.finish()
    assert held["reconnects"] == 0
    assert resumed["back_ms"] < 5_000  # back while the server still holds the seat (60 s)
    assert replaced["found_ms"] < 5_000


FRAGMENTS = [
    '{"t":"narration.delta","session":"s_1","seq":1,"nid":"r1.entrance",',
    '"text":"딸랑"}',
]
LARGE = json.dumps({"t": "bye", "reason": "x" * 300_000, "retry_ms": 1000}, separators=(",", ":"))


async def test_the_socket_assembles_fragmented_and_large_messages_and_reports_the_close_code(
    build: Build,
) -> None:
    heard: list[str | bytes] = []

    async def speak(socket: ServerConnection) -> None:
        heard.append(await socket.recv())
        await socket.send(FRAGMENTS)  # one text message in two frames
        await socket.send(LARGE)
        await socket.close(4408, "slow consumer, resume")

    async with serve(speak, "127.0.0.1", 0, subprotocols=[Subprotocol("maratang.v1.json")]) as ws:
        port = ws.sockets[0].getsockname()[1]
        async with live(build, "transport", f"ws://127.0.0.1:{port}/ws") as program:
            received = await program.at("received")
            await program.finish()
    assert heard == ['{"t":"ping","ts":1}']
    assert received["messages"] == ["".join(FRAGMENTS), LARGE]
    assert received["closed"] == "4408 slow consumer, resume"
