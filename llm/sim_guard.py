"""The vLLM simulator's guard model (`SimConfig.guard_model`): a verdict in Kanana Safeguard's
words, `<SAFE>` or `<UNSAFE-S2>`, so the guard (`llm/guard.py`) can be tested end to end
without a GPU. Text containing one of `SimConfig.guard_flags` is unsafe."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from llm.sim_wire import Job, Wire, completion

SAFE, UNSAFE = "<SAFE>", "<UNSAFE-S2>"


def judged(messages: list[Any]) -> str:
    """The text a guard is asked about: the assistant's message when there is one (a
    response judged in the context of the request), else the last message."""
    said = [m for m in messages if isinstance(m, dict)]
    answers = [m for m in said if m.get("role") == "assistant"]
    last = answers[-1] if answers else said[-1] if said else {}
    return str(last.get("content", ""))


def verdict(text: str, flags: str) -> str:
    words = [word.strip().lower() for word in flags.split(",") if word.strip()]
    lowered = text.lower()
    return UNSAFE if any(word in lowered for word in words) else SAFE


class GuardAnswer:
    """One verdict, as vLLM 0.33 answers a chat completion: whole or streamed."""

    def __init__(self, model: str, body: dict[str, Any], said: str, fingerprint: str) -> None:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        self._job = Job(
            rid=f"chatcmpl-{secrets.token_hex(16)}",
            created=int(time.time()),
            prompt="",
            korean=False,
            prompt_tokens=max(1, len(orjson.dumps(body.get("messages"))) // 3),
            max_tokens=1,
            include_usage=include_usage,
            continuous_usage=False,
            stream_interval=1,
            fault="none",
            seed=0,
        )
        self._model = model
        self._said = said
        self._fingerprint = fingerprint

    def whole(self) -> bytes:
        return orjson.dumps(completion(self._job, self._model, self._said, "stop", 2))

    async def events(self, pause: Callable[[], Awaitable[None]]) -> AsyncIterator[str]:
        """The streamed answer, its first token after `pause`."""
        wire = Wire(self._job, self._model, self._fingerprint)
        await pause()
        yield wire.role()
        yield wire.content(self._said, 1)
        yield wire.end("stop", 2)
        if self._job.include_usage:
            yield wire.usage(2)
        yield "data: [DONE]\n\n"
