"""Everything a running hub process holds, created once in the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Coroutine
from contextvars import Context
from dataclasses import dataclass, field
from typing import Any

from game import commands as c
from protocol.errors import CloseCode, ProtocolError
from protocol.events import Bye
from protocol.types import SessionId
from realtime import logs
from realtime.admission import Admission
from realtime.auth import TokenSigner
from realtime.census import TableCensus
from realtime.connection import Connection
from realtime.deadlines import DeadlineRunner
from realtime.dispatch import Dispatcher
from realtime.hub import Hub
from realtime.metrics import Metrics
from realtime.narrator_setup import NarratorSetup
from realtime.service import TableService
from realtime.settings import Settings, with_secret
from storage.engine import Engine, EngineUnavailable
from storage.memory import MemoryEngine
from storage.observe import UNOBSERVED, EngineObserver, RecordsObserver
from storage.postgres import PostgresRecords
from storage.records import NoRecords, Records
from storage.redis import RedisEngine
from storage.redis_keys import CLUSTER_SCHEMES

log = logging.getLogger("maratang")


REDIS_SCHEMES = ("redis://", "rediss://", "unix://", *CLUSTER_SCHEMES)
STOP_SECONDS = 5.0
PING_EVERY = 1.0
BYE_RETRY_MS = 1000
"""How long clients are asked to wait before reconnecting (a shutdown, a lost table)."""


def make_engine(settings: Settings, observer: EngineObserver = UNOBSERVED) -> Engine:
    if settings.engine == "memory":
        return MemoryEngine(history=settings.history, observer=observer)
    if settings.engine.startswith(REDIS_SCHEMES):
        return RedisEngine.from_url(
            settings.engine,
            prefix=settings.redis_prefix,
            replicas=settings.redis_replicas,
            replica_wait_ms=settings.redis_replica_wait_ms,
            history=settings.history,
            observer=observer,
        )
    raise ValueError("unknown engine: use memory, a redis:// URL or a redis+cluster:// URL")


def make_records(settings: Settings, observer: RecordsObserver = UNOBSERVED) -> Records:
    if not settings.database_url:
        return NoRecords()
    return PostgresRecords(
        settings.database_url,
        settings.snapshot_seconds,
        max_pending=settings.records_queue,
        retention=settings.retention_hours * 3600,
        observer=observer,
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
    service: TableService
    dispatcher: Dispatcher
    deadlines: DeadlineRunner
    narration: NarratorSetup
    records: Records
    admission: Admission
    metrics: Metrics
    census: TableCensus
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    """Background work, cancelled when the runtime stops."""
    connections: set[Connection] = field(default_factory=set)
    """Every socket past its `hello`, in a session or not."""
    recovering: set[SessionId] = field(default_factory=set)
    """Sessions whose live state is being looked at after the engine said it was lost."""
    pinged: tuple[float, bool] = (float("-inf"), True)
    """When the engine was last asked whether it answers, and what it said."""

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        if settings.env == "production" and settings.weak_admin_token:
            raise ValueError("MARATANG_ADMIN_TOKEN is too short for production")
        if settings.env == "production" and not settings.strong_secret:
            raise ValueError("MARATANG_SECRET is missing or too short for production")
        metrics = Metrics()
        engine = make_engine(settings, metrics)
        hub = Hub(engine)
        deadlines = DeadlineRunner(engine, lambda deadline: service.fire(deadline))
        holder = process_name()
        narration = NarratorSetup.build(settings, engine, holder, metrics)
        records = make_records(settings, metrics)
        service = TableService(
            engine, narration.narrator, metrics, records, settings, deadlines.wake, holder
        )
        return cls(
            settings=settings,
            engine=engine,
            signer=TokenSigner(with_secret(settings).secret, settings.token_ttl),
            hub=hub,
            service=service,
            dispatcher=Dispatcher(service, hub, engine, settings),
            deadlines=deadlines,
            narration=narration,
            records=records,
            admission=Admission(settings, engine),
            metrics=metrics,
            census=TableCensus(engine),
        )

    @property
    def engine_kind(self) -> str:
        return "memory" if self.settings.engine == "memory" else "redis"

    async def engine_answers(self) -> bool:
        """Whether the engine answers, asked at most once a second however often health is."""
        now = asyncio.get_running_loop().time()
        if now - self.pinged[0] >= PING_EVERY:
            self.pinged = (now, await self.engine.ping())
        return self.pinged[1]

    async def start(self) -> None:
        self.engine.on_lost(self._lost)
        await self.records.start()
        self.spawn(self.deadlines.run(), "deadlines")
        self.spawn(self._keep_presence(), "presence")
        self.spawn(self._watch_sockets(), "socket watchdog")
        self.spawn(self.narration.survey(), "llm survey")

    async def _keep_presence(self) -> None:
        """Keep this process's players marked present, and mark away the players of a
        process that died (their marks lapsed): their grace period starts."""
        ttl = self.settings.presence_ttl
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                for conn in list(self.hub.connections()):
                    if conn.session is not None:
                        await self.engine.set_presence(conn.session, conn.player.id, conn.id, ttl)
                await self.admission.renew(list(self.connections))
                for session, player in await self.engine.claim_lapsed():
                    with contextlib.suppress(ProtocolError):
                        await self.service.execute(session, c.Away(player))
            except EngineUnavailable:
                log.warning("presence not refreshed: the engine is unreachable")
            except Exception:
                log.exception("presence round failed; trying again")

    async def _watch_sockets(self) -> None:
        """Close (resumably, 4408) the sockets that cannot keep up: the rest go on. Each
        look also samples every socket for the metrics."""
        every = min(1.0, self.settings.send_stall_seconds / 4)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every)
            now = loop.time()
            for conn in list(self.connections):
                try:
                    why = conn.trouble(now, self.settings.send_stall_seconds)
                except Exception:  # one socket's failure never ends the watch over the rest
                    log.exception(
                        "could not look at the socket of %s", conn.player.id, extra=conn.whose
                    )
                    continue
                if why is not None:
                    self.spawn(conn.close_slow(why), "close")
            self.metrics.sample_sockets(self.connections)

    def _lost(self, session: SessionId) -> None:
        if session not in self.recovering:
            self.recovering.add(session)
            recover = self._recover(session)
            self.spawn(recover, f"recover {session}", logs.context_for(session))

    async def _recover(self, session: SessionId) -> None:
        """A followed table's live state was lost (or replaced by a restore elsewhere): bring
        it back from its snapshot when it is gone, then catch every local follower up (a
        `sync` saying `restored`, since the events they missed are gone). A table that cannot
        come back closes its followers with 1012: they resume and learn it is gone. The
        engine says it again if this fails (the database was away): it is tried again."""
        try:
            live = await self.engine.load(session) is not None
            if not live and self.records.kept:
                live = await self.service.restore(session)
            if live:
                self.hub.recheck(session, restored=True)
                return
            self.metrics.restore("gone")
            log.warning("the live state of %s is gone and cannot be restored", session)
            for conn in self.hub.following(session):
                conn.reply(Bye(reason="table lost", retry_ms=BYE_RETRY_MS))
                close = conn.close_when_drained(CloseCode.SERVICE_RESTART, "table lost")
                self.spawn(close, "close")
        except EngineUnavailable:
            log.warning("could not look at the lost table %s yet: a store is unreachable", session)
        finally:
            self.recovering.discard(session)

    def spawn(
        self, work: Coroutine[Any, Any, None], name: str, context: Context | None = None
    ) -> None:
        """Run `work` in the background (cancelled if the runtime stops first), in `context`
        when it is given (whose work it is, for the log)."""
        task = asyncio.create_task(work, name=name, context=context)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

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
            self.service.close(),
            self.narration.close(),
            self.records.flush(STOP_SECONDS - 1),
            self.records.close(),
            self.engine.close(),
        ):
            try:
                await asyncio.wait_for(step, STOP_SECONDS)
            except TimeoutError:
                log.error("a part of the server did not stop within %s s", STOP_SECONDS)
