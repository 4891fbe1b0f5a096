"""`ModelNarrator` against a scripted model server on loopback: the model tells the story, the
fallback takes over whatever goes wrong, admission holds the line, and the breaker stops the
calls to a server that keeps failing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from llm.breaker import Breaker, State
from llm.chat import Sampling
from llm.client import Budgets
from llm.endpoints import Endpoints, endpoint_bases
from llm.fallback import FallbackNarrator
from llm.http_client import HTTPClient
from llm.model import ModelConfig, ModelNarrator
from llm.narrator import Piece, overall_source
from llm.shared import SharedBreakers
from llm.templates import recap
from protocol.types import NarrationKind
from realtime.metrics import Metrics
from realtime.narrator_setup import EngineShared
from storage.memory import MemoryEngine
from tests.llm.away import AwayEngine
from tests.llm.samples import facts
from tests.llm.scripted import Reply, Request, ScriptedServer, answer, scripted, sse
from tests.llm.streams import DONE, ERROR, FULL, ROLE, STOP, STORY, TOKENS, content
from tests.support.metrics import by_label, value

QUICK = Budgets(connect=0.5, first_token=0.3, stall=0.2, total=2.0)


@dataclass
class Server:
    """A scripted model server: answers each chat request with the next reply."""

    replies: list[Callable[[], Reply]]
    health: int = 200
    chats: list[dict[str, object]] = field(default_factory=list)
    probes: int = 0

    def __call__(self, request: Request) -> Reply:
        if request.path == "/health":
            self.probes += 1
            return answer(self.health)
        self.chats.append(request.json())
        reply = self.replies[min(len(self.chats), len(self.replies)) - 1]
        return reply()


def story() -> Reply:
    return sse([FULL])


def busy() -> Reply:
    return answer(503, b'{"error": {"message": "busy", "code": 503}}')


@dataclass
class Rig:
    narrator: ModelNarrator
    metrics: Metrics
    engine: MemoryEngine
    endpoints: Endpoints
    http: ScriptedServer

    @property
    def pool(self) -> str:
        """The endpoint's slots in the engine."""
        return f"llm:{self.http.base_url}"

    def fallbacks(self) -> dict[str, float]:
        return by_label(self.metrics, "maratang_narration_fallbacks_total", "reason")

    def breaker_open(self) -> float:
        address = self.http.base_url.removeprefix("http://")
        return value(self.metrics, "maratang_llm_breaker_open", endpoint=address)


@contextlib.asynccontextmanager
async def rig(
    server: Server, slots: int = 4, queue: float = 0.2, engine: MemoryEngine | None = None
) -> AsyncIterator[Rig]:
    """A narrator of one hub, `hub-1`, on `engine` (a new memory engine by default)."""
    engine = MemoryEngine() if engine is None else engine
    store = EngineShared(engine)
    async with scripted(server) as http:
        client = HTTPClient()
        metrics = Metrics()
        shared = SharedBreakers(store, "hub-1")
        endpoints = Endpoints.from_urls(client, http.base_url, 2, 0.1, metrics, shared)
        config = ModelConfig(Sampling("kanana", 300, 0.7, 0.9), QUICK, slots, queue)
        fallback = FallbackNarrator(tokens_per_second=10_000, step=0.001)
        narrator = ModelNarrator(client, endpoints, store, fallback, config, metrics, "hub-1")
        try:
            yield Rig(narrator, metrics, engine, endpoints, http)
        finally:
            await endpoints.close()
            await client.aclose()


async def tell(rig: Rig, kind: NarrationKind = "tasting", already: str = "") -> list[Piece]:
    hurry = asyncio.Event()
    return [p async for p in rig.narrator.stream(facts(kind), hurry, already)]


async def test_the_model_tells_the_whole_story() -> None:
    async with rig(Server([story])) as r:
        pieces = await tell(r)
    assert "".join(p.text for p in pieces) == STORY
    assert overall_source(p.source for p in pieces) == "llm"
    assert value(r.metrics, "maratang_llm_time_to_first_token_seconds_count") == 1
    assert value(r.metrics, "maratang_llm_time_per_output_token_seconds_count") == 1
    assert value(r.metrics, "maratang_llm_requests_in_flight") == 0
    assert r.fallbacks() == {}


async def test_the_prompt_carries_the_facts_and_a_length_budget() -> None:
    server = Server([story])
    async with rig(server) as r:
        await tell(r)
    body = server.chats[0]
    messages = body["messages"]
    assert isinstance(messages, list)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert '"player": "⟨P1⟩"' in messages[1]["content"]
    assert '"score": "⟨S1⟩"' in messages[1]["content"]
    assert "민지" not in messages[1]["content"]
    assert body["max_tokens"] == 80 + 70 * 3  # three players' bowls


async def test_a_model_failing_mid_story_is_finished_by_the_fallback() -> None:
    async with rig(Server([lambda: sse([ROLE, content("문이"), ERROR, DONE])])) as r:
        pieces = await tell(r)
    text = "".join(p.text for p in pieces)
    assert text == "문이\n" + recap(facts("tasting"))
    assert overall_source(p.source for p in pieces) == "mixed"
    assert r.fallbacks() == {"error": 1}


async def test_a_refused_request_is_told_by_the_fallback_alone() -> None:
    async with rig(Server([busy])) as r:
        pieces = await tell(r)
    assert {p.source for p in pieces} == {"fallback"}
    assert r.fallbacks() == {"refused": 1}


async def test_a_stall_is_counted_and_handed_over() -> None:
    async with rig(Server([lambda: sse([ROLE, content("문이"), ""], [0, 0, 9])])) as r:
        pieces = await tell(r)
    assert (pieces[0].text, pieces[0].source) == ("문이", "llm")
    assert value(r.metrics, "maratang_llm_stalls_total") == 1
    assert r.fallbacks() == {"stall": 1}


async def test_a_narration_that_finds_no_slot_waits_then_falls_back() -> None:
    async with rig(Server([story]), slots=1, queue=0.2) as r:
        assert await r.engine.acquire_slot(r.pool, "another hub", 1, 60)
        loop = asyncio.get_running_loop()
        began = loop.time()
        pieces = await tell(r)
        assert 0.2 <= loop.time() - began < 1.0
    assert {p.source for p in pieces} == {"fallback"}
    assert r.fallbacks() == {"busy": 1}
    assert value(r.metrics, "maratang_llm_narrations_waiting") == 0


async def test_with_the_engine_away_a_narration_is_told_by_the_fallback() -> None:
    server = Server([story])
    async with rig(server, queue=0.2, engine=AwayEngine()) as r:
        pieces = await tell(r)
    assert server.chats == []  # no slot could be taken
    assert {p.source for p in pieces} == {"fallback"}
    assert "".join(p.text for p in pieces)
    assert r.fallbacks() == {"busy": 1}


async def test_a_slot_is_given_back_after_the_narration() -> None:
    async with rig(Server([story]), slots=1) as r:
        await tell(r)
        assert await r.engine.acquire_slot(r.pool, "next", 1, 60)


async def test_hurrying_stops_the_model_and_marks_the_cut() -> None:
    async with rig(Server([story])) as r:
        hurry = asyncio.Event()
        pieces = []
        async for piece in r.narrator.stream(facts("entrance"), hurry):
            pieces.append(piece)
            hurry.set()
    assert pieces == [Piece("문이", "llm", 180), Piece("…", "llm")]


async def test_the_first_piece_says_the_tokens_asked_and_a_story_stopped_there_trails_off() -> None:
    cut_short = STOP.replace('"finish_reason":"stop"', '"finish_reason":"length"')
    words = TOKENS[:3]  # "문이 삐걱거리며": mid-sentence when max_tokens stops the model
    stream = "".join([ROLE, *(content(t) for t in words), cut_short, DONE])
    async with rig(Server([lambda: sse([stream])])) as r:
        pieces = await tell(r, "entrance")
    assert [p.asked for p in pieces] == [180, 0, 0, 0]
    assert "".join(p.text for p in pieces) == "".join(words) + "…"
    assert r.fallbacks() == {}


async def test_a_narration_taken_over_is_finished_by_the_fallback_never_the_model() -> None:
    """The text told so far holds players' names: it never goes into a prompt."""
    server = Server([story])
    async with rig(server) as r:
        pieces = await tell(r, already="문이 삐걱, 민지님")
    assert server.chats == []
    assert {p.source for p in pieces} == {"fallback"}
    assert "".join(p.text for p in pieces) == "\n" + recap(facts("tasting"))
    assert r.fallbacks() == {"resumed": 1}


async def test_the_breaker_stops_calls_then_a_healthy_probe_lets_them_through() -> None:
    server = Server([busy, busy, story])
    async with rig(server) as r:
        await tell(r)
        assert r.breaker_open() == 0
        await tell(r)  # the second failure in a row opens the breaker
        assert r.endpoints.all[0].breaker.state is State.OPEN
        assert r.breaker_open() == 1
        pieces = await tell(r)
        assert len(server.chats) == 2  # no call while open
        assert r.fallbacks()["unavailable"] == 1
        assert {p.source for p in pieces} == {"fallback"}
        while r.endpoints.all[0].breaker.state is State.OPEN:  # cooldown 0.1 s, then a probe
            await r.endpoints.ready()
            await asyncio.sleep(0.02)
        assert server.probes == 1
        assert r.breaker_open() == 1  # probing: half-open
        pieces = await tell(r)
        assert "".join(p.text for p in pieces) == STORY
        assert r.endpoints.all[0].breaker.state is State.CLOSED
        assert r.breaker_open() == 0


async def test_an_unreachable_endpoint_fails_its_probe() -> None:
    server = Server([story], health=503)
    async with rig(server) as r:
        endpoint = r.endpoints.all[0]
        assert not await r.endpoints.healthy(endpoint)
        assert server.probes == 1
        endpoint.base = "http://127.0.0.1:9"  # nothing listens on the discard port
        assert not await r.endpoints.healthy(endpoint)


def test_a_breaker_opens_longer_each_time_a_probe_fails() -> None:
    breaker = Breaker(failures=2, cooldown=5)
    assert not breaker.failure(0)
    assert breaker.failure(0)
    assert not breaker.allows()
    assert not breaker.probe_due(4.9)
    assert breaker.probe_due(5)
    breaker.probed(False, 5)
    assert (breaker.opened_for, breaker.reopen_at) == (10, 15)
    breaker.probed(True, 15)
    assert breaker.allows()
    assert breaker.failure(16)  # half-open: one failure is enough
    assert breaker.opened_for == 20
    breaker.success()
    assert breaker.state is State.CLOSED
    assert breaker.opened_for == 0


def test_endpoint_urls_are_normalised_and_checked() -> None:
    bases = endpoint_bases(" http://a:8000/v1/ ,http://b:8000,http://a:8000 ,")
    assert bases == ["http://a:8000", "http://b:8000"]
    with pytest.raises(ValueError, match="http"):
        endpoint_bases("vllm:8000")


async def test_the_least_busy_endpoint_is_chosen_first() -> None:
    client = HTTPClient()
    endpoints = Endpoints.from_urls(client, "http://a,http://b", failures=2, cooldown=1)
    endpoints.all[0].outstanding = 3
    assert [c.endpoint.base for c in await endpoints.ready()] == ["http://b", "http://a"]
    await client.aclose()


async def test_closing_the_narration_early_closes_the_request_and_frees_the_slot() -> None:
    reply = sse([ROLE, content("문이"), ""], [0, 0, float("inf")])
    async with rig(Server([lambda: reply]), slots=1) as r:
        stream = r.narrator.stream(facts("entrance"), asyncio.Event())
        async with contextlib.aclosing(stream):
            assert await anext(stream) == Piece("문이", "llm", 180)
        await asyncio.wait_for(r.http.served[0].left.wait(), 1)  # the server saw it go
        assert value(r.metrics, "maratang_llm_requests_in_flight") == 0
        assert await r.engine.acquire_slot(r.pool, "next", 1, 60)
