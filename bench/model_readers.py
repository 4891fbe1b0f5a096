"""The ways of reading vLLM's stream that `bench/model_stream.py` compares, each behind the
same call as `llm.client.stream_chat` (same budgets, same SSE and payload parsing, same
`StreamStats`), so that only the HTTP reading differs:

- `plain`: Maratang's own reader (`llm/http_client.py` + `llm/client.py`), the one kept;
- `httpx`: the reader as it was before, on `httpx.AsyncClient` (httpcore, h11, anyio), kept
  here verbatim as the reference;
- `httpx-aiohttp`: the same code on the `httpx-aiohttp` transport (aiohttp underneath);
- `httpx-sse`: httpx with `httpx-sse` parsing the events instead of `llm/sse.py`;
- `aiohttp`: aiohttp's client directly, its body read with `readany`, our SSE parser;
- `floor`: not a reader but the cost under every reader: a bare protocol on a new connection
  per answer that counts the chunks as the socket delivers them and wakes no task for them
  (no parsing, no budgets).

The last three need `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import httpx
import orjson

from llm.chat import ModelError, error_from_body, parse_payload
from llm.client import Budgets, StreamStats, _count, _next_deadline, stream_chat
from llm.http_client import HTTPClient
from llm.sse import SSEParser

MAX_ERROR_BODY = 4096
Stream = Callable[[str, dict[str, Any], Budgets, StreamStats], AsyncGenerator[str, None]]


@dataclass
class Reader:
    stream: Stream
    close: Callable[[], Awaitable[None]]


async def open_reader(name: str, connections: int) -> Reader:
    """The reader `name`, with room for `connections` streams at once."""
    if name == "plain":
        client = HTTPClient(max_connections=connections)
        return Reader(_bind(stream_chat, client), client.aclose)
    if name in ("httpx", "httpx-sse", "httpx-aiohttp"):
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        transport = None
        if name == "httpx-aiohttp":
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport(limits=limits)
        if name == "httpx-sse":
            import httpx_sse  # noqa: F401  (fails here, not in every stream, when missing)
        http = httpx.AsyncClient(limits=limits, transport=transport)
        reads = httpx_sse_chat if name == "httpx-sse" else httpx_chat
        return Reader(_bind(reads, http), http.aclose)
    if name == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections))
        return Reader(_bind(aiohttp_chat, session), session.close)
    if name == "floor":
        return Reader(floor_chat, _nothing)
    raise ValueError(f"no reader {name!r}")


async def _nothing() -> None:
    pass


def _bind(function: Any, client: Any) -> Stream:
    def stream(
        url: str, body: dict[str, Any], budgets: Budgets, stats: StreamStats
    ) -> AsyncGenerator[str, None]:
        result: AsyncGenerator[str, None] = function(client, url, body, budgets, stats)
        return result

    return stream


# httpx, as `llm/client.py` read the stream before ------------------------------------------


def timeout(budgets: Budgets) -> httpx.Timeout:
    return httpx.Timeout(connect=budgets.connect, read=None, write=budgets.connect, pool=1.0)


async def httpx_response(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], budgets: Budgets, stats: StreamStats
) -> httpx.Response:
    loop = asyncio.get_running_loop()
    stats.started = loop.time()
    request = client.build_request(
        "POST",
        url,
        content=orjson.dumps(body),
        headers={"content-type": "application/json"},
        timeout=timeout(budgets),
    )
    try:
        async with asyncio.timeout(min(budgets.first_token, budgets.total)):
            return await client.send(request, stream=True)
    except TimeoutError:
        raise ModelError("first_token", "no answer within the first-token budget") from None
    except httpx.ConnectTimeout:
        raise ModelError("connect", f"could not connect within {budgets.connect} s") from None
    except httpx.TransportError as exc:
        raise ModelError("connect", f"{type(exc).__name__}: {exc}") from None


async def httpx_chat(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], budgets: Budgets, stats: StreamStats
) -> AsyncGenerator[str, None]:
    response = await httpx_response(client, url, body, budgets, stats)
    try:
        if response.status_code != 200:
            raise error_from_body(response.status_code, await _error_body(response))
        async for text in _httpx_texts(response, budgets, stats):
            yield text
    finally:
        await response.aclose()


async def _error_body(response: httpx.Response) -> bytes:
    body = b""
    try:
        async with asyncio.timeout(1.0):
            async for part in response.aiter_bytes():
                body += part
                if len(body) >= MAX_ERROR_BODY:
                    break
    except (TimeoutError, httpx.HTTPError):
        pass
    return body


async def _httpx_texts(
    response: httpx.Response, budgets: Budgets, stats: StreamStats
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    parser = SSEParser()
    reads = response.aiter_bytes()
    while True:
        reason, deadline = _next_deadline(budgets, stats)
        try:
            async with asyncio.timeout_at(deadline):
                data = await anext(reads)
        except TimeoutError:
            raise ModelError(reason, f"the {reason} budget ran out") from None
        except StopAsyncIteration:
            raise ModelError("dropped", "the stream ended before [DONE]") from None
        except httpx.TransportError as exc:
            raise ModelError("dropped", f"{type(exc).__name__}: {exc}") from None
        for payload in parser.feed(data):
            chunk = parse_payload(payload)
            if chunk is None:
                return
            _count(chunk, stats, loop.time())
            if chunk.text:
                yield chunk.text


# httpx-sse ---------------------------------------------------------------------------------


async def httpx_sse_chat(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], budgets: Budgets, stats: StreamStats
) -> AsyncGenerator[str, None]:
    from httpx_sse import EventSource

    loop = asyncio.get_running_loop()
    response = await httpx_response(client, url, body, budgets, stats)
    try:
        if response.status_code != 200:
            raise error_from_body(response.status_code, await _error_body(response))
        events = EventSource(response).aiter_sse()
        while True:
            reason, deadline = _next_deadline(budgets, stats)
            try:
                async with asyncio.timeout_at(deadline):
                    event = await anext(events)
            except TimeoutError:
                raise ModelError(reason, f"the {reason} budget ran out") from None
            except StopAsyncIteration:
                raise ModelError("dropped", "the stream ended before [DONE]") from None
            except httpx.TransportError as exc:
                raise ModelError("dropped", f"{type(exc).__name__}: {exc}") from None
            chunk = parse_payload(event.data)
            if chunk is None:
                return
            _count(chunk, stats, loop.time())
            if chunk.text:
                yield chunk.text
    finally:
        await response.aclose()


# aiohttp -----------------------------------------------------------------------------------


async def aiohttp_chat(
    session: Any, url: str, body: dict[str, Any], budgets: Budgets, stats: StreamStats
) -> AsyncGenerator[str, None]:
    import aiohttp

    loop = asyncio.get_running_loop()
    stats.started = loop.time()
    try:
        async with asyncio.timeout(min(budgets.first_token, budgets.total)):
            response = await session.post(
                url,
                data=orjson.dumps(body),
                headers={"content-type": "application/json"},
                timeout=aiohttp.ClientTimeout(sock_connect=budgets.connect),
            )
    except TimeoutError:
        raise ModelError("first_token", "no answer within the first-token budget") from None
    except aiohttp.ClientError as exc:
        raise ModelError("connect", f"{type(exc).__name__}: {exc}") from None
    try:
        if response.status != 200:
            raise error_from_body(response.status, await response.content.read(MAX_ERROR_BODY))
        parser = SSEParser()
        while True:
            reason, deadline = _next_deadline(budgets, stats)
            try:
                async with asyncio.timeout_at(deadline):
                    data = await response.content.readany()
            except TimeoutError:
                raise ModelError(reason, f"the {reason} budget ran out") from None
            except aiohttp.ClientError as exc:
                raise ModelError("dropped", f"{type(exc).__name__}: {exc}") from None
            if not data:
                raise ModelError("dropped", "the stream ended before [DONE]")
            for payload in parser.feed(data):
                chunk = parse_payload(payload)
                if chunk is None:
                    return
                _count(chunk, stats, loop.time())
                if chunk.text:
                    yield chunk.text
    finally:
        response.close()


# The floor ---------------------------------------------------------------------------------


class FloorReads:
    """Socket reads of every floor stream so far, counted as they happen."""

    count = 0


class _Counter(asyncio.Protocol):
    def __init__(self, request: bytes, ended: asyncio.Future[None]) -> None:
        self.request = request
        self.ended = ended

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(self.request)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        FloorReads.count += 1
        if data.endswith(b"0\r\n\r\n") and not self.ended.done():
            self.ended.set_result(None)
            self.transport.close()


async def floor_chat(
    url: str, body: dict[str, Any], budgets: Budgets, stats: StreamStats
) -> AsyncGenerator[str, None]:
    """Yields nothing: the socket's reads are counted in `FloorReads`."""
    loop = asyncio.get_running_loop()
    host, _, port = url.split("/")[2].partition(":")
    content = orjson.dumps(body)
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(content)}\r\n\r\n"
    ).encode() + content
    ended: asyncio.Future[None] = loop.create_future()
    await loop.create_connection(lambda: _Counter(request, ended), host, int(port))
    await ended
    return
    yield  # an async generator, like the others
