"""Fan-out for the Redis engine: sharded pub/sub, and the log as the truth.

A commit rings its session's shard channel (`SPUBLISH`) with the new events: on a Cluster
the bell rings only on the shard that holds the table. This process subscribes
(`SSUBSCRIBE`) to the channels of the sessions its sockets follow, with one connection and
one reader per shard it needs (one in all on a single Redis), and hands each event to the
session's listeners, in `seq` order, exactly once. The doorbell can be missed (the connection
dropped, Redis restarted, a shard failed over): after every reconnect, and every `sweep`
seconds, each followed session's last `seq` is compared with what was handed out, and anything
missing is read from the log. The same sweep notices a session whose state vanished (Redis
lost its data) or whose log no longer holds what was missed (the table was restored
elsewhere), and tells the `lost` listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgpack
import redis.exceptions
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster

from protocol import Logged
from protocol.types import SessionId
from storage.engine import Listener, LostListener
from storage.redis_keys import node_of
from storage.serial import logged_from

log = logging.getLogger("maratang.redis")

ReadLog = Callable[[SessionId, int], Awaitable[list[Logged]]]
"""The logged events after a seq that the log still holds (the oldest may be gone)."""
ReadSeqs = Callable[[Sequence[SessionId]], Awaitable[list[int | None]]]
"""Each session's last seq; None for a session whose state is gone."""
CLOSE_SECONDS = 2.0
REDIS_DOWN = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.SlotNotCoveredError,
    ConnectionError,
    TimeoutError,
    OSError,
)
"""Failures that say the store (or a shard of it, failing over) is out of reach for now."""


def redis_down(exc: BaseException) -> bool:
    """Whether `exc` says the store is out of reach: one of `REDIS_DOWN`, or the error uvloop
    raises when the client writes on a connection its node closed (a killed node), which the
    client library lets through as it is (it drops the connection first)."""
    if isinstance(exc, REDIS_DOWN):
        return True
    return isinstance(exc, RuntimeError) and "handler is closed" in str(exc)


class RedisFanout:
    def __init__(
        self,
        client: Redis | RedisCluster,
        channel: Callable[[SessionId], str],
        read_log: ReadLog,
        read_seqs: ReadSeqs,
        sweep: float,
    ) -> None:
        self._client = client
        self._channel = channel
        self._read_log = read_log
        self._read_seqs = read_seqs
        self._sweep = sweep
        self._listeners: dict[SessionId, list[Listener]] = {}
        self._handed: dict[SessionId, int] = {}
        """The last seq handed to each followed session's listeners."""
        self._sessions_by_channel: dict[bytes, SessionId] = {}
        self._shards: dict[str, Shard] = {}
        """The pub/sub connection and reader of each shard this process listens to."""
        self._connected = False
        self._broken = asyncio.Event()
        """Set by a reader that lost its connection: every shard reconnects and catches up."""
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.lost: LostListener | None = None

    async def subscribe(self, session: SessionId, listener: Listener, current: int) -> None:
        """Hand `listener` the events of `session` after `current`."""
        listeners = self._listeners.setdefault(session, [])
        listeners.append(listener)
        if len(listeners) > 1:
            return
        self._handed[session] = current
        channel = self._channel(session)
        self._sessions_by_channel[channel.encode()] = session
        self._start()
        if self._connected:
            with contextlib.suppress(*REDIS_DOWN):  # the sweep subscribes what failed here
                await self._shard_for(channel).ssubscribe(channel)

    async def unsubscribe(self, session: SessionId, listener: Listener) -> None:
        listeners = self._listeners.get(session)
        if not listeners or listener not in listeners:
            return
        listeners.remove(listener)
        if listeners:
            return
        del self._listeners[session]
        del self._handed[session]
        channel = self._channel(session)
        self._sessions_by_channel.pop(channel.encode(), None)
        shard = self._shards.get(self._shard_name(channel))
        if shard is not None:
            with contextlib.suppress(*REDIS_DOWN):
                await shard.pubsub.sunsubscribe(channel)

    def hand_out(self, session: SessionId, events: Sequence[Logged]) -> bool:
        """Give listeners the events that follow what they had; False if there is a gap
        (the events are kept back: the reader fills the gap from the log)."""
        handed = self._handed.get(session)
        if handed is None:
            return True
        fresh = [e for e in events if e.seq > handed]
        if not fresh:
            return True
        if fresh[0].seq != handed + 1:
            return False
        self._handed[session] = fresh[-1].seq
        for listener in tuple(self._listeners.get(session, ())):
            listener(fresh)
        return True

    # Shards ------------------------------------------------------------------------------

    def _shard_name(self, channel: str) -> str:
        return node_of(self._client, channel)

    def _shard_for(self, channel: str) -> Shard:
        """The shard that rings `channel`, connected and read from the first time it is
        needed."""
        name = self._shard_name(channel)
        shard = self._shards.get(name)
        if shard is None:
            shard = self._shards[name] = Shard(self._node_client(name), self)
        return shard

    def _node_client(self, name: str) -> Redis:
        if not isinstance(self._client, RedisCluster):
            return self._client
        node = self._client.get_node(node_name=name)
        assert node is not None, name
        return Redis(
            connection_pool=ConnectionPool(
                connection_class=node.connection_class, max_connections=2, **node.connection_kwargs
            )
        )

    async def _drop_shards(self) -> None:
        shards, self._shards = list(self._shards.values()), {}
        for shard in shards:
            await shard.close(own_client=shard.client is not self._client)

    # The supervisor task -----------------------------------------------------------------

    def _start(self) -> None:
        if self._task is None or self._task.done():
            # It serves every table: a context of its own, not that of the first subscriber.
            self._task = asyncio.create_task(
                self._run(), name="redis fan-out", context=contextvars.Context()
            )

    async def close(self) -> None:
        self._closing = True  # the reader stops even where a client library ate the cancel
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=CLOSE_SECONDS)
        await self._drop_shards()

    async def _run(self) -> None:
        backoff = 0.1
        while not self._closing:
            try:
                await self._connect()
                backoff = 0.1
                await self._watch()
            except Exception as exc:
                if redis_down(exc):
                    log.warning("pub/sub connection lost (%s); reconnecting", exc)
                else:
                    log.exception("fan-out failed; reconnecting and catching up from the log")
            self._connected = False
            await self._drop_shards()
            await asyncio.sleep(backoff)
            backoff = min(2.0, backoff * 2)

    async def _connect(self) -> None:
        """Learn which shard holds what (it may have failed over), subscribe every followed
        channel on its shard, and catch up whatever rang while nobody listened."""
        if isinstance(self._client, RedisCluster):
            await self._client.initialize()
            if self._broken.is_set():
                await self._client.nodes_manager.initialize()
        self._broken.clear()
        self._connected = True
        await self._resubscribe()
        await self._catch_up_all()

    async def _watch(self) -> None:
        """Every `sweep` seconds: subscribe what a failed `subscribe` left out and catch up
        from the log; at once when a reader lost its connection (it raises here)."""
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._broken.wait(), self._sweep)
            if self._broken.is_set():
                raise ConnectionError("a shard's pub/sub connection was lost")
            await self._resubscribe()
            await self._catch_up_all()

    async def _resubscribe(self) -> None:
        """Subscribe the followed channels their shard's connection does not carry (one
        `SSUBSCRIBE` each: on a Cluster, the channels of one command must share a slot)."""
        for session in list(self._listeners):
            channel = self._channel(session)
            shard = self._shard_for(channel)
            if not {channel, channel.encode()} & shard.pubsub.shard_channels.keys():
                await shard.ssubscribe(channel)

    async def ring(self, message: dict[str, Any]) -> None:
        """A doorbell a shard's reader heard."""
        session = self._sessions_by_channel.get(message["channel"])
        if session is None:
            return
        first, *payloads = msgpack.unpackb(message["data"], raw=True)
        if first + len(payloads) - 1 <= self._handed.get(session, 0):
            return  # this process committed them and handed them out already
        events = [logged_from(session, first + i, p) for i, p in enumerate(payloads)]
        if not self.hand_out(session, events):
            await self._catch_up(session)

    def broken(self) -> None:
        self._broken.set()

    async def _catch_up_all(self) -> None:
        sessions = list(self._listeners)
        if not sessions:
            return
        for session, seq in zip(sessions, await self._read_seqs(sessions), strict=True):
            handed = self._handed.get(session)
            if handed is None:
                continue  # unfollowed meanwhile
            if seq is None:
                self._lose(session)  # its state is gone: Redis lost its data
            elif seq > handed:
                await self._catch_up(session, seq)

    async def _catch_up(self, session: SessionId, current: int | None = None) -> None:
        handed = self._handed.get(session)
        if handed is None:
            return
        events = await self._read_log(session, handed)
        handed = self._handed.get(session)  # others may have handed events out meanwhile
        if handed is None:
            return
        if not events and current is not None and current > handed:
            # Events were committed that the log no longer holds (the table was restored from
            # a snapshot, its numbering moved on): the listeners' sockets must sync.
            self._handed[session] = current
            self._lose(session)
            return
        if events and events[0].seq > handed + 1:
            # The log no longer reaches back: listeners see the jump and sync their sockets.
            self._handed[session] = events[0].seq - 1
        self.hand_out(session, events)

    def _lose(self, session: SessionId) -> None:
        if self.lost is not None:
            self.lost(session)


class Shard:
    """One shard's pub/sub connection and the task reading its doorbells (started with the
    first subscription: there is nothing to read before)."""

    def __init__(self, client: Redis, fanout: RedisFanout) -> None:
        self.client = client
        self.pubsub: PubSub = client.pubsub(ignore_subscribe_messages=True)
        self._fanout = fanout
        self._task: asyncio.Task[None] | None = None
        self._first = asyncio.Lock()

    async def ssubscribe(self, *channels: str) -> None:
        # The first subscription goes alone: callers at once would each open a connection,
        # and all but one would go unread.
        first = self.pubsub.connection is None
        async with self._first if first else contextlib.nullcontext():
            await self.pubsub.ssubscribe(*channels)
        if self._task is None:
            self._task = asyncio.create_task(
                self._read(), name="redis fan-out shard", context=contextvars.Context()
            )

    async def _read(self) -> None:
        try:
            while True:
                message = await self.pubsub.get_message(timeout=CLOSE_SECONDS)
                if message is not None and message.get("type") == "smessage":
                    await self._fanout.ring(message)
        except Exception as exc:
            if redis_down(exc):
                log.warning("pub/sub connection of a shard lost (%s)", exc)
            else:
                log.exception("a shard's fan-out reader failed; catching up from the log")
            self._fanout.broken()

    async def close(self, own_client: bool) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=CLOSE_SECONDS)
        with contextlib.suppress(*REDIS_DOWN):
            await self.pubsub.aclose()  # type: ignore[no-untyped-call]
        if own_client:  # its pool too: a client made on a pool leaves the pool open
            await self.client.aclose(close_connection_pool=True)
