"""One streamed chat completion over an injected `httpx.AsyncClient`, within a game's budgets.

A narration cannot wait as long as an HTTP client would: the budgets are the time to connect,
the time to the first text, the longest pause between two pieces of text, and the whole
request. Breaching one raises `ModelError` with the budget's name as its reason; the stream is
closed on the way out (the connection is dropped, not returned to the pool), which is what
makes vLLM abort the generation and free its batch slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from llm.chat import Chunk, ModelError, error_from_body, parse_payload
from llm.sse import SSEParser

MAX_ERROR_BODY = 4096


@dataclass(frozen=True, slots=True)
class Budgets:
    """Seconds; see the module docstring."""

    connect: float = 2.0
    first_token: float = 4.0
    stall: float = 3.0
    total: float = 45.0


@dataclass
class StreamStats:
    """What one request did, filled in as it goes (read it after the stream ends or fails)."""

    started: float = 0.0
    first_text: float | None = None
    """Loop time of the first piece of text."""
    last_text: float | None = None
    pieces: int = 0
    finish_reason: str | None = None
    completion_tokens: int | None = None


def timeout(budgets: Budgets) -> httpx.Timeout:
    """httpx's own timeouts for a streamed request: the connect budget, and no read limit
    (the stream's budgets are kept by `stream_chat`, which knows what a pause means)."""
    return httpx.Timeout(connect=budgets.connect, read=None, write=budgets.connect, pool=1.0)


async def stream_chat(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    budgets: Budgets,
    stats: StreamStats,
    headers: dict[str, str] | None = None,
) -> AsyncGenerator[str, None]:
    """POST `body` to `url` and yield the text of the reply as it streams."""
    loop = asyncio.get_running_loop()
    stats.started = loop.time()
    request = client.build_request(
        "POST",
        url,
        content=orjson.dumps(body),
        headers={"content-type": "application/json", **(headers or {})},
        timeout=timeout(budgets),
    )
    try:
        async with asyncio.timeout(min(budgets.first_token, budgets.total)):
            response = await client.send(request, stream=True)
    except TimeoutError:
        raise ModelError("first_token", "no answer within the first-token budget") from None
    except httpx.ConnectTimeout:
        raise ModelError("connect", f"could not connect within {budgets.connect} s") from None
    except httpx.TransportError as exc:
        raise ModelError("connect", f"{type(exc).__name__}: {exc}") from None
    try:
        if response.status_code != 200:
            raise error_from_body(response.status_code, await _error_body(response))
        async for text in _texts(response, budgets, stats):
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


async def _texts(
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


def _next_deadline(budgets: Budgets, stats: StreamStats) -> tuple[str, float]:
    """The budget that runs out first from here, and when. Keep-alive comments and empty
    chunks do not count as progress: only text does."""
    total = stats.started + budgets.total
    if stats.last_text is None:
        pause, reason = stats.started + budgets.first_token, "first_token"
    else:
        pause, reason = stats.last_text + budgets.stall, "stall"
    return ("total", total) if total <= pause else (reason, pause)


def _count(chunk: Chunk, stats: StreamStats, now: float) -> None:
    if chunk.text:
        if stats.first_text is None:
            stats.first_text = now
        stats.last_text = now
        stats.pieces += 1
    if chunk.finish_reason is not None:
        stats.finish_reason = chunk.finish_reason
    if chunk.completion_tokens is not None:
        stats.completion_tokens = chunk.completion_tokens
