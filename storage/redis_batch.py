"""Calls of one Lua script made in the same event-loop tick, sent to Redis in one pipeline.

The narration lane appends a piece of text per narration per coalescing window; with hundreds
of narrations, many fall in the same tick. Each call waits for its own reply as if it were
alone, but they share one round trip and one connection checkout, written and read on the
connection directly (none of the client's per-command wrappers: they cost more than the
script). Scripts run by SHA; a Redis that lost its script cache (a restart) gets the script
again and the calls it refused are sent again (a refused call did not run, so nothing runs
twice). A script that may run twice (a commit: its second run is refused by the version
check, and its caller finds it landed) is sent again when the connection broke (`resend`).

With `replicas`, each pipeline ends with `WAIT replicas wait_ms`: the calls are answered once
that many replicas hold them, so nothing a caller acted on is lost when a replica takes over.
A script that rings a doorbell (`bell`) takes the channel as its last key; with `replicas` it
is run without it, so it rings nothing itself, and the batch rings each call's bell after the
`WAIT`: no other process hears of a write before the replica holds it either. (A bell lost
with its connection is not lost to listeners: they read the log on their next sweep.)
When the wait runs out (the replica is down, or the node is a replica promoted by a failover
and has none yet), the writes stand without it, and the node is written without waiting for
`ALONE_SECONDS` before it is asked again: a missing replica costs one wait in so many seconds,
not one a write. `unreplicated` is told how many writes stood without their replicas.

On a Cluster, the calls of a tick are split by the node that holds their keys: one pipeline
per node, sent side by side. A call a node redirects (its slot moved, a replica took over)
did not run either; it goes again through the client, which follows the redirection, and
rings its own bell (the node it lands on took over a moment ago and has no replica yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection
from redis.commands.core import AsyncScript
from redis.typing import EncodableT

from storage.redis_fanout import redis_down
from storage.redis_keys import node_of

Call = tuple[Sequence[str], Sequence[EncodableT], asyncio.Future[Any]]
ALONE_SECONDS = 5.0
"""How long a node whose replicas did not answer a `WAIT` is written without one."""
RESENDS, RESEND_BACKOFF, RESEND_BACKOFF_MAX = 3, 0.05, 0.5
"""A batch whose connection broke is sent again (when it may run twice) up to 3 times, after
0.05 s, doubling up to 0.5 s: what the Redis client does for any other command."""
Bell = Callable[[Sequence[EncodableT], Any], bytes | None]
"""The doorbell message of a call that ran, from its arguments and its reply (None: nothing
to ring)."""


class ScriptBatch:
    def __init__(
        self,
        client: Redis | RedisCluster,
        script: AsyncScript,
        replicas: int = 0,
        wait_ms: int = 100,
        unreplicated: Callable[[int], None] = lambda count: None,
        resend: bool = False,
        bell: Bell | None = None,
    ) -> None:
        self._client = client
        self._script = script
        self._bell = bell if replicas else None
        """Set when the batch rings the calls' bells itself, after the `WAIT`."""
        self._tries = RESENDS + 1 if resend else 1
        self._replicas = replicas
        self._wait = ("WAIT", replicas, wait_ms)
        self._unreplicated = unreplicated
        self._alone_until: dict[str, float] = {}
        """Nodes whose replicas did not answer, written without waiting until then."""
        self._pending: list[Call] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def __call__(self, keys: Sequence[str], args: Sequence[EncodableT]) -> Any:
        """Run the script on `keys` and `args` with the other calls of this tick."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((keys, args, future))
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.create_task(self._send_all(batch), name="redis script batch")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_all(self, batch: list[Call]) -> None:
        """Send each node its share of the batch, side by side."""
        groups: dict[str, list[Call]] = {}
        try:
            if isinstance(self._client, RedisCluster):
                await self._client.initialize()  # the slot map, on a client not used yet
            for call in batch:
                groups.setdefault(node_of(self._client, call[0][0]), []).append(call)
        except Exception as exc:
            for _, _, future in batch:
                future.set_exception(exc)
            return
        await asyncio.gather(*(self._send(node, calls) for node, calls in groups.items()))

    async def _send(self, node: str, batch: list[Call]) -> None:
        try:
            replies = await self._attempt(node, batch)
            if any(isinstance(r, redis.exceptions.NoScriptError) for r in replies):
                await self._client.script_load(self._script.script)
                refused = [c for c, r in zip(batch, replies, strict=True) if _refused(r)]
                again = iter(await self._run(node, refused))
                replies = [next(again) if _refused(r) else r for r in replies]
            for i, (call, reply) in enumerate(zip(batch, replies, strict=True)):
                if isinstance(reply, redis.exceptions.AskError):  # MOVED too
                    replies[i] = await self._script(call[0], call[1])
        except BaseException as exc:  # every caller hears of it, then the task ends
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, _, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _attempt(self, node: str, batch: list[Call]) -> list[Any]:
        """`_run`, tried again with backoff when the connection broke, for a script that may
        run twice (`resend`: a commit, whose version check refuses its second run)."""
        tried = 0
        while True:
            try:
                return await self._run(node, batch)
            except Exception as exc:
                tried += 1
                if tried == self._tries or not redis_down(exc):
                    raise
                await asyncio.sleep(min(RESEND_BACKOFF_MAX, RESEND_BACKOFF * 2 ** (tried - 1)))

    async def _run(self, node: str, batch: list[Call]) -> list[Any]:
        """Send the batch on one pooled connection to `node` in one write and read every
        reply: an error reply takes its call's place. No retry: a call whose reply was lost
        may have run, so it is not sent again; the caller hears the connection failed."""
        sha = self._script.sha
        connection, release = await self._connection(node)
        try:
            held = 1 if self._bell else 0  # the doorbell, rung below
            commands: list[tuple[EncodableT, ...]] = [
                ("EVALSHA", sha, len(keys) - held, *keys[: len(keys) - held], *args)
                for keys, args, _ in batch
            ]
            wait = self._waits(node)
            if wait:
                commands.append(wait)
            await connection.send_packed_command(connection.pack_commands(commands))
            replies: list[Any] = []
            for _ in batch:
                try:
                    replies.append(await connection.read_response())
                except redis.exceptions.ResponseError as exc:
                    replies.append(exc)
            short = bool(wait) and int(await connection.read_response()) < self._replicas
            if short:
                self._alone(node)
            if self._replicas and (short or not wait):  # what ran stood without replicas
                self._unreplicated(sum(not isinstance(r, Exception) for r in replies))
            await self._ring(connection, batch, replies)
        except BaseException:
            await connection.disconnect()  # what is left on it cannot be read in order
            raise
        finally:
            await release(connection)
        return replies

    async def _ring(self, connection: Connection, batch: list[Call], replies: list[Any]) -> None:
        """Ring the bells of the calls that ran (when the batch holds them). The calls have
        run whatever happens here: a bell the connection lost is read from the log by its
        listeners' sweep, so that failure is not the callers'."""
        if self._bell is None:
            return
        bells = [
            ("SPUBLISH", keys[-1], message)
            for (keys, args, _), reply in zip(batch, replies, strict=True)
            if not isinstance(reply, Exception) and (message := self._bell(args, reply))
        ]
        if not bells:
            return
        try:
            await connection.send_packed_command(connection.pack_commands(bells))
            for _ in bells:
                with contextlib.suppress(redis.exceptions.ResponseError):
                    await connection.read_response()
        except Exception as exc:
            if not redis_down(exc):
                raise
            await connection.disconnect()

    def _waits(self, node: str) -> tuple[EncodableT, ...]:
        """The `WAIT` that ends a pipeline to `node`; none when no replica is asked for, or
        while the node's replicas are taken for gone (`_alone`)."""
        if not self._replicas or time.monotonic() < self._alone_until.get(node, 0.0):
            return ()
        self._alone_until.pop(node, None)
        return self._wait

    def _alone(self, node: str) -> None:
        """`node`'s replicas did not answer in time (down, or none since a failover made
        the node a master): its writes go on without waiting for a while, rather than each
        wait for nothing, then it is asked again."""
        self._alone_until[node] = time.monotonic() + ALONE_SECONDS

    async def _connection(
        self, node: str
    ) -> tuple[Connection, Callable[[Connection], Awaitable[None]]]:
        """A connection to `node` from its pool, and how to give it back."""
        if isinstance(self._client, RedisCluster):
            cluster_node = self._client.get_node(node_name=node)
            if cluster_node is None:
                raise redis.exceptions.ConnectionError(f"no Redis Cluster node {node}")
            found = cluster_node.acquire_connection()

            async def back(connection: Connection) -> None:
                cluster_node.release(connection)

            return found, back
        pool = self._client.connection_pool
        return await pool.get_connection(), pool.release  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """Let the batches on their way finish (their callers wait for them)."""
        if self._sending:
            await asyncio.wait(self._sending, timeout=2)


def _refused(reply: Any) -> bool:
    return isinstance(reply, redis.exceptions.NoScriptError)
