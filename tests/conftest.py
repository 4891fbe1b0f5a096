"""What every test run shares: a last sweep of the run's Redis keys, and throwaway databases."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.postgres import create_database, database_url, drop_database, migrate
from tests.support.redis import PREFIXES, sweep_prefixes


@pytest.fixture(autouse=True, scope="session")
def no_redis_keys_left() -> Iterator[None]:
    yield
    if PREFIXES:
        sweep_prefixes()


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A migrated throwaway PostgreSQL database; its name."""
    name = await create_database()
    result = migrate(database_url(name))
    assert result.returncode == 0, result.stderr
    yield name
    await drop_database(name)


@pytest.fixture(scope="session")
def redis_cluster_url() -> str:
    return os.environ["MARATANG_TEST_REDIS_CLUSTER"]
