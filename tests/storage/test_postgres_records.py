"""`PostgresRecords` on the real PostgreSQL: what it keeps, and what it does when a write
cannot be stored."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest

from game.state import Seat, Table
from protocol.types import PlayerId, SessionId
from realtime.metrics import Metrics
from storage.engine import Snapshot
from storage.postgres import Db, PostgresRecords
from tests.support.metrics import value
from tests.support.postgres import count, create_database, database_url, drop_database, migrate

TABLE = Table(SessionId("s_recordstest1"), "ABCDEF", seed=1, seats=(Seat(PlayerId("p_a"), "민지"),))


@pytest.fixture
async def url() -> AsyncIterator[str]:
    name = await create_database()
    address = database_url(name)
    assert migrate(address).returncode == 0
    yield address
    await drop_database(name)


async def running(url: str, metrics: Metrics, max_pending: int = 10_000) -> PostgresRecords:
    records = PostgresRecords(url, 600, max_pending, observer=metrics)
    await records.start()
    return records


async def test_the_newest_snapshot_wins_whatever_order_they_are_written_in(url: str) -> None:
    records = await running(url, Metrics())
    try:
        records.snapshot(Snapshot(replace(TABLE, round=2), version=5, seq=30), now=True)
        await records.flush(5)
        records.snapshot(Snapshot(replace(TABLE, round=1), version=3, seq=20), now=True)
        await records.flush(5)
        kept = await records.last_snapshot(TABLE.session)
    finally:
        await records.close()
    assert kept is not None
    assert (kept.version, kept.seq, kept.table.round) == (5, 30, 2)
    assert kept.table == replace(TABLE, round=2)
    assert await count(url, "SELECT count(*)::int FROM players") == 1


async def test_a_record_the_database_refuses_is_dropped_alone(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def poison(db: Db) -> None:
        await db.execute("SELECT 1 / 0")

    metrics = Metrics()
    records = await running(url, metrics)
    try:
        records.session_closed(TABLE.session)
        records._queue(poison)  # a record with a bug in it
        records.snapshot(Snapshot(TABLE, version=1, seq=0), now=True)
        with caplog.at_level(logging.ERROR, "maratang.records"):
            await records.flush(5)
    finally:
        await records.close()
    assert value(metrics, "maratang_records_dropped_total") == 1
    assert value(metrics, "maratang_records_written_total") == 2
    assert value(metrics, "maratang_records_pending") == 0
    assert "DROPPED" in caplog.text
    assert await count(url, "SELECT count(*)::int FROM session_snapshots") == 1


async def test_beyond_the_queue_bound_records_are_dropped_loudly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    records = await running("postgresql://postgres@127.0.0.1:1/nowhere", metrics, max_pending=2)
    try:
        with caplog.at_level(logging.WARNING, "maratang.records"):
            for _ in range(3):
                records.session_closed(TABLE.session)
            await records.flush(0.5)
    finally:
        await records.close()
    assert value(metrics, "maratang_records_dropped_total") == 1
    assert value(metrics, "maratang_records_retries_total") >= 1
    assert value(metrics, "maratang_records_pending") == 2  # still waiting when it stopped
    assert "records queue full" in caplog.text
    assert "could not be stored before stopping" in caplog.text


async def test_pruning_forgets_old_snapshots_and_unneeded_sessions_but_keeps_games(
    url: str,
) -> None:
    db = await asyncpg.connect(url)
    try:
        await db.execute(
            "INSERT INTO sessions (id, code, lang, rounds, created_at, closed_at) VALUES"
            " ('s_played', 'AAAAAA', 'ko', 1, now() - interval '5 days', NULL),"
            " ('s_given_up', 'BBBBBB', 'ko', 1, now() - interval '5 days',"
            "  now() - interval '4 days'),"
            " ('s_live', 'CCCCCC', 'ko', 1, now() - interval '5 days', NULL),"
            " ('s_never_saved', 'DDDDDD', 'ko', 1, now() - interval '5 days', NULL)"
        )
        await db.execute(
            "INSERT INTO session_snapshots (session_id, version, seq, phase, state, taken_at)"
            " VALUES ('s_played', 9, 40, 'over', '', now() - interval '4 days'),"
            " ('s_given_up', 2, 3, 'closed', '', now() - interval '4 days'),"
            " ('s_live', 7, 30, 'picking', '', now() - interval '1 minute')"
        )
        await db.execute(
            "INSERT INTO games (id, session_id, lang, rounds, finished_at, ranking)"
            " VALUES ('g_played', 's_played', 'ko', 1, now() - interval '4 days', '[]')"
        )
    finally:
        await db.close()
    records = PostgresRecords(url, retention=3 * 24 * 3600)
    await records.start()
    try:
        assert await records.prune() == (2, 1)
        assert await records.prune() == (0, 0)  # nothing more: safe to run again, anywhere
    finally:
        await records.close()
    sessions = await rows(url, "SELECT id FROM sessions ORDER BY id")
    snapshots = await rows(url, "SELECT session_id FROM session_snapshots")
    assert sessions == ["s_live", "s_played"]  # the played game's row stays for its record
    assert snapshots == ["s_live"]
    assert await count(url, "SELECT count(*)::int FROM games") == 1


async def rows(url: str, query: str) -> list[str]:
    db = await asyncpg.connect(url)
    try:
        return [row[0] for row in await db.fetch(query)]
    finally:
        await db.close()
