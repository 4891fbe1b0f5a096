"""The streaming client against a scripted HTTP/1.1 server on loopback: what it sends, what it
reads, how each way a model server fails becomes a `ModelError` with the right reason, in
time, and when a connection is kept for the next narration or dropped."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket

import orjson
import pytest

from llm.chat import ModelError, Sampling, request_body
from llm.client import Budgets, StreamStats, stream_chat
from llm.http_client import HTTPClient
from tests.llm.scripted import (
    SSE_HEAD,
    Handler,
    Reply,
    Request,
    ScriptedServer,
    answer,
    framed,
    scripted,
    sse,
)
from tests.llm.streams import (
    DONE,
    ERROR,
    FULL,
    KEEP_ALIVE,
    ROLE,
    STOP,
    STORY,
    TOKENS,
    USAGE,
    content,
)

QUICK = Budgets(connect=0.5, first_token=0.3, stall=0.2, total=2.0)
SAMPLING = Sampling("kanana", 200, 0.7, 0.9)
BODY = request_body([{"role": "user", "content": "hi"}], SAMPLING)


def full() -> Reply:
    return sse([FULL])


async def read(
    client: HTTPClient, url: str, budgets: Budgets = QUICK, headers: dict[str, str] | None = None
) -> tuple[list[str], StreamStats]:
    stats = StreamStats()
    texts = [t async for t in stream_chat(client, url, BODY, budgets, stats, headers)]
    return texts, stats


async def serve_and_read(
    handler: Handler, budgets: Budgets = QUICK
) -> tuple[list[str], StreamStats, ScriptedServer]:
    async with scripted(handler) as server:
        client = HTTPClient()
        try:
            texts, stats = await read(client, server.url, budgets)
        finally:
            await client.aclose()
    return texts, stats, server


async def failure(handler: Handler, budgets: Budgets = QUICK) -> tuple[ModelError, list[str]]:
    texts: list[str] = []

    async def collect(client: HTTPClient, url: str) -> None:
        async for text in stream_chat(client, url, BODY, budgets, StreamStats()):
            texts.append(text)

    async with scripted(handler) as server:
        client = HTTPClient()
        with pytest.raises(ModelError) as raised:
            await collect(client, server.url)
        await client.aclose()
    return raised.value, texts


async def test_a_whole_stream_yields_each_token_and_its_counts() -> None:
    texts, stats, _ = await serve_and_read(lambda request: full())
    assert texts == TOKENS
    assert (stats.finish_reason, stats.completion_tokens, stats.pieces) == ("stop", 6, 5)
    assert stats.first_text is not None


async def test_the_request_asks_for_a_stream_with_usage_and_the_settings() -> None:
    _, _, server = await serve_and_read(lambda request: full())
    (request,) = server.requests
    body = request.json()
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["model"], body["max_tokens"], body["temperature"]) == ("kanana", 200, 0.7)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == server.base_url.removeprefix("http://")


async def test_the_callers_headers_and_the_urls_password_are_sent() -> None:
    async with scripted(lambda request: full()) as server:
        client = HTTPClient()
        url = server.url.replace("http://", "http://hub:s%40cret@")
        await read(client, url, headers={"x-request-id": "s-r1.entrance"})
        await client.aclose()
    headers = server.requests[0].headers
    assert headers["x-request-id"] == "s-r1.entrance"
    assert headers["authorization"] == "Basic " + base64.b64encode(b"hub:s@cret").decode()


async def test_every_cut_of_a_korean_tokens_chunk_reads_the_same() -> None:
    """The chunk of `문이`, its chunked framing included, cut at every byte and the two halves
    sent apart: inside the size line, inside `data:`, inside each Korean character."""
    event = framed(content("문이").encode())
    rest = b"".join(framed(e.encode()) for e in (*map(content, TOKENS[1:]), STOP, USAGE, DONE))
    cuts = range(1, len(event))
    replies = iter(
        Reply(
            [SSE_HEAD + framed(ROLE.encode()) + event[:cut], event[cut:] + rest + b"0\r\n\r\n"],
            [0, 0.002],
        )
        for cut in cuts
    )
    async with scripted(lambda request: next(replies)) as server:
        client = HTTPClient()
        for _ in cuts:
            texts, _ = await read(client, server.url)
            assert "".join(texts) == STORY
        await client.aclose()
    assert server.connections == 1  # each stream read to its end left the connection reusable


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
    error, texts = await failure(lambda request: answer(status, body))
    assert (error.reason, error.status, error.message) == ("refused", status, message)
    assert texts == []


async def test_an_error_event_after_some_text_fails_after_that_text() -> None:
    error, texts = await failure(lambda request: sse([ROLE, content("문이"), ERROR, DONE]))
    assert texts == ["문이"]
    assert (error.reason, error.status) == ("error", 500)


async def test_a_connection_closed_before_done_is_dropped() -> None:
    error, texts = await failure(lambda request: sse([ROLE, content("문이")], end=False))
    assert (error.reason, texts) == ("dropped", ["문이"])


async def test_a_body_that_ends_without_done_is_dropped() -> None:
    error, texts = await failure(lambda request: sse([ROLE, content("문이")]))
    assert (error.reason, texts) == ("dropped", ["문이"])
    assert "before [DONE]" in error.message


async def test_a_server_that_breaks_http_mid_stream_is_dropped() -> None:
    broken = Reply([SSE_HEAD + framed(content("문이").encode()), b"zz\r\nnot a chunk"], [0, 0.01])
    error, texts = await failure(lambda request: broken)
    assert (error.reason, texts) == ("dropped", ["문이"])


async def test_a_server_that_answers_no_http_cannot_connect() -> None:
    error, _ = await failure(lambda request: Reply([b"SSH-2.0-OpenSSH_9.6\r\n\r\n"]))
    assert error.reason == "connect"


async def test_a_connection_refused_is_a_connect_failure() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HTTPClient()
    with pytest.raises(ModelError) as raised:
        await read(client, f"http://127.0.0.1:{port}/v1/chat/completions")
    assert raised.value.reason == "connect"


@pytest.mark.parametrize(
    ("url", "headers"),
    [("http:///v1/chat/completions", {}), ("http://a:x/v1", {}), ("http://a/v1", {"x": "1\n2"})],
)
async def test_a_request_that_cannot_be_sent_is_a_connect_failure(
    url: str, headers: dict[str, str]
) -> None:
    with pytest.raises(ModelError) as raised:
        await read(HTTPClient(), url, headers=headers)
    assert raised.value.reason == "connect"


async def test_no_text_within_the_first_token_budget_fails_in_time() -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    error, _ = await failure(lambda request: sse([ROLE, content("늦")], [0, float("inf")]))
    assert error.reason == "first_token"
    assert QUICK.first_token <= loop.time() - began < QUICK.first_token + 0.5


async def test_no_answer_at_all_within_the_first_token_budget_fails_in_time() -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    error, _ = await failure(lambda request: Reply([b""], [float("inf")]))
    assert error.reason == "first_token"
    assert QUICK.first_token <= loop.time() - began < QUICK.first_token + 0.5


async def test_keep_alives_do_not_count_as_progress() -> None:
    parts = [ROLE, content("문이"), *[KEEP_ALIVE] * 50]
    error, texts = await failure(lambda request: sse(parts, [0, 0, *[0.02] * 50]))
    assert (error.reason, texts) == ("stall", ["문이"])


async def test_a_slow_trickle_breaches_the_total_budget() -> None:
    budgets = Budgets(connect=0.5, first_token=0.3, stall=0.2, total=0.6)
    parts = [content(str(i)) for i in range(100)]
    error, texts = await failure(lambda request: sse(parts, [0.1] * 100), budgets)
    assert error.reason == "total"
    assert 3 <= len(texts) <= 7


async def test_leaving_early_drops_the_connection() -> None:
    reply = Reply(
        [SSE_HEAD + framed(ROLE.encode()) + framed(content("문이").encode()), b""],
        [0, float("inf")],
    )
    async with scripted(lambda request: reply) as server:
        client = HTTPClient()
        stream = stream_chat(client, server.url, BODY, QUICK, StreamStats())
        async with contextlib.aclosing(stream):
            assert await anext(stream) == "문이"
        await asyncio.wait_for(server.served[0].left.wait(), 1)
        await client.aclose()


async def test_a_stream_read_to_done_leaves_its_connection_to_the_next() -> None:
    async with scripted(lambda request: full()) as server:
        client = HTTPClient()
        for _ in range(3):
            assert "".join((await read(client, server.url))[0]) == STORY
        await client.aclose()
    assert (server.connections, client.opened, len(server.requests)) == (1, 1, 3)


async def test_a_stream_left_early_is_not_reused() -> None:
    replies = iter([sse([ROLE, content("문이"), ""], [0, 0, float("inf")]), full()])
    async with scripted(lambda request: next(replies)) as server:
        client = HTTPClient()
        stream = stream_chat(client, server.url, BODY, QUICK, StreamStats())
        async with contextlib.aclosing(stream):
            await anext(stream)
        assert "".join((await read(client, server.url))[0]) == STORY
        await client.aclose()
    assert (server.connections, client.opened) == (2, 2)


async def test_a_refusal_with_a_whole_body_keeps_the_connection() -> None:
    replies = iter([answer(503, b'{"error":{"message":"busy","code":503}}'), full()])
    async with scripted(lambda request: next(replies)) as server:
        client = HTTPClient()
        with pytest.raises(ModelError, match="busy"):
            await read(client, server.url)
        assert "".join((await read(client, server.url))[0]) == STORY
        await client.aclose()
    assert server.connections == 1


async def test_a_kept_connection_the_server_closed_is_replaced() -> None:
    """A server may close an idle connection as the next request goes out on it: the request
    is sent again, once, on a new connection."""
    replies = iter([full(), Reply([], close=True), full()])
    async with scripted(lambda request: next(replies)) as server:
        client = HTTPClient()
        await read(client, server.url)
        texts, _ = await read(client, server.url)
        await client.aclose()
    assert "".join(texts) == STORY
    assert (server.connections, len(server.requests)) == (2, 3)


async def test_a_connection_closed_by_the_server_after_its_answer_is_not_reused() -> None:
    replies = iter([Reply(full().parts, close=True), full()])
    async with scripted(lambda request: next(replies)) as server:
        client = HTTPClient()
        await read(client, server.url)
        await asyncio.sleep(0.05)  # the close reaches the client while the connection idles
        texts, _ = await read(client, server.url)
        await client.aclose()
    assert "".join(texts) == STORY
    assert (server.connections, len(server.requests)) == (2, 2)


async def test_probes_read_a_whole_answer_and_keep_the_connection() -> None:
    def handler(request: Request) -> Reply:
        if request.path == "/health":
            return answer(200)
        return answer(200, orjson.dumps({"data": [{"id": "kanana"}]}))

    async with scripted(handler) as server:
        client = HTTPClient()
        health = await client.get(f"{server.base_url}/health")
        models = await client.get(f"{server.base_url}/v1/models", {"authorization": "Bearer k"})
        await client.aclose()
    assert (health.status, health.body) == (200, b"")
    assert models.json() == {"data": [{"id": "kanana"}]}
    assert server.requests[1].headers["authorization"] == "Bearer k"
    assert server.connections == 1
