"""Both engines tell their observer how long each call took, by operation, and the Redis
engine which calls found the store out of reach; the observer is the server's metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from game.state import Table
from protocol.types import SessionId
from realtime.metrics import Metrics
from storage.engine import Engine, EngineUnavailable
from storage.memory import MemoryEngine
from storage.redis import RedisEngine
from tests.support.metrics import value
from tests.support.redis import REDIS_URL, delete_prefix, free_port, throwaway_prefix

TABLE = Table(SessionId("s_observed"), "OBSERV", seed=7)


@pytest.fixture(params=["memory", "redis"])
async def observed(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Engine, Metrics]]:
    metrics = Metrics()
    prefix = throwaway_prefix()
    engine: Engine
    if request.param == "memory":
        engine = MemoryEngine(observer=metrics)
    else:
        engine = RedisEngine.from_url(REDIS_URL, prefix=prefix, observer=metrics)
    yield engine, metrics
    await engine.close()
    await delete_prefix(prefix)


def calls(metrics: Metrics, operation: str) -> float:
    return value(metrics, "maratang_engine_call_duration_seconds_count", operation=operation)


async def test_each_engine_call_is_timed_by_its_operation(
    observed: tuple[Engine, Metrics],
) -> None:
    engine, metrics = observed
    await engine.create(TABLE)
    for _ in range(3):
        assert await engine.load(TABLE.session) is not None
    assert await engine.sessions(10) == [TABLE.session]
    assert calls(metrics, "create") == 1
    assert calls(metrics, "load") == 3
    assert calls(metrics, "sessions") == 1
    took = value(metrics, "maratang_engine_call_duration_seconds_sum", operation="load")
    assert 0 < took < 3  # seconds, as Prometheus wants them
    assert value(metrics, "maratang_engine_unavailable_total", operation="load") == 0


async def test_a_call_that_finds_redis_out_of_reach_is_counted() -> None:
    metrics = Metrics()
    unreachable = RedisEngine.from_url(f"redis://127.0.0.1:{free_port()}/0", observer=metrics)
    try:
        with pytest.raises(EngineUnavailable):
            await unreachable.load(TABLE.session)
    finally:
        await unreachable.close()
    assert value(metrics, "maratang_engine_unavailable_total", operation="load") == 1
    assert calls(metrics, "load") == 1
