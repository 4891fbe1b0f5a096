"""Talking to a running `maratang llm-sim` from tests: its knobs and its counters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.server import Server


async def configure(sim: Server, **changes: Any) -> dict[str, Any]:
    """Change the simulator's settings (`PUT /sim/config`); its settings after."""
    async with httpx.AsyncClient() as client:
        answer = await client.put(f"{sim.base_url}/sim/config", json=changes)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def sim_stats(sim: Server) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        return dict((await client.get(f"{sim.base_url}/sim/stats")).json())


async def until(
    sim: Server, condition: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> dict[str, Any]:
    """The simulator's stats once `condition` holds (it is another process: ask again)."""
    async with asyncio.timeout(timeout):
        while True:
            found = await sim_stats(sim)
            if condition(found):
                return found
            await asyncio.sleep(0.02)
