"""What the release before storage formats left in Redis and PostgreSQL loads through the
Redis engine and the snapshot store, as it would after a deploy, and is written back in the
current format."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import msgpack
import pytest
from redis.asyncio import Redis

from protocol.events import NarrationDelta
from protocol.types import NarrationId, SessionId
from storage.engine import Snapshot, unfolded
from storage.format import TABLE_FORMAT
from storage.postgres import PostgresRecords
from storage.redis import RedisEngine
from tests.storage.fixtures.expected import EVENTS, SESSION, TABLES, TASTING
from tests.support.postgres import create_database, database_url, drop_database, migrate
from tests.support.redis import REDIS_URL, delete_prefix, throwaway_prefix

FIXTURES = Path(__file__).parent / "fixtures"


def format_0(kind: str) -> dict[str, bytes]:
    """Each format-0 fixture of `kind` (tables, events): its bytes by name."""
    content = json.loads((FIXTURES / f"{kind[:-1]}-format0.json").read_text("utf-8"))
    return {name: base64.b64decode(e["bytes"]) for name, e in content[kind].items()}


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[Redis, str]]:
    prefix = throwaway_prefix()
    client = Redis.from_url(REDIS_URL)
    yield client, prefix
    await client.aclose()
    await delete_prefix(prefix)


async def left_by_the_previous_release(client: Redis, prefix: str) -> None:
    """The tasting table at version 12 and its log, as the previous release stored them."""
    await client.hset(
        f"{prefix}s:{SESSION}", mapping={"v": 12, "seq": 39, "t": format_0("tables")["tasting"]}
    )
    stored = format_0("events")
    for name, logged in sorted(EVENTS.items(), key=lambda item: item[1].seq):
        await client.xadd(f"{prefix}log:{SESSION}", {"e": stored[name]}, id=f"{logged.seq}-0")


async def stored_format(client: Redis, prefix: str) -> Any:
    data = await client.hget(f"{prefix}s:{SESSION}", "t")
    assert isinstance(data, bytes)
    return msgpack.unpackb(data)["fmt"]


async def test_the_redis_engine_carries_on_a_table_and_log_the_previous_release_wrote(
    redis_prefix: tuple[Redis, str],
) -> None:
    client, prefix = redis_prefix
    await left_by_the_previous_release(client, prefix)
    engine = RedisEngine.from_url(REDIS_URL, prefix=prefix)
    try:
        # Mid-narration: the text the previous release kept in the table goes to the lane.
        loaded = await engine.load(SESSION)
        assert loaded == unfolded(TASTING, version=12, seq=39)
        assert loaded.told is not None
        assert loaded.told.text != ""
        delta = NarrationDelta(nid=NarrationId("r1.tasting"), text=" 웃었다.")
        [logged] = await engine.commit(SESSION, 12, loaded.table, [delta])
        assert await engine.events_after(SESSION, 0) == [
            *sorted(EVENTS.values(), key=lambda e: e.seq),
            logged,
        ]
    finally:
        await engine.close()
    assert await stored_format(client, prefix) == TABLE_FORMAT
    fresh = RedisEngine.from_url(REDIS_URL, prefix=prefix)  # nothing cached
    try:
        again = await fresh.load(SESSION)
        assert again is not None
        assert (again.table, again.version, again.seq) == (loaded.table, 13, 40)
    finally:
        await fresh.close()


@pytest.fixture
async def database() -> AsyncIterator[str]:
    name = await create_database()
    url = database_url(name)
    assert migrate(url).returncode == 0
    yield url
    await drop_database(name)


async def test_snapshots_the_previous_release_wrote_load_and_restore_in_the_current_format(
    database: str, redis_prefix: tuple[Redis, str]
) -> None:
    tables = format_0("tables")
    db = await asyncpg.connect(database)
    try:
        for number, (name, data) in enumerate(sorted(tables.items())):
            row = f"s_snapshot{number}"
            await db.execute(
                "INSERT INTO sessions (id, code, lang, rounds) VALUES ($1, 'AAAAAA', 'ko', 2)", row
            )
            await db.execute(
                "INSERT INTO session_snapshots (session_id, version, seq, phase, state)"
                " VALUES ($1, $2, $3, $4, $5)",
                row,
                number + 3,
                number * 10,
                TABLES[name].phase,
                data,
            )
    finally:
        await db.close()
    records = PostgresRecords(database, snapshot_seconds=600)
    await records.start()
    try:
        snapshots = {
            name: await records.last_snapshot(SessionId(f"s_snapshot{number}"))
            for number, name in enumerate(sorted(tables))
        }
        records.snapshot(Snapshot(TASTING, version=20, seq=50), now=True)
        await records.flush(5)
    finally:
        await records.close()
    db = await asyncpg.connect(database)
    try:
        written = await db.fetchval(
            "SELECT state FROM session_snapshots WHERE session_id = $1", SESSION
        )
    finally:
        await db.close()
    assert msgpack.unpackb(written)["fmt"] == TABLE_FORMAT
    assert snapshots == {
        name: unfolded(TABLES[name], number + 3, number * 10)
        for number, name in enumerate(sorted(tables))
    }

    client, prefix = redis_prefix
    engine = RedisEngine.from_url(REDIS_URL, prefix=prefix)
    try:
        tasting = snapshots["tasting"]
        assert tasting is not None
        assert await engine.restore(tasting)
    finally:
        await engine.close()
    assert await stored_format(client, prefix) == TABLE_FORMAT
    fresh = RedisEngine.from_url(REDIS_URL, prefix=prefix)
    try:
        assert await fresh.load(SESSION) == tasting
    finally:
        await fresh.close()
