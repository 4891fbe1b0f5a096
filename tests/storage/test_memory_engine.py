"""What only the memory engine must show: expiries kept in a heap (a call forgets what fell
due, never looks at every table), and nothing left behind by what went away."""

from __future__ import annotations

from game.state import Table
from protocol.types import SessionId
from storage.engine import Deadline
from storage.memory import CLAIM_LIMIT, MemoryEngine


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def table(number: int) -> Table:
    return Table(SessionId(f"s_{number:06d}"), f"C{number:05d}", seed=number)


async def test_finished_tables_are_forgotten_each_when_due() -> None:
    clock = Clock()
    engine = MemoryEngine(clock=clock)
    tables = [table(n) for n in range(1, 1001)]
    for t in tables:
        await engine.create(t)
        await engine.expire(t.session, ttl=float(int(t.code[1:])))  # 1 s to 1000 s
    clock.now += 500.5
    kept = [t for t in tables if await engine.load(t.session) is not None]
    assert [int(t.code[1:]) for t in kept] == list(range(501, 1001))
    await engine.expire(kept[0].session, ttl=10_000)  # expiring again moves the expiry
    clock.now += 1000
    assert await engine.load(kept[0].session) is not None
    assert await engine.load(kept[1].session) is None


async def test_a_tally_forgotten_after_its_window_leaves_nothing_behind() -> None:
    clock = Clock()
    engine = MemoryEngine(clock=clock)
    for n in range(100):
        assert await engine.tally(f"joinfail:p:{n}", window=60) == 1
    clock.now += 61
    assert await engine.tally("joinfail:p:0", window=60) == 1
    assert len(engine._tallies) == 1  # the other 99 are gone


async def test_a_slot_pool_with_no_holder_left_is_forgotten() -> None:
    engine = MemoryEngine()
    for n in range(50):
        assert await engine.acquire_slot(f"sockets:p_{n}", "c1", 8, ttl=30)
        await engine.release_slot(f"sockets:p_{n}", "c1")
    assert engine._slots == {}


async def test_deadlines_due_together_are_handed_out_in_bounded_batches() -> None:
    engine = MemoryEngine()
    for n in range(CLAIM_LIMIT * 2 + 5):
        await engine.set_deadline(Deadline(SessionId(f"s_{n}"), "grace", "p", due=100))
    batches = [len(await engine.claim_due(200)) for _ in range(4)]
    assert batches == [CLAIM_LIMIT, CLAIM_LIMIT, 5, 0]
