"""Runs narrations: takes the narrator's pieces and commits them to the session's log.

Pieces are gathered into one `narration.delta` per coalescing window, so a fast stream does
not become one frame per token per player. Deltas are session events like any other: a
player who reconnects mid-narration gets the text they missed from the log, then the live
tail. Whatever happens to the narrator, the narration is ended, so a table never hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from game import commands as c
from llm.facts import facts_for
from llm.narrator import Narrator, Piece, overall_source
from protocol.errors import ProtocolError
from protocol.types import NarrationId, NarrationSource, SessionId
from storage.engine import Engine

log = logging.getLogger("maratang.narration")

Execute = Callable[[SessionId, c.Command], Awaitable[object]]


def now_ms() -> int:
    return int(time.time() * 1000)


class Narrations:
    """The narrations this process is running, at most one per session."""

    def __init__(self, engine: Engine, narrator: Narrator, execute: Execute, window: float) -> None:
        self._engine = engine
        self._narrator = narrator
        self._execute = execute
        self._window = window
        self._running: dict[SessionId, tuple[NarrationId, asyncio.Task[None], asyncio.Event]] = {}

    def start(self, session: SessionId, nid: NarrationId) -> None:
        hurry = asyncio.Event()
        task = asyncio.create_task(self._run(session, nid, hurry), name=f"narration {nid}")
        self._running[session] = (nid, task, hurry)
        task.add_done_callback(lambda _: self._forget(session, nid))

    def hurry(self, session: SessionId) -> None:
        running = self._running.get(session)
        if running is not None:
            running[2].set()

    def cancel(self, session: SessionId) -> None:
        running = self._running.pop(session, None)
        if running is not None:
            running[1].cancel()

    async def close(self) -> None:
        tasks = [task for _, task, _ in self._running.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _forget(self, session: SessionId, nid: NarrationId) -> None:
        running = self._running.get(session)
        if running is not None and running[0] == nid:
            del self._running[session]

    async def _run(self, session: SessionId, nid: NarrationId, hurry: asyncio.Event) -> None:
        snapshot = await self._engine.load(session)
        narration = snapshot.table.narration if snapshot else None
        if snapshot is None or narration is None or narration.nid != nid:
            return
        told = _Told()
        try:
            pieces = self._narrator.stream(facts_for(snapshot.table, narration), hurry)
            await self._relay(session, nid, pieces, told)
        except ProtocolError:
            return  # the table closed or moved on: nothing left to tell
        except Exception:
            log.exception("narrator failed on %s %s; ending it with what was told", session, nid)
        with contextlib.suppress(ProtocolError):
            await self._execute(session, c.NarrateEnd(nid, told.text, told.source, now_ms()))

    async def _relay(
        self, session: SessionId, nid: NarrationId, pieces: AsyncIterator[Piece], told: _Told
    ) -> None:
        loop = asyncio.get_running_loop()
        pending: list[str] = []
        flushed_at = loop.time()
        async for piece in pieces:
            told.add(piece)
            pending.append(piece.text)
            if loop.time() - flushed_at >= self._window:
                await self._execute(session, c.NarrateDelta(nid, "".join(pending)))
                pending.clear()
                flushed_at = loop.time()
        if pending:
            await self._execute(session, c.NarrateDelta(nid, "".join(pending)))


@dataclass
class _Told:
    """What has been told of a narration so far, and by whom."""

    pieces: list[Piece] = field(default_factory=list)

    def add(self, piece: Piece) -> None:
        self.pieces.append(piece)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pieces)

    @property
    def source(self) -> NarrationSource:
        return overall_source(p.source for p in self.pieces)
