"""`RedisEngine`: the engine for many hub processes sharing one Redis.

Every guarantee of `storage.engine.Engine` holds across processes: commits are one Lua script
(version check, table write, log append, doorbell), the log is a Redis Stream per session with
a bounded history, deadlines, presence, slots and leases are Lua scripts on shared keys, and
fan-out is `RedisFanout` (one pub/sub connection per process, the log as the truth).

Keys live under a configurable prefix; a session's keys expire after a day without commits
(a finished one sooner, see `expire`). When Redis cannot be reached, methods raise
`EngineUnavailable` within a few seconds instead of hanging. Each call is timed for the
metrics (`_guarded`, `storage.observe.observed`).
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from importlib import resources
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis
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
    Snapshot,
    VersionConflict,
    lane,
    unfolded,
)
from storage.observe import UNOBSERVED, EngineObserver, observed
from storage.redis_batch import ScriptBatch
from storage.redis_fanout import REDIS_DOWN, RedisFanout
from storage.serial import event_bytes, logged_from, table_bytes, table_from

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_HISTORY = 2000
IDLE_TTL = 24 * 3600.0
CLAIM_LIMIT = 100
POOL_SIZE = 64
"""Redis connections per process, besides its pub/sub connection."""
PING_SECONDS = 1.0
TABLE_CACHE = 10_000
"""Tables remembered per process (a table is a few hundred bytes)."""


def _guarded(
    method: Callable[Concatenate[RedisEngine, P], Awaitable[R]],
) -> Callable[Concatenate[RedisEngine, P], Coroutine[Any, Any, R]]:
    """Redis out of reach becomes `EngineUnavailable`; each call is timed (`observed`)."""

    @functools.wraps(method)
    async def guarded(self: RedisEngine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        except REDIS_DOWN as exc:
            raise EngineUnavailable(str(exc) or type(exc).__name__) from exc

    return observed(guarded)


def _glob_escaped(text: str) -> str:
    """`text` matched literally by a Redis glob pattern (`SCAN MATCH`)."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def _script(client: Redis, name: str) -> AsyncScript:
    text = resources.files("storage").joinpath(f"lua/{name}.lua").read_text(encoding="utf-8")
    return client.register_script(text)


def _member(session: str, kind: str, key: str) -> str:
    return f"{session}|{kind}|{key}"


class RedisEngine:
    def __init__(
        self,
        client: Redis,
        prefix: str = "maratang:",
        history: int = DEFAULT_HISTORY,
        idle_ttl: float = IDLE_TTL,
        sweep: float = 2.0,
        observer: EngineObserver = UNOBSERVED,
    ) -> None:
        self.observer = observer
        """Told how long each call took (`storage.observe`)."""
        self._client = client
        self._prefix = prefix
        self._history = history
        self._idle_ms = int(idle_ttl * 1000)
        self._scripts = {
            name: _script(client, name)
            for name in (
                "append",
                "commit",
                "create",
                "restore",
                "load",
                "expire",
                "presence_set",
                "presence_clear",
                "presence_lapsed",
                "deadline_set",
                "deadline_claim",
                "deadline_finish",
                "slot_acquire",
                "lease_acquire",
                "lease_release",
                "tally",
            )
        }
        self._tables: dict[SessionId, tuple[int, bytes, Table]] = {}
        """The last table seen per session: its version, its epoch (see `load.lua`), itself."""
        self._lane = ScriptBatch(client, self._scripts["append"])
        self._fanout = RedisFanout(client, self._channel, self._read_log, self._read_seqs, sweep)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisEngine:
        """An engine on a new client that gives up on an unreachable Redis within seconds.

        Commands share a bounded pool of connections; when all are busy, a command waits
        for one (up to the socket timeout) rather than failing."""
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=5,
            socket_timeout=5,
            socket_connect_timeout=2,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
            health_check_interval=10,
        )
        return cls(Redis.from_pool(pool), **options)

    # Keys ---------------------------------------------------------------------------------

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    def _state_keys(self, session: SessionId) -> list[str]:
        """The state hash, the log and the narration lane's text of a session."""
        return [self._key("s", session), self._key("log", session), self._key("told", session)]

    def _channel(self, session: SessionId) -> str:
        return self._key("ch", session)

    def _deadline_keys(self) -> list[str]:
        return [
            self._key("deadlines"),
            self._key("deadlines", "claimed"),
            self._key("deadlines", "claims"),
        ]

    # Tables and logs ----------------------------------------------------------------------

    @_guarded
    async def create(self, table: Table) -> Snapshot:
        keys = [self._key("s", table.session), self._key("code", table.code)]
        args: list[EncodableT] = [table.session, table_bytes(table), self._idle_ms]
        if not await self._scripts["create"](keys, args):
            raise CodeTaken(table.code)
        return Snapshot(table, version=1, seq=0)

    @_guarded
    async def restore(self, snapshot: Snapshot) -> bool:
        table = snapshot.table
        state, _, told_key = self._state_keys(table.session)
        keys = [state, self._key("code", table.code), told_key]
        told = lane(table, snapshot.told)
        epoch = secrets.token_hex(6).encode()
        args: list[EncodableT] = [
            table.session,
            table_bytes(table),
            snapshot.version,
            snapshot.seq,
            self._idle_ms,
            epoch,
            table.streaming or "",
            told.text if told else "",
            ",".join(told.by) if told else "",
        ]
        if not await self._scripts["restore"](keys, args):
            return False
        self._remember(table, snapshot.version, epoch)
        return True

    @_guarded
    async def find_code(self, code: str) -> SessionId | None:
        session = cast(bytes | None, await self._client.get(self._key("code", code)))
        return SessionId(session.decode()) if session else None

    @_guarded
    async def load(self, session: SessionId) -> Snapshot | None:
        known = self._tables.get(session)
        held: list[EncodableT] = [known[0], known[1]] if known else [0, b""]
        keys = [self._key("s", session), self._key("told", session)]
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
            self._channel(session),
            table.streaming or "",
            *(event_bytes(e) for e in events),
        ]
        first = int(await self._scripts["commit"](self._state_keys(session), args))
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
        self, session: SessionId, delta: NarrationDelta, source: NarrationSource
    ) -> Logged:
        args: list[EncodableT] = [
            delta.nid,
            delta.text,
            source,
            self._history,
            self._idle_ms,
            self._channel(session),
            event_bytes(delta),
        ]
        seq = int(await self._lane(self._state_keys(session), args))
        if seq == 0:
            raise NotStreaming(session, delta.nid)
        logged = Logged(session, seq, delta)
        self._fanout.hand_out(session, (logged,))
        return logged

    @_guarded
    async def events_after(self, session: SessionId, seq: int) -> Sequence[Logged] | None:
        last = await self._client.hget(self._key("s", session), "seq")
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
            await self._client.xrange(self._key("log", session), min=f"{after + 1}-0"),
        )
        return [
            logged_from(session, int(entry_id.split(b"-")[0]), fields[b"e"])
            for entry_id, fields in entries
        ]

    async def _read_seqs(self, sessions: Sequence[SessionId]) -> list[int | None]:
        async with self._client.pipeline(transaction=False) as pipe:
            for session in sessions:
                pipe.hget(self._key("s", session), "seq")
            values = await pipe.execute()
        return [int(v) if v is not None else None for v in values]

    def on_lost(self, listener: LostListener) -> None:
        self._fanout.lost = listener

    @_guarded
    async def subscribe(self, session: SessionId, listener: Listener) -> None:
        current = await self._client.hget(self._key("s", session), "seq")
        await self._fanout.subscribe(session, listener, int(current or 0))

    @observed
    async def unsubscribe(self, session: SessionId, listener: Listener) -> None:
        await self._fanout.unsubscribe(session, listener)

    # Presence -----------------------------------------------------------------------------

    @_guarded
    async def set_presence(
        self, session: SessionId, player: PlayerId, connection: str, ttl: float
    ) -> None:
        keys = [self._key("pres", session), self._key("presence")]
        args: list[EncodableT] = [session, player, connection, int(ttl * 1000), self._idle_ms]
        await self._scripts["presence_set"](keys, args)

    @_guarded
    async def clear_presence(self, session: SessionId, player: PlayerId, connection: str) -> int:
        keys = [self._key("pres", session), self._key("presence")]
        return int(await self._scripts["presence_clear"](keys, [session, player, connection]))

    @_guarded
    async def claim_lapsed(self) -> list[tuple[SessionId, PlayerId]]:
        flat = await self._scripts["presence_lapsed"](
            [self._key("presence")], [self._prefix, CLAIM_LIMIT]
        )
        return [
            (SessionId(flat[i].decode()), PlayerId(flat[i + 1].decode()))
            for i in range(0, len(flat), 2)
        ]

    # Deadlines ----------------------------------------------------------------------------

    @_guarded
    async def set_deadline(self, deadline: Deadline) -> None:
        member = _member(deadline.session, deadline.kind, deadline.key)
        await self._scripts["deadline_set"](self._deadline_keys(), [member, deadline.due])

    @_guarded
    async def cancel_deadline(self, session: SessionId, kind: str, key: str) -> None:
        member = _member(session, kind, key)
        due, claimed, claims = self._deadline_keys()
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zrem(due, member)
            pipe.zrem(claimed, member)
            pipe.hdel(claims, member)
            await pipe.execute()

    @_guarded
    async def claim_due(self, now: int, lease: int = CLAIM_LEASE_MS) -> list[Deadline]:
        flat = await self._scripts["deadline_claim"](
            self._deadline_keys(), [now, lease, CLAIM_LIMIT]
        )
        claimed = []
        for i in range(0, len(flat), 2):
            session, kind, key = flat[i].decode().split("|", 2)
            claimed.append(Deadline(SessionId(session), kind, key, int(float(flat[i + 1]))))
        return claimed

    @_guarded
    async def finish_deadline(self, deadline: Deadline) -> None:
        _, claimed, claims = self._deadline_keys()
        member = _member(deadline.session, deadline.kind, deadline.key)
        await self._scripts["deadline_finish"]([claimed, claims], [member, deadline.due])

    @_guarded
    async def next_due(self) -> int | None:
        first = await self._client.zrange(self._key("deadlines"), 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    # Slots and leases ---------------------------------------------------------------------

    @_guarded
    async def acquire_slot(self, pool: str, holder: str, limit: int, ttl: float) -> bool:
        keys = [self._key("slots", pool)]
        return bool(await self._scripts["slot_acquire"](keys, [holder, limit, int(ttl * 1000)]))

    @_guarded
    async def release_slot(self, pool: str, holder: str) -> None:
        await self._client.zrem(self._key("slots", pool), holder)

    @_guarded
    async def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        keys = [self._key("lease", name)]
        return bool(await self._scripts["lease_acquire"](keys, [holder, int(ttl * 1000)]))

    @_guarded
    async def release_lease(self, name: str, holder: str) -> None:
        await self._scripts["lease_release"]([self._key("lease", name)], [holder])

    @_guarded
    async def tally(self, name: str, window: float, add: int = 1) -> int:
        keys = [self._key("tally", name)]
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
        start = len(self._key("s", ""))
        found: list[SessionId] = []
        match = _glob_escaped(self._key("s", "")) + "*"
        async for key in self._client.scan_iter(match=match, count=1000, _type="HASH"):
            found.append(SessionId(key[start:].decode()))
            if len(found) >= limit:
                break
        return found

    @_guarded
    async def expire(self, session: SessionId, ttl: float) -> None:
        snapshot = await self.load(session)
        if snapshot is None:
            return
        state, log, told = self._state_keys(session)
        keys = [
            state,
            log,
            self._key("pres", session),
            self._key("code", snapshot.table.code),
            told,
        ]
        await self._scripts["expire"](keys, [session, max(1, int(ttl * 1000))])

    async def close(self) -> None:
        await self._lane.close()
        await self._fanout.close()
        await self._client.aclose()


def _told(streaming: bytes, text: bytes, by: bytes) -> Told | None:
    """What the lane holds, as `load.lua` returns it (None when the table streams nothing)."""
    if not streaming:
        return None
    sources = cast(tuple[NarrationSource, ...], tuple(by.decode().split(",")) if by else ())
    return Told(NarrationId(streaming.decode()), text.decode(), sources)
