"""Local fan-out: which sockets of this process follow which session.

The hub subscribes to a session in the engine while at least one local socket follows it,
and turns each committed event into one frame per codec, shared by every local socket.
There is no task per recipient: delivery never blocks; each socket writes the frame at once,
in the fan-out, or queues it behind its writer while it pushes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from functools import partial

from protocol import Frame, Logged
from protocol.events import PlayerLeft
from protocol.types import PlayerId, SessionId
from realtime.connection import NEEDS_SYNC, Connection
from storage.engine import Engine, Listener


class Hub:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local: dict[SessionId, set[Connection]] = {}
        self._listeners: dict[SessionId, Listener] = {}
        self._cleanups: set[asyncio.Task[None]] = set()

    async def follow(
        self, conn: Connection, session: SessionId, after: int = NEEDS_SYNC, restored: bool = False
    ) -> None:
        """Make `conn` receive `session`'s events after `after` (or a sync, then live events).

        The subscription is in place before the socket starts catching up, so every event is
        either in the log when the socket reads it or delivered live after."""
        if conn.session is not None and conn.session != session:
            await self.unfollow(conn)
        followers = self._local.get(session)
        if followers is None:
            followers = self._local[session] = set()
            listener = self._listeners[session] = partial(self._fan_out, session)
            await self._engine.subscribe(session, listener)
        followers.add(conn)
        conn.follow(session, after, restored)

    async def unfollow(self, conn: Connection) -> None:
        session = conn.session
        if session is None:
            return
        listener = self._forget(session, conn)
        if listener is not None:
            await self._engine.unsubscribe(session, listener)

    def _forget(self, session: SessionId, conn: Connection) -> Listener | None:
        """Stop `conn` following `session`; the session's listener if it was the last."""
        conn.unfollow()
        followers = self._local.get(session)
        if followers is None:
            return None
        followers.discard(conn)
        if followers:
            return None
        del self._local[session]
        return self._listeners.pop(session)

    def _fan_out(self, session: SessionId, events: Sequence[Logged]) -> None:
        followers = self._local.get(session)
        if not followers:
            return
        for logged in events:
            wire = logged.to_wire()
            frames: dict[str, Frame] = {}
            for conn in tuple(followers):
                frame = frames.get(conn.codec.subprotocol)
                if frame is None:
                    frame = frames[conn.codec.subprotocol] = conn.codec.encode(wire)
                conn.deliver(logged, frame)
            if isinstance(logged.event, PlayerLeft):
                self._seat_given_up(session, logged.event.player, followers)

    def _seat_given_up(
        self, session: SessionId, player: PlayerId, followers: set[Connection]
    ) -> None:
        """A player left the table: their other sockets stop following it (after seeing
        `player.left`), as the one that asked to leave already has."""
        for conn in [c for c in followers if c.player.id == player]:
            listener = self._forget(session, conn)
            if listener is not None:  # fan-out cannot await: unsubscribe in the background
                task = asyncio.create_task(self._engine.unsubscribe(session, listener))
                self._cleanups.add(task)
                task.add_done_callback(self._cleanups.discard)

    def recheck(self, session: SessionId, restored: bool) -> None:
        """Make every local follower of `session` catch up from where it is: the events it
        missed, or a `sync` (saying `restored`) when the log no longer holds them."""
        for conn in self._local.get(session, ()):
            conn.recheck(restored)

    def following(self, session: SessionId) -> list[Connection]:
        return list(self._local.get(session, ()))

    def connections(self) -> Iterator[Connection]:
        for followers in self._local.values():
            yield from followers

    def followers(self, session: SessionId) -> int:
        return len(self._local.get(session, ()))
