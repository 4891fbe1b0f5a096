"""Hub nodes on a Redis Cluster behind the production nginx: three `maratang serve` processes,
each with two workers, in the upstream of `deploy/nginx/hubs/`. The bots play through nginx
while a whole node is SIGKILLed: its players resume on the others and nothing is lost."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.bots.test_chaos import assert_nothing_lost, until
from tests.realtime.test_many_processes import cluster_env
from tests.support.bots import running_bots
from tests.support.nginx import running_nginx
from tests.support.redis import delete_prefix, throwaway_prefix
from tests.support.server import Server, running_server, sockets_held

BOTS = "127.0.0.1"
TABLES, PLAYERS, ROUNDS = 4, 3, 4


@pytest.fixture
async def prefix(redis_cluster_url: str) -> AsyncIterator[str]:
    value = throwaway_prefix()
    yield value
    await delete_prefix(value, redis_cluster_url)


def start_nodes(stack: ExitStack, url: str, prefix: str, count: int) -> list[Server]:
    env = cluster_env(
        prefix,
        MARATANG_NARRATION_LEASE="1",  # a dead node's narrations are taken over at once
        MARATANG_LIMIT_EXEMPT=BOTS,
    )
    flags = ("--engine", url, "--workers", "2", "--fallback-tps", "100")
    return [stack.enter_context(running_server(*flags, env=env)) for _ in range(count)]


def held(node: Server) -> int:
    """The sockets to `node` its workers hold now."""
    return sum(sockets_held(pid, node.port) for pid in node.workers())


def kill_node(node: Server) -> None:
    """SIGKILL the node: its parent and every worker at once, as a lost machine."""
    os.killpg(node.process.pid, signal.SIGKILL)


async def test_bots_play_on_three_nodes_behind_nginx_and_a_killed_node_loses_nothing(
    tmp_path: Path, redis_cluster_url: str, prefix: str
) -> None:
    with ExitStack() as stack:
        nodes = start_nodes(stack, redis_cluster_url, prefix, 3)
        (tmp_path / "nginx").mkdir()
        site = stack.enter_context(
            running_nginx([n.base_url for n in nodes], tmp_path / "nginx", exempt=(BOTS,))
        )
        url = f"https://{BOTS}:{urlsplit(site.https).port}"
        async with running_bots(
            url,
            tmp_path / "report",
            *("--tables", str(TABLES), "--players", str(PLAYERS), "--rounds", str(ROUNDS)),
            *("--seconds", "15", "--think", "2", "--insecure"),
        ) as bots:

            async def every_node_holds_sockets() -> bool:
                return all(held(node) > 0 for node in nodes)

            await until(every_node_holds_sockets, "nginx spreading the bots over every node")
            doomed = max(nodes, key=held)
            kill_node(doomed)
            await asyncio.to_thread(doomed.process.wait)
            report = await bots.finished(120)
        assert_nothing_lost(report)
        survivors = [node for node in nodes if node is not doomed]
        assert all(node.process.poll() is None for node in survivors)
        # The killed node's players came back on the others, where their tables went on.
        assert any(node.said(", resumed after seq") for node in survivors)
