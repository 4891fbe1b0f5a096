"""A real Prometheus scrapes a real two-worker server on Redis while three players play a game:
what it stores, read through its HTTP API as a dashboard reads it, adds up to what the
players did, whichever worker served each of them and each scrape."""

from __future__ import annotations

from pathlib import Path

from tests.realtime.conftest import (
    FAST,
    FAST_ENV,
    Table,
    both_workers_hold_sockets,
    leave_one_by_one,
    open_table,
    play_game,
)
from tests.support.prometheus import Prometheus, running_prometheus
from tests.support.redis import REDIS_URL
from tests.support.server import running_server

ROUNDS = 1


async def test_prometheus_sums_the_workers_to_what_the_players_did(
    prefix: str, tmp_path: Path
) -> None:
    env = {**FAST_ENV, "MARATANG_REDIS_PREFIX": prefix}
    flags = ("--engine", REDIS_URL, "--workers", "2", *FAST)
    with running_server(*flags, env=env) as server:
        jobs = {"maratang": [f"{server.host}:{server.port}"]}
        with running_prometheus(jobs, tmp_path) as prometheus:
            await prometheus.until('up{job="maratang"}', 1)
            watchers = await both_workers_hold_sockets(server)
            table = await open_table(server, ["민지", "Alex", "Sora"], rounds=ROUNDS)
            sockets = len(watchers) + len(table.seats)
            await prometheus.until("sum(maratang_sockets_open)", sockets)
            told = await play_game(table, ROUNDS)
            for watcher in watchers:
                await watcher.close()
            await leave_one_by_one(table)
            await prometheus.until("sum(maratang_sockets_open)", 0)
            clients = [*watchers, *(seat.client for seat in table.seats)]
            await prometheus.until(
                "sum(maratang_frames_sent_total)", sum(len(c.received) for c in clients)
            )
            await prometheus.until('sum(maratang_hellos_total{outcome="new"})', sockets)
            await prometheus.until('sum(maratang_narrations_total{source="fallback"})', len(told))
            assert await prometheus.value("sum(maratang_narrations_total)") == len(told)
            await commands_add_up(prometheus, table)
            await prometheus.until('sum(maratang_closes_total{code="1000"})', sockets)


async def commands_add_up(prometheus: Prometheus, table: Table) -> None:
    """Every command the players sent, by type, each answered `ok`."""
    players = len(table.seats)
    sent = {
        "session.create": 1,
        "session.join": players - 1,
        "game.start": 1,
        "bowl.submit": players * ROUNDS,
    }
    for kind, count in sent.items():
        await prometheus.until(f'sum(maratang_commands_total{{type="{kind}"}})', count)
        ok = f'sum(maratang_commands_total{{type="{kind}",outcome="ok"}})'
        assert await prometheus.value(ok) == count
    assert await prometheus.value("sum(maratang_commands_total)") == sum(sent.values())
