"""The vLLM simulator's wire: each `data:` event of a stream serialised exactly as vLLM 0.33
serialises it (field order, explicit nulls, non-ASCII as raw UTF-8; error events through
`json.dumps`, as vLLM's own error path does)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import orjson

Fault = Literal["none", "503", "error", "hang", "drop", "trickle"]


@dataclass(frozen=True, slots=True)
class Job:
    """One accepted streaming request."""

    rid: str
    created: int
    prompt: str
    korean: bool
    prompt_tokens: int
    max_tokens: int
    include_usage: bool
    continuous_usage: bool
    stream_interval: int
    """The request's own `stream_interval` (at least the server's is used)."""
    fault: Fault
    seed: int
    priority: int = 0
    """vLLM's request `priority` (lower is served earlier under the priority policy)."""


class Wire:
    """The `data:` events of one stream, serialised as vLLM 0.33 serialises them."""

    def __init__(self, job: Job, model: str, fingerprint: str) -> None:
        head = {"id": job.rid, "object": "chat.completion.chunk", "created": job.created}
        self._head = orjson.dumps({**head, "model": model}).decode()[:-1]
        self._job = job
        self._fingerprint = fingerprint

    def role(self) -> str:
        delta = '{"role":"assistant","content":""}'
        choice = f'{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":null}}'
        return self._event(choice, '"prompt_token_ids":null,"prompt_text":null', 0)

    def content(self, text: str, sent: int) -> str:
        delta = f'{{"content":{orjson.dumps(text).decode()}}}'
        choice = (
            f'{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":null,"token_ids":null}}'
        )
        return self._event(choice, '"kv_transfer_params":null', sent)

    def end(self, finish: str, tokens: int) -> str:
        choice = (
            '{"index":0,"delta":{"content":""},"logprobs":null,'
            f'"finish_reason":"{finish}","stop_reason":null,"token_ids":null,'
            '"weight_versions":null}'
        )
        tail = '"kv_transfer_params":null'
        if not self._job.include_usage:
            tail = f'"system_fingerprint":"{self._fingerprint}",{tail}'
        return self._event(choice, tail, tokens)

    def usage(self, tokens: int) -> str:
        usage = orjson.dumps(usage_of(self._job.prompt_tokens, tokens)).decode()
        tail = f'"usage":{usage},"system_fingerprint":"{self._fingerprint}"'
        return f'data: {self._head},"choices":[],{tail}}}\n\n'

    def error(self) -> str:
        body = {"message": "Internal server error", "type": "InternalServerError"}
        return f"data: {json.dumps({'error': {**body, 'param': None, 'code': 500}})}\n\n"

    def _event(self, choice: str, tail: str, tokens: int) -> str:
        if self._job.continuous_usage:
            usage = orjson.dumps(usage_of(self._job.prompt_tokens, tokens)).decode()
            tail = f'"usage":{usage},{tail}'
        return f'data: {self._head},"choices":[{choice}],{tail}}}\n\n'


def completion(
    job: Job, model: str, content: str, finish: str, completion_tokens: int
) -> dict[str, Any]:
    """A whole (not streamed) chat completion, in vLLM's shape."""
    message = {"role": "assistant", "content": content, "refusal": None}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
    return {
        "id": job.rid,
        "object": "chat.completion",
        "created": job.created,
        "model": model,
        "choices": [{**choice, "stop_reason": None}],
        "usage": usage_of(job.prompt_tokens, completion_tokens),
    }


def usage_of(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "total_tokens": prompt + completion,
        "completion_tokens": completion,
    }
