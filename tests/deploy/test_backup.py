"""`deploy/backup.sh` and `deploy/restore.sh` against the real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.postgres import (
    RECORD_TABLES,
    create_database,
    database_url,
    drop_database,
    migrate,
)
from tests.support.server import ROOT

RECORDS = """
INSERT INTO players (id, name) VALUES ('p_a', '민지'), ('p_b', 'Alex');
INSERT INTO sessions (id, code, lang, rounds) VALUES ('s_x', 'ABCDEF', 'ko', 1);
INSERT INTO session_snapshots (session_id, version, seq, phase, state)
    VALUES ('s_x', 9, 40, 'over', '\\x81a174');
INSERT INTO games (id, session_id, lang, rounds, finished_at, ranking)
    VALUES ('g_x', 's_x', 'ko', 1, now(), '[{"player": "p_a", "total": 80}]');
INSERT INTO game_players (game_id, player_id, name, place, total, finished_at)
    VALUES ('g_x', 'p_a', '민지', 1, 80, now()), ('g_x', 'p_b', 'Alex', 2, 40, now());
INSERT INTO game_rounds (game_id, round, customer, results)
    VALUES ('g_x', 1, 'gym_coach', '[{"player": "p_a", "score": 80}]');
INSERT INTO game_narrations (game_id, nid, kind, round, text, source)
    VALUES ('g_x', 'finale', 'finale', 1, '마지막 손님까지 배웅했습니다.', 'llm');
"""


def run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "deploy" / script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )


def dumps(folder: Path) -> list[str]:
    """The backups in `folder`, oldest first (their names sort by time)."""
    return sorted(p.name for p in folder.glob("maratang-*.dump"))


async def contents(url: str) -> dict[str, list[tuple[object, ...]]]:
    db = await asyncpg.connect(url)
    try:
        return {
            table: [tuple(row) for row in await db.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]
            for table in RECORD_TABLES
        }
    finally:
        await db.close()


@pytest.fixture
async def two_databases() -> AsyncIterator[tuple[str, str]]:
    """A migrated database holding records, and an empty one."""
    names = [await create_database(), await create_database()]
    source = database_url(names[0])
    assert migrate(source).returncode == 0
    db = await asyncpg.connect(source)
    try:
        await db.execute(RECORDS)
    finally:
        await db.close()
    yield source, database_url(names[1])
    for name in names:
        await drop_database(name)


async def test_a_backup_restored_into_a_fresh_database_holds_the_same_records(
    two_databases: tuple[str, str], tmp_path: Path
) -> None:
    source, fresh = two_databases
    backup = run("backup.sh", source, MARATANG_BACKUP_DIR=str(tmp_path))
    assert backup.returncode == 0, backup.stderr
    (dump,) = dumps(tmp_path)
    restored = run("restore.sh", str(tmp_path / dump), fresh)
    assert restored.returncode == 0, restored.stderr
    before, after = await contents(source), await contents(fresh)
    assert after == before
    assert len(after["game_players"]) == 2
    assert migrate(fresh).returncode == 0  # the restored schema is at head


async def test_backups_keep_the_newest_n(two_databases: tuple[str, str], tmp_path: Path) -> None:
    source, _ = two_databases
    made = []
    for _ in range(3):
        result = run(
            "backup.sh", source, MARATANG_BACKUP_DIR=str(tmp_path), MARATANG_BACKUP_KEEP="2"
        )
        assert result.returncode == 0, result.stderr
        made.append(dumps(tmp_path)[-1])
    assert dumps(tmp_path) == made[1:]


def test_a_failed_backup_exits_non_zero_and_leaves_nothing(tmp_path: Path) -> None:
    result = run(
        "backup.sh", "postgresql://postgres@127.0.0.1:1/nothing", MARATANG_BACKUP_DIR=str(tmp_path)
    )
    assert result.returncode == 1
    assert "no backup was written" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("script", "args", "said"),
    [
        ("backup.sh", (), "no database"),
        ("restore.sh", (), "give the backup file"),
        ("restore.sh", ("/nonexistent.dump", "postgresql://x/y"), "give the backup file"),
    ],
)
def test_the_scripts_refuse_missing_arguments(
    script: str, args: tuple[str, ...], said: str
) -> None:
    result = run(script, *args, MARATANG_DATABASE_URL="")
    assert result.returncode == 2
    assert said in result.stderr
