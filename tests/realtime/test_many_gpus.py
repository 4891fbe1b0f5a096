"""Many model servers shared by many hubs: two `maratang serve` processes on one Redis, three
`maratang llm-sim`s behind `--llm-url`, one of them refusing every request. The breaker one
hub opens keeps the other hub away too, the narrations spread over the two healthy servers by
what both hubs stream there, and the model tells every one of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from tests.realtime.conftest import Table, open_table
from tests.support.client import Message
from tests.support.metrics import scrape, total
from tests.support.redis import REDIS_URL, delete_prefix, throwaway_prefix
from tests.support.server import Server, running_server, running_sim
from tests.support.sim import configure, sim_stats

HEALTHY = {"fault": "none", "ttft": 0.02, "tps": 20.0, "jitter": 0.0, "output_tokens": 120}
"""A narration streams for about 6 s: all of them overlap however slowly they are started."""
FAILING = {**HEALTHY, "fault": "503", "fault_rate": 1.0}
HUB_ENV = {
    "MARATANG_COALESCE_MS": "40",
    "MARATANG_FALLBACK_TPS": "400",
    "MARATANG_LLM_SLOTS": "8",
    "MARATANG_LLM_TOTAL_SECONDS": "20",
    "MARATANG_LLM_BREAKER_FAILURES": "2",
    "MARATANG_LLM_BREAKER_SECONDS": "60",  # no probe while the test runs
}


@dataclass
class Rig:
    failing: Server
    healthy: list[Server]
    hubs: list[Server]


@pytest.fixture
def rig() -> Iterator[Rig]:
    prefix = throwaway_prefix()
    with ExitStack() as stack:
        failing, *healthy = (stack.enter_context(running_sim()) for _ in range(3))
        urls = ",".join(sim.base_url for sim in (failing, *healthy))  # the failing one first
        flags = ("--llm-url", urls, "--engine", REDIS_URL)
        env = {**HUB_ENV, "MARATANG_REDIS_PREFIX": prefix}
        hubs = [stack.enter_context(running_server(*flags, env=env)) for _ in range(2)]
        yield Rig(failing, healthy, hubs)
    asyncio.run(delete_prefix(prefix))


async def chats(sim: Server) -> int:
    """Chat requests the simulator received: streamed or refused."""
    stats = await sim_stats(sim)
    return int(stats["requests"] + stats["refused"])


async def entrance(hub: Server, name: str) -> Table:
    """A table of one on `hub` whose game started: its entrance is being narrated."""
    table = await open_table(hub, [name], rounds=1)
    assert (await table.host.request("game.start"))["t"] == "ack"
    return table


async def ended(table: Table) -> Message:
    return await table.host.wait_for(lambda m: m["t"] == "narration.end", 30)


async def running(sims: list[Server], count: int) -> None:
    """Until `count` requests stream on `sims` together (they are other processes: ask)."""
    async with asyncio.timeout(10):
        while True:
            if sum([(await sim_stats(sim))["running"] for sim in sims]) >= count:
                return
            await asyncio.sleep(0.02)


def breaker_open(found: dict[str, Any], sim: Server) -> float:
    return total(found, "maratang_llm_breaker_open", endpoint=f"{sim.host}:{sim.port}")


async def test_one_hubs_breaker_keeps_every_hub_away_and_load_spreads_across_hubs(
    rig: Rig,
) -> None:
    await configure(rig.failing, **FAILING)
    for sim in rig.healthy:
        await configure(sim, **HEALTHY)
    first, second = rig.hubs

    # The first hub's narrations go to the failing server (first in the list, all idle)
    # until its breaker opens, after the second failure.
    for n in range(2):
        assert (await ended(await entrance(first, f"a{n}")))["source"] == "fallback"
    assert await chats(rig.failing) == 2
    assert breaker_open(await scrape(first.base_url), rig.failing) == 1
    calls_before = await scrape(second.base_url)

    # Six narrations, each started once the one before it streams: three on the first hub,
    # then three on the second, which has not sent the failing server anything yet.
    tables = []
    for n, hub in enumerate([first] * 3 + [second] * 3):
        tables.append(await entrance(hub, f"b{n}"))
        await running(rig.healthy, n + 1)
    ends = [await ended(table) for table in tables]

    assert await chats(rig.failing) == 2  # (a) nothing more, from either hub
    found = await scrape(second.base_url)
    assert breaker_open(found, rig.failing) == 1  # learned from the first hub
    for sim in rig.healthy:  # (b) three each: least outstanding across both hubs
        stats = await sim_stats(sim)
        assert (stats["requests"], stats["max_running"]) == (3, 3)
    assert [end["source"] for end in ends] == ["llm"] * 6  # (c)

    # What the choice cost the second hub: two counts per server before each narration.
    reads = "maratang_engine_call_duration_seconds_count"
    counted = total(found, reads, operation="slots_taken")
    assert counted - total(calls_before, reads, operation="slots_taken") == 3 * 2 * 3
