"""`RedisEngine`: the engine for many hub processes sharing one Redis or one Redis Cluster.

Every guarantee of `storage.engine.Engine` holds across processes: commits are one Lua script
(version check, table write, log append, doorbell), the log is a Redis Stream per session with
a bounded history, deadlines, presence, slots and leases are Lua scripts on shared keys, and
fan-out is `RedisFanout` (one sharded pub/sub connection per process and shard, the log as the
truth). Every script gets every key it touches in `KEYS`, and touches the keys of one table or
one bucket only (`storage.redis_keys`), so the same scripts run on one Redis and on a Cluster.

Keys live under a configurable prefix; a session's keys expire after a day without commits
(a finished one sooner, see `expire`). When Redis cannot be reached, methods raise
`EngineUnavailable` within a few seconds instead of hanging. Each call is timed for the
metrics (`_guarded`, `storage.observe.observed`).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from importlib import resources
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import msgpack
import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.commands.core import AsyncScript
from redis.typing import EncodableT

from game.state import Table, Told
from protocol import Logged
from protocol.events import Event, NarrationDelta
from protocol.types import NarrationId, NarrationSource, PlayerId, SessionId
from storage.engine import (
    CLAIM_LEASE_MS,
    CodeTaken,
    Deadline,
    EngineUnavailable,
    Listener,
    LostListener,
    NotStreaming,
    NotTeller,
    Snapshot,
    VersionConflict,
    lane,
    narration_lease,
    unfolded,
)
from storage.observe import UNOBSERVED, EngineObserver, observed
from storage.redis_batch import ScriptBatch
from storage.redis_fanout import REDIS_DOWN, RedisFanout, redis_down
from storage.redis_keys import CLUSTER_SCHEMES, CLUSTER_SHARDS, ClusterURL, Keys
from storage.serial import event_bytes, logged_from, table_bytes, table_from

P = ParamSpec("P")
R = TypeVar("R")
Client = Redis | RedisCluster

DEFAULT_HISTORY = 2000
IDLE_TTL = 24 * 3600.0
CLAIM_LIMIT = 100
POOL_SIZE = 64
"""Redis connections per process (per node of a Cluster), besides its pub/sub connections."""
CLUSTER_POOL_SIZE = 512
"""Connections per Cluster node: its client fails a command rather than wait for one, so the
bound is set where it only stops a runaway."""
PING_SECONDS = 1.0
TABLE_CACHE = 10_000
"""Tables remembered per process (a table is a few hundred bytes)."""
SCRIPTS = (
    "append",
    "commit",
    "create",
    "restore",
    "load",
    "expire",
    "code_free",
    "presence_set",
    "presence_clear",
    "presence_lapsed",
    "deadline_set",
    "deadline_cancel",
    "deadline_claim",
    "deadline_finish",
    "slot_acquire",
    "slots_taken",
    "lease_acquire",
    "lease_release",
    "tally",
)


def _guarded(
    method: Callable[Concatenate[RedisEngine, P], Awaitable[R]],
) -> Callable[Concatenate[RedisEngine, P], Coroutine[Any, Any, R]]:
    """Redis out of reach becomes `EngineUnavailable`; each call is timed (`observed`)."""

    @functools.wraps(method)
    async def guarded(self: RedisEngine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        except Exception as exc:
            if not redis_down(exc):
                raise
            raise EngineUnavailable(str(exc) or type(exc).__name__) from exc

    return observed(guarded)


async def _every_bucket(calls: Iterable[Awaitable[R]]) -> list[R]:
    """The replies of one call per bucket, made at once. A bucket whose master is away is
    left for the next round, and what the others claimed is kept (their scripts took it off
    the schedule): the store is away only when every bucket is."""
    replies = await asyncio.gather(*calls, return_exceptions=True)
    failed = [reply for reply in replies if isinstance(reply, BaseException)]
    for error in failed:
        if not redis_down(error) or len(failed) == len(replies):
            raise error
    return [reply for reply in replies if not isinstance(reply, BaseException)]


class _Cluster(RedisCluster):
    """redis-py's Cluster client, routing no command before it knows the cluster's layout.

    The client picks a command's route (by key, or to its default node) before it learns
    the layout, and it forgets its default node whenever it closes its connections (after
    MOVED replies or a failover). A keyed command issued then goes to a node that does not
    own the key; a few such MOVED replies make the client close every connection again,
    under the commands in flight: at start and after a failover, many at once failed as
    "Connection closed". Learning the layout first, under the client's own lock, ends that.
    """

    async def execute_command(self, *args: EncodableT, **kwargs: Any) -> Any:
        if self.get_default_node() is None:
            await self.initialize()
        return await super().execute_command(*args, **kwargs)

    async def aclose(self) -> None:
        """Close every connection, also after a lost node left the client waiting to learn
        the layout again (when the library's own close does nothing)."""
        await super().aclose()
        await self.nodes_manager.aclose()
        await self.nodes_manager.aclose("startup_nodes")


def _glob_escaped(text: str) -> str:
    """`text` matched literally by a Redis glob pattern (`SCAN MATCH`)."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def _script(client: Client, name: str) -> AsyncScript:
    text = resources.files("storage").joinpath(f"lua/{name}.lua").read_text(encoding="utf-8")
    return client.register_script(text)


def _member(session: str, kind: str, key: str) -> str:
    return f"{session}|{kind}|{key}"


def _commit_bell(args: Sequence[EncodableT], first: Any) -> bytes | None:
    """The doorbell of a commit (see `commit.lua`): its first seq and its events."""
    events = args[5:]
    return msgpack.packb([first, *events]) if first > 0 and events else None


def _append_bell(args: Sequence[EncodableT], seq: Any) -> bytes | None:
    """The doorbell of an append (see `append.lua`): its seq and its event."""
    return msgpack.packb([seq, args[5]]) if seq > 0 else None


class RedisEngine:
    def __init__(
        self,
        client: Client,
        prefix: str = "maratang:",
        history: int = DEFAULT_HISTORY,
        idle_ttl: float = IDLE_TTL,
        sweep: float = 2.0,
        observer: EngineObserver = UNOBSERVED,
        replicas: int = 0,
        replica_wait_ms: int = 100,
    ) -> None:
        self.observer = observer
        """Told how long each call took (`storage.observe`)."""
        self._client = client
        cluster = isinstance(client, RedisCluster)
        self._keys = Keys(prefix, tagged=cluster, shards=CLUSTER_SHARDS if cluster else 1)
        self._history = history
        self._idle_ms = int(idle_ttl * 1000)
        self._scripts = {name: _script(client, name) for name in SCRIPTS}
        self._tables: dict[SessionId, tuple[int, bytes, Table]] = {}
        """The last table seen per session: its version, its epoch (see `load.lua`), itself."""
        # Commits and the lane's appends go in per-tick pipelines, each waiting for
        # `replicas` before its doorbells ring (see `ScriptBatch`).
        self._commits, self._lane = (
            ScriptBatch(
                client,
                self._scripts[name],
                replicas,
                replica_wait_ms,
                functools.partial(observer.engine_unreplicated, name),
                resend=name == "commit",  # a lost answer: the version check refuses it again
                bell=bell,
            )
            for name, bell in (("commit", _commit_bell), ("append", _append_bell))
        )
        self._fanout = RedisFanout(client, self._channel, self._read_log, self._read_seqs, sweep)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisEngine:
        """An engine on a new client that gives up on an unreachable Redis within seconds:
        one Redis (`redis://`, `rediss://`, `unix://`) or a Cluster (`redis+cluster://`).

        On one Redis, commands share a bounded pool of connections; when all are busy, a
        command waits for one (up to the socket timeout) rather than failing."""
        timeouts: dict[str, Any] = {
            "socket_timeout": 5,
            "socket_connect_timeout": 2,
            "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
        }
        if url.startswith(CLUSTER_SCHEMES):
            where = ClusterURL.parse(url)
            cluster = _Cluster(
                startup_nodes=[ClusterNode(host, port) for host, port in where.nodes],
                username=where.username,
                password=where.password,
                ssl=where.tls,
                max_connections=CLUSTER_POOL_SIZE,
                **timeouts,
            )
            return cls(cluster, **options)
        pool = BlockingConnectionPool.from_url(
            url, max_connections=POOL_SIZE, timeout=5, health_check_interval=10, **timeouts
        )
        return cls(Redis.from_pool(pool), **options)

    @property
    def client(self) -> Client:
        """The Redis client the engine talks through (for tools that inspect its keys)."""
        return self._client

    # Keys ---------------------------------------------------------------------------------

    def _channel(self, session: SessionId) -> str:
        return self._keys.table("ch", session)

    def _table_keys(self, session: SessionId) -> list[str]:
        """The keys a commit touches: state, log, lane text, doorbell."""
        return [*self._keys.state(session), self._channel(session)]

    def _lane_keys(self, session: SessionId, nid: NarrationId) -> list[str]:
        """The keys an append touches: state, log, lane text, the teller's lease, doorbell."""
        lease = self._lease(narration_lease(session, nid))
        return [*self._keys.state(session), lease, self._channel(session)]

    def _lease(self, name: str) -> str:
        return self._keys.key("lease", name)

    def _deadline_keys(self, session: SessionId) -> list[str]:
        return self._keys.deadlines(self._keys.shard_of(session))

    def _presence_index(self, session: SessionId) -> str:
        return self._keys.presence(self._keys.shard_of(session))

    # Tables and logs ----------------------------------------------------------------------

    @_guarded
    async def create(self, table: Table) -> Snapshot:
        """The join code is claimed first: a process that dies before the table is written
        leaves a code naming no table (until it expires), never a table nobody can join."""
        claimed = await self._client.set(
            self._keys.code(table.code), table.session, nx=True, px=self._idle_ms
        )
        if not claimed:
            raise CodeTaken(table.code)
        keys = [self._keys.table("s", table.session)]
        await self._scripts["create"](keys, [table_bytes(table), self._idle_ms])
        return Snapshot(table, version=1, seq=0)

    @_guarded
    async def restore(self, snapshot: Snapshot) -> bool:
        table = snapshot.table
        state, _, told_key = self._keys.state(table.session)
        told = lane(table, snapshot.told)
        epoch = secrets.token_hex(6).encode()
        args: list[EncodableT] = [
            table_bytes(table),
            snapshot.version,
            snapshot.seq,
            self._idle_ms,
            epoch,
            table.streaming or "",
            told.text if told else "",
            ",".join(told.by) if told else "",
        ]
        if not await self._scripts["restore"]([state, told_key], args):
            return False
        # Its old code comes back unless another table took it meanwhile.
        await self._client.set(
            self._keys.code(table.code), table.session, nx=True, px=self._idle_ms
        )
        self._remember(table, snapshot.version, epoch)
        return True

    @_guarded
    async def find_code(self, code: str) -> SessionId | None:
        session = cast(bytes | None, await self._client.get(self._keys.code(code)))
        return SessionId(session.decode()) if session else None

    @_guarded
    async def load(self, session: SessionId) -> Snapshot | None:
        known = self._tables.get(session)
        held: list[EncodableT] = [known[0], known[1]] if known else [0, b""]
        keys = [self._keys.table("s", session), self._keys.table("told", session)]
        reply = await self._scripts["load"](keys, held)
        if not reply:
            self._tables.pop(session, None)
            return None
        version, seq, epoch, streaming, by, text = reply[:6]
        if len(reply) > 6 or known is None:
            table = table_from(reply[6])
            self._remember(table, int(version), epoch)
        else:
            table = known[2]  # unchanged since this process last read or wrote it
        if streaming is None:  # stored by a release before the lane: the table has the text
            return unfolded(table, int(version), int(seq))
        return Snapshot(table, int(version), int(seq), _told(streaming, text, by))

    def _remember(self, table: Table, version: int, epoch: bytes) -> None:
        """Keep the last table seen per session, so an unchanged one is not read again."""
        self._tables[table.session] = (version, epoch, table)
        if len(self._tables) > TABLE_CACHE:
            self._tables.pop(next(iter(self._tables)))

    @_guarded
    async def commit(
        self, session: SessionId, expected_version: int, table: Table, events: Sequence[Event]
    ) -> tuple[Logged, ...]:
        args: list[EncodableT] = [
            expected_version,
            table_bytes(table),
            self._history,
            self._idle_ms,
            table.streaming or "",
            *(event_bytes(e) for e in events),
        ]
        first = int(await self._commits(self._table_keys(session), args))
        if first < 0:
            raise VersionConflict(session)
        known = self._tables.get(session)
        if known is not None and known[0] == expected_version:  # the same life of the table
            self._remember(table, expected_version + 1, known[1])
        logged = tuple(Logged(session, first + n, e) for n, e in enumerate(events))
        if logged:
            self._fanout.hand_out(session, logged)  # local listeners need not wait for the bell
        return logged

    @_guarded
    async def append(
        self,
        session: SessionId,
        delta: NarrationDelta,
        source: NarrationSource,
        teller: str | None = None,
    ) -> Logged:
        args: list[EncodableT] = [
            delta.nid,
            delta.text,
            source,
            self._history,
            self._idle_ms,
            event_bytes(delta),
            teller or "",
        ]
        seq = int(await self._lane(self._lane_keys(session, delta.nid), args))
        if seq == 0:
            raise NotStreaming(session, delta.nid)
        if seq < 0:
            raise NotTeller(session, delta.nid)
        logged = Logged(session, seq, delta)
        self._fanout.hand_out(session, (logged,))
        return logged

    @_guarded
    async def events_after(self, session: SessionId, seq: int) -> Sequence[Logged] | None:
        last = await self._client.hget(self._keys.table("s", session), "seq")
        if last is None or seq > int(last):
            return None
        if seq == int(last):
            return ()
        events = await self._read_log(session, seq)
        if not events or events[0].seq != seq + 1:
            return None
        return events

    async def _read_log(self, session: SessionId, after: int) -> list[Logged]:
        entries = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await self._client.xrange(self._keys.table("log", session), min=f"{after + 1}-0"),
        )
        return [
            logged_from(session, int(entry_id.split(b"-")[0]), fields[b"e"])
            for entry_id, fields in entries
        ]

    async def _read_seqs(self, sessions: Sequence[SessionId]) -> list[int | None]:
        async with self._client.pipeline(transaction=False) as pipe:
            for session in sessions:
                pipe.hget(self._keys.table("s", session), "seq")
            values = await pipe.execute()
        return [int(v) if v is not None else None for v in values]

    def on_lost(self, listener: LostListener) -> None:
        self._fanout.lost = listener

    @_guarded
    async def subscribe(self, session: SessionId, listener: Listener) -> None:
        current = await self._client.hget(self._keys.table("s", session), "seq")
        await self._fanout.subscribe(session, listener, int(current or 0))

    @observed
    async def unsubscribe(self, session: SessionId, listener: Listener) -> None:
        await self._fanout.unsubscribe(session, listener)

    # Presence -----------------------------------------------------------------------------

    # A connection's mark is in its session's zset (which says who is live) and in one bucket
    # of the presence index (which finds the marks of dead processes): two keys, written
    # apart, as on a Cluster they are on different shards.

    @_guarded
    async def set_presence(
        self, session: SessionId, player: PlayerId, connection: str, ttl: float
    ) -> None:
        ttl_ms = int(ttl * 1000)
        mark = self._scripts["presence_set"]
        await asyncio.gather(
            mark(
                [self._keys.table("pres", session)],
                [f"{player}|{connection}", ttl_ms, self._idle_ms],
            ),
            mark(
                [self._presence_index(session)],
                [_member(session, player, connection), ttl_ms, self._idle_ms],
            ),
        )

    @_guarded
    async def clear_presence(self, session: SessionId, player: PlayerId, connection: str) -> int:
        # The mark first: should the index entry then stay, it lapses and is claimed.
        live = await self._drop_mark(session, player, connection)
        await self._client.zrem(self._presence_index(session), _member(session, player, connection))
        return live

    async def _drop_mark(self, session: SessionId, player: PlayerId, connection: str) -> int:
        """Drop a connection's mark from its session; how many live ones the player has left."""
        keys = [self._keys.table("pres", session)]
        return int(await self._scripts["presence_clear"](keys, [player, connection]))

    @_guarded
    async def claim_lapsed(self) -> list[tuple[SessionId, PlayerId]]:
        buckets = [self._keys.presence(shard) for shard in range(self._keys.shards)]
        claimed = await _every_bucket(
            self._scripts["presence_lapsed"]([b], [CLAIM_LIMIT]) for b in buckets
        )
        left: list[tuple[SessionId, PlayerId]] = []
        for member in itertools.chain.from_iterable(claimed):
            session, player, connection = member.decode().split("|", 2)
            gone = (SessionId(session), PlayerId(player))
            try:
                live = await self._drop_mark(*gone, connection)
            except Exception as exc:
                if not redis_down(exc):
                    raise
                # the session's master is away: back in the index, to be claimed next round
                mark = self._scripts["presence_set"]
                await mark([self._presence_index(gone[0])], [member, 0, self._idle_ms])
                continue
            if not live and gone not in left:
                left.append(gone)
        return left

    # Deadlines ----------------------------------------------------------------------------

    # Deadlines live in the bucket of their session; a claimer goes round every bucket.

    @_guarded
    async def set_deadline(self, deadline: Deadline) -> None:
        member = _member(deadline.session, deadline.kind, deadline.key)
        keys = self._deadline_keys(deadline.session)
        await self._scripts["deadline_set"](keys, [member, deadline.due])

    @_guarded
    async def cancel_deadline(self, session: SessionId, kind: str, key: str) -> None:
        keys = self._deadline_keys(session)
        await self._scripts["deadline_cancel"](keys, [_member(session, kind, key)])

    @_guarded
    async def claim_due(self, now: int, lease: int = CLAIM_LEASE_MS) -> list[Deadline]:
        buckets = [self._keys.deadlines(shard) for shard in range(self._keys.shards)]
        replies = await _every_bucket(
            self._scripts["deadline_claim"](b, [now, lease, CLAIM_LIMIT]) for b in buckets
        )
        claimed = []
        for flat in replies:
            for i in range(0, len(flat), 2):
                session, kind, key = flat[i].decode().split("|", 2)
                claimed.append(Deadline(SessionId(session), kind, key, int(float(flat[i + 1]))))
        return claimed

    @_guarded
    async def finish_deadline(self, deadline: Deadline) -> None:
        _, claimed, claims = self._deadline_keys(deadline.session)
        member = _member(deadline.session, deadline.kind, deadline.key)
        await self._scripts["deadline_finish"]([claimed, claims], [member, deadline.due])

    @_guarded
    async def next_due(self) -> int | None:
        firsts = await _every_bucket(
            self._client.zrange(self._keys.deadlines(shard)[0], 0, 0, withscores=True)
            for shard in range(self._keys.shards)
        )
        dues = [int(first[0][1]) for first in firsts if first]
        return min(dues, default=None)

    # Slots and leases ---------------------------------------------------------------------

    @_guarded
    async def acquire_slot(self, pool: str, holder: str, limit: int, ttl: float) -> bool:
        keys = [self._keys.key("slots", pool)]
        return bool(await self._scripts["slot_acquire"](keys, [holder, limit, int(ttl * 1000)]))

    @_guarded
    async def release_slot(self, pool: str, holder: str) -> None:
        await self._client.zrem(self._keys.key("slots", pool), holder)

    @_guarded
    async def slots_taken(self, pool: str) -> int:
        return int(await self._scripts["slots_taken"]([self._keys.key("slots", pool)], []))

    @_guarded
    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        keys = [self._lease(name)]
        return bool(await self._scripts["lease_acquire"](keys, [holder, int(ttl * 1000)]))

    @_guarded
    async def release_lease(self, name: str, holder: str) -> None:
        await self._scripts["lease_release"]([self._lease(name)], [holder])

    @_guarded
    async def tally(self, name: str, window: float, add: int = 1) -> int:
        keys = [self._keys.key("tally", name)]
        return int(await self._scripts["tally"](keys, [add, max(1, int(window * 1000))]))

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(PING_SECONDS):
                return bool(await self._client.ping())
        except (*REDIS_DOWN, redis.exceptions.RedisError):
            return False

    # Lifetime -----------------------------------------------------------------------------

    @_guarded
    async def sessions(self, limit: int) -> list[SessionId]:
        start = len(self._keys.key("s", ""))
        found: list[SessionId] = []
        match = _glob_escaped(self._keys.key("s", "")) + "*"
        async for key in self._client.scan_iter(match=match, count=1000, _type="HASH"):
            found.append(SessionId(key[start:].decode().strip("{}")))
            if len(found) >= limit:
                break
        return found

    @_guarded
    async def expire(self, session: SessionId, ttl: float) -> None:
        snapshot = await self.load(session)
        if snapshot is None:
            return
        state, log, told = self._keys.state(session)
        keys = [state, log, self._keys.table("pres", session), told]
        await self._scripts["code_free"]([self._keys.code(snapshot.table.code)], [session])
        await self._scripts["expire"](keys, [max(1, int(ttl * 1000))])

    async def close(self) -> None:
        await self._commits.close()
        await self._lane.close()
        await self._fanout.close()
        await self._client.aclose()


def _told(streaming: bytes, text: bytes, by: bytes) -> Told | None:
    """What the lane holds, as `load.lua` returns it (None when the table streams nothing)."""
    if not streaming:
        return None
    sources = cast(tuple[NarrationSource, ...], tuple(by.decode().split(",")) if by else ())
    return Told(NarrationId(streaming.decode()), text.decode(), sources)
