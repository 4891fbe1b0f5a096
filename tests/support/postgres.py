"""The PostgreSQL the tests use: a throwaway database per test, migrated by the real
`maratang migrate`, dropped afterwards."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests.support.server import ROOT

RECORD_TABLES = (
    "players",
    "sessions",
    "session_snapshots",
    "games",
    "game_players",
    "game_rounds",
    "game_narrations",
)
"""Every table the migrations make, besides Alembic's own."""
ADMIN_URL = os.environ.get(
    "MARATANG_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def database_url(name: str, port: int | None = None, password: str | None = None) -> str:
    """The URL of database `name` on the test server (or on `port` of the same host: a proxy
    in front of it), with `password` when one is given (the test server trusts its clients:
    any password is accepted)."""
    parts = urlsplit(ADMIN_URL)
    host, userinfo = parts.netloc.rpartition("@")[2], parts.netloc.rpartition("@")[0]
    if port is not None:
        host = f"{parts.hostname}:{port}"
    if password is not None:
        userinfo = f"{parts.username}:{password}"
    netloc = f"{userinfo}@{host}" if userinfo else host
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{name}"))


async def create_database() -> str:
    name = f"maratang_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def migrate(url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """`maratang migrate --database-url url [flags]`, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "realtime.cli", "migrate", "--database-url", url, *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def count(url: str, query: str, *args: object) -> int:
    db = await asyncpg.connect(url)
    try:
        found = await db.fetchval(query, *args)
    finally:
        await db.close()
    assert isinstance(found, int)
    return found
