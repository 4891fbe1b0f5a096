"""`maratang migrate` against the real PostgreSQL: from empty to head, again, and twice at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.support.postgres import (
    RECORD_TABLES,
    count,
    create_database,
    database_url,
    drop_database,
    migrate,
)
from tests.support.server import ROOT

TABLES = {"alembic_version", *RECORD_TABLES}


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    name = await create_database()
    yield database_url(name)
    await drop_database(name)


async def tables(url: str) -> set[str]:
    db = await asyncpg.connect(url)
    try:
        rows = await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await db.close()
    return {row["tablename"] for row in rows}


async def test_an_empty_database_is_migrated_to_head(empty_database: str) -> None:
    result = migrate(empty_database)
    assert result.returncode == 0, result.stderr
    assert "the schema is at head" in result.stdout
    assert await tables(empty_database) == TABLES
    assert await count(empty_database, "SELECT count(*) FROM alembic_version") == 1
    indexes = await count(
        empty_database,
        "SELECT count(*) FROM pg_indexes WHERE indexname IN"
        " ('game_players_by_player', 'games_by_time')",
    )
    assert indexes == 2


async def test_migrating_again_changes_nothing(empty_database: str) -> None:
    assert migrate(empty_database).returncode == 0
    row = "INSERT INTO players (id, name) VALUES ('p_keep', 'kept')"
    db = await asyncpg.connect(empty_database)
    try:
        await db.execute(row)
    finally:
        await db.close()
    again = migrate(empty_database)
    assert again.returncode == 0, again.stderr
    assert await count(empty_database, "SELECT count(*) FROM players") == 1


async def test_two_deploys_migrating_at_once_both_succeed(empty_database: str) -> None:
    runs = await asyncio.gather(
        asyncio.to_thread(migrate, empty_database), asyncio.to_thread(migrate, empty_database)
    )
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    assert await tables(empty_database) == TABLES


def test_a_bad_or_missing_database_url_is_refused() -> None:
    bad = migrate("mysql://root@127.0.0.1/x")
    assert bad.returncode == 2
    assert "must start with postgresql://" in bad.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "realtime.cli", "migrate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert missing.returncode == 2
    assert "MARATANG_DATABASE_URL" in missing.stderr


def test_an_unreachable_database_fails_with_a_message() -> None:
    result = migrate("postgresql://postgres@127.0.0.1:1/nothing")
    assert result.returncode == 1
    assert "could not be migrated" in result.stderr
