"""Alembic's environment for Maratang's records: async (asyncpg), and safe to run from many
processes at once: the first takes a transaction-scoped advisory lock, the others wait for it
and then find the schema already at head."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATION_LOCK = 0x6D61_7261  # "mara": one advisory lock for every `maratang migrate`


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Maratang's migrations run against a database: no offline mode")
asyncio.run(_run())
