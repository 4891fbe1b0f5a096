"""Fires deadlines on time: sleeps until the earliest one, or until a new one is set.

Claiming is the engine's job (each deadline is claimed once, whatever the number of
processes); this loop only decides when to ask. A deadline set elsewhere is seen within
`poll` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from realtime.clock import now_ms
from storage.engine import Deadline, Engine, EngineUnavailable

log = logging.getLogger("maratang.deadlines")


class DeadlineRunner:
    def __init__(
        self, engine: Engine, fire: Callable[[Deadline], Awaitable[None]], poll: float = 0.5
    ) -> None:
        self._engine = engine
        self._fire = fire
        self._poll = poll
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                for deadline in await self._engine.claim_due(now_ms()):
                    await self._fire(deadline)
                    await self._engine.finish_deadline(deadline)
                    await asyncio.sleep(0)  # many falling due at once never stall the rest
                self._wake.clear()
                due = await self._engine.next_due()
            except EngineUnavailable:
                log.warning("deadlines wait: the engine is unreachable")
                due = None
            except Exception:
                log.exception("deadline loop failed; retrying")
                due = None
            wait = self._poll if due is None else min(self._poll, (due - now_ms()) / 1000)
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
