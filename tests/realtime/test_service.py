"""The table service in-process on `MemoryEngine`: it carries out what `game.effects`
decides (timers, narrations through the lane), with the fallback narrator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from game import commands as c
from game.effects import GraceEnds, RoundDue, timer_key
from llm.fallback import FallbackNarrator
from protocol.events import Logged, NarrationDelta, NarrationEnd, NarrationStart
from protocol.types import PlayerId, PlayerView, SessionId
from realtime.clock import now_ms
from realtime.metrics import Metrics
from realtime.service import TableService
from realtime.settings import Settings
from storage.engine import Deadline, Snapshot
from storage.memory import MemoryEngine
from storage.records import NoRecords

A = PlayerView(PlayerId("u_a"), "민지")
B = PlayerView(PlayerId("u_b"), "Alex")


@dataclass
class House:
    engine: MemoryEngine
    service: TableService
    events: list[Logged] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def hear(self, logged: Sequence[Logged]) -> None:
        self.events.extend(logged)
        self.arrived.set()

    async def until(self, found: type, count: int = 1) -> list[Logged]:
        async with asyncio.timeout(10):
            while len(seen := [e for e in self.events if isinstance(e.event, found)]) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return seen

    async def table(self, *players: PlayerView) -> SessionId:
        session = (await self.service.create(players[0], None)).session
        await self.engine.subscribe(session, self.hear)
        for player in players[1:]:
            await self.service.execute(session, c.Join(player.id, player.name))
        return session


@pytest.fixture
async def house() -> AsyncIterator[House]:
    engine = MemoryEngine()
    settings = Settings(coalesce_ms=0, grace_seconds=30)
    service = TableService(
        engine,
        FallbackNarrator(2000),
        Metrics(),
        NoRecords(),
        settings,
        lambda: None,
        "this-process",
    )
    yield House(engine, service)
    await service.relay.close()


async def loaded(engine: MemoryEngine, session: SessionId) -> Snapshot:
    snapshot = await engine.load(session)
    assert snapshot is not None
    return snapshot


async def due(engine: MemoryEngine, session: SessionId, kind: str, key: str) -> int | None:
    """When the timer (kind, key) of `session` falls due, if it is set (claiming looks)."""
    claimed = await engine.claim_due(now_ms() + 10**9)
    for deadline in claimed:
        await engine.set_deadline(deadline)  # put back what was only looked at
    found = [d.due for d in claimed if (d.session, d.kind, d.key) == (session, kind, key)]
    return found[0] if found else None


async def test_a_narration_streams_through_the_lane_and_only_its_end_is_a_commit(
    house: House,
) -> None:
    session = await house.table(A, B)
    await house.service.execute(session, c.Start(A.id, now_ms()))
    version = (await loaded(house.engine, session)).version
    [logged] = await house.until(NarrationEnd)
    end = logged.event
    assert isinstance(end, NarrationEnd)
    deltas = [e.event for e in house.events if isinstance(e.event, NarrationDelta)]
    assert len(deltas) >= 2
    assert "".join(d.text for d in deltas) == end.text
    snapshot = await loaded(house.engine, session)
    assert snapshot.version == version + 1  # the end: no delta wrote the table
    assert snapshot.table.narration is not None
    assert snapshot.table.narration.text == end.text
    assert [e.seq for e in house.events] == list(range(house.events[0].seq, snapshot.seq + 1))


async def test_the_round_timer_is_set_at_the_start_and_firing_it_closes_the_round(
    house: House,
) -> None:
    session = await house.table(A, B)
    started = await house.service.execute(session, c.Start(A.id, now_ms()))
    kind, key = timer_key(RoundDue(1))
    assert await due(house.engine, session, kind, key) == started.table.deadline
    await house.service.fire(Deadline(session, kind, key, started.table.deadline or 0))
    closed = await loaded(house.engine, session)
    assert closed.table.phase == "tasting"
    assert await due(house.engine, session, kind, key) is None
    await house.until(NarrationStart, 2)  # the tasting follows the entrance


async def test_an_away_player_is_given_grace_and_seated_again_when_back(house: House) -> None:
    session = await house.table(A, B)
    await house.service.execute(session, c.Away(B.id))
    kind, key = timer_key(GraceEnds(B.id))
    grace = await due(house.engine, session, kind, key)
    assert grace is not None
    assert grace >= now_ms() + 25_000
    await house.service.execute(session, c.Back(B.id))
    assert await due(house.engine, session, kind, key) is None
    await house.service.execute(session, c.Away(B.id))
    await house.service.fire(Deadline(session, kind, key, grace))
    table = (await loaded(house.engine, session)).table
    assert [s.player for s in table.seats] == [A.id]


async def test_a_timer_of_an_unknown_kind_is_refused_without_harm(house: House) -> None:
    session = await house.table(A)
    await house.service.fire(Deadline(session, "lottery", "1", 0))
    assert (await loaded(house.engine, session)).version == 2
