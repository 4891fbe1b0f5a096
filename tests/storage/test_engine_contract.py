"""The engine contract (storage/engine.py), run against every implementation."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import replace

import pytest

from game.state import Table
from protocol.events import Logged, NarrationDelta, PlayerAway
from protocol.types import NarrationId, PlayerId, SessionId
from storage.engine import CodeTaken, Deadline, Engine, Snapshot, VersionConflict
from tests.storage.conftest import MakeEngine

P = PlayerId("p1")


def new_table(code: str | None = None) -> Table:
    session = SessionId("s_" + secrets.token_hex(6))
    return Table(session, code or secrets.token_hex(3).upper(), seed=1)


def delta(text: str) -> NarrationDelta:
    return NarrationDelta(nid=NarrationId("r1.entrance"), text=text)


class Collected:
    """A listener that keeps what it is given and can be waited on."""

    def __init__(self) -> None:
        self.events: list[Logged] = []
        self._changed = asyncio.Event()

    def __call__(self, events: Sequence[Logged]) -> None:
        self.events.extend(events)
        self._changed.set()

    async def until(self, count: int, timeout: float = 5) -> None:
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()


async def created(engine: Engine) -> Table:
    table = new_table()
    await engine.create(table)
    return table


async def test_a_new_session_starts_at_version_one_with_no_events(engine: Engine) -> None:
    table = await created(engine)
    snapshot = await engine.load(table.session)
    assert snapshot is not None
    assert (snapshot.version, snapshot.seq, snapshot.table) == (1, 0, table)
    assert await engine.find_code(table.code) == table.session
    assert await engine.events_after(table.session, 0) == ()


async def test_a_join_code_names_one_live_session(engine: Engine) -> None:
    table = await created(engine)
    with pytest.raises(CodeTaken):
        await engine.create(new_table(table.code))
    assert await engine.find_code("NOSUCH") is None


async def test_commit_stores_the_table_and_numbers_events_without_gaps(engine: Engine) -> None:
    table = await created(engine)
    first = await engine.commit(table.session, 1, replace(table, round=1), [delta("a"), delta("b")])
    second = await engine.commit(table.session, 2, replace(table, round=2), [delta("c")])
    assert [e.seq for e in first + second] == [1, 2, 3]
    snapshot = await engine.load(table.session)
    assert snapshot is not None
    assert (snapshot.version, snapshot.seq, snapshot.table.round) == (3, 3, 2)


async def test_a_stale_version_is_refused_and_changes_nothing(engine: Engine) -> None:
    table = await created(engine)
    await engine.commit(table.session, 1, replace(table, round=1), [delta("a")])
    with pytest.raises(VersionConflict):
        await engine.commit(table.session, 1, replace(table, round=9), [delta("lost")])
    snapshot = await engine.load(table.session)
    assert snapshot is not None
    assert (snapshot.version, snapshot.seq, snapshot.table.round) == (2, 1, 1)
    assert [e.event for e in await engine.events_after(table.session, 0) or ()] == [delta("a")]


async def test_concurrent_committers_never_lose_or_reorder_events(engine: Engine) -> None:
    table = await created(engine)

    async def writer(name: str) -> None:
        for n in range(20):
            while True:
                snapshot = await engine.load(table.session)
                assert snapshot is not None
                try:
                    await engine.commit(
                        table.session, snapshot.version, snapshot.table, [delta(f"{name}{n}")]
                    )
                    break
                except VersionConflict:
                    continue

    seen = Collected()
    await engine.subscribe(table.session, seen)
    await asyncio.gather(*(writer(name) for name in "xyz"))
    await seen.until(60)
    assert [e.seq for e in seen.events] == list(range(1, 61))
    snapshot = await engine.load(table.session)
    assert snapshot is not None
    assert (snapshot.version, snapshot.seq) == (61, 60)
    texts = [e.event.text for e in seen.events if isinstance(e.event, NarrationDelta)]
    for name in "xyz":
        mine = [int(t[1:]) for t in texts if t[0] == name]
        assert mine == sorted(mine)


async def test_events_after_returns_exactly_the_missed_events(engine: Engine) -> None:
    table = await created(engine)
    await engine.commit(table.session, 1, table, [delta(str(n)) for n in range(5)])
    missed = await engine.events_after(table.session, 2)
    assert missed is not None
    assert [e.seq for e in missed] == [3, 4, 5]
    assert await engine.events_after(table.session, 5) == ()


async def test_history_that_no_longer_reaches_back_asks_for_a_sync(
    make_engine: MakeEngine,
) -> None:
    engine = await make_engine(10)
    table = await created(engine)
    await engine.commit(table.session, 1, table, [delta(str(n)) for n in range(25)])
    assert await engine.events_after(table.session, 3) is None
    recent = await engine.events_after(table.session, 15)
    assert recent is not None
    assert [e.seq for e in recent] == list(range(16, 26))
    assert await engine.events_after(table.session, 99) is None
    assert await engine.events_after(SessionId("s_unknown"), 0) is None


async def test_subscribers_get_every_event_after_subscribing_in_order(engine: Engine) -> None:
    table = await created(engine)
    other = await created(engine)
    await engine.commit(table.session, 1, table, [delta("before")])
    got = Collected()
    await engine.subscribe(table.session, got)
    for version in range(2, 6):
        await engine.commit(table.session, version, table, [delta(f"v{version}")])
    await engine.commit(other.session, 1, other, [delta("elsewhere")])
    await got.until(4)
    assert [e.seq for e in got.events] == [2, 3, 4, 5]
    assert all(e.session == table.session for e in got.events)
    await engine.unsubscribe(table.session, got)
    await engine.commit(table.session, 6, table, [delta("after")])
    assert [e.seq for e in got.events] == [2, 3, 4, 5]


async def test_presence_counts_a_players_live_connections(engine: Engine) -> None:
    table = await created(engine)
    await engine.set_presence(table.session, P, "c1", ttl=30)
    await engine.set_presence(table.session, P, "c2", ttl=30)
    assert await engine.clear_presence(table.session, P, "c1") == 1
    assert await engine.clear_presence(table.session, P, "c2") == 0


async def test_presence_that_is_not_refreshed_expires(engine: Engine) -> None:
    table = await created(engine)
    await engine.set_presence(table.session, P, "dead", ttl=0.05)
    await engine.set_presence(table.session, P, "live", ttl=30)
    await asyncio.sleep(0.1)  # let the first mark's time-to-live run out
    assert await engine.clear_presence(table.session, P, "live") == 0


async def test_a_lapsed_presence_is_reported_once_when_no_connection_is_left(
    engine: Engine,
) -> None:
    table = await created(engine)
    other = PlayerId("p2")
    await engine.set_presence(table.session, P, "dead", ttl=0.05)
    await engine.set_presence(table.session, other, "dead", ttl=0.05)
    await engine.set_presence(table.session, other, "live", ttl=30)
    await asyncio.sleep(0.1)  # let the dead process's marks run out
    reports = await asyncio.gather(*(engine.claim_lapsed() for _ in range(3)))
    assert sorted(r for batch in reports for r in batch) == [(table.session, P)]
    assert await engine.claim_lapsed() == []


async def test_each_due_deadline_is_claimed_exactly_once(engine: Engine) -> None:
    s = SessionId("s_deadlines")
    for n in range(30):
        await engine.set_deadline(Deadline(s, "round", str(n), due=1_000 + n))
    assert await engine.next_due() == 1_000
    claims = await asyncio.gather(*(engine.claim_due(1_015) for _ in range(4)))
    claimed = [d.key for batch in claims for d in batch]
    assert sorted(claimed, key=int) == [str(n) for n in range(16)]
    assert await engine.next_due() == 1_016
    assert await engine.claim_due(1_015) == []


async def test_a_claim_not_finished_in_its_lease_falls_due_again(engine: Engine) -> None:
    s = SessionId("s_leases")
    first = Deadline(s, "round", "1", due=1_000)
    second = Deadline(s, "round", "2", due=1_000)
    await engine.set_deadline(first)
    await engine.set_deadline(second)
    assert sorted(d.key for d in await engine.claim_due(1_000, lease=50)) == ["1", "2"]
    await engine.finish_deadline(second)
    assert await engine.claim_due(1_049, lease=50) == []
    assert await engine.claim_due(1_050, lease=50) == [first]  # its claimer died
    await engine.finish_deadline(first)
    assert await engine.claim_due(9_999) == []


async def test_moving_a_claimed_deadline_replaces_the_claim(engine: Engine) -> None:
    s = SessionId("s_renewed")
    await engine.set_deadline(Deadline(s, "narration", "r1.entrance", due=1_000))
    assert len(await engine.claim_due(1_000, lease=50)) == 1
    await engine.set_deadline(Deadline(s, "narration", "r1.entrance", due=5_000))
    assert await engine.claim_due(1_100) == []
    assert await engine.claim_due(5_000) == [Deadline(s, "narration", "r1.entrance", 5_000)]


async def test_deadlines_move_and_cancel(engine: Engine) -> None:
    s = SessionId("s_moves")
    await engine.set_deadline(Deadline(s, "round", "1", due=100))
    await engine.set_deadline(Deadline(s, "round", "1", due=500))
    await engine.set_deadline(Deadline(s, "grace", "p1", due=200))
    await engine.cancel_deadline(s, "grace", "p1")
    assert await engine.claim_due(400) == []
    assert await engine.claim_due(500) == [Deadline(s, "round", "1", 500)]
    assert await engine.next_due() is None


async def test_narration_slots_admit_up_to_the_limit(engine: Engine) -> None:
    pool = "slots-" + secrets.token_hex(3)
    assert await engine.slots_taken(pool) == 0
    assert [await engine.acquire_slot(pool, f"n{i}", 2, ttl=30) for i in range(3)] == [
        True,
        True,
        False,
    ]
    assert await engine.slots_taken(pool) == 2
    assert await engine.acquire_slot(pool, "n0", 2, ttl=30)  # renewing is not a new slot
    await engine.release_slot(pool, "n0")
    assert await engine.slots_taken(pool) == 1
    assert await engine.acquire_slot(pool, "n2", 2, ttl=30)


async def test_a_slot_whose_holder_died_frees_itself(engine: Engine) -> None:
    pool = "slots-" + secrets.token_hex(3)
    assert await engine.acquire_slot(pool, "dead", 1, ttl=0.05)
    assert not await engine.acquire_slot(pool, "next", 1, ttl=30)
    await asyncio.sleep(0.1)  # let the dead holder's time-to-live run out
    assert await engine.slots_taken(pool) == 0
    assert await engine.acquire_slot(pool, "next", 1, ttl=30)


async def test_a_lease_has_one_holder_until_it_expires_or_is_released(engine: Engine) -> None:
    name = "lease-" + secrets.token_hex(3)
    assert await engine.acquire_lease(name, "a", ttl=0.05)
    assert not await engine.acquire_lease(name, "b", ttl=30)
    assert await engine.acquire_lease(name, "a", ttl=30)  # renewal
    await engine.release_lease(name, "b")  # not b's to release
    assert not await engine.acquire_lease(name, "b", ttl=30)
    await engine.release_lease(name, "a")
    assert await engine.acquire_lease(name, "b", ttl=0.05)
    await asyncio.sleep(0.1)  # let b's time-to-live run out
    assert await engine.acquire_lease(name, "c", ttl=30)


async def test_an_expired_session_is_forgotten_and_its_code_freed(engine: Engine) -> None:
    table = await created(engine)
    await engine.commit(table.session, 1, table, [PlayerAway(player=P)])
    await engine.expire(table.session, ttl=0.05)
    assert await engine.find_code(table.code) is None
    await engine.create(new_table(table.code))  # the code can be used again
    await asyncio.sleep(0.1)  # let the session's time-to-live run out
    assert await engine.load(table.session) is None
    assert await engine.events_after(table.session, 0) is None


async def test_a_lost_session_is_restored_at_its_version_and_seq_once(engine: Engine) -> None:
    table = replace(new_table(), round=3)
    assert await engine.restore(Snapshot(table, version=7, seq=40))
    assert not await engine.restore(Snapshot(replace(table, round=1), version=2, seq=5))
    snapshot = await engine.load(table.session)
    assert snapshot is not None
    assert (snapshot.version, snapshot.seq, snapshot.table) == (7, 40, table)
    assert await engine.find_code(table.code) == table.session
    assert await engine.events_after(table.session, 39) is None  # the old log is gone: sync
    logged = await engine.commit(table.session, 7, table, [delta("again")])
    assert [e.seq for e in logged] == [41]  # numbering goes on from the snapshot


async def test_a_restore_never_overwrites_a_live_session(engine: Engine) -> None:
    table = await created(engine)
    await engine.commit(table.session, 1, replace(table, round=1), [delta("a")])
    assert not await engine.restore(Snapshot(table, version=1, seq=0))
    snapshot = await engine.load(table.session)
    assert snapshot is not None
    assert (snapshot.version, snapshot.table.round) == (2, 1)


async def test_a_tally_counts_within_its_window_then_starts_again(engine: Engine) -> None:
    name = "tally-" + secrets.token_hex(3)
    assert await engine.tally(name, window=0.2, add=0) == 0  # a read starts no window
    assert [await engine.tally(name, window=0.2) for _ in range(3)] == [1, 2, 3]
    assert await engine.tally(name, window=0.2, add=0) == 3  # reading adds nothing
    assert await engine.tally(name + "-other", window=0.2) == 1
    await asyncio.sleep(0.3)  # let the window run out
    assert await engine.tally(name, window=0.2, add=0) == 0
    assert await engine.tally(name, window=0.2) == 1


async def test_a_live_store_answers_a_ping(engine: Engine) -> None:
    assert await engine.ping() is True


async def test_sessions_lists_the_live_sessions_up_to_a_limit(engine: Engine) -> None:
    tables = [await created(engine) for _ in range(3)]
    gone = await created(engine)
    await engine.expire(gone.session, ttl=0.05)
    await asyncio.sleep(0.1)  # let the finished session's time-to-live run out
    assert sorted(await engine.sessions(10)) == sorted(t.session for t in tables)
    assert len(await engine.sessions(2)) == 2
