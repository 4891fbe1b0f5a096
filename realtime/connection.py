"""One player's socket: a bounded send queue, one writer task, and a cursor into the log.

Live events arrive already encoded (the hub encodes each event once per codec and hands the
same frame to every socket). The connection keeps the `seq` of the last event it queued; an
event that does not follow it, or a queue that is full, switches the connection to catching
up from the session's log instead, so a socket never sees a gap, a repeat or a reordering,
and a slow socket costs memory in the log (shared), not in its queue.
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
from storage.engine import Engine, EngineUnavailable

log = logging.getLogger("maratang.connection")

NEEDS_SYNC = -1
RETRY_CATCH_UP = 0.5
"""Seconds between attempts to catch a socket up while the engine is unreachable."""


class SocketGone(Exception):
    """The socket closed under the writer; the receive loop will see it too."""


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        codec: Codec,
        player: PlayerView,
        engine: Engine,
        queue_limit: int,
    ) -> None:
        self.id = secrets.token_hex(8)
        self.websocket = websocket
        self.codec = codec
        self.player = player
        self.session: SessionId | None = None
        self.cursor = 0
        """The `seq` of the last event queued or sent; NEEDS_SYNC before the first sync."""
        self._restored = False
        self._engine = engine
        self._queue: deque[Frame] = deque()
        self._queue_limit = queue_limit
        self._sending_since: float | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._lagging = False
        self._seen = 0

    # Called by the hub and the dispatcher (never block) ------------------------------------

    def follow(self, session: SessionId, after: int = NEEDS_SYNC, restored: bool = False) -> None:
        """Deliver `session`'s events after `after` (a `sync` first when NEEDS_SYNC, saying
        `restored` when the table was just rebuilt from a stored snapshot)."""
        self._restored = restored
        self.session = session
        self.cursor = after
        self._seen = 0
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
        if logged.seq != self.cursor + 1 or len(self._queue) >= self._queue_limit:
            self._seen = logged.seq
            self._fall_behind()
            return
        self.cursor = logged.seq
        self._push(frame)

    def reply(self, message: Reply) -> None:
        self._push(self.codec.encode(serialize(message)))

    def _push(self, frame: Frame) -> None:
        self._queue.append(frame)
        self._idle.clear()
        self._wake.set()

    async def drained(self) -> None:
        """Returns once every queued frame has been handed to the socket."""
        await self._idle.wait()

    def _fall_behind(self) -> None:
        self._lagging = True
        self._wake.set()

    # The writer task ---------------------------------------------------------------------

    def stalled(self, now: float, timeout: float) -> bool:
        """Whether one frame has been on its way to the socket for more than `timeout` s
        (`now` on the event loop's clock)."""
        return self._sending_since is not None and now - self._sending_since > timeout

    async def run_writer(self) -> None:
        """Send queued frames, catching up from the log when behind, until the socket goes."""
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    await self._send(self._queue.popleft())
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
                self.cursor = NEEDS_SYNC
                continue
            for logged in events:
                await self._send(self.codec.encode(logged.to_wire()))
                self.cursor = logged.seq
            if not events and self._seen <= self.cursor and seen == self._seen:
                self._lagging = False

    async def _sync(self, session: SessionId) -> None:
        snapshot = await self._engine.load(session)
        if snapshot is None:
            self.unfollow()
            return
        state = table_view(snapshot.table, self.player.id, self._restored)
        self._restored = False
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
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError):
                await self.websocket.close(code=int(code), reason=reason)
