"""Everything a running hub process holds, created once in the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from llm.fallback import FallbackNarrator
from protocol.events import Bye
from realtime.auth import TokenSigner
from realtime.connection import Connection
from realtime.deadlines import DeadlineRunner
from realtime.dispatch import Dispatcher
from realtime.hub import Hub
from realtime.service import SessionService
from realtime.settings import Settings
from storage.engine import Engine
from storage.memory import MemoryEngine

log = logging.getLogger("maratang")


def make_engine(settings: Settings) -> Engine:
    if settings.engine == "memory":
        return MemoryEngine(history=settings.history)
    raise ValueError(f"unknown engine {settings.engine!r} (this build knows: memory)")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    signer: TokenSigner
    hub: Hub
    service: SessionService
    dispatcher: Dispatcher
    deadlines: DeadlineRunner
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    connections: set[Connection] = field(default_factory=set)
    """Every socket past its `hello`, in a session or not."""

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings)
        hub = Hub(engine)
        deadlines = DeadlineRunner(engine, lambda deadline: service.fire(deadline))
        narrator = FallbackNarrator(settings.fallback_tps)
        service = SessionService(engine, narrator, settings, deadlines.wake)
        presence_ttl = settings.grace_seconds + 3 * settings.ping_interval
        return cls(
            settings=settings,
            engine=engine,
            signer=TokenSigner(settings.secret, settings.token_ttl),
            hub=hub,
            service=service,
            dispatcher=Dispatcher(service, hub, engine, presence_ttl),
            deadlines=deadlines,
        )

    async def start(self) -> None:
        self.tasks.append(asyncio.create_task(self.deadlines.run(), name="deadlines"))
        self.tasks.append(asyncio.create_task(self._refresh_presence(), name="presence"))

    async def _refresh_presence(self) -> None:
        """Keep this process's players marked present; a dead process's marks expire."""
        ttl = self.settings.grace_seconds + 3 * self.settings.ping_interval
        while True:
            await asyncio.sleep(self.settings.ping_interval)
            for conn in list(self.hub.connections()):
                if conn.session is not None:
                    await self.engine.set_presence(conn.session, conn.player.id, conn.id, ttl)

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
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.service.narrations.close()
        await self.engine.close()
