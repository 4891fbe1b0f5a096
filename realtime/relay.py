"""The relay: takes the narrator's pieces and appends them to the table's narration lane.

Pieces are gathered into one `narration.delta` per coalescing window, so a fast stream does
not become one frame per token per player: the first piece after a quiet window leaves at
once, the ones that follow it within the window leave together at the window's end. The
narrator then runs in a task of its own, so a piece never waits for the next one. With the
window off, each piece leaves as it comes, straight from the narrator's loop.

The narrator names players and tells scores by placeholders (`llm.placeholders`); the relay
fills in the real names and numbers as the text goes by, holding back a placeholder split
across pieces only until it is complete. Everything after it (the lane, the end, the records)
holds the text as players read it.

Deltas go through the engine's narration lane (`Engine.append`): logged with the next `seq`
and rung out like any event, but without running the rules or rewriting the table. Only the
start and the end of a narration are rules commands; the end carries the whole text. A player
who reconnects mid-narration gets the text they missed from the log (or a sync with the text
the lane holds), then the live tail. Whatever happens to the narrator, the narration is
ended, so a table never hangs.

A narration belongs to the process that holds its lease. The holder renews the lease and
keeps pushing a watchdog timer ahead of it; if the holder dies, the watchdog falls due in
another process, which takes the lease and goes on from the text the lane holds. The lease
is named with the table's session as a hash tag (`narration_lease`), so on a Redis Cluster it
lives on the table's shard: it lapses only while that shard is away, or while its holder
stalls. The lane takes a piece only from the lease's holder, so a holder that stalled past
its lease cannot add text behind the back of the process that took over; it pauses, as when
the store is away. A holder that paused takes its lease again before it tells on (from the
text the lane holds), and stops if another process took the narration over meanwhile; it
renews its lease once more right before it ends the narration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field

from game import commands as c
from game.effects import NarrationWatch, timer_key
from game.state import Told
from llm.facts import facts_for
from llm.narrator import Narrator, Piece, overall_source
from llm.placeholders import Cast, Dropped
from protocol.errors import ProtocolError
from protocol.events import NarrationDelta
from protocol.types import NarrationId, NarrationSource, SessionId
from realtime import logs
from realtime.clock import now_ms
from realtime.metrics import Metrics
from storage.engine import (
    Deadline,
    Engine,
    EngineUnavailable,
    NotStreaming,
    NotTeller,
    narration_lease,
)

log = logging.getLogger("maratang.narration")

Execute = Callable[[SessionId, c.Command], Awaitable[object]]


async def until_answers(engine: Engine, every: float) -> None:
    """Return once the engine's store answers again, asking every `every` seconds."""
    while True:
        await asyncio.sleep(every)
        if await engine.ping():
            return


class Relay:
    """The narrations this process relays, at most one per table."""

    def __init__(
        self,
        engine: Engine,
        narrator: Narrator,
        metrics: Metrics,
        execute: Execute,
        window: float,
        holder: str,
        lease: float,
    ) -> None:
        self._engine = engine
        self._narrator = narrator
        self._metrics = metrics
        self._execute = execute
        self._window = window
        self._holder = holder
        self._lease = lease
        self._running: dict[SessionId, tuple[NarrationId, asyncio.Task[None], asyncio.Event]] = {}

    def start(self, session: SessionId, nid: NarrationId) -> None:
        """Tell narration `nid` of `session` (once: if this process tells it already, the
        running telling goes on alone)."""
        running = self._running.get(session)
        if running is not None and running[0] == nid and not running[1].done():
            return
        hurry = asyncio.Event()
        task = asyncio.create_task(
            self._run(session, nid, hurry),
            name=f"narration {nid}",
            context=logs.context_for(session),  # the table's work, not the player's who started it
        )
        self._running[session] = (nid, task, hurry)
        task.add_done_callback(lambda _: self._forget(session, nid))

    async def take_over(self, session: SessionId, nid: NarrationId) -> None:
        """The watchdog of a narration fell due: its holder may be dead. Go on with it.

        The watchdog is set again first, so that if this attempt fails too (the store is
        still away, the holder is alive after all), the narration is looked at again."""
        await self._watch(session, nid)
        running = self._running.get(session)
        if running is not None and running[0] == nid and not running[1].done():
            return  # it is ours and alive: the renewal was late
        log.info("taking over narration %s of %s", nid, session)
        self.start(session, nid)

    def telling(self, session: SessionId) -> NarrationId | None:
        """The narration of `session` this process relays now, if any."""
        running = self._running.get(session)
        return running[0] if running is not None and not running[1].done() else None

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

    # Ownership ----------------------------------------------------------------------------

    async def _run(self, session: SessionId, nid: NarrationId, hurry: asyncio.Event) -> None:
        lease = narration_lease(session, nid)
        while True:
            try:
                # Armed before anything else: should this process die from here on, the
                # watchdog falls due elsewhere and the narration is taken over.
                await self._watch(session, nid)
                if not await self._engine.acquire_lease(lease, self._holder, self._lease):
                    log.info("narration %s of %s is told by another process", nid, session)
                    return  # its watchdog is armed
                break
            except EngineUnavailable:
                await self._until_engine_answers()
        log.info("telling narration %s of %s", nid, session)
        task = asyncio.current_task()
        assert task is not None
        keeper = asyncio.create_task(self._keep(session, nid, lease, task), name=f"lease {nid}")
        try:
            while not await self._tell(session, nid, lease, hurry):
                await self._until_engine_answers()  # then go on from the text the lane holds
                if not await self._still_held(lease):
                    log.warning("narration %s of %s was taken over while paused", nid, session)
                    return  # its new teller keeps the watchdog and the lease
        finally:
            keeper.cancel()
        with contextlib.suppress(EngineUnavailable):
            await self._engine.cancel_deadline(session, *timer_key(NarrationWatch(nid)))
            await self._engine.release_lease(lease, self._holder)

    async def _still_held(self, lease: str) -> bool:
        """Whether this process still holds `lease` (renewing it), once the store answers."""
        while True:
            try:
                return await self._engine.acquire_lease(lease, self._holder, self._lease)
            except EngineUnavailable:
                await self._until_engine_answers()

    async def _until_engine_answers(self) -> None:
        """Wait for the store to answer again (a paused narration keeps its lease and its
        watchdog meanwhile, renewed by its keeper as soon as the store is back)."""
        await until_answers(self._engine, self._lease / 3)

    async def _keep(
        self, session: SessionId, nid: NarrationId, lease: str, task: asyncio.Task[None]
    ) -> None:
        """Renew the lease and push the watchdog ahead; stop the narration if it was lost.
        Each on its own: on a Cluster they live on different shards, and a lease left to
        lapse because the watchdog's shard is away would hand a narration that is still
        told to a second teller."""
        while True:
            with contextlib.suppress(EngineUnavailable):
                await self._watch(session, nid)
            await asyncio.sleep(self._lease / 3)
            with contextlib.suppress(EngineUnavailable):
                if not await self._engine.acquire_lease(lease, self._holder, self._lease):
                    log.warning("lost narration %s of %s to another process", nid, session)
                    task.cancel()
                    return

    async def _watch(self, session: SessionId, nid: NarrationId) -> None:
        due = now_ms() + int(self._lease * 1000)
        await self._engine.set_deadline(Deadline(session, *timer_key(NarrationWatch(nid)), due))

    # Telling ------------------------------------------------------------------------------

    async def _tell(
        self, session: SessionId, nid: NarrationId, lease: str, hurry: asyncio.Event
    ) -> bool:
        """Tell the narration to its end; False if it paused (the store went away, or the
        lease lapsed): it is told on, from the text the lane holds, once the store is back
        and if the lease is still to be had."""
        try:
            snapshot = await self._engine.load(session)
        except EngineUnavailable:
            return False
        narration = snapshot.table.narration if snapshot else None
        if snapshot is None or narration is None or snapshot.table.streaming != nid:
            return True
        lane = snapshot.told or Told(nid)  # `load` gives the lane of the narration it streams
        told = _Told(lane.text, lane.by)
        try:
            facts = facts_for(snapshot.table, narration)
            pieces = self._narrator.stream(facts, hurry, lane.text)
            filled = _filled(pieces, facts.cast, self._metrics.placeholder_dropped)
            await self._relay(session, nid, filled, told)
        except NotStreaming:
            pass  # the table moved on or went away: the end below says which
        except EngineUnavailable as exc:
            log.warning(
                "narration %s of %s paused: the engine is unreachable (%s)", nid, session, exc
            )
            return False
        except NotTeller:
            log.warning("narration %s of %s paused: its lease lapsed", nid, session)
            return False
        except Exception:
            log.exception("narrator failed on %s %s; ending it with what was told", session, nid)
        try:
            if not await self._engine.acquire_lease(lease, self._holder, self._lease):
                log.warning(
                    "narration %s of %s paused before its end: its lease lapsed", nid, session
                )
                return False
            await self._execute(session, c.NarrateEnd(nid, told.text, told.source, now_ms()))
            self._metrics.narration_told(told.source)
        except ProtocolError:
            pass  # the table closed or moved on meanwhile
        except EngineUnavailable:
            return False
        return True

    async def _relay(
        self, session: SessionId, nid: NarrationId, pieces: AsyncGenerator[Piece, None], told: _Told
    ) -> None:
        if self._window <= 0:
            await self._relay_each(session, nid, pieces, told)
            return
        loop = asyncio.get_running_loop()
        pending: list[Piece] = []
        arrived = asyncio.Event()

        async def produce() -> None:
            try:
                async with contextlib.aclosing(pieces):
                    async for piece in pieces:
                        told.add(piece)
                        pending.append(piece)
                        arrived.set()
            finally:
                arrived.set()

        producer = asyncio.create_task(produce(), name=f"narrator {nid}")
        flushed_at = -self._window
        try:
            while not producer.done() or pending:
                await arrived.wait()
                arrived.clear()
                wait = flushed_at + self._window - loop.time()
                if wait > 0 and not producer.done():
                    await asyncio.sleep(wait)  # the coalescing window
                await self._flush(session, nid, pending)
                flushed_at = loop.time()
            producer.result()  # the narrator's own failure, if it failed
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer

    async def _relay_each(
        self, session: SessionId, nid: NarrationId, pieces: AsyncGenerator[Piece, None], told: _Told
    ) -> None:
        """With coalescing off every piece leaves as it comes, from the narrator's own loop:
        no second task, and no wake-up of one, per piece."""
        async with contextlib.aclosing(pieces):
            async for piece in pieces:
                told.add(piece)
                await self._flush(session, nid, [piece])

    async def _flush(self, session: SessionId, nid: NarrationId, pending: list[Piece]) -> None:
        if not pending:
            return
        taken = pending[:]
        del pending[:]
        source = overall_source(p.source for p in taken)
        delta = NarrationDelta(nid=nid, text="".join(p.text for p in taken))
        await self._engine.append(session, delta, source, self._holder)


async def _filled(
    pieces: AsyncGenerator[Piece, None], cast: Cast, dropped: Dropped
) -> AsyncGenerator[Piece, None]:
    """`pieces` with their placeholders filled in."""
    filler = cast.filler(dropped)
    async with contextlib.aclosing(pieces):
        async for piece in pieces:
            if text := filler.feed(piece.text):
                yield Piece(text, piece.source)
    filler.end()


@dataclass
class _Told:
    """What has been told of a narration so far, and by whom."""

    before: str = ""
    """Text told before this process took the narration over."""
    told_by: tuple[NarrationSource, ...] = ()
    pieces: list[Piece] = field(default_factory=list)

    def add(self, piece: Piece) -> None:
        self.pieces.append(piece)

    @property
    def text(self) -> str:
        return self.before + "".join(p.text for p in self.pieces)

    @property
    def source(self) -> NarrationSource:
        return overall_source([*self.told_by, *(p.source for p in self.pieces)])
