"""The OpenAI-compatible chat-completions stream, as vLLM sends it: request bodies and the
meaning of each `data:` payload.

What a stream may hold (see `docs/architecture.md`, "Narration"): a role-only first chunk,
chunks with empty content (vLLM holds back half a UTF-8 character), chunks with several
tokens, a terminal chunk with `finish_reason`, a usage chunk with empty `choices`, an error
event (`{"error": {...}}` or the older flat `{"object": "error", ...}`), then `[DONE]`.
Unknown and null fields are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

DONE = "[DONE]"


class ModelError(Exception):
    """A model request that failed. `reason` names the way it failed, for logs and metrics
    (`refused`: a non-200 answer; `error`: an error event in the stream; `dropped`: the
    stream ended without `[DONE]`; `connect`, `first_token`, `stall`, `total`: a budget ran
    out; `empty`: the model finished without a word); `status` is the HTTP status or the
    error event's code, when there is one."""

    def __init__(self, reason: str, message: str, status: int | None = None) -> None:
        super().__init__(
            f"{reason}: {message}" if status is None else f"{reason} {status}: {message}"
        )
        self.reason = reason
        self.message = message
        self.status = status


class Chunk(NamedTuple):
    """What one chunk says. A named tuple, not a frozen dataclass: one is made per token
    streamed, and a frozen dataclass costs several times as much to make."""

    text: str = ""
    finish_reason: str | None = None
    completion_tokens: int | None = None
    """From the usage chunk, when the request asked for it."""


def parse_payload(data: str) -> Chunk | None:
    """One event's data as a `Chunk`; None for `[DONE]`. Raises `ModelError` for an error
    event and for a payload that is not a chat-completion chunk."""
    if data == DONE:
        return None
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ModelError("error", f"a payload that is not JSON: {data[:80]!r}") from None
    if not isinstance(payload, dict):
        raise ModelError("error", f"a payload that is {type(payload).__name__}, not an object")
    if "error" in payload or payload.get("object") == "error":
        raise error_of("error", payload)
    choices = payload.get("choices") or []
    usage = payload.get("usage")
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    text, finish = "", None
    for choice in choices:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            delta = choice.get("delta") or {}
            text = (delta.get("content") or "") if isinstance(delta, dict) else ""
            finish = choice.get("finish_reason")
    return Chunk(text, finish, tokens if isinstance(tokens, int) else None)


def error_of(reason: str, payload: object, status: int | None = None) -> ModelError:
    """A `ModelError` from an error body, in the current (`{"error": {...}}`) or the older
    flat shape (`{"object": "error", "message": ...}`), or a bare `{"error": "..."}`."""
    inner: Any = payload.get("error", payload) if isinstance(payload, dict) else None
    if isinstance(inner, dict):
        code = inner.get("code")
        message = str(inner.get("message") or inner.get("type") or "no message")
        return ModelError(reason, message, code if isinstance(code, int) else status)
    return ModelError(reason, str(inner) if inner else "no message", status)


def error_from_body(status: int, body: bytes) -> ModelError:
    """The error a non-200 answer stands for, with the server's own message if it gave one."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", errors="replace").strip()[:200]
        return ModelError("refused", text or "no message", status)
    return ModelError("refused", error_of("refused", payload).message, status)


@dataclass(frozen=True, slots=True)
class Sampling:
    model: str
    max_tokens: int
    temperature: float
    top_p: float
    stream_interval: int = 1
    """Tokens per chunk (vLLM's per-request `stream_interval`, which can only raise the
    server's `--stream-interval`; servers that do not know it ignore it). Above 1 it trades a
    little latency for far fewer chunks for the hub to read."""


def request_body(
    messages: list[dict[str, str]], sampling: Sampling, priority: int | None = None
) -> dict[str, Any]:
    """A streamed chat-completion request. `priority` is vLLM's (lower is served earlier),
    sent only when given: it orders requests only under `--scheduling-policy priority`."""
    body: dict[str, Any] = {
        "model": sampling.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
    }
    if sampling.stream_interval > 1:
        body["stream_interval"] = sampling.stream_interval
    if priority is not None:
        body["priority"] = priority
    return body
