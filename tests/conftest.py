"""What every test run shares: a last sweep of the run's Redis keys, a Redis Cluster, and
throwaway databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.postgres import create_database, database_url, drop_database, migrate
from tests.support.redis import PREFIXES, sweep_prefixes
from tests.support.redis_cluster import REDIS_CLUSTER_URL, LocalCluster, cluster_delete_prefix


@pytest.fixture(autouse=True, scope="session")
def no_redis_keys_left() -> Iterator[None]:
    yield
    if PREFIXES:
        sweep_prefixes()


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the Redis Cluster the tests use: the one MARATANG_TEST_REDIS_CLUSTER names
    (this run's prefixes swept from it at the end), else three masters of this run's own,
    started on first use and stopped when the run ends."""
    if REDIS_CLUSTER_URL:
        yield REDIS_CLUSTER_URL
        for prefix in PREFIXES:
            cluster_delete_prefix(prefix, REDIS_CLUSTER_URL)
        return
    cluster = LocalCluster(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    yield cluster.url
    cluster.stop()


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A migrated throwaway PostgreSQL database; its name."""
    name = await create_database()
    result = migrate(database_url(name))
    assert result.returncode == 0, result.stderr
    yield name
    await drop_database(name)
