"""What every test run shares: a last sweep of the run's Redis keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis import PREFIXES, sweep_prefixes


@pytest.fixture(autouse=True, scope="session")
def no_redis_keys_left() -> Iterator[None]:
    yield
    if PREFIXES:
        sweep_prefixes()
