"""Hub nodes on a Redis Cluster behind the production nginx: `maratang serve` processes, each
with two workers, in the upstream of `deploy/nginx/hubs/`. The bots play through nginx while a
whole node is SIGKILLed (its players resume on the others), or while a Cluster master is
SIGKILLed and its replica takes over: nothing is lost, every game ends."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.bots.test_chaos import assert_nothing_lost
from tests.realtime.test_many_processes import cluster_env
from tests.support.bots import Bots, running_bots
from tests.support.metrics import scrape, total
from tests.support.nginx import running_nginx
from tests.support.redis import throwaway_prefix
from tests.support.redis_cluster import LocalCluster, cluster_client, cluster_delete_prefix
from tests.support.server import Server, running_server, sockets_held
from tests.support.until import until

BOTS = "127.0.0.1"
TABLES, PLAYERS, ROUNDS = 4, 3, 4


def start_nodes(stack: ExitStack, url: str, prefix: str, count: int, **extra: str) -> list[Server]:
    env = cluster_env(
        prefix,
        MARATANG_NARRATION_LEASE="1",  # a dead node's narrations are taken over at once
        MARATANG_LIMIT_EXEMPT=BOTS,
        **extra,
    )
    flags = ("--engine", url, "--workers", "2", "--fallback-tps", "100")
    return [stack.enter_context(running_server(*flags, env=env)) for _ in range(count)]


@asynccontextmanager
async def bots_through_nginx(
    stack: ExitStack, nodes: list[Server], folder: Path
) -> AsyncIterator[Bots]:
    """The bots playing through nginx, whose upstream is `nodes`."""
    (folder / "nginx").mkdir()
    site = stack.enter_context(
        running_nginx([n.base_url for n in nodes], folder / "nginx", exempt=(BOTS,))
    )
    async with running_bots(
        f"https://{BOTS}:{urlsplit(site.https).port}",
        folder / "report",
        *("--tables", str(TABLES), "--players", str(PLAYERS), "--rounds", str(ROUNDS)),
        *("--seconds", "15", "--think", "2", "--insecure"),
    ) as bots:
        yield bots


def held(node: Server) -> int:
    """The sockets to `node` its workers hold now."""
    return sum(sockets_held(pid, node.port) for pid in node.workers())


async def test_bots_play_on_three_nodes_behind_nginx_and_a_killed_node_loses_nothing(
    tmp_path: Path, redis_cluster_url: str
) -> None:
    prefix = throwaway_prefix()
    with ExitStack() as stack:
        stack.callback(cluster_delete_prefix, prefix, redis_cluster_url)
        nodes = start_nodes(stack, redis_cluster_url, prefix, 3)
        async with bots_through_nginx(stack, nodes, tmp_path) as bots:

            async def every_node_holds_sockets() -> bool:
                return all(held(node) > 0 for node in nodes)

            await until(every_node_holds_sockets, "nginx spreading the bots over every node")
            doomed = max(nodes, key=held)
            os.killpg(doomed.process.pid, signal.SIGKILL)  # the parent and its workers at once
            await asyncio.to_thread(doomed.process.wait)
            report = await bots.finished(120)
        assert_nothing_lost(report)
        survivors = [node for node in nodes if node is not doomed]
        assert all(node.process.poll() is None for node in survivors)
        # The killed node's players came back on the others, where their tables went on.
        assert any(node.said(", resumed after seq") for node in survivors)


async def tables_by_master(cluster: LocalCluster, prefix: str) -> dict[int, int]:
    """How many tables in play (past their lobby: 20 events logged) each master holds."""
    client = cluster_client(cluster.url)
    try:
        keys = [str(k) async for k in client.scan_iter(match=f"{prefix}s:*", _type="HASH")]
        playing = [k for k in keys if int(await client.hget(k, "seq") or 0) >= 20]
    finally:
        await client.aclose()
    counts: dict[int, int] = {}
    for key in playing:
        master = cluster.master_of(key)
        counts[master] = counts.get(master, 0) + 1
    return counts


async def test_a_cluster_master_failing_over_to_its_replica_loses_no_event(
    tmp_path: Path,
) -> None:
    cluster = LocalCluster(tmp_path / "cluster", masters=3, replicas=1, appendonly=True)
    (tmp_path / "cluster").mkdir()
    prefix = throwaway_prefix()
    with ExitStack() as stack:
        cluster.start()
        stack.callback(cluster.stop)
        # Nothing a player saw is only on the master: it is on its replica too.
        # (Patient with a replica slowed by a busy machine: a write that stands without it
        # could be lost, and is counted.)
        nodes = start_nodes(
            stack,
            cluster.url,
            prefix,
            2,
            MARATANG_REDIS_REPLICAS="1",
            MARATANG_REDIS_REPLICA_WAIT_MS="500",
        )
        async with bots_through_nginx(stack, nodes, tmp_path) as bots:

            async def every_table_plays() -> bool:
                return sum((await tables_by_master(cluster, prefix)).values()) >= TABLES

            await until(every_table_plays, "every table playing on the Cluster")
            counts = await tables_by_master(cluster, prefix)
            doomed = max(counts, key=lambda port: counts[port])
            cluster.kill(doomed)
            await asyncio.to_thread(cluster.until_failed_over, doomed)
            report = await bots.finished(120)
        unreplicated = [
            total(await scrape(node.base_url), "maratang_engine_unreplicated_total")
            for node in nodes
        ]
        try:
            assert_nothing_lost(report, resumed=False)  # the hubs held their sockets through it
        except AssertionError as failure:
            raise AssertionError(f"{failure}\nwrites without a replica: {unreplicated}") from None
        assert counts[doomed] > 0
        # Every hub noticed: commands answered busy, or the store reported away, meanwhile.
        assert any(node.said("unreachable") or node.said("busy") for node in nodes)
