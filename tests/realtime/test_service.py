"""The table service in-process on `MemoryEngine`: it carries out what `game.effects`
decides (timers, narrations through the lane), with the fallback narrator."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from game import commands as c
from game.effects import GraceEnds, RecordRound, RoundDue, SetTimer, timer_key
from game.state import Table
from llm.facts import NarrationFacts
from llm.fallback import FallbackNarrator
from llm.narrator import Narrator, Piece
from protocol.events import Logged, NarrationDelta, NarrationEnd, NarrationStart
from protocol.types import NarrationId, PlayerId, PlayerView, SessionId
from realtime.clock import now_ms
from realtime.metrics import Metrics
from realtime.service import TableService
from realtime.settings import Settings
from storage.engine import Deadline, EngineUnavailable, Snapshot, narration_lease
from storage.memory import MemoryEngine
from storage.records import NoRecords
from storage.redis import RedisEngine
from tests.support.proxy import Proxy
from tests.support.redis import REDIS_URL, delete_prefix, throwaway_prefix
from tests.support.server import ROOT
from tests.support.until import until

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
    await service.close()


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


class Stalling:
    """A narrator that tells two pieces, then waits to be let go before its story ends."""

    def __init__(self) -> None:
        self.told = asyncio.Event()
        self.go = asyncio.Event()

    async def stream(
        self, facts: NarrationFacts, hurry: asyncio.Event, already: str = ""
    ) -> AsyncGenerator[Piece, None]:
        for text in ("손님이 ", "들어왔다. "):
            yield Piece(text, "llm")
        self.told.set()
        await self.go.wait()


@contextlib.asynccontextmanager
async def two_processes(narrator: Narrator) -> AsyncIterator[tuple[House, TableService]]:
    """A house whose service tells with `narrator` (as "process-a"), and a second service on
    the same store ("process-b") that tells with the fallback; leases of 0.6 s."""
    engine = MemoryEngine()
    settings = Settings(coalesce_ms=0, grace_seconds=30, narration_lease=0.6)
    first, second = (
        TableService(engine, told_by, Metrics(), NoRecords(), settings, lambda: None, holder)
        for told_by, holder in ((narrator, "process-a"), (FallbackNarrator(40), "process-b"))
    )
    try:
        yield House(engine, first), second
    finally:
        await first.close()
        await second.close()


async def taken_over(house: House, session: SessionId) -> tuple[NarrationId, Snapshot]:
    """Once the narration of `session` streams, its lease lapses as its teller ("process-a")
    stalls, and "process-b" takes it: the narration, and the table as it was taken."""
    [started] = await house.until(NarrationStart)
    assert isinstance(started.event, NarrationStart)
    nid = started.event.nid
    await house.until(NarrationDelta, 2)
    lease = narration_lease(session, nid)
    await house.engine.release_lease(lease, "process-a")
    assert await house.engine.acquire_lease(lease, "process-b", 30)
    return nid, await loaded(house.engine, session)


async def first_stopped(house: House, session: SessionId) -> None:
    async def stopped() -> bool:
        return house.service.relay.telling(session) is None

    await until(stopped, "the first teller stopping")


async def told_to_its_end_by(second: TableService, house: House, session: SessionId) -> str:
    """The second process tells the narration on from its lane to its end: the end's text,
    checked against the deltas players got."""
    snapshot = await loaded(house.engine, session)
    assert snapshot.told is not None
    await second.relay.take_over(session, snapshot.told.nid)
    [logged] = await house.until(NarrationEnd)
    end = logged.event
    assert isinstance(end, NarrationEnd)
    deltas = [e.event for e in house.events if isinstance(e.event, NarrationDelta)]
    assert "".join(d.text for d in deltas) == end.text
    assert len(end.text) > len(snapshot.told.text)  # the second teller told on
    return end.text


async def test_a_stalled_teller_adds_nothing_once_its_narration_is_taken_over() -> None:
    async with two_processes(FallbackNarrator(40)) as (house, second):
        session = await house.table(A, B)
        await house.service.execute(session, c.Start(A.id, now_ms()))
        _, taken = await taken_over(house, session)
        await first_stopped(house, session)
        assert await loaded(house.engine, session) == taken  # nothing behind the new teller
        await told_to_its_end_by(second, house, session)


async def test_a_teller_stalled_before_its_end_leaves_the_end_to_the_one_that_took_over() -> None:
    stalling = Stalling()
    async with two_processes(stalling) as (house, second):
        session = await house.table(A, B)
        await house.service.execute(session, c.Start(A.id, now_ms()))
        await stalling.told.wait()
        nid, taken = await taken_over(house, session)
        assert taken.told is not None
        assert taken.told.text == "손님이 들어왔다. "
        stalling.go.set()  # its story ends only once the lease it held was taken
        await first_stopped(house, session)
        assert (await loaded(house.engine, session)).table.streaming == nid  # not ended
        end = await told_to_its_end_by(second, house, session)
        assert end.startswith("손님이 들어왔다. ")


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


class KeptRounds(NoRecords):
    """Records that keep the resolved rounds, to see when they are written."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds: list[Table] = []

    def round_resolved(self, table: Table) -> None:
        self.rounds.append(table)


@dataclass
class Remote:
    """A service on Redis through a proxy the test controls, and the same Redis seen directly."""

    proxy: Proxy
    engine: RedisEngine
    direct: RedisEngine
    records: KeptRounds
    service: TableService


@pytest.fixture
async def remote() -> AsyncIterator[Remote]:
    redis = urlsplit(REDIS_URL)
    proxy = Proxy(redis.hostname or "127.0.0.1", redis.port or 6379)
    await proxy.start()
    prefix = throwaway_prefix()
    engine = RedisEngine.from_url(f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix)
    direct = RedisEngine.from_url(REDIS_URL, prefix=prefix)
    records = KeptRounds()
    service = TableService(
        engine, FallbackNarrator(2000), Metrics(), records, Settings(), lambda: None, "p"
    )
    yield Remote(proxy, engine, direct, records, service)
    await service.close()
    for each in (engine, direct):
        await each.close()
    await proxy.close()
    await delete_prefix(prefix)


async def first_due(engine: RedisEngine) -> int:
    """The engine's next deadline, once there is one (the service sets it in its own time)."""
    async with asyncio.timeout(10):
        while True:
            due_at = await engine.next_due()
            if due_at is not None:
                return due_at
            await asyncio.sleep(0.05)


async def test_an_effect_the_store_cannot_take_after_a_commit_is_carried_out_once_it_is_back(
    remote: Remote,
) -> None:
    """The store goes away between a commit and its effects: the local effects are done at
    once, the store's wait for it (a lost round timer would stall the table for good)."""
    table = await remote.service.create(A, None)
    after = await remote.direct.load(table.session)
    assert after is not None
    due_at = now_ms() + 60_000
    await remote.proxy.cut()
    # What `execute` does right after its commit went through:
    await remote.service._carry_out(after, [SetTimer(RoundDue(1), due_at), RecordRound()])
    assert remote.records.rounds == [after.table]  # not held up by the store
    assert await remote.direct.next_due() is None
    await remote.proxy.restore()
    assert await first_due(remote.direct) == due_at
    [deadline] = await remote.direct.claim_due(due_at)
    assert (deadline.session, deadline.kind, deadline.key) == (
        table.session,
        *timer_key(RoundDue(1)),
    )


async def away_with_its_answer_lost(remote: Remote) -> tuple[SessionId, asyncio.Task[Snapshot]]:
    """A table with B seated, and B's `away` under way: its commit has reached Redis, and
    Redis's answer is held back by the proxy."""
    session = (await remote.service.create(A, None)).session
    await remote.service.execute(session, c.Join(B.id, B.name))
    before = await remote.direct.load(session)
    assert before is not None
    commit = (ROOT / "storage" / "lua" / "commit.lua").read_bytes()
    await remote.proxy.hold_answers_to(hashlib.sha1(commit).hexdigest().encode())  # its EVALSHA
    away = asyncio.create_task(remote.service.execute(session, c.Away(B.id)))
    async with asyncio.timeout(10):
        while True:
            landed = await remote.direct.load(session)
            if landed is not None and landed.version == before.version + 1:
                return session, away
            await asyncio.sleep(0.02)


async def test_a_commit_that_landed_as_the_store_went_away_has_its_effects(
    remote: Remote,
) -> None:
    """The store took a commit and went away before answering: the caller hears it failed,
    but once the store is back the service finds the commit landed and carries it out."""
    _, away = await away_with_its_answer_lost(remote)
    await remote.proxy.cut()
    with pytest.raises(EngineUnavailable):
        await away
    assert await remote.direct.next_due() is None  # the grace timer was not set...
    await remote.proxy.restore()
    due_at = await first_due(remote.direct)  # ...until the service found its commit landed
    [deadline] = await remote.direct.claim_due(due_at)
    assert (deadline.kind, deadline.key) == timer_key(GraceEnds(B.id))


async def test_a_commit_sent_again_after_its_answer_was_lost_is_not_taken_for_a_conflict(
    remote: Remote,
) -> None:
    """The Redis client sends a commit again on a new connection when the first one broke
    before the answer came: the commit then conflicts with itself. The service sees its own
    commit landed, and carries it out before it answers."""
    session, away = await away_with_its_answer_lost(remote)
    await remote.proxy.cut()  # the connection breaks...
    await remote.proxy.restore()  # ...and the client's next try gets through
    after = await away
    seat = after.table.seat(B.id)
    assert seat is not None
    assert seat.away
    due_at = await remote.direct.next_due()
    assert due_at is not None  # set before `execute` answered
    [deadline] = await remote.direct.claim_due(due_at)
    assert (deadline.session, deadline.kind, deadline.key) == (session, *timer_key(GraceEnds(B.id)))
