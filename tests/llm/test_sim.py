"""`maratang llm-sim` over real HTTP: vLLM's wire format, its errors, its fault modes, and
the abort when a client goes away, read by Maratang's own client."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from llm.chat import ModelError, Sampling, request_body
from llm.client import Budgets, StreamStats, stream_chat
from llm.http_client import HTTPClient
from llm.prompts import messages
from llm.sim_config import DEFAULT_MODEL, SimConfig
from llm.sim_text import narration
from tests.llm.samples import facts
from tests.support.metrics import scrape, total
from tests.support.server import Server, running_sim
from tests.support.sim import configure, sim_stats, until

PLACEHOLDER = re.compile(r"⟨[A-Z]\d{1,2}⟩")
QUICK = Budgets(connect=1.0, first_token=1.0, stall=0.5, total=5.0)
KOREAN = [{"role": "system", "content": "이야기꾼"}, {"role": "user", "content": "안녕"}]
ENGLISH = [{"role": "system", "content": "narrator"}, {"role": "user", "content": "hello"}]
DEFAULTS = {
    "fault": "none",
    "ttft": 0.05,
    "tps": 200.0,
    "output_tokens": 20,
    "max_num_seqs": 256,
    "max_num_queued_reqs": 0,
    "keep_alive": 0.0,
    "stream_interval": 1,
}


@pytest.fixture(scope="module")
def sim_process() -> Iterator[Server]:
    with running_sim() as sim:
        yield sim


@pytest.fixture
async def sim(sim_process: Server) -> Server:
    await configure(sim_process, **DEFAULTS)
    return sim_process


def body(messages: list[dict[str, str]] = KOREAN, max_tokens: int = 300) -> dict[str, Any]:
    return request_body(messages, Sampling(DEFAULT_MODEL, max_tokens, 0.7, 0.9))


async def read(
    sim: Server,
    request: dict[str, Any],
    budgets: Budgets = QUICK,
    stats: StreamStats | None = None,
    client: HTTPClient | None = None,
) -> list[str]:
    own = client or HTTPClient()
    url = f"{sim.base_url}/v1/chat/completions"
    try:
        return [t async for t in stream_chat(own, url, request, budgets, stats or StreamStats())]
    finally:
        if client is None:
            await own.aclose()


async def fail(sim: Server, budgets: Budgets = QUICK) -> ModelError:
    with pytest.raises(ModelError) as raised:
        await read(sim, body(), budgets)
    return raised.value


async def raw_events(sim: Server, request: dict[str, Any]) -> tuple[httpx.Headers, list[str]]:
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{sim.base_url}/v1/chat/completions", json=request)
    return answer.headers, answer.text.split("\n\n")


async def test_a_stream_has_vllms_events_in_vllms_order(sim: Server) -> None:
    headers, events = await raw_events(sim, body())
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert events[-2:] == ["data: [DONE]", ""]
    chunks = [orjson.loads(e.removeprefix("data: ")) for e in events[:-2]]
    role, *contents, end, usage = chunks
    head = ["id", "object", "created", "model", "choices"]
    assert list(role) == [*head, "prompt_token_ids", "prompt_text"]
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(
        list(c["choices"][0]) == ["index", "delta", "logprobs", "finish_reason", "token_ids"]
        for c in contents
    )
    assert "".join(c["choices"][0]["delta"]["content"] for c in contents)
    assert any(c["choices"][0]["delta"]["content"] == "" for c in contents)  # held-back bytes
    assert end["choices"][0]["finish_reason"] == "stop"
    assert end["choices"][0]["stop_reason"] is None
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 21  # 20 tokens and the end of turn
    assert usage["system_fingerprint"].startswith("vllm-0.33.0-")
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["id"].startswith("chatcmpl-")


async def test_korean_in_korean_english_in_english(sim: Server) -> None:
    korean = "".join(await read(sim, body(KOREAN)))
    english = "".join(await read(sim, body(ENGLISH)))
    assert any("가" <= ch <= "힣" for ch in korean)
    assert english.isascii()


async def test_max_tokens_cuts_the_answer_with_length(sim: Server) -> None:
    _, events = await raw_events(sim, body(max_tokens=5))
    end = orjson.loads(events[-4].removeprefix("data: "))
    assert end["choices"][0]["finish_reason"] == "length"


async def test_several_tokens_per_chunk_with_a_stream_interval(sim: Server) -> None:
    await configure(sim, stream_interval=4)
    texts = await read(sim, body(ENGLISH))
    assert len(texts) == 5  # 20 tokens in chunks of 4


async def test_a_request_may_ask_for_more_tokens_per_chunk_never_fewer(sim: Server) -> None:
    asked = request_body(ENGLISH, Sampling(DEFAULT_MODEL, 300, 0.7, 0.9, stream_interval=5))
    assert asked["stream_interval"] == 5
    assert len(await read(sim, asked)) == 4
    await configure(sim, stream_interval=10)
    assert len(await read(sim, asked)) == 2


@pytest.mark.parametrize(
    ("request_body_", "status", "message"),
    [
        ({"model": "gpt-4", "messages": KOREAN}, 404, "The model `gpt-4` does not exist"),
        ({"model": DEFAULT_MODEL, "messages": []}, 400, "messages"),
        (
            {"model": DEFAULT_MODEL, "messages": KOREAN, "stream_options": {}},
            400,
            "Stream options can only be defined when `stream=True`.",
        ),
    ],
)
async def test_bad_requests_get_vllms_errors(
    sim: Server, request_body_: dict[str, Any], status: int, message: str
) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{sim.base_url}/v1/chat/completions", json=request_body_)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert message in error["message"]
    assert error["code"] == status


VLLM_METRICS = {
    "vllm:num_requests_running": "gauge",
    "vllm:num_requests_waiting": "gauge",
    "vllm:kv_cache_usage_perc": "gauge",
    "vllm:time_to_first_token_seconds": "histogram",
    "vllm:inter_token_latency_seconds": "histogram",
    "vllm:e2e_request_latency_seconds": "histogram",
    "vllm:prompt_tokens": "counter",
    "vllm:generation_tokens": "counter",
    "vllm:request_success": "counter",
    "vllm:num_preemptions": "counter",
}
"""vLLM's metrics the simulator serves, by family name (a counter's without `_total`)."""


async def test_models_health_and_metrics_answer_like_vllm(sim: Server) -> None:
    before = await scrape(sim.base_url)
    await read(sim, body())  # 20 tokens, one a chunk
    after = await scrape(sim.base_url)
    async with httpx.AsyncClient() as client:
        models = (await client.get(f"{sim.base_url}/v1/models")).json()
        health = await client.get(f"{sim.base_url}/health")
    assert models["data"][0]["id"] == DEFAULT_MODEL
    assert models["data"][0]["max_model_len"] == 8192
    assert (health.status_code, health.content) == (200, b"")
    assert {name: after[name].type for name in VLLM_METRICS} == VLLM_METRICS
    for sample in (s for name in VLLM_METRICS for s in after[name].samples):
        assert (sample.labels["model_name"], sample.labels["engine"]) == (DEFAULT_MODEL, "0")

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert grew("vllm:request_success_total", finished_reason="stop") == 1
    assert grew("vllm:generation_tokens_total") == 21  # with the stop token
    assert grew("vllm:time_to_first_token_seconds_count") == 1
    assert grew("vllm:inter_token_latency_seconds_count") == 19
    assert grew("vllm:e2e_request_latency_seconds_count") == 1
    assert total(after, "vllm:num_preemptions_total") == 0


async def test_the_kv_cache_use_is_the_running_share_of_the_slots(sim: Server) -> None:
    await configure(sim, max_num_seqs=4, tps=20.0, output_tokens=40)
    reading = asyncio.create_task(read(sim, body()))
    await until(sim, lambda s: s["running"] == 1)
    found = await scrape(sim.base_url)
    reading.cancel()
    await asyncio.gather(reading, return_exceptions=True)
    assert total(found, "vllm:num_requests_running") == 1
    assert total(found, "vllm:kv_cache_usage_perc") == 0.25
    await until(sim, lambda s: s["running"] == 0)


async def test_fault_503_refuses_before_streaming(sim: Server) -> None:
    await configure(sim, fault="503")
    error = await fail(sim)
    assert (error.reason, error.status) == ("refused", 503)


async def test_fault_error_sends_an_error_event_after_some_tokens(sim: Server) -> None:
    await configure(sim, fault="error", fault_after=3)
    texts: list[str] = []

    async def collect() -> None:
        client = HTTPClient()
        url = f"{sim.base_url}/v1/chat/completions"
        try:
            async for text in stream_chat(client, url, body(ENGLISH), QUICK, StreamStats()):
                texts.append(text)
        finally:
            await client.aclose()

    with pytest.raises(ModelError) as raised:
        await collect()
    assert (raised.value.reason, raised.value.status) == ("error", 500)
    assert len(texts) == 3


async def test_fault_hang_breaches_the_stall_budget_even_with_keep_alives(sim: Server) -> None:
    await configure(sim, fault="hang", keep_alive=0.1)
    assert (await fail(sim)).reason == "stall"


async def test_fault_drop_cuts_the_connection(sim: Server) -> None:
    await configure(sim, fault="drop")
    assert (await fail(sim)).reason == "dropped"


async def test_fault_trickle_breaches_the_total_budget(sim: Server) -> None:
    await configure(sim, fault="trickle", trickle_seconds=0.3)
    budgets = Budgets(connect=1.0, first_token=1.0, stall=0.5, total=1.0)
    assert (await fail(sim, budgets)).reason == "total"


async def test_a_client_that_goes_away_aborts_the_generation(sim: Server) -> None:
    await configure(sim, tps=20.0, output_tokens=200)
    before = await sim_stats(sim)
    client = HTTPClient()
    url = f"{sim.base_url}/v1/chat/completions"
    stream = stream_chat(client, url, body(), QUICK, StreamStats())
    async with contextlib.aclosing(stream):
        await anext(stream)
        assert (await sim_stats(sim))["running"] == 1
    after = await until(sim, lambda s: s["running"] == 0)
    assert after["aborted"] == before["aborted"] + 1
    assert after["completed"] == before["completed"]
    await configure(sim, tps=200.0, output_tokens=20)
    assert await read(sim, body(), client=client)  # on a new connection: the old one is gone
    assert client.opened == 2
    await client.aclose()


async def test_a_stream_read_to_done_has_its_counts_and_leaves_the_connection_open(
    sim: Server,
) -> None:
    client = HTTPClient()
    for _ in range(3):
        stats = StreamStats()
        texts = await read(sim, body(), stats=stats, client=client)
        assert (stats.finish_reason, stats.completion_tokens) == ("stop", 21)  # the usage chunk
        assert stats.pieces == len(texts) == 20
    await client.aclose()
    assert client.opened == 1


async def test_events_cut_inside_korean_characters_read_whole(sim: Server) -> None:
    await configure(sim, split_bytes=7)
    try:
        stats = StreamStats()
        text = "".join(await read(sim, body(KOREAN), stats=stats))
    finally:
        await configure(sim, split_bytes=0)
    assert any("가" <= ch <= "힣" for ch in text)
    assert "\ufffd" not in text
    assert (stats.pieces, stats.completion_tokens) == (20, 21)


async def test_keep_alive_comments_while_the_first_token_is_awaited_are_skipped(
    sim: Server,
) -> None:
    await configure(sim, ttft=0.45, keep_alive=0.1)
    stats = StreamStats()
    texts = await read(sim, body(ENGLISH), stats=stats)
    assert len(texts) == 20
    assert stats.first_text is not None
    assert stats.first_text - stats.started >= 0.45


async def test_beyond_max_num_seqs_requests_wait_and_beyond_the_queue_get_503(
    sim: Server,
) -> None:
    await configure(sim, max_num_seqs=1, max_num_queued_reqs=2, tps=20.0, output_tokens=40)
    first = asyncio.create_task(read(sim, body()))
    second = asyncio.create_task(read(sim, body()))
    await until(sim, lambda s: s["running"] == 1 and s["waiting"] == 1)
    error = await fail(sim)
    assert (error.reason, error.status) == ("refused", 503)
    first.cancel()
    second.cancel()
    await asyncio.gather(first, second, return_exceptions=True)
    await until(sim, lambda s: s["running"] == 0 and s["waiting"] == 0)


async def test_bad_settings_are_refused(sim: Server) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.put(f"{sim.base_url}/sim/config", json={"fault": "meteor"})
        unknown = await client.put(f"{sim.base_url}/sim/config", json={"speed": 1})
    assert answer.status_code == 400
    assert "fault must be one of" in answer.json()["error"]["message"]
    assert "unknown settings: speed" in unknown.json()["error"]["message"]


def test_the_config_checks_itself() -> None:
    with pytest.raises(ValueError, match="tps"):
        SimConfig(tps=0)


def test_the_simulator_cuts_placeholders_across_chunks_wherever_a_tokenizer_might() -> None:
    prompt = messages(facts("tasting"))[1]["content"]
    cuts: set[tuple[str, ...]] = set()
    for seed in range(40):
        pieces = narration(prompt, korean=True, want=60, seed=seed)
        said = "".join(pieces)
        named = PLACEHOLDER.findall(said)
        assert {"⟨P1⟩", "⟨P2⟩", "⟨P3⟩", "⟨S1⟩"} <= set(named)  # whole once joined
        for found in PLACEHOLDER.finditer(said):  # the pieces each one was cut into
            cuts.add(tuple(_cut(pieces, found.start(), found.end())))
    shapes = {tuple(len(p) for p in cut) for cut in cuts}
    assert (4,) in shapes  # whole
    assert (1, 1, 1, 1) in shapes  # a piece each character
    assert len(shapes) >= 5  # and cut in between, here and there


def _cut(pieces: list[str], start: int, end: int) -> list[str]:
    """The parts of the text from `start` to `end` as `pieces` cut it."""
    parts: list[str] = []
    at = 0
    for piece in pieces:
        lo, hi = max(start, at), min(end, at + len(piece))
        if lo < hi:
            parts.append(piece[lo - at : hi - at])
        at += len(piece)
    return parts
