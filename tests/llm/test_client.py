"""The streaming client over `httpx.MockTransport`: what it sends, what it reads, and how
each way a model server fails becomes a `ModelError` with the right reason, in time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable

import httpx
import orjson
import pytest

from llm.chat import ModelError, Sampling, request_body
from llm.client import Budgets, StreamStats, stream_chat
from tests.llm.streams import (
    DONE,
    ERROR,
    FULL,
    KEEP_ALIVE,
    ROLE,
    STORY,
    TOKENS,
    Chunks,
    content,
    split_everywhere,
    sse,
)

URL = "http://vllm.test/v1/chat/completions"
QUICK = Budgets(connect=0.5, first_token=0.3, stall=0.2, total=2.0)
SAMPLING = Sampling("kanana", 200, 0.7, 0.9)
Handler = Callable[[httpx.Request], httpx.Response]


async def read(handler: Handler, budgets: Budgets = QUICK) -> tuple[list[str], StreamStats]:
    stats = StreamStats()
    body = request_body([{"role": "user", "content": "hi"}], SAMPLING, continuing=False)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        texts = [t async for t in stream_chat(client, URL, body, budgets, stats)]
    return texts, stats


async def failure(handler: Handler, budgets: Budgets = QUICK) -> tuple[ModelError, list[str]]:
    texts: list[str] = []
    stats = StreamStats()
    body = request_body([{"role": "user", "content": "hi"}], SAMPLING, continuing=False)

    async def collect(client: httpx.AsyncClient) -> None:
        async for text in stream_chat(client, URL, body, budgets, stats):
            texts.append(text)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ModelError) as raised:
            await collect(client)
    return raised.value, texts


async def test_a_whole_stream_yields_each_token_and_its_counts() -> None:
    texts, stats = await read(lambda request: sse([FULL.encode()]))
    assert texts == TOKENS
    assert (stats.finish_reason, stats.completion_tokens, stats.pieces) == ("stop", 6, 5)
    assert stats.first_text is not None


async def test_the_request_asks_for_a_stream_with_usage_and_the_settings() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return sse([FULL.encode()])

    await read(handler)
    body = orjson.loads(seen[0].content)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["model"], body["max_tokens"], body["temperature"]) == ("kanana", 200, 0.7)
    assert "continue_final_message" not in body
    assert seen[0].headers["content-type"] == "application/json"


def test_a_continuation_asks_the_model_to_go_on_from_the_last_message() -> None:
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "문이"}]
    body = request_body(chat, SAMPLING, continuing=True)
    assert body["continue_final_message"] is True
    assert body["add_generation_prompt"] is False


async def test_every_cut_of_the_body_reads_the_same() -> None:
    body = FULL.encode()
    for parts in split_everywhere(body):
        texts, _ = await read(functools.partial(serve, parts))
        assert "".join(texts) == STORY


def serve(parts: list[bytes], request: httpx.Request) -> httpx.Response:
    return sse(parts)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            400,
            b'{"error":{"message":"Input length (9000) exceeds model\'s maximum context '
            b'length (8192).","type":"BadRequestError","param":null,"code":400}}',
            "Input length (9000) exceeds model's maximum context length (8192).",
        ),
        (
            404,
            b'{"error":{"message":"The model `x` does not exist.","type":"NotFoundError",'
            b'"param":null,"code":404}}',
            "The model `x` does not exist.",
        ),
        (
            503,
            b'{"error":{"message":"The engine is currently busy.","type":'
            b'"ServiceUnavailableError","param":null,"code":503}}',
            "The engine is currently busy.",
        ),
        (401, b'{"error": "Unauthorized"}', "Unauthorized"),
        (502, b"<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
    ],
)
async def test_a_refusal_before_the_stream_says_its_status_and_message(
    status: int, body: bytes, message: str
) -> None:
    error, texts = await failure(lambda request: httpx.Response(status, content=body))
    assert (error.reason, error.status, error.message) == ("refused", status, message)
    assert texts == []


async def test_an_error_event_after_some_text_fails_after_that_text() -> None:
    body = ROLE + content("문이") + ERROR + DONE
    error, texts = await failure(lambda request: sse([body.encode()]))
    assert texts == ["문이"]
    assert (error.reason, error.status) == ("error", 500)


async def test_a_stream_cut_before_done_is_dropped() -> None:
    body = ROLE + content("문이")
    error, texts = await failure(lambda request: sse([body.encode()]))
    assert (error.reason, texts) == ("dropped", ["문이"])


async def test_a_connection_refused_is_a_connect_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    error, _ = await failure(handler)
    assert error.reason == "connect"


async def test_no_text_within_the_first_token_budget_fails_in_time() -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    error, _ = await failure(lambda request: sse([ROLE.encode(), b""], [0, float("inf")]))
    assert error.reason == "first_token"
    assert QUICK.first_token <= loop.time() - began < QUICK.first_token + 0.5


async def test_keep_alives_do_not_count_as_progress() -> None:
    parts = [ROLE.encode(), content("문이").encode(), *[KEEP_ALIVE.encode()] * 50]
    error, texts = await failure(lambda request: sse(parts, [0, 0, *[0.02] * 50]))
    assert (error.reason, texts) == ("stall", ["문이"])


async def test_a_slow_trickle_breaches_the_total_budget() -> None:
    budgets = Budgets(connect=0.5, first_token=0.3, stall=0.2, total=0.6)
    parts = [content(str(i)).encode() for i in range(100)]
    error, texts = await failure(lambda request: sse(parts, [0.1] * 100), budgets)
    assert error.reason == "total"
    assert 3 <= len(texts) <= 7


async def test_leaving_early_closes_the_response_stream() -> None:
    bodies: list[Chunks] = []

    def handler(request: httpx.Request) -> httpx.Response:
        response = sse([FULL.encode()])
        assert isinstance(response.stream, Chunks)
        bodies.append(response.stream)
        return response

    stats = StreamStats()
    body = request_body([{"role": "user", "content": "hi"}], SAMPLING, continuing=False)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        stream = stream_chat(client, URL, body, QUICK, stats)
        async with contextlib.aclosing(stream):
            assert await anext(stream) == TOKENS[0]
        assert bodies[0].closed
