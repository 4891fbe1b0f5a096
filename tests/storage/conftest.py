"""The engines under contract: every test in this folder runs against each of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from storage.engine import Engine
from storage.memory import MemoryEngine
from storage.redis import RedisEngine
from tests.support.redis import REDIS_URL, delete_prefix, throwaway_prefix

MakeEngine = Callable[[int], Awaitable[Engine]]


@pytest.fixture(params=["memory", "redis", "cluster"])
async def make_engine(request: pytest.FixtureRequest) -> AsyncIterator[MakeEngine]:
    """Makes engines of one kind (with the given history): in memory, on one Redis, on a
    3-master Redis Cluster; closes and cleans up after."""
    made: list[Engine] = []
    prefix = throwaway_prefix()
    url = REDIS_URL
    if request.param == "cluster":
        url = request.getfixturevalue("redis_cluster_url")

    async def make(history: int) -> Engine:
        engine: Engine
        if request.param == "memory":
            engine = MemoryEngine(history=history)
        else:
            engine = RedisEngine.from_url(url, prefix=prefix, history=history, sweep=0.2)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        await engine.close()
    await delete_prefix(prefix, url)


@pytest.fixture
async def engine(make_engine: MakeEngine) -> Engine:
    return await make_engine(50)
