"""One player's socket: a send queue bounded in bytes, one writer task, and a cursor into the
log.

Live events arrive already encoded (the hub encodes each event once per codec and hands the
same frame to every socket). The connection keeps the `seq` of the last event it queued; an
event that does not follow it, or that would fill the queue past half its bound (the rest is
kept for replies), switches the connection to catching up from the session's log instead, so
a socket never sees a gap, a repeat or a reordering, and a slow socket costs memory in the
log (shared), not in its queue.

Replies (acks, errors, pongs, `welcome`, `bye`) cannot be read again from the log: one that
would take the queue past its bound marks the socket to be closed (4408, resumable). So does
a socket that takes no byte for `send_stall_seconds` while frames wait. A close frame that
cannot leave (the client stopped reading) does not hold the socket open: the connection is
aborted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from game.view import table_view
from protocol import Codec, Frame, Logged, serialize
from protocol.errors import CloseCode
from protocol.events import Reply, Sync
from protocol.types import PlayerView, SessionId
from realtime.transport import Wire
from storage.engine import Engine, EngineUnavailable, restored_since

log = logging.getLogger("maratang.connection")

NEEDS_SYNC = -1
RETRY_CATCH_UP = 0.5
"""Seconds between attempts to catch a socket up while the engine is unreachable."""
CLOSE_SECONDS = 1.0
"""How long a close frame may wait for room in the socket before the connection is aborted."""
LINGER_SECONDS = 5.0
"""How long a closed socket may keep unsent bytes (a peer that never reads) before it is
aborted."""


def frame_size(frame: Frame) -> int:
    """Bytes `frame` takes on the wire, about: a text frame that is not ASCII is counted at
    3 bytes a character (what UTF-8 takes for Korean)."""
    if isinstance(frame, bytes) or frame.isascii():
        return len(frame)
    return 3 * len(frame)


def close_reason(text: str) -> str:
    """`text` cut to what a close frame carries (123 bytes of UTF-8), on a character edge."""
    return text.encode()[:123].decode(errors="ignore")


class SocketGone(Exception):
    """The socket closed under the writer; the receive loop will see it too."""


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        codec: Codec,
        player: PlayerView,
        engine: Engine,
        queue_bytes: int,
        address: str | None = None,
    ) -> None:
        self.id = secrets.token_hex(8)
        self.websocket = websocket
        self.codec = codec
        self.player = player
        self.address = address
        """The client's address as the per-address limits count it (None: not limited)."""
        self.session: SessionId | None = None
        self.cursor = 0
        """The `seq` of the last event queued or sent; NEEDS_SYNC before the first sync."""
        self.closing = False
        self._restored = False
        self._engine = engine
        self._wire = Wire.of(websocket.scope)
        self._queue: deque[Frame] = deque()
        self._queued = 0
        """Bytes in `_queue`."""
        self._queue_bytes = queue_bytes
        self._overflowed = False
        self._sending_since: float | None = None
        self._unsent_seen = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = asyncio.Event()
        self._synced_from: int | None = None
        """The `seq` this socket had reached when it last needed a sync (None: it had none
        of this session)."""
        self._lagging = False
        self._seen = 0

    # Called by the hub and the dispatcher (never block) ------------------------------------

    def follow(self, session: SessionId, after: int = NEEDS_SYNC, restored: bool = False) -> None:
        """Deliver `session`'s events after `after` (a `sync` first when NEEDS_SYNC, saying
        `restored` when the table was just rebuilt from a stored snapshot)."""
        self._restored = restored
        self.session = session
        self.cursor = after
        self._synced_from = None if after == NEEDS_SYNC else after
        self._seen = 0
        self._fall_behind()

    def recheck(self, restored: bool = False) -> None:
        """Catch up from the log again: the events after the cursor, or a sync (saying
        `restored`) when the log no longer holds them."""
        self._restored = restored
        self._fall_behind()

    def unfollow(self) -> None:
        self.session = None
        self._lagging = False

    def deliver(self, logged: Logged, frame: Frame) -> None:
        if logged.session != self.session:
            return
        if self._lagging:
            self._seen = max(self._seen, logged.seq)
            return
        if logged.seq <= self.cursor:
            return
        size = frame_size(frame)
        if logged.seq != self.cursor + 1 or self._queued + size > self._queue_bytes // 2:
            self._seen = logged.seq
            self._fall_behind()
            return
        self.cursor = logged.seq
        self._push(frame, size)

    @property
    def overflow(self) -> str | None:
        """Why the socket must be closed because a reply did not fit (None while all fit)."""
        return f"more than {self._queue_bytes} bytes waited for it" if self._overflowed else None

    def reply(self, message: Reply) -> None:
        """Queue a reply; past the byte bound the socket is marked to be closed instead
        (the watchdog closes it: `trouble`)."""
        frame = self.codec.encode(serialize(message))
        size = frame_size(frame)
        if self._queued + size > self._queue_bytes:
            self._overflowed = True
            return
        self._push(frame, size)

    def _push(self, frame: Frame, size: int) -> None:
        self._queue.append(frame)
        self._queued += size
        self._idle.clear()
        self._wake.set()

    async def drained(self) -> None:
        """Returns once every queued frame has been handed to the socket."""
        await self._idle.wait()

    def _fall_behind(self) -> None:
        self._lagging = True
        self._wake.set()

    # The writer task ---------------------------------------------------------------------

    def trouble(self, now: float, stall: float) -> str | None:
        """Why this socket must be closed as a slow consumer (4408), if it must: a reply did
        not fit its queue, or it took no byte for `stall` seconds while a frame waited
        (`now` on the event loop's clock). Called by the watchdog, about once a second."""
        if self.closing:
            return None
        if self.overflow is not None or self._sending_since is None:
            return self.overflow
        unsent = self._wire.unsent()
        if unsent < self._unsent_seen:  # the peer took bytes since the last look
            self._sending_since = now
        self._unsent_seen = unsent
        if now - self._sending_since > stall:
            return f"it took no byte for {stall:g} s"
        return None

    async def run_writer(self) -> None:
        """Send queued frames, catching up from the log when behind, until the socket goes."""
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    frame = self._queue.popleft()
                    self._queued -= frame_size(frame)
                    await self._send(frame)
                self._idle.set()
                if self._lagging and self.session is not None:
                    await self._catch_up_when_possible(self.session)
        except SocketGone:
            return

    async def _catch_up_when_possible(self, session: SessionId) -> None:
        try:
            await self._catch_up(session)
        except EngineUnavailable:
            await asyncio.sleep(RETRY_CATCH_UP)  # still behind: the next round tries again
            self._wake.set()

    async def _catch_up(self, session: SessionId) -> None:
        while self._lagging and self.session == session:
            if self.cursor == NEEDS_SYNC:
                await self._sync(session)
                continue
            seen = self._seen
            events = await self._engine.events_after(session, self.cursor)
            if events is None:
                self._synced_from = self.cursor
                self.cursor = NEEDS_SYNC
                continue
            for logged in events:
                await self._send(self.codec.encode(logged.to_wire()))
                self.cursor = logged.seq
            if not events and self._seen <= self.cursor and seen == self._seen:
                self._lagging = False
                self._restored = False  # caught up without a sync: nothing to say

    async def _sync(self, session: SessionId) -> None:
        snapshot = await self._engine.load(session)
        if snapshot is None:
            self.unfollow()
            return
        reached = self._synced_from
        jumped = reached is not None and restored_since(reached, snapshot.seq)
        state = table_view(snapshot.table, self.player.id, self._restored or jumped)
        self._restored = False
        self._synced_from = snapshot.seq
        await self._send(
            self.codec.encode(serialize(Sync(session=session, seq=snapshot.seq, state=state)))
        )
        self.cursor = snapshot.seq

    async def _send(self, frame: Frame) -> None:
        send = (
            self.websocket.send_bytes(frame)
            if isinstance(frame, bytes)
            else self.websocket.send_text(frame)
        )
        self._sending_since = asyncio.get_running_loop().time()
        try:
            await send
        except (WebSocketDisconnect, RuntimeError, OSError):
            raise SocketGone from None
        finally:
            self._sending_since = None

    async def close(self, code: CloseCode, reason: str = "") -> None:
        """Close the socket with `code`. When the close frame cannot leave within
        CLOSE_SECONDS, or what was sent is still unsent LINGER_SECONDS later (the peer stopped
        reading), the connection is aborted: no socket outlives its close."""
        if self.closing:
            await self._closed.wait()
            return
        self.closing = True
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                if self.websocket.application_state == WebSocketState.CONNECTED:
                    await self.websocket.close(code=int(code), reason=close_reason(reason))
        except TimeoutError:
            log.info("aborting the socket of %s: its close frame cannot leave", self.player.id)
            self._wire.abort()
        except (RuntimeError, OSError, WebSocketDisconnect):
            pass
        else:
            asyncio.get_running_loop().call_later(LINGER_SECONDS, self._abort_if_stuck)
        finally:
            self._closed.set()

    async def close_slow(self, why: str) -> None:
        """Close as a slow consumer (4408: the client resumes), saying why in the log."""
        log.info("closing the socket of %s as a slow consumer: %s", self.player.id, why)
        await self.close(CloseCode.SLOW_CONSUMER, "slow consumer, resume")

    async def close_when_drained(self, code: CloseCode, reason: str) -> None:
        """Close once the replies queued now have left (a second at most): the `error` or
        `bye` that says why goes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drained(), 1.0)
        await self.close(code, reason)

    async def wait_closed(self) -> None:
        """Returns once a close begun elsewhere is done (sent, or the connection aborted)."""
        if self.closing:
            await self._closed.wait()

    def _abort_if_stuck(self) -> None:
        if self._wire.unsent() > 0:
            log.info("aborting the socket of %s: it stopped reading", self.player.id)
            self._wire.abort()
