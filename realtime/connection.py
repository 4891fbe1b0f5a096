"""One player's socket: its way out (`realtime.outbox`: frames written at once while the socket
takes them, a byte-bounded queue and a writer task only while it pushes back) and a cursor
into the log.

Live events arrive already encoded (the hub encodes each event once per codec and hands the
same frame to every socket). The connection keeps the `seq` of the last event it sent or
queued; an event that does not follow it, or that would fill the queue past half its bound
(the rest is kept for replies), switches the connection to catching up from the session's log
instead, so a socket never sees a gap, a repeat or a reordering, and a slow socket costs
memory in the log (shared), not in its queue. Catching up awaits the engine: it runs in the
writer task, which exists only while the socket lags (or pushes back).

Replies (acks, errors, pongs, `welcome`, `bye`) cannot be read again from the log: one that
would take the queue past its bound marks the socket to be closed (4408, resumable). So does
a socket that takes no byte for `send_stall_seconds` while frames wait.
"""

from __future__ import annotations

import asyncio
import secrets

from starlette.websockets import WebSocket

from game.view import table_view
from protocol import Codec, Frame, Logged, serialize
from protocol.events import Reply, Sync
from protocol.types import PlayerView, SessionId
from realtime.outbox import Outbox, frame_size
from storage.engine import Engine, EngineUnavailable, restored_since

NEEDS_SYNC = -1
RETRY_CATCH_UP = 0.5
"""Seconds between attempts to catch a socket up while the engine is unreachable."""
LIVE_SHARE = 0.5
"""The share of the byte bound live events may fill; past it they are read from the log."""


class Connection(Outbox):
    __slots__ = (
        "_engine",
        "_lagging",
        "_restored",
        "_seen",
        "_synced_from",
        "address",
        "codec",
        "cursor",
        "id",
        "player",
        "session",
    )

    def __init__(
        self,
        websocket: WebSocket,
        codec: Codec,
        player: PlayerView,
        engine: Engine,
        queue_bytes: int,
        address: str | None = None,
    ) -> None:
        super().__init__(websocket, queue_bytes, player.id)
        self.id = secrets.token_hex(8)
        self.codec = codec
        self.player = player
        self.address = address
        """The client's address as the per-address limits count it (None: not limited)."""
        self.session: SessionId | None = None
        self.cursor = 0
        """The `seq` of the last event sent or queued; NEEDS_SYNC before the first sync."""
        self._restored = False
        self._engine = engine
        self._synced_from: int | None = None
        """The `seq` this socket had reached when it last needed a sync (None: it had none
        of this session)."""
        self._lagging = False
        self._seen = 0

    @property
    def whose(self) -> dict[str, str | None]:
        return {"session": self.session, "player": self.player.id}

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
        """Send a live event of the followed session: at once when the socket takes it."""
        if logged.session != self.session:
            return
        if self._lagging:
            self._seen = max(self._seen, logged.seq)
            return
        if logged.seq <= self.cursor:
            return
        size = frame_size(frame)
        if logged.seq != self.cursor + 1 or not self._fits(size, LIVE_SHARE):
            self._seen = logged.seq
            self._fall_behind()
            return
        self.cursor = logged.seq
        self._push(frame, size)

    def reply(self, message: Reply) -> None:
        """Send a reply; past the byte bound the socket is marked to be closed instead
        (the watchdog closes it: `trouble`)."""
        frame = self.codec.encode(serialize(message))
        size = frame_size(frame)
        if not self._fits(size):
            self._mark_broken(f"more than {self._queue_bytes} bytes waited for it")
            return
        self._push(frame, size)

    @property
    def catching_up(self) -> bool:
        """Whether the socket reads its session's events from the log (it fell behind)."""
        return self._lagging

    def _fall_behind(self) -> None:
        self._lagging = True
        self._ensure_writer()

    # Catching up from the log (in the writer task) ----------------------------------------

    def _behind(self) -> bool:
        return self._lagging and self.session is not None

    async def _work_behind(self) -> None:
        session = self.session
        if session is None:
            return
        try:
            await self._catch_up(session)
        except EngineUnavailable:
            await asyncio.sleep(RETRY_CATCH_UP)  # still behind: the writer tries again

    async def _catch_up(self, session: SessionId) -> None:
        while self._lagging and self.session == session and not self.closing:
            await self._drain()  # replies that came meanwhile go first
            if self.cursor == NEEDS_SYNC:
                await self._sync(session)
            else:
                await self._read_on(session)

    async def _read_on(self, session: SessionId) -> None:
        """Send the logged events after the cursor (or ask for a sync when the log no longer
        holds them); once none is left and none came live meanwhile, the socket is current."""
        cursor, seen = self.cursor, self._seen
        events = await self._engine.events_after(session, cursor)
        if self._moved(session, cursor):
            return  # followed anew meanwhile: read from where it stands now
        if events is None:
            self._synced_from = cursor
            self.cursor = NEEDS_SYNC
            return
        for logged in events:
            await self._send(self.codec.encode(logged.to_wire()))
            if self._moved(session, cursor):
                return
            self.cursor = cursor = logged.seq
        if not events and self._seen <= cursor and seen == self._seen:
            self._lagging = False
            self._restored = False  # caught up without a sync: nothing to say

    def _moved(self, session: SessionId, cursor: int) -> bool:
        """Whether the socket was made to follow anew since it stood at `cursor` of
        `session`."""
        return self.session != session or self.cursor != cursor

    async def _sync(self, session: SessionId) -> None:
        snapshot = await self._engine.load(session)
        if self._moved(session, NEEDS_SYNC):
            return
        if snapshot is None:
            self.unfollow()
            return
        reached = self._synced_from
        jumped = reached is not None and restored_since(reached, snapshot.seq)
        restored = self._restored or jumped
        state = table_view(snapshot.table, self.player.id, restored, snapshot.told)
        self._restored = False
        self._synced_from = snapshot.seq
        await self._send(
            self.codec.encode(serialize(Sync(session=session, seq=snapshot.seq, state=state)))
        )
        self.cursor = snapshot.seq
