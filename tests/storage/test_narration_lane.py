"""The narration lane (`Engine.append`), run against every engine: deltas logged beside the
table without a version check, gapless and ordered with commits, and the text they told kept
for syncs and takeovers."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace

import pytest

from game.state import NarrationState, Table, Told
from protocol.events import NarrationDelta, PlayerAway
from protocol.types import NarrationId, PlayerId, SessionId
from storage.engine import (
    Engine,
    NotStreaming,
    NotTeller,
    Snapshot,
    VersionConflict,
    folded,
    narration_lease,
    unfolded,
)
from storage.memory import MemoryEngine
from tests.storage.conftest import MakeEngine
from tests.storage.test_engine_contract import Collected

P = PlayerId("p1")
ENTRANCE = NarrationId("r1.entrance")
TASTING = NarrationId("r1.tasting")


def streaming(nid: NarrationId = ENTRANCE) -> Table:
    session = SessionId("s_" + secrets.token_hex(6))
    table = Table(session, secrets.token_hex(3).upper(), seed=1, phase="picking", round=1)
    return replace(table, narration=NarrationState(nid, "entrance", 1))


def piece(text: str, nid: NarrationId = ENTRANCE) -> NarrationDelta:
    return NarrationDelta(nid=nid, text=text)


async def telling(engine: Engine, nid: NarrationId = ENTRANCE) -> Table:
    """A table whose narration `nid` streams (version 2, seq 0)."""
    table = streaming(nid)
    await engine.create(replace(table, narration=None))
    await engine.commit(table.session, 1, table, [])
    return table


async def peer(engine: Engine, make_engine: MakeEngine) -> Engine:
    """Another process on the same store (the same engine, for the one-process engine)."""
    return engine if isinstance(engine, MemoryEngine) else await make_engine(50)


async def loaded(engine: Engine, session: SessionId) -> Snapshot:
    snapshot = await engine.load(session)
    assert snapshot is not None
    return snapshot


async def test_a_piece_is_logged_and_told_without_touching_the_table(engine: Engine) -> None:
    table = await telling(engine)
    seen = Collected()
    await engine.subscribe(table.session, seen)
    first = await engine.append(table.session, piece("손님이 "), "llm")
    second = await engine.append(table.session, piece("들어왔다"), "fallback")
    assert (first.seq, second.seq) == (1, 2)
    await seen.until(2)
    assert [e.event for e in seen.events] == [piece("손님이 "), piece("들어왔다")]
    snapshot = await loaded(engine, table.session)
    assert (snapshot.version, snapshot.seq, snapshot.table) == (2, 2, table)
    assert snapshot.told == Told(ENTRANCE, "손님이 들어왔다", ("llm", "fallback"))
    assert list(await engine.events_after(table.session, 0) or ()) == [first, second]


async def test_the_lane_refuses_a_narration_the_table_does_not_stream(engine: Engine) -> None:
    table = await telling(engine)
    with pytest.raises(NotStreaming):
        await engine.append(table.session, piece("x", TASTING), "llm")
    with pytest.raises(NotStreaming):
        await engine.append(SessionId("s_nosuch"), piece("x"), "llm")
    ended = replace(table, narration=NarrationState(ENTRANCE, "entrance", 1, "끝", "llm"))
    await engine.commit(table.session, 2, ended, [])
    with pytest.raises(NotStreaming):
        await engine.append(table.session, piece("late"), "llm")
    snapshot = await loaded(engine, table.session)
    assert (snapshot.seq, snapshot.told) == (0, None)  # it streams none
    assert await engine.events_after(table.session, 0) == ()


async def test_the_lane_takes_a_fenced_piece_only_from_the_holder_of_the_narrations_lease(
    engine: Engine,
) -> None:
    table = await telling(engine)
    lease = narration_lease(table.session, ENTRANCE)
    assert await engine.acquire_lease(lease, "teller-a", 30)
    first = await engine.append(table.session, piece("손님이 "), "llm", "teller-a")
    with pytest.raises(NotTeller):
        await engine.append(table.session, piece("끼어들기"), "llm", "teller-b")
    # a stalled teller whose lease was taken over adds nothing behind the new teller's back
    await engine.release_lease(lease, "teller-a")
    assert await engine.acquire_lease(lease, "teller-b", 30)
    with pytest.raises(NotTeller):
        await engine.append(table.session, piece("늦은 조각"), "llm", "teller-a")
    second = await engine.append(table.session, piece("들어왔다"), "fallback", "teller-b")
    assert (first.seq, second.seq) == (1, 2)
    snapshot = await loaded(engine, table.session)
    assert snapshot.told == Told(ENTRANCE, "손님이 들어왔다", ("llm", "fallback"))
    assert list(await engine.events_after(table.session, 0) or ()) == [first, second]
    await engine.release_lease(lease, "teller-b")  # a lease nobody holds fences everyone out
    with pytest.raises(NotTeller):
        await engine.append(table.session, piece("x"), "llm", "teller-b")
    with pytest.raises(NotStreaming):  # the table's own refusal comes first
        await engine.append(table.session, piece("x", TASTING), "llm", "teller-b")


async def test_a_commit_keeps_the_lane_of_the_same_narration_and_drops_another(
    engine: Engine,
) -> None:
    table = await telling(engine)
    await engine.append(table.session, piece("하나 "), "llm")
    await engine.commit(table.session, 2, replace(table, deadline=9), [PlayerAway(player=P)])
    await engine.append(table.session, piece("둘"), "llm")
    snapshot = await loaded(engine, table.session)
    assert (snapshot.version, snapshot.seq) == (3, 3)
    assert snapshot.told == Told(ENTRANCE, "하나 둘", ("llm",))
    tasting = replace(snapshot.table, narration=NarrationState(TASTING, "tasting", 1))
    await engine.commit(table.session, 3, tasting, [])
    assert (await loaded(engine, table.session)).told == Told(TASTING)
    await engine.append(table.session, piece("셋", TASTING), "fallback")
    assert (await loaded(engine, table.session)).told == Told(TASTING, "셋", ("fallback",))


async def test_appends_and_commits_from_several_processes_stay_gapless_and_ordered(
    engine: Engine, make_engine: MakeEngine
) -> None:
    other = await peer(engine, make_engine)
    table = await telling(engine)
    seen = Collected()
    await engine.subscribe(table.session, seen)

    async def narrate(on: Engine, name: str) -> None:
        for n in range(40):
            await on.append(table.session, piece(f"{name}{n},"), "llm")

    async def play(on: Engine) -> None:
        done = 0
        while done < 10:
            snapshot = await loaded(on, table.session)
            moved = replace(snapshot.table, deadline=(snapshot.table.deadline or 0) + 1)
            try:
                await on.commit(table.session, snapshot.version, moved, [PlayerAway(player=P)])
                done += 1
            except VersionConflict:
                await asyncio.sleep(0)

    await asyncio.gather(narrate(engine, "a"), narrate(other, "b"), play(engine), play(other))
    await seen.until(100)
    assert [e.seq for e in seen.events] == list(range(1, 101))
    snapshot = await loaded(other, table.session)
    assert (snapshot.version, snapshot.seq, snapshot.table.deadline) == (22, 100, 20)
    assert snapshot.told is not None
    told = "".join(e.event.text for e in seen.events if isinstance(e.event, NarrationDelta))
    assert snapshot.told.text == told
    for name in "ab":
        mine = [int(t[1:]) for t in told.split(",")[:-1] if t[0] == name]
        assert mine == list(range(40))


async def test_a_takeover_goes_on_at_the_exact_text_told(
    engine: Engine, make_engine: MakeEngine
) -> None:
    table = await telling(engine)
    for text in ("옛날 ", "옛적에 "):
        await engine.append(table.session, piece(text), "llm")
    heir = await peer(engine, make_engine)
    if heir is not engine:
        await engine.close()  # the holder dies
    snapshot = await loaded(heir, table.session)
    assert snapshot.told == Told(ENTRANCE, "옛날 옛적에 ", ("llm",))
    going_on = await heir.append(table.session, piece("손님이"), "fallback")
    assert going_on.seq == snapshot.seq + 1
    assert (await loaded(heir, table.session)).told == Told(
        ENTRANCE, "옛날 옛적에 손님이", ("llm", "fallback")
    )


async def test_a_restored_table_tells_on_from_its_stored_text(engine: Engine) -> None:
    table = streaming()
    told = Told(ENTRANCE, "저장된 이야기", ("llm",))
    stored = folded(Snapshot(table, 7, 40, told))
    assert stored.narration is not None
    assert stored.narration.text == "저장된 이야기"
    back = unfolded(stored, 7, 40)
    assert back == Snapshot(table, 7, 40, told)
    assert await engine.restore(back)
    assert (await loaded(engine, table.session)).told == told
    await engine.append(table.session, piece(" 계속"), "fallback")
    snapshot = await loaded(engine, table.session)
    assert snapshot.told == Told(ENTRANCE, "저장된 이야기 계속", ("llm", "fallback"))
    assert (snapshot.version, snapshot.seq) == (7, 41)
