"""The tests' Redis Cluster itself: every slot served, a session's keys kept together by their
hash tag while different sessions spread over every master, and a killed master replaced by
its replica with what was acknowledged still readable."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from tests.support.redis import throwaway_prefix
from tests.support.redis_cluster import (
    SLOTS,
    LocalCluster,
    ask,
    cluster_addresses,
    cluster_client,
    cluster_delete_prefix,
    cluster_masters,
    healthy,
    view,
)


def test_every_slot_is_served_by_exactly_one_master(redis_cluster_url: str) -> None:
    for host, port in cluster_addresses(redis_cluster_url):
        assert healthy(port, host)
        masters = [m for m in view(port, host) if m.role == "master" and not m.failed]
        slots = [
            slot for m in masters for first, last in m.slots for slot in range(first, last + 1)
        ]
        assert sorted(slots) == list(range(SLOTS))


async def test_a_tag_keeps_its_keys_on_one_master_and_tags_spread(redis_cluster_url: str) -> None:
    prefix = throwaway_prefix()
    keys = [f"{prefix}{{s_{tag}}}:{part}" for tag in range(48) for part in ("s", "p", "l")]
    client = cluster_client(redis_cluster_url)
    try:
        for key in keys:
            await client.set(key, key)
    finally:
        await client.aclose()

    tags_on: defaultdict[str, set[str]] = defaultdict(set)  # hash tag: the masters holding it
    masters = cluster_masters(redis_cluster_url)
    for host, port in masters:
        with ask(port, host) as node:
            for key in node.scan_iter(match=prefix + "*"):
                tags_on[key.partition("{")[2].partition("}")[0]].add(f"{host}:{port}")
    assert len(tags_on) == 48
    assert all(len(holders) == 1 for holders in tags_on.values())
    assert set().union(*tags_on.values()) == {f"{host}:{port}" for host, port in masters}

    assert cluster_delete_prefix(prefix, redis_cluster_url) == len(keys)
    assert cluster_delete_prefix(prefix, redis_cluster_url) == 0


async def test_a_killed_master_is_replaced_with_its_acknowledged_writes(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path, masters=3, replicas=1, appendonly=True)
    cluster.start()
    try:
        assert sorted(node.role for node in cluster.nodes) == ["master"] * 3 + ["replica"] * 3
        tagged = f"{throwaway_prefix()}{{s_failover}}:"
        victim = cluster.master_of(tagged + "s")
        with ask(victim) as master:
            for number in range(100):
                master.set(f"{tagged}{number}", number)
            assert master.config_get("appendonly") == {"appendonly": "yes"}
            assert master.wait(1, 5000) == 1

        cluster.kill(victim)
        promoted = cluster.until_failed_over(victim, within=10)

        roles = {node.port: node.role for node in cluster.nodes}
        assert roles[promoted] == "master"
        assert cluster.master_of(tagged + "s") == promoted
        client = cluster_client(cluster.url)  # the URL still lists the killed master first
        try:
            values = [await client.get(f"{tagged}{number}") for number in range(100)]
        finally:
            await client.aclose()
        assert values == [str(number) for number in range(100)]
    finally:
        cluster.stop()
