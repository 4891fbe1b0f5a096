"""Narrations under GPU load, against `maratang llm-sim` over real HTTP: the simulator queues
as vLLM does under each `--scheduling-policy`, tastings get the GPU before entrances whether
the hub's queue or vLLM's orders them, and narrations admitted while many wait ask for fewer
tokens. The order is read from the simulator's own record of the requests it began."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from llm.chat import Sampling, request_body
from llm.client import Budgets, StreamStats, stream_chat
from llm.endpoints import Endpoints
from llm.facts import NarrationFacts
from llm.fallback import FallbackNarrator
from llm.http_client import HTTPClient
from llm.model import ModelConfig, ModelNarrator
from llm.narrator import Piece
from llm.shorten import parse_steps
from llm.sim_config import DEFAULT_MODEL
from protocol.types import NarrationKind, SessionId
from realtime.metrics import Metrics
from storage.memory import MemoryEngine
from tests.llm.samples import facts
from tests.support.metrics import by_label, value
from tests.support.server import Server, running_sim
from tests.support.sim import configure, sim_stats, until

PATIENT = Budgets(connect=2.0, first_token=10.0, stall=5.0, total=20.0)
QUICK = {
    "fault": "none",
    "ttft": 0.02,
    "tps": 400.0,
    "jitter": 0.0,
    "output_tokens": 10,
    "max_num_seqs": 256,
    "max_num_queued_reqs": 0,
    "scheduling_policy": "fcfs",
}
ENGLISH = [{"role": "system", "content": "narrator"}, {"role": "user", "content": "hello"}]
KINDS: list[NarrationKind] = ["entrance", "tasting", "entrance", "tasting", "entrance", "tasting"]
"""Six tables at once: three customers walking in, three tables waiting for their scores."""


@pytest.fixture(scope="module")
def sim_process() -> Iterator[Server]:
    with running_sim() as sim:
        yield sim


@pytest.fixture
async def sim(sim_process: Server) -> Server:
    await configure(sim_process, **QUICK)
    return sim_process


async def began(sim: Server, prefix: str) -> list[dict[str, Any]]:
    """The simulator's record of the requests whose id starts with `prefix`, in the order
    they began generating."""
    recent = (await sim_stats(sim))["recent"]
    ours = [r for r in recent if r["id"].removeprefix("chatcmpl-").startswith(prefix)]
    return sorted(ours, key=lambda r: r["started"])


# The simulator's queue ------------------------------------------------------------------------


async def post(sim: Server, priority: int) -> httpx.Response:
    body = {**request_body(ENGLISH, Sampling(DEFAULT_MODEL, 50, 0.7, 0.9))}
    body["priority"] = priority
    async with httpx.AsyncClient() as client:
        return await client.post(f"{sim.base_url}/v1/chat/completions", json=body)


async def read(sim: Server, rid: str, priority: int | None, client: HTTPClient) -> str:
    body = request_body(ENGLISH, Sampling(DEFAULT_MODEL, 50, 0.7, 0.9), priority)
    url = f"{sim.base_url}/v1/chat/completions"
    stream = stream_chat(client, url, body, PATIENT, StreamStats(), {"x-request-id": rid})
    return "".join([text async for text in stream])


@contextlib.asynccontextmanager
async def one_seq_held(sim: Server, client: HTTPClient) -> AsyncIterator[None]:
    """The simulator's only sequence taken by a long request, given back (the request
    dropped) on leaving, so that what queued meanwhile starts in the queue's order."""
    await configure(sim, max_num_seqs=1, output_tokens=4000)
    talking = asyncio.Event()
    blocker = asyncio.create_task(hold(sim, client, talking))
    async with asyncio.timeout(10):
        await talking.wait()
    await configure(sim, output_tokens=10)  # for the requests after it
    try:
        yield
    finally:
        blocker.cancel()
        await asyncio.gather(blocker, return_exceptions=True)


async def hold(sim: Server, client: HTTPClient, talking: asyncio.Event) -> None:
    body = request_body(ENGLISH, Sampling(DEFAULT_MODEL, 4000, 0.7, 0.9))
    url = f"{sim.base_url}/v1/chat/completions"
    headers = {"x-request-id": f"hold-{secrets.token_hex(3)}"}
    stream = stream_chat(client, url, body, PATIENT, StreamStats(), headers)
    async with contextlib.aclosing(stream):
        async for _ in stream:
            talking.set()


def waiting(count: int) -> Callable[[dict[str, Any]], bool]:
    return lambda stats: stats["waiting"] == count


async def queue_in_order(sim: Server, priorities: list[int]) -> list[dict[str, Any]]:
    """Requests with `priorities`, each queued behind the one before it (while the only
    sequence is held), then let go: the simulator's record of them."""
    prefix = secrets.token_hex(4)
    client = HTTPClient()
    readers = []
    async with one_seq_held(sim, client):
        for n, priority in enumerate(priorities):
            readers.append(asyncio.create_task(read(sim, f"{prefix}-{n}", priority, client)))
            await until(sim, waiting(n + 1))
    assert all(await asyncio.gather(*readers))
    await client.aclose()
    return await began(sim, prefix)


async def test_fcfs_refuses_a_non_zero_priority_with_vllms_error(sim: Server) -> None:
    refused = await post(sim, 1)
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "message": "Got priority 1 but Priority scheduling is not enabled.",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    assert (await post(sim, 0)).status_code == 200  # 0 is everyone's priority under fcfs
    await configure(sim, scheduling_policy="priority")
    assert (await post(sim, 1)).status_code == 200


async def test_under_fcfs_queued_requests_start_in_arrival_order(sim: Server) -> None:
    record = await queue_in_order(sim, [0, 0, 0, 0])
    assert [r["id"].rsplit("-", 1)[1] for r in record] == ["0", "1", "2", "3"]


async def test_under_priority_queued_requests_start_by_priority_then_arrival(
    sim: Server,
) -> None:
    await configure(sim, scheduling_policy="priority")
    record = await queue_in_order(sim, [2, 0, 1, 0, 2])
    assert [(r["id"].rsplit("-", 1)[1], r["priority"]) for r in record] == [
        ("1", 0),
        ("3", 0),
        ("2", 1),
        ("0", 2),
        ("4", 2),
    ]
    assert [r["started"] for r in record] == sorted(r["started"] for r in record)


async def test_a_queued_request_that_goes_away_leaves_the_queue(sim: Server) -> None:
    client = HTTPClient()
    async with one_seq_held(sim, client):
        leaving = asyncio.create_task(read(sim, "leaving", 0, client))
        await until(sim, lambda s: s["waiting"] == 1)
        leaving.cancel()
        await asyncio.gather(leaving, return_exceptions=True)
        await until(sim, lambda s: s["waiting"] == 0)
    assert await read(sim, "after", 0, client)  # the sequence is free again
    await client.aclose()


# Narrations through ModelNarrator -------------------------------------------------------------


@dataclass
class Hub:
    narrator: ModelNarrator
    metrics: Metrics
    engine: MemoryEngine
    endpoints: Endpoints
    pool: str
    prefix: str
    """Every narration of this hub has a request id starting with it."""

    def facts(self, n: int, kind: NarrationKind) -> NarrationFacts:
        """The facts of table `n`'s narration of `kind`."""
        return dataclasses.replace(facts(kind), session=SessionId(f"{self.prefix}{n}"))

    async def tell(self, n: int, kind: NarrationKind) -> list[Piece]:
        stream = self.narrator.stream(self.facts(n, kind), asyncio.Event())
        return [piece async for piece in stream]

    async def until(self, holds: Callable[[Metrics], bool]) -> None:
        async with asyncio.timeout(10):
            while True:
                if holds(self.metrics):
                    return
                await asyncio.sleep(0.01)

    def tables(self, record: list[dict[str, Any]]) -> list[int]:
        """The tables of the requests in `record`, in its order."""
        ids = (r["id"].removeprefix("chatcmpl-").removeprefix(self.prefix) for r in record)
        return [int(rid.split("-", 1)[0]) for rid in ids]


@contextlib.asynccontextmanager
async def hub(
    sim: Server, slots: int, priority: bool = False, shorten: str = "", queue: float = 20.0
) -> AsyncIterator[Hub]:
    client = HTTPClient()
    metrics = Metrics()
    endpoints = Endpoints.from_urls(client, sim.base_url, 3, 1.0, metrics)
    sampling = Sampling(DEFAULT_MODEL, 350, 0.7, 0.9)
    config = ModelConfig(sampling, PATIENT, slots, queue, "", priority, parse_steps(shorten))
    engine = MemoryEngine()
    fallback = FallbackNarrator(tokens_per_second=10_000, step=0.001)
    narrator = ModelNarrator(client, endpoints, engine, fallback, config, metrics, "hub-1")
    prefix = f"{secrets.token_hex(4)}-t"
    try:
        yield Hub(narrator, metrics, engine, endpoints, f"llm:{sim.base_url}", prefix)
    finally:
        await endpoints.close()
        await client.aclose()


async def all_waiting_for_the_hubs_slot(h: Hub, kinds: list[NarrationKind]) -> list[list[Piece]]:
    """Narrations of `kinds`, all waiting for the hub's one slot (taken by another hub until
    every one waits), told to the end."""
    assert await h.engine.acquire_slot(h.pool, "another hub", 1, 60)
    tellings = [asyncio.create_task(h.tell(n, kind)) for n, kind in enumerate(kinds)]
    await h.until(lambda m: value(m, "maratang_llm_narrations_waiting") == len(kinds))
    await h.engine.release_slot(h.pool, "another hub")
    return await asyncio.gather(*tellings)


async def test_with_one_hub_slot_tastings_are_served_before_entrances(sim: Server) -> None:
    async with hub(sim, slots=1) as h:
        told = await all_waiting_for_the_hubs_slot(h, KINDS)
        record = await began(sim, h.prefix)
    assert all(piece.source == "llm" for pieces in told for piece in pieces)
    assert h.tables(record) == [1, 3, 5, 0, 2, 4]  # the tastings, then the entrances
    assert all(r["priority"] == 0 for r in record)  # vLLM was not asked to order them


async def test_with_one_vllm_sequence_tastings_are_served_before_entrances(sim: Server) -> None:
    await configure(sim, scheduling_policy="priority")
    client = HTTPClient()
    async with hub(sim, slots=6, priority=True) as h:
        async with one_seq_held(sim, client):
            tellings = [asyncio.create_task(h.tell(n, kind)) for n, kind in enumerate(KINDS)]
            await until(sim, lambda s: s["waiting"] == len(KINDS))  # all six in vLLM's queue
        told = await asyncio.gather(*tellings)
        record = await began(sim, h.prefix)
    await client.aclose()
    assert all(piece.source == "llm" for pieces in told for piece in pieces)
    assert [KINDS[n] for n in h.tables(record)] == ["tasting"] * 3 + ["entrance"] * 3
    assert [r["priority"] for r in record] == [0, 0, 0, 1, 1, 1]


async def test_priorities_sent_to_a_server_without_priority_scheduling_fall_back(
    sim: Server,
) -> None:
    async with hub(sim, slots=2, priority=True) as h:
        entrances = [await h.tell(n, "entrance") for n in range(3)]
        tasting = await h.tell(3, "tasting")  # priority 0: accepted by any server
    assert [{piece.source for piece in told} for told in entrances] == [{"fallback"}] * 3
    assert {piece.source for piece in tasting} == {"llm"}  # the breaker (3 failures) stayed shut
    assert by_label(h.metrics, "maratang_narration_fallbacks_total", "reason") == {"refused": 3}


async def test_as_the_queue_grows_narrations_ask_for_fewer_tokens(sim: Server) -> None:
    async with hub(sim, slots=1, shorten="2:0.75,4:0.5") as h:
        await all_waiting_for_the_hubs_slot(h, ["entrance"] * 6)
        record = await began(sim, h.prefix)
    # admitted with 5, 4, 3, 2, 1 and 0 others waiting; an entrance asks for 180 tokens
    assert [r["max_tokens"] for r in record] == [90, 90, 135, 135, 180, 180]
    shortened = by_label(h.metrics, "maratang_narrations_shortened_total", "step")
    assert shortened == {"0.5": 2, "0.75": 2}


async def test_a_narration_waiting_behind_a_better_one_still_gives_up_in_time(
    sim: Server,
) -> None:
    async with hub(sim, slots=1, queue=0.2) as h:
        assert await h.engine.acquire_slot(h.pool, "another hub", 1, 60)
        loop = asyncio.get_running_loop()
        began_at = loop.time()
        told = await asyncio.gather(h.tell(0, "entrance"), h.tell(1, "tasting"))
        assert 0.2 <= loop.time() - began_at < 1.0
    assert [{piece.source for piece in pieces} for pieces in told] == [{"fallback"}] * 2
    assert by_label(h.metrics, "maratang_narration_fallbacks_total", "reason") == {"busy": 2}
    assert value(h.metrics, "maratang_llm_narrations_waiting") == 0
