"""What a narration delta costs on the Redis engine, counted by Redis itself (`MONITOR`): one
lane script per delta, and never the rules' load and commit or a write of the table."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from importlib import resources

from redis.asyncio import Redis

from tests.realtime.conftest import open_table
from tests.support.redis import REDIS_URL, delete_prefix, throwaway_prefix
from tests.support.server import running_server


def sha(script: str) -> str:
    text = resources.files("storage").joinpath(f"lua/{script}.lua").read_text(encoding="utf-8")
    return hashlib.sha1(text.encode()).hexdigest()


@contextlib.asynccontextmanager
async def monitored(prefix: str) -> AsyncIterator[list[list[str]]]:
    """Every command Redis runs on keys under `prefix` (scripts' own commands included), as
    its words, from the block's start to its end (a marker command read last closes it)."""
    seen: list[list[str]] = []
    client = Redis.from_url(REDIS_URL)
    marker = f"{prefix}end-of-watch"

    async def watch() -> None:
        async with client.monitor() as monitor:
            started.set()
            async for command in monitor.listen():
                words: list[str] = command["command"].split()
                if marker in words:
                    return
                if any(prefix in w for w in words):
                    seen.append(words)

    started = asyncio.Event()
    task = asyncio.create_task(watch())
    await started.wait()
    try:
        yield seen
    finally:
        async with Redis.from_url(REDIS_URL) as other:
            await other.get(marker)
        async with asyncio.timeout(10):
            await task
        await client.aclose()


def called(commands: list[list[str]], script: str) -> int:
    return sum(1 for words in commands if words[0].upper() == "EVALSHA" and words[1] == sha(script))


async def test_a_narration_delta_is_one_lane_script_and_never_a_table_write() -> None:
    prefix = throwaway_prefix()
    env = {"MARATANG_REDIS_PREFIX": prefix, "MARATANG_COALESCE_MS": "0"}
    try:
        with running_server("--engine", REDIS_URL, "--fallback-tps", "100", env=env) as server:
            table = await open_table(server, ["민지", "Alex"], rounds=1)
            async with monitored(prefix) as commands:
                await table.host.request("game.start")
                end = await table.host.wait_for(lambda m: m["t"] == "narration.end", 20)
    finally:
        await delete_prefix(prefix)
    deltas = [m for m in table.host.events(table.session) if m["t"] == "narration.delta"]
    assert len(deltas) >= 20
    assert "".join(m["text"] for m in deltas) == end["text"]
    assert called(commands, "append") == len(deltas)
    # game.start and narration.end are the table's only commits while it was told
    assert called(commands, "commit") == 2
    assert called(commands, "load") <= 4
    table_writes = [w for w in commands if w[0].upper() == "HSET" and "t" in w[2::2]]
    assert len(table_writes) == 2
