"""What only the Redis engine must show: its keys for limits go away on their own, a store out
of reach answers a ping with False, and a followed table whose live state was lost (Redis lost
its data) or replaced (restored from a snapshot elsewhere) is reported."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import msgpack
import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster

from game.state import Table
from protocol.events import Logged
from protocol.types import PlayerId, SessionId
from storage.engine import Deadline, EngineUnavailable, Snapshot
from storage.observe import Unobserved
from storage.redis import RedisEngine
from storage.redis_keys import CLUSTER_SHARDS, Keys
from storage.serial import event_bytes, table_bytes
from tests.storage.test_engine_contract import delta
from tests.storage.test_narration_lane import piece, telling
from tests.support.redis import (
    REDIS_URL,
    PrivateRedis,
    delete_prefix,
    free_port,
    throwaway_prefix,
)
from tests.support.redis_cluster import LocalCluster, ask, cluster_masters
from tests.support.until import until


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    name = throwaway_prefix()
    yield name
    await delete_prefix(name)


@pytest.fixture
async def engine(prefix: str) -> AsyncIterator[RedisEngine]:
    made = RedisEngine.from_url(REDIS_URL, prefix=prefix, sweep=0.1)
    yield made
    await made.close()


async def ttl_ms(key: str) -> int:
    client = Redis.from_url(REDIS_URL)
    try:
        return int(await client.pttl(key))
    finally:
        await client.aclose()


async def test_limit_keys_expire_on_their_own(engine: RedisEngine, prefix: str) -> None:
    assert await engine.acquire_slot("sockets:p_someone", "c1", 8, ttl=30)
    assert await engine.tally("joinfail:a:10.0.0.1", window=60) == 1
    assert 0 < await ttl_ms(prefix + "slots:sockets:p_someone") <= 30_000
    assert 0 < await ttl_ms(prefix + "tally:joinfail:a:10.0.0.1") <= 60_000


async def test_a_ping_to_a_store_out_of_reach_says_no_within_seconds() -> None:
    unreachable = RedisEngine.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        started = time.monotonic()
        assert await unreachable.ping() is False
        assert time.monotonic() - started < 3
    finally:
        await unreachable.close()


class Watch:
    def __init__(self) -> None:
        self.lost: list[SessionId] = []
        self.events: list[Logged] = []
        self.changed = asyncio.Event()

    def on_lost(self, session: SessionId) -> None:
        self.lost.append(session)
        self.changed.set()

    def on_events(self, events: Sequence[Logged]) -> None:
        self.events.extend(events)
        self.changed.set()

    async def until_lost(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.lost) < count:
                self.changed.clear()
                await self.changed.wait()


async def followed(engine: RedisEngine) -> tuple[Watch, Table]:
    """A table this engine follows, with one event committed, and what it is told of it."""
    watch = Watch()
    engine.on_lost(watch.on_lost)
    table = Table(SessionId("s_" + secrets.token_hex(6)), "LOSTAB", seed=1)
    await engine.create(table)
    await engine.subscribe(table.session, watch.on_events)
    await engine.commit(table.session, 1, replace(table, round=1), [delta("a")])
    return watch, table


async def test_a_followed_table_lost_from_the_store_is_reported(
    engine: RedisEngine, prefix: str
) -> None:
    watch, table = await followed(engine)

    assert await delete_prefix(prefix) > 0  # Redis lost its data
    await watch.until_lost(1)
    assert watch.lost[0] == table.session


async def test_a_followed_table_replaced_by_a_restore_elsewhere_is_reported(
    engine: RedisEngine, prefix: str
) -> None:
    watch, table = await followed(engine)

    # Lost and restored elsewhere in one step (the sweep never sees it gone): the numbering is
    # far ahead and the log holds nothing of what was missed.
    client = Redis.from_url(REDIS_URL)
    try:
        async with client.pipeline(transaction=True) as replace_it:
            replace_it.delete(prefix + f"s:{table.session}", prefix + f"log:{table.session}")
            replace_it.hset(
                prefix + f"s:{table.session}",
                mapping={"v": 2, "seq": 1_000_001, "t": table_bytes(replace(table, round=1))},
            )
            await replace_it.execute()
    finally:
        await client.aclose()
    await watch.until_lost(1)
    assert set(watch.lost) == {table.session}
    count = len(watch.lost)
    await engine.commit(table.session, 2, replace(table, round=2), [delta("b")])
    await asyncio.sleep(0.3)  # several sweeps: a live table is not reported again
    assert len(watch.lost) == count
    assert [e.seq for e in watch.events] == [1, 1_000_002]


async def test_a_table_restored_at_an_old_version_is_never_mistaken_for_a_cached_one(
    engine: RedisEngine, prefix: str
) -> None:
    table = Table(SessionId("s_" + secrets.token_hex(6)), "CACHED", seed=1)
    await engine.create(table)
    await engine.commit(table.session, 1, replace(table, round=7), [delta("lost")])
    cached = await engine.load(table.session)
    assert cached is not None
    assert (cached.version, cached.table.round) == (2, 7)  # this process now caches round 7

    assert await delete_prefix(prefix) > 0  # lost; another process restores an older snapshot
    other = RedisEngine.from_url(REDIS_URL, prefix=prefix)
    try:
        assert await other.restore(Snapshot(table, version=1, seq=1_000_000))
        await other.commit(table.session, 1, replace(table, round=2), [delta("new")])
    finally:
        await other.close()
    seen = await engine.load(table.session)  # version 2 again, but not the cached version 2
    assert seen is not None
    assert (seen.version, seen.seq, seen.table.round) == (2, 1_000_001, 2)


async def test_lane_appends_of_one_tick_share_a_round_trip_and_survive_a_lost_script_cache(
    tmp_path: Path,
) -> None:
    server = PrivateRedis(tmp_path)  # of its own: the count of script calls is all ours
    server.start()
    engine = RedisEngine.from_url(server.url, prefix="lane:")
    client = Redis.from_url(server.url)
    try:
        tables = [await telling(engine) for _ in range(3)]
        await client.script_flush()  # as a restarted Redis: no script is known
        await client.config_resetstat()
        appended = await asyncio.gather(
            *(engine.append(t.session, piece(f"{n}번"), "llm") for n, t in enumerate(tables))
        )
        stats = await client.info("commandstats")
        loaded = [await engine.load(t.session) for t in tables]
    finally:
        await client.aclose()
        await engine.close()
        server.stop()
    assert [a.seq for a in appended] == [1, 1, 1]
    # one batch of three, refused (no script), the script loaded, the three sent again
    assert stats["cmdstat_evalsha"]["calls"] == 6
    assert stats["cmdstat_script|load"]["calls"] == 1
    assert [s.told.text if s and s.told else None for s in loaded] == ["0번", "1번", "2번"]


@pytest.fixture(params=["redis", "cluster"])
def any_redis(request: pytest.FixtureRequest) -> str:
    """One Redis, or a 3-master Redis Cluster."""
    if request.param == "redis":
        return REDIS_URL
    url: str = request.getfixturevalue("redis_cluster_url")
    return url


async def subscribers(engine: RedisEngine, channels: list[str]) -> int:
    """How many of `channels` have a shard subscriber, each asked of the node it hashes to."""
    client = engine.client
    found = 0
    for channel in channels:
        if isinstance(client, RedisCluster):
            node = client.get_node_from_key(channel)
            reply = await client.execute_command(
                "PUBSUB", "SHARDNUMSUB", channel, target_nodes=node
            )
        else:
            reply = await client.execute_command("PUBSUB", "SHARDNUMSUB", channel)  # type: ignore[no-untyped-call]
        found += int(reply[1] > 0)
    return found


async def every_table_rings(writer: RedisEngine, watch: Watch, tables: list[Table]) -> None:
    """A commit to each of `tables` reaches the follower `watch` listens for, within 5 s."""
    for table in tables:
        await writer.commit(table.session, 1, replace(table, round=1), [delta("a")])
    async with asyncio.timeout(5):
        while len(watch.events) < len(tables):
            watch.changed.clear()
            await watch.changed.wait()
    assert sorted(e.session for e in watch.events) == [t.session for t in tables]


async def test_many_followed_tables_are_subscribed_again_after_the_pubsub_connections_drop(
    any_redis: str,
) -> None:
    prefix = throwaway_prefix()
    follower = RedisEngine.from_url(any_redis, prefix=prefix, sweep=0.1)
    writer = RedisEngine.from_url(any_redis, prefix=prefix, sweep=0.1)
    try:
        watch = Watch()
        tables = [Table(SessionId(f"s_many{n:02d}"), f"MANY{n:02d}", seed=n) for n in range(24)]
        for table in tables:
            await writer.create(table)
            await follower.subscribe(table.session, watch.on_events)
        channels = [f"{prefix}ch:{{{t.session}}}" for t in tables]
        if not isinstance(follower.client, RedisCluster):
            channels = [c.replace("{", "").replace("}", "") for c in channels]
        assert await subscribers(writer, channels) == len(tables)

        # Redis drops every pub/sub connection (on every master of a Cluster).
        client = writer.client
        if isinstance(client, RedisCluster):
            await client.client_kill_filter(_type="pubsub", target_nodes=RedisCluster.PRIMARIES)
        else:
            await client.client_kill_filter(_type="pubsub")

        async with asyncio.timeout(10):
            while True:  # the follower's own doing: ask the store again
                if await subscribers(writer, channels) == len(tables):
                    break
                await asyncio.sleep(0.05)
        await every_table_rings(writer, watch, tables)
    finally:
        await follower.close()
        await writer.close()
        await delete_prefix(prefix, any_redis)


def moved_replies(cluster_url: str) -> int:
    """How many MOVED redirects the Cluster's masters have answered so far."""
    total = 0
    for host, port in cluster_masters(cluster_url):
        with ask(port, host) as node:
            total += int(node.info("errorstats").get("errorstat_MOVED", {}).get("count", 0))
    return total


async def test_new_engines_send_each_call_to_the_master_that_holds_its_key(
    redis_cluster_url: str,
) -> None:
    """A process starts its loops together: deadlines, presence and limits all ask a new
    engine at once, before its client has learnt which master holds what. Misrouted calls
    would be redirected (MOVED) and, a few redirects on, every connection closed under the
    calls in flight."""
    prefix = throwaway_prefix()
    sessions = [SessionId(f"s_start{n:02d}") for n in range(16)]
    before = moved_replies(redis_cluster_url)
    try:
        for _ in range(5):
            engine = RedisEngine.from_url(redis_cluster_url, prefix=prefix)
            try:
                await asyncio.gather(
                    engine.claim_due(int(time.time() * 1000)),
                    engine.claim_lapsed(),
                    *(engine.set_presence(s, PlayerId("p_a"), "c1", 30) for s in sessions),
                    *(engine.tally(f"start:{s}", window=60) for s in sessions),
                )
            finally:
                await engine.close()
        assert moved_replies(redis_cluster_url) == before
    finally:
        await delete_prefix(prefix, redis_cluster_url)


async def test_a_master_away_holds_back_only_the_claims_on_it(tmp_path: Path) -> None:
    """Between a master's death and the Cluster's verdict on it, the other masters serve:
    what their buckets hold is claimed, and nothing claimed is lost to the one away."""
    cluster = LocalCluster(tmp_path, masters=3, node_timeout_ms=60_000)
    cluster.start()
    keys = Keys("t:", tagged=True, shards=CLUSTER_SHARDS)
    engine = RedisEngine.from_url(cluster.url, prefix="t:")
    try:
        sessions = [SessionId(f"s_away{n:02d}") for n in range(48)]
        for session in sessions:
            await engine.set_presence(session, PlayerId("p_a"), "c1", ttl=0.001)
            await engine.set_deadline(Deadline(session, "round", "1", due=0))
        victim = cluster.master_of(keys.presence(0))
        cluster.kill(victim)

        def live(key: str) -> bool:
            return cluster.master_of(key) != victim

        def bucket(session: SessionId) -> int:
            return keys.shard_of(session)

        # Some calls fail as the client finds the master gone; what is claimed is kept,
        # and the rest is claimed by the rounds after.
        expected = [
            s for s in sessions if live(keys.presence(bucket(s))) and live(keys.table("pres", s))
        ]
        lapsed: set[SessionId] = set()
        due: set[SessionId] = set()
        async with asyncio.timeout(20):
            while sorted(lapsed) != expected or len(due) < len(sessions) // 3:
                with contextlib.suppress(EngineUnavailable):
                    lapsed.update(s for s, _ in await engine.claim_lapsed())
                with contextlib.suppress(EngineUnavailable):
                    due.update(d.session for d in await engine.claim_due(int(time.time() * 1000)))
        assert due <= {s for s in sessions if live(keys.deadlines(bucket(s))[0])}
        # a lapsed mark whose session's master is away went back to its bucket, for later
        back = [
            s
            for s in sessions
            if live(keys.presence(bucket(s))) and not live(keys.table("pres", s))
        ]
        with ask(cluster.master_of(keys.presence(bucket(back[0])))) as node:
            assert node.zscore(keys.presence(bucket(back[0])), f"{back[0]}|p_a|c1") is not None
    finally:
        await engine.close()
        cluster.stop()


async def test_tables_followed_at_once_on_a_new_engine_all_ring(any_redis: str) -> None:
    """Many tables followed at the same moment share each shard's one pub/sub connection:
    none is subscribed on a connection nobody reads (the sweep, set far off here, would
    be the only way its events came)."""
    prefix = throwaway_prefix()
    follower = RedisEngine.from_url(any_redis, prefix=prefix, sweep=600)
    writer = RedisEngine.from_url(any_redis, prefix=prefix)
    try:
        watch = Watch()
        tables = [Table(SessionId(f"s_once{n:02d}"), f"ONCE{n:02d}", seed=n) for n in range(24)]
        for table in tables:
            await writer.create(table)
        await asyncio.gather(*(follower.subscribe(t.session, watch.on_events) for t in tables))
        await every_table_rings(writer, watch, tables)
    finally:
        await follower.close()
        await writer.close()
        await delete_prefix(prefix, any_redis)


class Unreplicated(Unobserved):
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def engine_unreplicated(self, operation: str, count: int) -> None:
        self.counts[operation] = self.counts.get(operation, 0) + count


async def test_writes_asked_to_wait_for_a_replica_that_is_not_there_wait_once_then_go_on(
    tmp_path: Path,
) -> None:
    store = PrivateRedis(tmp_path)  # no replica: every WAIT runs out
    store.start()
    observer = Unreplicated()
    engine = RedisEngine.from_url(store.url, replicas=1, replica_wait_ms=50, observer=observer)
    try:
        table = Table(SessionId("s_alone"), "ALONE1", seed=1)
        await engine.create(table)
        for version in range(1, 6):
            await engine.commit(table.session, version, replace(table, round=version), [])
        # Each write stood without its replica, and is counted; the node was asked once,
        # then written without waiting (ALONE_SECONDS) rather than wait for nothing each time.
        assert observer.counts == {"commit": 5}
        client = Redis.from_url(store.url)
        try:
            stats = await client.info("commandstats")
        finally:
            await client.aclose()
        assert stats["cmdstat_wait"]["calls"] == 1
    finally:
        await engine.close()
        store.stop()


async def heard_until_pong(pubsub: PubSub) -> list[dict[str, Any]]:
    """What a pub/sub connection heard before the answer to a `PING` sent on it now: Redis
    answers in order, so this is everything published to it before the ping arrived."""
    await pubsub.ping()
    heard: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while True:
            message = await pubsub.get_message(timeout=1)
            if message is None:
                continue
            if message["type"] == "pong":
                return heard
            heard.append(message)


async def next_bell(pubsub: PubSub) -> list[Any]:
    async with asyncio.timeout(10):
        while True:
            message = await pubsub.get_message(timeout=1)
            if message is not None and message["type"] == "smessage":
                return cast(list[Any], msgpack.unpackb(message["data"]))


async def test_a_write_waiting_for_its_replica_rings_for_no_one_before_the_replica_holds_it(
    tmp_path: Path,
) -> None:
    """Another process that heard of a write its replica does not hold yet would see that
    write's seq again, with other contents, if the master died then."""
    (tmp_path / "master").mkdir()
    (tmp_path / "replica").mkdir()
    master = PrivateRedis(tmp_path / "master", appendonly=False)
    replica = PrivateRedis(tmp_path / "replica", appendonly=False, replica_of=master)
    master.start()
    replica.start()
    engine = RedisEngine.from_url(master.url, replicas=1, replica_wait_ms=30_000)
    client = Redis.from_url(master.url)
    pubsub = client.pubsub()
    try:

        async def replica_online() -> bool:
            replica = (await client.info("replication")).get("slave0", {})
            return bool(replica.get("state") == "online")

        await until(replica_online, "the replica in sync with its master")
        table = await telling(engine)  # version 2, seq 0: it streams a narration
        await engine.append(table.session, piece("먼저 "), "llm")  # both scripts are loaded
        keys = Keys("maratang:")
        await pubsub.ssubscribe(keys.table("ch", table.session))
        assert [m["type"] for m in await heard_until_pong(pubsub)] == ["ssubscribe"]
        writes: dict[str, Callable[[], Coroutine[Any, Any, object]]] = {
            "commit": lambda: engine.commit(
                table.session, 2, replace(table, deadline=7), [delta("커밋")]
            ),
            "append": lambda: engine.append(table.session, piece("조각"), "llm"),
        }
        for seq, (name, write) in enumerate(writes.items(), start=2):
            replica.pause()
            written = asyncio.create_task(write())

            async def ran_on_the_master(seq: int = seq) -> bool:
                return await client.hget(keys.table("s", table.session), "seq") == str(seq).encode()

            await until(ran_on_the_master, f"the {name} run on the master")
            assert await heard_until_pong(pubsub) == [], f"the {name} rang before its WAIT"
            assert not written.done()
            replica.resume()
            done = await written
            logged = done[0] if isinstance(done, tuple) else done
            assert isinstance(logged, Logged)
            assert logged.seq == seq
            assert await next_bell(pubsub) == [seq, event_bytes(logged.event)]
    finally:
        replica.resume()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()
        await engine.close()
        replica.stop()
        master.stop()
