"""What each client command does, for one connected player."""

from __future__ import annotations

import contextlib

from game import commands as c
from protocol.errors import CloseCode, ErrorCode, ProtocolError, invalid
from protocol.events import Ack, Pong
from protocol.messages import (
    BowlSubmit,
    ClientMessage,
    GameStart,
    Hello,
    Ping,
    SessionCreate,
    SessionJoin,
    SessionLeave,
    SessionSettings,
)
from protocol.types import SessionId
from realtime.clock import now_ms
from realtime.connection import Connection
from realtime.hub import Hub
from realtime.service import TableService
from realtime.settings import Settings
from storage.engine import Engine, EngineUnavailable

MINUTE = 60.0


class Dispatcher:
    def __init__(self, service: TableService, hub: Hub, engine: Engine, settings: Settings) -> None:
        self._service = service
        self._hub = hub
        self._engine = engine
        self._settings = settings

    async def handle(self, conn: Connection, message: ClientMessage) -> None:
        """Carry out one command; its `ack` (or `pong`) is queued on `conn`.

        Raises `ProtocolError` for the caller to turn into an `error` frame."""
        match message:
            case Ping(ts=ts, rid=rid):
                conn.reply(Pong(ts=ts, server_time=now_ms(), rid=rid))
            case SessionCreate(settings=settings, rid=rid):
                await self._may_create(conn)
                await self.leave(conn)
                table = await self._service.create(conn.player, settings)
                conn.reply(Ack(rid=rid, session=table.session, code=table.code))
                await self.seat(conn, table.session)
            case SessionJoin(code=code, rid=rid):
                session = await self._find(conn, code)
                await self._service.execute(session, c.Join(conn.player.id, conn.player.name))
                if conn.session != session:
                    await self.leave(conn)  # only once the new seat is certain
                await self.seat(conn, session, ack=Ack(rid=rid, session=session, code=code))
            case SessionLeave(rid=rid):
                self._require_session(conn)
                await self.leave(conn)
                conn.reply(Ack(rid=rid))
            case Hello():
                raise invalid("t", "hello is only the first frame")
            case _:
                session = self._require_session(conn)
                await self._service.execute(session, self._command(conn, message))
                conn.reply(Ack(rid=message.rid))

    def _command(self, conn: Connection, message: ClientMessage) -> c.Command:
        player = conn.player.id
        match message:
            case SessionSettings(rounds=rounds, seconds=seconds, lang=lang):
                return c.ChangeSettings(player, rounds, seconds, lang)
            case GameStart():
                return c.Start(player, now_ms())
            case BowlSubmit(round=number):
                return c.Submit(player, number, message.bowl(), now_ms())
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"{message.T} is not a table command")

    async def _may_create(self, conn: Connection) -> None:
        limit = self._settings.player_tables_per_minute
        if await self._engine.tally(f"tables:{conn.player.id}", MINUTE) > limit:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, f"a player may open {limit} tables a minute: wait a little"
            )

    async def _find(self, conn: Connection, code: str) -> SessionId:
        """The session `code` names. A code that names none is a strike against the player
        and the address; past either limit the socket is closed (4429), and while the count
        lasts no code is looked up for them: guessing codes gets nowhere."""
        counters = [
            (f"joinfail:p:{conn.player.id}", self._settings.player_join_failures_per_minute)
        ]
        if conn.address is not None:
            counters.append(
                (f"joinfail:a:{conn.address}", self._settings.address_join_failures_per_minute)
            )
        if await self._over(counters, add=0):
            raise _guessing()
        try:
            return await self._service.find(code)
        except ProtocolError as exc:
            if exc.code is ErrorCode.SESSION_NOT_FOUND and await self._over(counters, add=1):
                raise _guessing() from None
            raise

    async def _over(self, counters: list[tuple[str, int]], add: int) -> bool:
        over = False
        for name, limit in counters:
            over |= await self._engine.tally(name, MINUTE, add) > limit
        return over

    @staticmethod
    def _require_session(conn: Connection) -> SessionId:
        if conn.session is None:
            raise ProtocolError(ErrorCode.NOT_IN_SESSION, "create or join a table first")
        return conn.session

    async def seat(
        self,
        conn: Connection,
        session: SessionId,
        after: int = -1,
        restored: bool = False,
        ack: Ack | None = None,
    ) -> None:
        """Follow `session` on this socket (the `ack` of the join that seated the player,
        then a sync, or the events after `after`).

        The player is marked present before a join's ack and any sync: should this process
        die from then on, the mark lapses and another process marks them away. (A create is
        acknowledged first: a client told `busy` for a table it got would make another.)"""
        await self._engine.set_presence(
            session, conn.player.id, conn.id, self._settings.presence_ttl
        )
        if ack is not None:
            conn.reply(ack)
        await self._hub.follow(conn, session, after, restored)

    async def resume(
        self, conn: Connection, session: SessionId, seq: int, restored: bool = False
    ) -> None:
        """A player back after a dropped socket: the events after `seq` (a sync when the table
        was just `restored` from a snapshot), and back at the table."""
        await self.seat(conn, session, after=-1 if restored else seq, restored=restored)
        with contextlib.suppress(ProtocolError):  # the seat was given up meanwhile
            await self._service.execute(session, c.Back(conn.player.id))

    async def leave(self, conn: Connection) -> None:
        """Give up the seat this socket holds, if any."""
        session = conn.session
        if session is None:
            return
        await self._hub.unfollow(conn)
        await self._engine.clear_presence(session, conn.player.id, conn.id)
        try:
            await self._service.execute(session, c.Leave(conn.player.id))
        except ProtocolError as exc:
            if exc.code not in (ErrorCode.NOT_IN_SESSION, ErrorCode.SESSION_NOT_FOUND):
                raise

    async def drop(self, conn: Connection) -> None:
        """The socket is gone: the player is away unless another socket of theirs remains."""
        session = conn.session
        if session is None:
            return
        await self._hub.unfollow(conn)
        try:
            remaining = await self._engine.clear_presence(session, conn.player.id, conn.id)
            if remaining == 0:
                with contextlib.suppress(ProtocolError):  # the table is gone, or they left
                    await self._service.execute(session, c.Away(conn.player.id))
        except EngineUnavailable:
            pass  # the mark lapses on its own, and the player is marked away then


def _guessing() -> ProtocolError:
    return ProtocolError(
        ErrorCode.RATE_LIMITED,
        "too many join codes that name no table: try again in a minute",
        close=CloseCode.ABUSE,
    )
