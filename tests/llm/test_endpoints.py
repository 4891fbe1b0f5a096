"""Two hubs' `Endpoints` on one memory engine: the choice counts every hub's narrations, one
hub's breaker stops the other, one probe after the cooldown decides for both, and an engine
that is away leaves each hub on its own, as before the hubs shared anything."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from llm.breaker import Breaker, State
from llm.endpoints import Endpoint, Endpoints
from llm.http_client import HTTPClient
from llm.shared import SharedBreakers, slots_pool
from realtime.metrics import Metrics
from realtime.narrator_setup import EngineShared
from storage.memory import MemoryEngine
from tests.llm.away import AwayEngine
from tests.llm.scripted import Reply, Request, answer, scripted
from tests.support.metrics import value

COOLDOWN = 10.0
Store = MemoryEngine | EngineShared
"""What the hubs share: an engine as it is, or as the narrator sees it (`EngineShared`)."""


class Clock:
    """The time of the hubs and of the engine alike, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Health:
    """A model server's `/health`, counting the probes."""

    status: int = 200
    probes: int = 0

    def __call__(self, request: Request) -> Reply:
        assert request.path == "/health"
        self.probes += 1
        return answer(self.status)


@dataclass
class Hub:
    """One hub's endpoints and metrics."""

    endpoints: Endpoints
    metrics: Metrics

    def endpoint(self, n: int = 0) -> Endpoint:
        return self.endpoints.all[n]

    def blocking(self, n: int = 0) -> float:
        address = self.endpoint(n).address
        return value(self.metrics, "maratang_llm_breaker_open", endpoint=address)

    async def ready(self) -> list[str]:
        """The bases of the endpoints it would try, in order."""
        return [choice.endpoint.base for choice in await self.endpoints.ready()]

    async def probed(self) -> None:
        """Once the probes it started are over."""
        await asyncio.gather(*self.endpoints.probes)


def hub(client: HTTPClient, bases: list[str], store: Store, clock: Clock, n: int) -> Hub:
    metrics = Metrics()
    found = [Endpoint(base, Breaker(failures=2, cooldown=COOLDOWN)) for base in bases]
    shared = SharedBreakers(store, f"hub-{n}")
    return Hub(Endpoints(client, found, clock, metrics, shared), metrics)


@contextlib.asynccontextmanager
async def two_hubs(
    health: Health, store: Store | None = None, clock: Clock | None = None
) -> AsyncIterator[tuple[Hub, Hub, Clock]]:
    """Two hubs of one model server (and a second, `http://127.0.0.1:9`, never asked), on
    `store` (a memory engine on their clock by default)."""
    clock = Clock() if clock is None else clock
    shared = MemoryEngine(clock=clock) if store is None else store
    async with scripted(health) as server:
        client = HTTPClient()
        bases = [server.base_url, "http://127.0.0.1:9"]
        hubs = hub(client, bases, shared, clock, 1), hub(client, bases, shared, clock, 2)
        try:
            yield *hubs, clock
        finally:
            for each in hubs:
                await each.endpoints.close()
            await client.aclose()


async def opened_by_the_first(first: Hub) -> None:
    for _ in range(2):
        await first.endpoints.failed(first.endpoint(), "refused")
    assert first.endpoint().breaker.state is State.OPEN


async def test_the_endpoint_with_the_fewest_narrations_across_hubs_is_tried_first() -> None:
    engine = MemoryEngine()
    client = HTTPClient()
    bases = ["http://a:8000", "http://b:8000", "http://c:8000"]
    here = hub(client, bases, engine, Clock(), 1)
    for base, narrations in zip(bases, (3, 1, 0), strict=True):  # another hub's narrations
        for n in range(narrations):
            assert await engine.acquire_slot(slots_pool(base), f"hub-2/{n}", 4, 60)
    choices = await here.endpoints.ready()
    assert [(c.endpoint.base, c.taken) for c in choices] == [
        ("http://c:8000", 0),
        ("http://b:8000", 1),
        ("http://a:8000", 3),
    ]
    here.endpoint(2).asking = 2  # two of this hub's narrations are taking a slot on c
    assert await here.ready() == ["http://b:8000", "http://c:8000", "http://a:8000"]
    await client.aclose()


async def test_a_breaker_one_hub_opens_stops_the_other_at_its_next_choice() -> None:
    async with two_hubs(Health()) as (first, second, _):
        assert await second.ready() == [first.endpoint().base, "http://127.0.0.1:9"]
        await opened_by_the_first(first)
        assert await second.ready() == ["http://127.0.0.1:9"]
        assert second.endpoint().breaker.state is State.OPEN
        assert (first.blocking(), second.blocking()) == (1, 1)
        assert second.blocking(1) == 0


async def test_one_probe_after_the_cooldown_lets_every_hub_send_again() -> None:
    health = Health()
    async with two_hubs(health) as (first, second, clock):
        await opened_by_the_first(first)
        await second.ready()
        clock.now += COOLDOWN - 0.1
        await asyncio.gather(first.ready(), second.ready())
        assert (first.endpoints.probes, second.endpoints.probes) == (set(), set())  # too soon
        clock.now += 0.1
        await asyncio.gather(first.ready(), second.ready())  # both due: one takes the probe
        await asyncio.gather(first.probed(), second.probed())
        assert health.probes == 1
        both = [first.endpoint().base, "http://127.0.0.1:9"]
        assert await first.ready() == both
        assert await second.ready() == both
        assert (first.blocking(), second.blocking()) in {(1, 0), (0, 1)}  # the prober half-open
        assert {first.endpoint().breaker.state, second.endpoint().breaker.state} == {
            State.HALF_OPEN,
            State.CLOSED,
        }


async def test_after_a_shared_close_one_failure_stops_every_hub_again() -> None:
    """Every hub is on probation after the probe, as the prober is half-open."""
    async with two_hubs(Health()) as (first, second, clock):
        await opened_by_the_first(first)
        await second.ready()
        clock.now += COOLDOWN
        await first.ready()  # the opener probes
        await first.probed()
        await second.ready()
        assert second.endpoint().breaker.state is State.CLOSED
        await second.endpoints.failed(second.endpoint(), "connect")
        assert second.endpoint().breaker.state is State.OPEN
        assert second.endpoint().breaker.opened_for == 2 * COOLDOWN
        assert await first.ready() == ["http://127.0.0.1:9"]


async def test_a_failed_probe_keeps_every_hub_away_for_the_probers_longer_cooldown() -> None:
    health = Health(status=503)
    async with two_hubs(health) as (first, second, clock):
        await opened_by_the_first(first)
        await second.ready()
        clock.now += COOLDOWN
        await second.ready()  # the opener's cooldown is over: another hub may probe
        await second.probed()
        assert health.probes == 1
        assert second.endpoint().breaker.opened_for == 2 * COOLDOWN
        clock.now += COOLDOWN  # the opener's own time to probe: the prober's cooldown runs
        assert await first.ready() == ["http://127.0.0.1:9"]
        await first.probed()
        assert health.probes == 1
        clock.now += COOLDOWN
        await asyncio.gather(first.ready(), second.ready())
        await asyncio.gather(first.probed(), second.probed())
        assert health.probes == 2
        assert (first.blocking(), second.blocking()) == (1, 1)


async def test_with_the_engine_away_each_hub_keeps_its_own_breaker_and_count() -> None:
    health = Health()
    async with two_hubs(health, EngineShared(AwayEngine())) as (first, second, clock):
        first.endpoint().outstanding = 1
        assert await first.ready() == ["http://127.0.0.1:9", first.endpoint().base]
        first.endpoint().outstanding = 0
        await opened_by_the_first(first)
        assert await first.ready() == ["http://127.0.0.1:9"]
        assert await second.ready() == [first.endpoint().base, "http://127.0.0.1:9"]
        clock.now += COOLDOWN
        await first.ready()
        await first.probed()
        assert health.probes == 1  # probed alone
        assert first.endpoint().breaker.state is State.HALF_OPEN


class HeldCounts(MemoryEngine):
    """Answers a read of the slot counts only once `hold` is set (when there is one): a
    reading taken now and applied later, as over a slow network."""

    hold: asyncio.Event | None = None

    async def slots_taken(self, pool: str) -> int:
        found = await super().slots_taken(pool)
        if self.hold is not None and pool.startswith("llm:"):
            await self.hold.wait()
        return found


async def test_a_reading_older_than_the_breakers_last_change_is_not_applied() -> None:
    clock = Clock()
    engine = HeldCounts(clock=clock)
    async with two_hubs(Health(), engine, clock) as (first, _, _):
        await opened_by_the_first(first)
        clock.now += COOLDOWN
        await first.ready()  # starts the probe
        engine.hold = asyncio.Event()
        stale = asyncio.create_task(first.ready())  # reads the breaker open, held
        await first.probed()  # healthy: half-open, and the hubs' breaker given back
        engine.hold.set()
        assert first.endpoint().base in await stale
        assert first.endpoint().breaker.state is State.HALF_OPEN
