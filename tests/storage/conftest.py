"""The engines under contract. A new implementation adds itself to ENGINES."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from storage.engine import Engine
from storage.memory import MemoryEngine


def memory_engine(history: int) -> Engine:
    return MemoryEngine(history=history)


ENGINES: dict[str, Callable[[int], Engine]] = {"memory": memory_engine}


@pytest.fixture(params=sorted(ENGINES))
def make_engine(request: pytest.FixtureRequest) -> Callable[[int], Engine]:
    factory: Callable[[int], Engine] = ENGINES[request.param]
    return factory


@pytest.fixture
async def engine(make_engine: Callable[[int], Engine]) -> AsyncIterator[Engine]:
    instance = make_engine(50)
    yield instance
    await instance.close()
