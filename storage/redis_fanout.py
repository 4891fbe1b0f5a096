"""Fan-out for the Redis engine: one pub/sub connection per process, and the log as the truth.

A commit rings its session's channel with the new events. This process subscribes to the
channels of the sessions its sockets follow and hands each event to the session's listeners,
in `seq` order, exactly once. The doorbell can be missed (the connection dropped, Redis
restarted): after every reconnect, and every `sweep` seconds, each followed session's last
`seq` is compared with what was handed out, and anything missing is read from the log. The
same sweep notices a session whose state vanished (Redis lost its data) or whose log no longer
holds what was missed (the table was restored elsewhere), and tells the `lost` listener.
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
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from protocol import Logged
from protocol.types import SessionId
from storage.engine import Listener, LostListener
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
    ConnectionError,
    TimeoutError,
    OSError,
)


class RedisFanout:
    def __init__(
        self,
        client: Redis,
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
        self._pubsub: PubSub | None = None
        self._changed = asyncio.Event()
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
        if self._pubsub is not None:
            with contextlib.suppress(*REDIS_DOWN):  # the reader subscribes on reconnect
                await self._pubsub.subscribe(channel)
        self._changed.set()

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
        if self._pubsub is not None:
            with contextlib.suppress(*REDIS_DOWN):
                await self._pubsub.unsubscribe(channel)

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

    # The reader task ---------------------------------------------------------------------

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
        if self._pubsub is not None:
            with contextlib.suppress(*REDIS_DOWN):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _run(self) -> None:
        backoff = 0.1
        while not self._closing:
            try:
                await self._connect()
                backoff = 0.1
                await self._listen()
            except REDIS_DOWN as exc:
                log.warning("pub/sub connection lost (%s); reconnecting", exc)
            except Exception:
                log.exception("fan-out failed; reconnecting and catching up from the log")
            if self._pubsub is not None:
                with contextlib.suppress(*REDIS_DOWN):
                    await self._pubsub.aclose()  # type: ignore[no-untyped-call]
                self._pubsub = None
            await asyncio.sleep(backoff)
            backoff = min(2.0, backoff * 2)

    async def _connect(self) -> None:
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        channels = [self._channel(s) for s in self._listeners]
        if channels:
            await self._pubsub.subscribe(*channels)
        await self._catch_up_all()  # whatever rang while nobody listened

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        swept = loop.time()
        while not self._closing:
            pubsub = self._pubsub
            if pubsub is None or not self._listeners or not pubsub.subscribed:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), self._sweep)
            else:
                message = await pubsub.get_message(timeout=self._sweep)
                if message is not None and message.get("type") == "message":
                    await self._ring(message)
            if loop.time() - swept >= self._sweep:
                await self._resubscribe()
                await self._catch_up_all()
                swept = loop.time()

    async def _resubscribe(self) -> None:
        """Subscribe to the channels a failed `subscribe` left out."""
        if self._pubsub is None:
            return
        subscribed = {c.decode() if isinstance(c, bytes) else c for c in self._pubsub.channels}
        missing = [self._channel(s) for s in self._listeners if self._channel(s) not in subscribed]
        if missing:
            await self._pubsub.subscribe(*missing)

    async def _ring(self, message: dict[str, Any]) -> None:
        session = self._sessions_by_channel.get(message["channel"])
        if session is None:
            return
        first, *payloads = msgpack.unpackb(message["data"], raw=True)
        if first + len(payloads) - 1 <= self._handed.get(session, 0):
            return  # this process committed them and handed them out already
        events = [logged_from(session, first + i, p) for i, p in enumerate(payloads)]
        if not self.hand_out(session, events):
            await self._catch_up(session)

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
        if not events and current is not None and current > handed:
            # Events were committed that the log no longer holds (the table was restored from
            # a snapshot, its numbering moved on): the listeners' sockets must sync.
            self._handed[session] = current
            self._lose(session)
            return
        if events and events[0].seq != handed + 1:
            # The log no longer reaches back: listeners see the jump and sync their sockets.
            self._handed[session] = events[0].seq - 1
        self.hand_out(session, events)

    def _lose(self, session: SessionId) -> None:
        if self.lost is not None:
            self.lost(session)
