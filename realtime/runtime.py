"""Everything a running hub process holds, created once in the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from game import commands as c
from protocol.errors import CloseCode, ProtocolError
from protocol.events import Bye
from realtime.auth import TokenSigner
from realtime.connection import Connection
from realtime.deadlines import DeadlineRunner
from realtime.dispatch import Dispatcher
from realtime.hub import Hub
from realtime.narrators import NarratorSetup
from realtime.service import SessionService
from realtime.settings import Settings
from storage.engine import Engine, EngineUnavailable
from storage.memory import MemoryEngine
from storage.postgres import PostgresRecords
from storage.records import NoRecords, Records
from storage.redis import RedisEngine

log = logging.getLogger("maratang")


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
STOP_SECONDS = 5.0


def make_engine(settings: Settings) -> Engine:
    if settings.engine == "memory":
        return MemoryEngine(history=settings.history)
    if settings.engine.startswith(REDIS_SCHEMES):
        return RedisEngine.from_url(
            settings.engine, prefix=settings.redis_prefix, history=settings.history
        )
    raise ValueError(f"unknown engine {settings.engine!r}: use memory or a redis:// URL")


def make_records(settings: Settings) -> Records:
    if not settings.database_url:
        return NoRecords()
    return PostgresRecords(
        settings.database_url, settings.snapshot_seconds, max_pending=settings.records_queue
    )


def process_name() -> str:
    """This process, as a holder of leases and presence marks."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    signer: TokenSigner
    hub: Hub
    service: SessionService
    dispatcher: Dispatcher
    deadlines: DeadlineRunner
    narration: NarratorSetup
    records: Records
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    """Background work, cancelled when the runtime stops."""
    connections: set[Connection] = field(default_factory=set)
    """Every socket past its `hello`, in a session or not."""

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings)
        hub = Hub(engine)
        deadlines = DeadlineRunner(engine, lambda deadline: service.fire(deadline))
        holder = process_name()
        narration = NarratorSetup.build(settings, engine, holder)
        records = make_records(settings)
        service = SessionService(
            engine, narration.narrator, narration.metrics, records, settings, deadlines.wake, holder
        )
        return cls(
            settings=settings,
            engine=engine,
            signer=TokenSigner(settings.secret, settings.token_ttl),
            hub=hub,
            service=service,
            dispatcher=Dispatcher(service, hub, engine, settings.presence_ttl),
            deadlines=deadlines,
            narration=narration,
            records=records,
        )

    async def start(self) -> None:
        await self.records.start()
        self.spawn(self.deadlines.run(), "deadlines")
        self.spawn(self._keep_presence(), "presence")
        self.spawn(self.narration.survey(), "llm survey")

    async def _keep_presence(self) -> None:
        """Keep this process's players marked present, and mark away the players of a
        process that died (their marks lapsed): their grace period starts."""
        ttl = self.settings.presence_ttl
        while True:
            await asyncio.sleep(ttl / 3)
            self._close_stalled()
            try:
                for conn in list(self.hub.connections()):
                    if conn.session is not None:
                        await self.engine.set_presence(conn.session, conn.player.id, conn.id, ttl)
                for session, player in await self.engine.claim_lapsed():
                    with contextlib.suppress(ProtocolError):
                        await self.service.execute(session, c.Away(player))
            except EngineUnavailable:
                log.warning("presence not refreshed: the engine is unreachable")
            except Exception:
                log.exception("presence round failed; trying again")

    def _close_stalled(self) -> None:
        """Close (resumably) the sockets that stopped taking frames: the rest go on."""
        now = asyncio.get_running_loop().time()
        for conn in list(self.connections):
            if conn.stalled(now, self.settings.send_timeout):
                log.info("closing the stalled socket of %s", conn.player.id)
                self.spawn(conn.close(CloseCode.SLOW_CONSUMER, "slow consumer, resume"), "close")

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run `work` in the background (cancelled if the runtime stops first)."""
        task = asyncio.create_task(work, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def farewell(self, retry_ms: int, timeout: float) -> None:
        """Tell every socket to reconnect in `retry_ms` (the server is going away), and give
        the `bye` frames up to `timeout` seconds to leave."""
        for conn in self.connections:
            conn.reply(Bye(reason="shutdown", retry_ms=retry_ms))
        waits = [conn.drained() for conn in self.connections]
        if waits:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), timeout)

    async def stop(self) -> None:
        """Stop the background work, the narrations and the engine, each within a bound, so
        a stuck part cannot keep the process from exiting."""
        tasks = tuple(self.tasks)
        for task in tasks:
            task.cancel()
        for step in (
            asyncio.gather(*tasks, return_exceptions=True),
            self.service.narrations.close(),
            self.narration.close(),
            self.records.flush(STOP_SECONDS - 1),
            self.records.close(),
            self.engine.close(),
        ):
            try:
                await asyncio.wait_for(step, STOP_SECONDS)
            except TimeoutError:
                log.error("a part of the server did not stop within %s s", STOP_SECONDS)
