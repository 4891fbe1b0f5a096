"""One streamed chat completion over an injected `HTTPClient`, within a game's budgets.

A narration cannot wait as long as an HTTP client would: the budgets are the time to connect,
the time to the first text, the longest pause between two pieces of text, and the whole
request. Breaching one raises `ModelError` with the budget's name as its reason; the stream is
closed on the way out (the connection is dropped, not returned to the pool), which is what
makes vLLM abort the generation and free its batch slot. A stream read to `[DONE]` and the end
of its body leaves its connection to the pool for the next narration.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from llm.chat import Chunk, ModelError, error_from_body, parse_payload
from llm.http_client import HTTPClient
from llm.http_connection import ConnectTimeout, HTTPFailure, Response
from llm.sse import SSEParser

MAX_ERROR_BODY = 4096
ERROR_BODY_SECONDS = 1.0
END_SECONDS = 0.1
"""After `[DONE]`, how long the end of the body may take (vLLM sends it at once) before the
connection is dropped instead of kept."""


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


async def stream_chat(
    client: HTTPClient,
    url: str,
    body: dict[str, Any],
    budgets: Budgets,
    stats: StreamStats,
    headers: dict[str, str] | None = None,
) -> AsyncGenerator[str, None]:
    """POST `body` to `url` and yield the text of the reply as it streams."""
    loop = asyncio.get_running_loop()
    stats.started = loop.time()
    head = {"content-type": "application/json", **(headers or {})}
    try:
        async with asyncio.timeout(min(budgets.first_token, budgets.total)):
            response = await client.stream(
                "POST", url, orjson.dumps(body), head, connect=budgets.connect
            )
    except TimeoutError:
        raise ModelError("first_token", "no answer within the first-token budget") from None
    except ConnectTimeout:
        raise ModelError("connect", f"could not connect within {budgets.connect} s") from None
    except HTTPFailure as exc:
        raise ModelError("connect", f"{type(exc).__name__}: {exc}") from None
    try:
        if response.status != 200:
            raise error_from_body(response.status, await _error_body(response))
        async for text in _texts(response, budgets, stats):
            yield text
        await _body_end(response)
    finally:
        response.close()


async def _error_body(response: Response) -> bytes:
    body = b""
    deadline = asyncio.get_running_loop().time() + ERROR_BODY_SECONDS
    try:
        while len(body) < MAX_ERROR_BODY and (data := await response.read(deadline)):
            body += data
    except (TimeoutError, HTTPFailure):
        pass
    return body[:MAX_ERROR_BODY]


async def _body_end(response: Response) -> None:
    """Read what follows `[DONE]` (the end of the chunked body), so that the connection can
    carry the next request."""
    deadline = asyncio.get_running_loop().time() + END_SECONDS
    with contextlib.suppress(TimeoutError, HTTPFailure):
        while await response.read(deadline):
            pass


async def _texts(response: Response, budgets: Budgets, stats: StreamStats) -> AsyncIterator[str]:
    clock = asyncio.get_running_loop().time
    parser = SSEParser()
    while True:
        reason, deadline = _next_deadline(budgets, stats)
        try:
            data = await response.read(deadline)
        except TimeoutError:
            raise ModelError(reason, f"the {reason} budget ran out") from None
        except HTTPFailure as exc:
            raise ModelError("dropped", f"{type(exc).__name__}: {exc}") from None
        if not data:
            raise ModelError("dropped", "the stream ended before [DONE]")
        for payload in parser.feed(data):
            chunk = parse_payload(payload)
            if chunk is None:
                return
            _count(chunk, stats, clock())
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
