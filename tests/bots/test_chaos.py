"""The bots against a server under fire: two workers on a Redis with AOF, records in
PostgreSQL behind a proxy. While the bots play, a worker is SIGKILLed, Redis is killed and
started again on its AOF, and PostgreSQL is cut off and brought back. No player may lose,
repeat or reorder an event, every game must end, and every game's record must be complete."""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
from redis import Redis as SyncRedis

from storage.redis import RedisEngine
from tests.realtime.test_many_processes import cluster_env
from tests.support.bots import Bots, Report, running_bots
from tests.support.postgres import (
    ADMIN_URL,
    count,
    database_url,
)
from tests.support.proxy import Proxy
from tests.support.redis import PrivateRedis, delete_prefix, throwaway_prefix
from tests.support.server import Server, running_server, sockets_held
from tests.support.until import until

TABLES, PLAYERS, ROUNDS = 4, 3, 5
NARRATIONS = 2 * ROUNDS + 1
"""An entrance and a tasting each round, and the finale."""


class Records:
    """The game records in the test's database, as the servers write them."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def rounds(self) -> int:
        return await count(self.url, "SELECT count(*)::int FROM game_rounds")

    async def games_in_play(self) -> int:
        return await count(self.url, "SELECT count(DISTINCT game_id)::int FROM game_rounds")

    def progressed(self, since: int) -> Callable[[], Awaitable[bool]]:
        """A condition: every table has resolved one more round since `since` rounds (in all)."""

        async def check() -> bool:
            return await self.rounds() >= since + TABLES

        return check

    async def counts(self) -> list[tuple[int, int, int]]:
        """Players, rounds and narrations recorded of each game."""
        connection = await asyncpg.connect(self.url)
        try:
            rows = await connection.fetch(
                """
                SELECT (SELECT count(*) FROM game_players p WHERE p.game_id = g.id),
                       (SELECT count(*) FROM game_rounds r WHERE r.game_id = g.id),
                       (SELECT count(*) FROM game_narrations n WHERE n.game_id = g.id)
                FROM games g
                """
            )
        finally:
            await connection.close()
        return [tuple(row) for row in rows]

    async def complete_games(self) -> int:
        """Games with their result, every player, every round and every narration."""
        return await count(
            self.url,
            """
            SELECT count(*)::int FROM games g
            WHERE (SELECT count(*) FROM game_players p WHERE p.game_id = g.id) = $1
              AND (SELECT count(*) FROM game_rounds r WHERE r.game_id = g.id) = $2
              AND (SELECT count(*) FROM game_narrations n WHERE n.game_id = g.id) = $3
            """,
            PLAYERS,
            ROUNDS,
            NARRATIONS,
        )


async def kill_a_worker(server: Server, records: Records) -> None:
    """SIGKILL the worker holding the most of the bots' sockets (the kernel may hand a
    worker all of them, or none)."""
    first = server.workers()
    assert len(first) == 2, server.output
    busiest = max(first, key=lambda pid: sockets_held(pid, server.port))
    assert sockets_held(busiest, server.port) > 0, "no worker holds a bot's socket"
    os.kill(busiest, signal.SIGKILL)
    before = await records.rounds()

    async def replaced() -> bool:
        return len(server.workers()) == 3

    await until(replaced, "a new worker in place of the killed one")
    await until(records.progressed(before), "every table playing on after the kill")


async def restart_redis(store: PrivateRedis, records: Records) -> None:
    before = await records.rounds()
    store.kill()
    store.start()  # the same data directory: the AOF brings every commit back
    await until(records.progressed(before), "every table playing on after Redis")


async def cut_postgres(proxy: Proxy, server: Server) -> None:
    await proxy.cut()

    async def noticed() -> bool:
        return server.said("records: the database is unreachable")

    await until(noticed, "the servers noticing the database is gone")
    await proxy.restore()


def assert_nothing_lost(report: Report, resumed: bool = True, tables: int = TABLES) -> None:
    """Every one of `tables` finished, no player lost, repeated or reordered an event, and
    (when `resumed`) the fault cut some sockets, which resumed."""
    finished = {"planned": tables, "finished": tables, "failed": 0}
    assert report["tables"] == finished, report["errors"]
    for name, profile in report["profiles"].items():
        assert (profile["lost"], profile["duplicated"], profile["reordered"]) == (0, 0, 0), name
        assert profile["resumes"]["failed"] == 0, name
        assert profile["narration_mismatches"] == 0, name
    replayed = sum(
        p["resumes"]["replayed"] + p["resumes"]["sync"] for p in report["profiles"].values()
    )
    assert replayed > 0 or not resumed, "no socket was resumed: the kill reached no bot"


async def test_no_event_or_record_is_lost_when_a_worker_redis_and_postgres_fail(
    tmp_path: Path, database: str
) -> None:
    async with AsyncExitStack() as stack:  # undone in reverse: the server stops first
        store = PrivateRedis(tmp_path)
        store.start()
        stack.callback(store.stop)
        prefix = throwaway_prefix()
        stack.push_async_callback(delete_prefix, prefix, store.url)
        postgres = urlsplit(ADMIN_URL)
        proxy = Proxy(postgres.hostname or "127.0.0.1", postgres.port or 5432)
        await proxy.start()
        stack.push_async_callback(proxy.close)
        server = stack.enter_context(
            running_server(*serve_flags(store, proxy, database), env=serve_env(prefix))
        )
        records = Records(database_url(database))
        async with running_bots(
            server.base_url,
            tmp_path / "report",
            *("--tables", str(TABLES), "--players", str(PLAYERS), "--rounds", str(ROUNDS)),
            *("--seconds", "15", "--think", "3"),
        ) as bots:
            await chaos(server, store, proxy, records, bots)
            try:
                report = await bots.finished(90)
            except AssertionError as failure:
                raise AssertionError(f"{failure}\n{await census(store, prefix)}") from None
        assert_nothing_lost(report)

        async def recorded() -> bool:
            return await records.complete_games() == TABLES

        try:
            await until(recorded, f"{TABLES} complete game records")
        except AssertionError as failure:
            raise AssertionError(f"{failure}: {await records.counts()}") from None


async def census(store: PrivateRedis, prefix: str) -> str:
    """Where every live table stands, said when the bots did not finish."""
    engine = RedisEngine.from_url(store.url, prefix=prefix)
    try:
        lines = []
        for session in await engine.sessions(100):
            snapshot = await engine.load(session)
            if snapshot is not None:
                table = snapshot.table
                lines.append(
                    f"{session}: {table.phase} round {table.round}, streaming {table.streaming},"
                    f" pending {table.pending}, seq {snapshot.seq}"
                )
        client = SyncRedis.from_url(store.url)
        deadlines = client.zrange(f"{prefix}deadlines", 0, -1, withscores=True)
        claimed = client.zrange(f"{prefix}deadlines:claimed", 0, -1, withscores=True)
        leases = {k: client.get(k) for k in client.scan_iter(f"{prefix}lease:*")}
        return (
            "live tables:\n" + "\n".join(lines) + f"\ndeadlines {deadlines}\nclaimed {claimed}"
            f"\nleases {leases}"
        )
    finally:
        await engine.close()


def serve_flags(store: PrivateRedis, proxy: Proxy, database: str) -> list[str]:
    """Two workers on the test's Redis, records in `database` through the proxy."""
    return [
        *("--engine", store.url, "--workers", "2", "--fallback-tps", "200"),
        *("--database-url", database_url(database, proxy.port)),
    ]


def serve_env(prefix: str) -> dict[str, str]:
    return cluster_env(
        prefix,
        MARATANG_NARRATION_LEASE="1",  # a killed worker's narrations are taken over at once
        MARATANG_SNAPSHOT_SECONDS="0.5",
        MARATANG_LIMIT_EXEMPT="127.0.0.1,::1",  # every bot comes from loopback
    )


async def chaos(
    server: Server, store: PrivateRedis, proxy: Proxy, records: Records, bots: Bots
) -> None:
    async def every_game_in_play() -> bool:
        return await records.games_in_play() == TABLES

    await until(every_game_in_play, "every table through its first round")
    await kill_a_worker(server, records)
    await restart_redis(store, records)
    await cut_postgres(proxy, server)
    assert bots.process.returncode is None, "the bots were done before the chaos was over"
